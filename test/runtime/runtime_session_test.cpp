//===- runtime_session_test.cpp - Sessions: inputs, run, outputs ---------===//

#include "test_support.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>

using namespace kiln::test;

namespace {

const int64_t kShape[] = {2, 3};
const float kA[] = {1, 2, 3, 4, 5, 6};
const float kB[] = {10, 20, 30, 40, 50, 60};

class RuntimeSessionTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(loadBytes(buildArtifact(addModel(addHostCode())), &model),
              KILN_STATUS_OK)
        << kiln_last_error();
  }
  void TearDown() override {
    kiln_session_release(session);
    kiln_model_release(model);
  }

  void createSession() {
    ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK)
        << kiln_last_error();
  }
  kiln_status setFloatInput(const char *name, const float *data) {
    return kiln_session_set_input(session, name, KILN_DTYPE_FLOAT32, kShape, 2,
                                  data, 6 * sizeof(float));
  }
  std::string lastError() { return kiln_last_error(); }

  kiln_model *model = nullptr;
  kiln_session *session = nullptr;
};

TEST_F(RuntimeSessionTest, RunsAndReturnsOutputs) {
  createSession();
  ASSERT_EQ(setFloatInput("a", kA), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(setFloatInput("b", kB), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();

  OutputView sum = sessionOutput(session, 0);
  ASSERT_EQ(sum.status, KILN_STATUS_OK);
  EXPECT_STREQ(sum.desc.name, "sum");
  ASSERT_EQ(sum.bytes, 6 * sizeof(float));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(sum.data) % 64, 0u);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(sum.as<float>()[i], kA[i] + kB[i] + 100 * (i + 1)) << i;

  OutputView count = sessionOutput(session, 1);
  ASSERT_EQ(count.status, KILN_STATUS_OK);
  EXPECT_STREQ(count.desc.name, "stats/count");
  EXPECT_EQ(count.desc.dtype, KILN_DTYPE_INT64);
  ASSERT_EQ(count.bytes, 8u);
  EXPECT_EQ(*count.as<int64_t>(), 6);
}

TEST_F(RuntimeSessionTest, InputsAreCopiedAndCanBeReplaced) {
  createSession();
  float a[6];
  std::memcpy(a, kA, sizeof(a));
  ASSERT_EQ(setFloatInput("a", a), KILN_STATUS_OK);
  a[0] = 1000; // the session holds its own copy
  ASSERT_EQ(setFloatInput("b", kB), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK);
  OutputView sum = sessionOutput(session, 0);
  ASSERT_EQ(sum.status, KILN_STATUS_OK);
  EXPECT_EQ(sum.as<float>()[0], 1 + 10 + 100);

  ASSERT_EQ(setFloatInput("b", kA), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK);
  sum = sessionOutput(session, 0);
  ASSERT_EQ(sum.status, KILN_STATUS_OK);
  EXPECT_EQ(sum.as<float>()[0], 1 + 1 + 100);
}

TEST_F(RuntimeSessionTest, SessionOutlivesReleasedModel) {
  createSession();
  kiln_model_release(model);
  model = nullptr;
  ASSERT_EQ(setFloatInput("a", kA), KILN_STATUS_OK);
  ASSERT_EQ(setFloatInput("b", kB), KILN_STATUS_OK);
  EXPECT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
}

TEST_F(RuntimeSessionTest, UnknownInputName) {
  createSession();
  EXPECT_EQ(setFloatInput("foo", kA), KILN_STATUS_NOT_FOUND);
  EXPECT_EQ(lastError(), "model has no input named 'foo'; inputs are: a, b");
}

TEST_F(RuntimeSessionTest, WrongDtype) {
  createSession();
  int64_t values[6] = {};
  EXPECT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_INT64, kShape, 2,
                                   values, sizeof(values)),
            KILN_STATUS_DTYPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'a' expects dtype float32 but got int64");
  // C callers can pass any integer.
  EXPECT_EQ(kiln_session_set_input(session, "a", kiln_dtype(99), kShape, 2, kA,
                                   sizeof(kA)),
            KILN_STATUS_DTYPE_MISMATCH);
  EXPECT_EQ(lastError(),
            "input 'a' expects dtype float32 but got unknown dtype 99");
}

TEST_F(RuntimeSessionTest, WrongShape) {
  createSession();
  const int64_t shape[] = {2, 4};
  float values[8] = {};
  EXPECT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, shape, 2,
                                   values, sizeof(values)),
            KILN_STATUS_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'a' expects shape [2,3] but got [2,4]");
  const int64_t flat[] = {6};
  EXPECT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, flat, 1,
                                   kA, sizeof(kA)),
            KILN_STATUS_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'a' expects shape [2,3] but got [6]");
}

TEST_F(RuntimeSessionTest, WrongByteSizeOrNullData) {
  createSession();
  EXPECT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, kShape, 2,
                                   kA, 20),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("needs 24 bytes but byte_size is 20"),
            std::string::npos)
      << lastError();
  EXPECT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, kShape, 2,
                                   nullptr, 24),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, nullptr, 2,
                                   kA, 24),
            KILN_STATUS_INVALID_ARGUMENT);
}

TEST_F(RuntimeSessionTest, MissingInput) {
  createSession();
  ASSERT_EQ(setFloatInput("a", kA), KILN_STATUS_OK);
  EXPECT_EQ(kiln_session_run(session), KILN_STATUS_MISSING_INPUT);
  EXPECT_NE(lastError().find("missing input 'b'"), std::string::npos)
      << lastError();
}

TEST_F(RuntimeSessionTest, OutputBeforeRunOrOutOfRange) {
  createSession();
  kiln_tensor_desc desc;
  const void *data = &desc;
  size_t bytes = 1;
  EXPECT_EQ(kiln_session_output(session, 0, &desc, &data, &bytes),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(data, nullptr);
  EXPECT_EQ(bytes, 0u);
  EXPECT_NE(lastError().find("call kiln_session_run first"), std::string::npos);
  EXPECT_EQ(kiln_session_output(session, 5, &desc, &data, &bytes),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("output index 5 is out of range"),
            std::string::npos);
}

TEST_F(RuntimeSessionTest, NullArgumentsAreRejected) {
  EXPECT_EQ(kiln_session_create(model, "cpu", nullptr),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_session_create(nullptr, "cpu", &session),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(session, nullptr);
  EXPECT_EQ(kiln_session_set_input(nullptr, "a", KILN_DTYPE_FLOAT32, kShape, 2,
                                   kA, 24),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_session_run(nullptr), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_session_output(nullptr, 0, nullptr, nullptr, nullptr),
            KILN_STATUS_INVALID_ARGUMENT);
  createSession();
  EXPECT_EQ(kiln_session_set_input(session, nullptr, KILN_DTYPE_FLOAT32, kShape,
                                   2, kA, 24),
            KILN_STATUS_INVALID_ARGUMENT);
  kiln_session_release(nullptr);
}

TEST_F(RuntimeSessionTest, NullDeviceMeansCpu) {
  ASSERT_EQ(kiln_session_create(model, nullptr, &session), KILN_STATUS_OK)
      << lastError();
}

TEST_F(RuntimeSessionTest, CpuDeviceStrings) {
  for (const char *device : {"cpu", "cpu:0"}) {
    ASSERT_EQ(kiln_session_create(model, device, &session), KILN_STATUS_OK)
        << device << ": " << lastError();
    kiln_session_release(session);
    session = nullptr;
  }
  EXPECT_EQ(kiln_session_create(model, "cpu:1", &session),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(session, nullptr);
  EXPECT_EQ(lastError(),
            "unknown device 'cpu:1'; the CPU is device 'cpu' (or 'cpu:0')");
}

TEST_F(RuntimeSessionTest, UnknownDeviceIsInvalid) {
  EXPECT_EQ(kiln_session_create(model, "tpu", &session),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "unknown device 'tpu'; expected 'cpu' or 'cuda:N'");
}

TEST_F(RuntimeSessionTest, MalformedDeviceStringsAreInvalid) {
  for (const char *device : {"", "CPU", "cpu:", "cpu:x", "cpu:-1", "cpu:0:0",
                             "cpu0", ":0", "cpu:99999999999", " cpu"}) {
    EXPECT_EQ(kiln_session_create(model, device, &session),
              KILN_STATUS_INVALID_ARGUMENT)
        << "'" << device << "'";
    EXPECT_EQ(session, nullptr);
    EXPECT_EQ(lastError(), std::string("unknown device '") + device +
                               "'; expected 'cpu' or 'cuda:N'");
  }
}

TEST_F(RuntimeSessionTest, LastErrorIsPerThread) {
  createSession();
  EXPECT_EQ(setFloatInput("foo", kA), KILN_STATUS_NOT_FOUND);
  std::string other;
  std::thread([&] { other = kiln_last_error(); }).join();
  EXPECT_EQ(other, "");
  EXPECT_NE(lastError().find("foo"), std::string::npos);
}

/// Loads `spec` and tries to create a CPU session, returning the status.
kiln_status createFor(const ModelSpec &spec, kiln_model **model,
                      kiln_session **session) {
  kiln_status status = loadBytes(buildArtifact(spec), model);
  if (status)
    return status;
  return kiln_session_create(*model, "cpu", session);
}

class RuntimeBackendTest : public ::testing::Test {
protected:
  void TearDown() override {
    kiln_session_release(session);
    kiln_model_release(model);
  }
  kiln_model *model = nullptr;
  kiln_session *session = nullptr;
};

TEST_F(RuntimeBackendTest, OtherTargetIsUnsupportedAtSessionCreation) {
  ModelSpec spec = addModel(addHostCode());
  spec.target = "cpu-riscv64";
  EXPECT_EQ(createFor(spec, &model, &session), KILN_STATUS_UNSUPPORTED);
  EXPECT_NE(std::string(kiln_last_error()).find("target 'cpu-riscv64'"),
            std::string::npos)
      << kiln_last_error();
}

TEST_F(RuntimeBackendTest, TargetOfAnotherFamilyIsUnsupported) {
  ModelSpec spec = addModel(addHostCode());
  spec.target = "tpu-v5";
  EXPECT_EQ(createFor(spec, &model, &session), KILN_STATUS_UNSUPPORTED);
  EXPECT_EQ(session, nullptr);
  EXPECT_STREQ(kiln_last_error(),
               "artifact target 'tpu-v5' cannot run on device 'cpu': no "
               "backend of this runtime runs it");
}

TEST_F(RuntimeBackendTest, MissingEntrySymbolIsCorrupt) {
  ModelSpec spec = addModel(addHostCode());
  spec.entrySymbol = "no_such_entry";
  EXPECT_EQ(createFor(spec, &model, &session), KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_STREQ(kiln_last_error(),
               "HOST_CODE does not define the entry symbol 'no_such_entry'");
  // The failure is remembered, not retried, and reported the same way.
  EXPECT_EQ(kiln_session_create(model, "cpu", &session),
            KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_STREQ(kiln_last_error(),
               "HOST_CODE does not define the entry symbol 'no_such_entry'");
}

TEST_F(RuntimeBackendTest, HostCodeThatIsNotElfIsCorrupt) {
  ModelSpec spec = addModel(Bytes(100, 0x90));
  EXPECT_EQ(createFor(spec, &model, &session), KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_NE(std::string(kiln_last_error()).find("not an ELF shared object"),
            std::string::npos);

  Bytes truncatedElf(addHostCode().begin(), addHostCode().begin() + 200);
  kiln_model_release(model);
  model = nullptr;
  EXPECT_EQ(createFor(addModel(truncatedElf), &model, &session),
            KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_NE(std::string(kiln_last_error()).find("cannot load"),
            std::string::npos)
      << kiln_last_error();
}

TEST_F(RuntimeBackendTest, ZeroSizeTensorsGetAlignedNonNullPointers) {
  ASSERT_EQ(createFor(zeroSizeModel(addHostCode()), &model, &session),
            KILN_STATUS_OK)
      << kiln_last_error();
  const int64_t shape[] = {0, 3};
  ASSERT_EQ(kiln_session_set_input(session, "x", KILN_DTYPE_FLOAT32, shape, 2,
                                   nullptr, 0),
            KILN_STATUS_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK);
  OutputView y = sessionOutput(session, 0);
  ASSERT_EQ(y.status, KILN_STATUS_OK);
  EXPECT_NE(y.data, nullptr);
  EXPECT_EQ(y.bytes, 0u);
  OutputView ok = sessionOutput(session, 1);
  ASSERT_EQ(ok.status, KILN_STATUS_OK);
  EXPECT_EQ(*ok.as<int32_t>(), 1);
}

TEST(RuntimeIsolationTest, ModelsWithTheSameSymbolKeepTheirOwnCode) {
  // Loading, releasing and reloading reuses file descriptor numbers; each
  // model must still run its own code.
  for (int round = 0; round < 3; ++round) {
    kiln_model *add = nullptr, *mul = nullptr;
    kiln_session *addSession = nullptr, *mulSession = nullptr;
    ASSERT_EQ(createFor(addModel(addHostCode()), &add, &addSession),
              KILN_STATUS_OK)
        << kiln_last_error();
    ASSERT_EQ(createFor(addModel(mulHostCode()), &mul, &mulSession),
              KILN_STATUS_OK)
        << kiln_last_error();
    for (kiln_session *session : {addSession, mulSession}) {
      ASSERT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, kShape,
                                       2, kA, sizeof(kA)),
                KILN_STATUS_OK);
      ASSERT_EQ(kiln_session_set_input(session, "b", KILN_DTYPE_FLOAT32, kShape,
                                       2, kB, sizeof(kB)),
                KILN_STATUS_OK);
      ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK);
    }
    kiln_tensor_desc desc;
    const void *addData, *mulData;
    size_t bytes;
    ASSERT_EQ(kiln_session_output(addSession, 0, &desc, &addData, &bytes),
              KILN_STATUS_OK);
    ASSERT_EQ(kiln_session_output(mulSession, 0, &desc, &mulData, &bytes),
              KILN_STATUS_OK);
    EXPECT_EQ(static_cast<const float *>(addData)[1], 2 + 20 + 200);
    EXPECT_EQ(static_cast<const float *>(mulData)[1], 2 * 20 + 200);
    kiln_session_release(addSession);
    kiln_session_release(mulSession);
    kiln_model_release(add);
    kiln_model_release(mul);
  }
}

/// The low-precision model: a packed int4 weight, an int4 input one element
/// per byte, sub-byte/float8/float4/bfloat16 outputs one byte (or two) each.
class LowPrecisionSessionTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(loadBytes(buildArtifact(lowPrecisionModel(addHostCode())),
                        &model),
              KILN_STATUS_OK)
        << kiln_last_error();
    ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK)
        << kiln_last_error();
  }
  void TearDown() override {
    kiln_session_release(session);
    kiln_model_release(model);
  }
  kiln_status setX(std::initializer_list<int8_t> values, kiln_dtype dtype =
                                                             KILN_DTYPE_INT4) {
    std::vector<int8_t> data(values);
    return kiln_session_set_input(session, "x", dtype, kShapeX, 1, data.data(),
                                  data.size());
  }
  Bytes output(size_t index, kiln_dtype expectedDtype) {
    kiln_tensor_desc desc;
    const void *data;
    size_t bytes;
    EXPECT_EQ(kiln_session_output(session, index, &desc, &data, &bytes),
              KILN_STATUS_OK);
    EXPECT_EQ(desc.dtype, expectedDtype);
    const auto *begin = static_cast<const uint8_t *>(data);
    return Bytes(begin, begin + bytes);
  }

  const int64_t kShapeX[1] = {5};
  kiln_model *model = nullptr;
  kiln_session *session = nullptr;
};

TEST_F(LowPrecisionSessionTest, PackedWeightAndOneBytePerElementIO) {
  ASSERT_EQ(setX({1, 2, -3, -8, 7}), KILN_STATUS_OK) << kiln_last_error();
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << kiln_last_error();
  // The weight reached the code packed: 7, -8, -1, 0, 3.
  EXPECT_EQ(output(0, KILN_DTYPE_INT8), (Bytes{8, 0xfa, 0xfc, 0xf8, 10}));
  EXPECT_EQ(output(1, KILN_DTYPE_INT4), (Bytes{1, 2, 0xfd, 0xf8, 7}));
  EXPECT_EQ(output(2, KILN_DTYPE_UINT2), (Bytes{1, 2, 1, 0, 3}));
  EXPECT_EQ(output(3, KILN_DTYPE_BFLOAT16), (Bytes{0x80, 0x3f, 0x00, 0x40}));
  EXPECT_EQ(output(4, KILN_DTYPE_FLOAT8E4M3FN),
            (Bytes{0x38, 0xc0, 0x7f, 0x00}));
  EXPECT_EQ(output(5, KILN_DTYPE_FLOAT4E2M1), (Bytes{0x10, 0x2, 0xf}));
}

TEST_F(LowPrecisionSessionTest, SubByteInputsOutsideTheirRangeAreRejected) {
  EXPECT_EQ(setX({1, 2, 8, 0, 0}), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kiln_last_error()),
            "input 'x': element 2 is 8, outside int4's range [-8, 7] (one "
            "element per byte, sign-extended)");
  EXPECT_EQ(setX({0, 0, 0, 0, -9}), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("element 4 is -9"),
            std::string::npos);
  // A rejected input stays unset.
  EXPECT_EQ(kiln_session_run(session), KILN_STATUS_MISSING_INPUT);
  // int8 data is not int4 data, even in range.
  EXPECT_EQ(setX({0, 0, 0, 0, 0}, KILN_DTYPE_INT8),
            KILN_STATUS_DTYPE_MISMATCH);
  EXPECT_EQ(setX({-8, 7, 0, -1, 1}), KILN_STATUS_OK) << kiln_last_error();
}

TEST(RuntimeStatusTest, StatusStrings) {
  EXPECT_STREQ(kiln_status_string(KILN_STATUS_OK), "OK");
  EXPECT_STREQ(kiln_status_string(KILN_STATUS_MISSING_INPUT), "MISSING_INPUT");
  EXPECT_STREQ(kiln_status_string(KILN_STATUS_INTERNAL), "INTERNAL");
  EXPECT_STREQ(kiln_status_string(KILN_STATUS_DEVICE_ERROR), "DEVICE_ERROR");
  EXPECT_STREQ(kiln_status_string(kiln_status(1000)), "UNKNOWN");
}

} // namespace
