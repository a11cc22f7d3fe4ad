//===- cuda_backend_test.cpp - The CUDA backend against a fake driver ----===//
//
// The runtime loads test/runtime/fake_cuda (KILN_CUDA_DRIVER) instead of
// libcuda, so every driver call the backend makes is logged and any of them
// can be made to fail. The tests check the call sequence, the numbers that
// come back, the messages and statuses of every failure, and that whatever
// fails, everything acquired is released (from the fake's live counts and
// from the log). No GPU, no timing.
//
//===----------------------------------------------------------------------===//

#include "cuda_backend_fixture.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <thread>

using namespace kiln::test;

namespace {

//===--- The happy path --------------------------------------------------===//

TEST_F(CudaBackendTest, WholeCallSequence) {
  load(cudaAddModel(cudaHostCode()));
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  std::vector<std::string> creation = calls();
  EXPECT_EQ(creation,
            (std::vector<std::string>{
                "cuInit", "cuDeviceGetCount", "cuDeviceGet",
                "cuDeviceGetAttribute", "cuDeviceGetAttribute",
                "cuDeviceGetName", "cuDevicePrimaryCtxRetain",
                "cuCtxPushCurrent_v2", "cuModuleLoadDataEx",
                "cuModuleGetFunction", "cuStreamCreate", "cuMemAlloc_v2",
                "cuMemsetD8Async", "cuMemcpyHtoDAsync_v2",
                "cuStreamSynchronize", "cuCtxPopCurrent_v2"}))
      << logText();

  ASSERT_EQ(setInputs(), KILN_STATUS_OK) << lastError();
  for (int run = 0; run < 3; ++run) {
    ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK)
        << run << ": " << lastError();
    expectAddOutputs(kA, kB);
    EXPECT_EQ(fake().contextDepth(), 0);
  }
  kiln_session_release(session);
  session = nullptr;

  std::vector<std::string> all = calls();
  std::vector<std::string> runs(all.begin() + long(creation.size()), all.end());
  const std::vector<std::string> entryCalls = {
      "cuLaunchKernel", "cuLaunchKernel", "cuMemcpyDtoDAsync_v2",
      "cuMemsetD8Async"};
  const std::vector<std::string> download = {
      "cuMemcpyDtoHAsync_v2", "cuMemcpyDtoHAsync_v2", "cuMemcpyDtoHAsync_v2",
      "cuStreamSynchronize", "cuCtxPopCurrent_v2"};
  std::vector<std::string> expected;
  auto append = [&](const std::vector<std::string> &more) {
    expected.insert(expected.end(), more.begin(), more.end());
  };
  // Run 1: inputs up, the entry's calls launched directly.
  append({"cuCtxPushCurrent_v2", "cuMemcpyHtoDAsync_v2",
          "cuMemcpyHtoDAsync_v2"});
  append(entryCalls);
  append(download);
  // Run 2: the same calls captured into a graph, then the graph launched.
  append({"cuCtxPushCurrent_v2", "cuStreamBeginCapture_v2"});
  append(entryCalls);
  append({"cuStreamEndCapture", "cuGraphInstantiateWithFlags",
          "cuGraphDestroy", "cuGraphLaunch"});
  append(download);
  // Run 3: the graph replayed; the inputs did not change, so no uploads.
  append({"cuCtxPushCurrent_v2", "cuGraphLaunch"});
  append(download);
  // Release.
  append({"cuCtxPushCurrent_v2", "cuStreamSynchronize", "cuGraphExecDestroy",
          "cuMemFree_v2", "cuStreamDestroy_v2", "cuModuleUnload",
          "cuCtxPopCurrent_v2", "cuDevicePrimaryCtxRelease_v2"});
  EXPECT_EQ(runs, expected) << logText();
  expectNothingLeaked();
}

TEST_F(CudaBackendTest, CallArguments) {
  load(cudaAddModel(cudaHostCode()));
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  std::vector<LogLine> lines = log();
  auto first = [&](const std::string &name) {
    for (const LogLine &line : lines)
      if (line.name == name)
        return line;
    ADD_FAILURE() << "no call of " << name << "\n" << logText();
    return LogLine();
  };
  EXPECT_EQ(first("cuInit").args["flags"], "0");
  EXPECT_EQ(first("cuDeviceGet").args["ordinal"], "0");
  EXPECT_EQ(first("cuModuleGetFunction").args["name"], "kiln_test_add");
  EXPECT_EQ(first("cuStreamCreate").args["flags"], "1"); // non-blocking
  // One arena: w, a, b, sum, copy, sevens and the workspace, 256 bytes each.
  EXPECT_EQ(first("cuMemAlloc_v2").args["bytes"], "1792");
  // The weight upload: 24 bytes at the start of the arena.
  LogLine upload = first("cuMemcpyHtoDAsync_v2");
  EXPECT_EQ(upload.args["bytes"], "24");
  EXPECT_EQ(upload.args["dst"], first("cuMemAlloc_v2").outs["ptr"]);
  LogLine launch = first("cuLaunchKernel");
  EXPECT_EQ(launch.args["kernel"], "kiln_test_add");
  EXPECT_EQ(launch.args["grid"], "1,1,1");
  EXPECT_EQ(launch.args["block"], "64,1,1");
  EXPECT_EQ(launch.args["n"], "6");
  EXPECT_EQ(first("cuStreamBeginCapture_v2").args["mode"], "1");
  EXPECT_EQ(first("cuStreamEndCapture").outs["nodes"], "4");
  EXPECT_EQ(first("cuGraphLaunch").outs["nodes"], "4");
}

TEST_F(CudaBackendTest, GraphReplayUsesNewInputs) {
  load(cudaAddModel(cudaHostCode()));
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  const float a2[] = {-1, -2, -3, -4, -5, -6};
  const float b2[] = {0.5f, 0.25f, 0.125f, 2, 4, 8};
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(kA, kB);
  ASSERT_EQ(setInputs(a2, kB), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(a2, kB);
  ASSERT_EQ(setInputs(a2, b2), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(a2, b2);
  // Setting only b re-uploads only b.
  std::ofstream(logPath_, std::ios::trunc);
  ASSERT_EQ(kiln_session_set_input(session, "b", KILN_DTYPE_FLOAT32, kShape, 2,
                                   kB, sizeof(kB)),
            KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(a2, kB);
  std::vector<std::string> names = calls();
  EXPECT_EQ(std::count(names.begin(), names.end(), "cuMemcpyHtoDAsync_v2"), 1)
      << logText();
  EXPECT_EQ(std::count(names.begin(), names.end(), "cuLaunchKernel"), 0);
}

//===--- Inputs and outputs in device memory -----------------------------===//

TEST_F(CudaBackendTest, DeviceOutputFeedsAnotherSessionDeviceToDevice) {
  load(cudaAddModel(cudaHostCode()));
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  // Output 0 (sum = a + b + w) on the device: same desc and size as on the
  // host, a fake-driver allocation of its own.
  kiln_tensor_desc desc;
  uint64_t sumAddress = 0;
  size_t bytes = 0;
  ASSERT_EQ(kiln_session_output_device(session, 0, &desc, &sumAddress, &bytes),
            KILN_STATUS_OK)
      << lastError();
  EXPECT_STREQ(desc.name, "sum");
  EXPECT_EQ(bytes, 24u);
  EXPECT_NE(sumAddress, 0u);

  // A second session takes it as its input a, device to device.
  kiln_session *second = nullptr;
  ASSERT_EQ(kiln_session_create(model, "cuda:0", &second), KILN_STATUS_OK);
  size_t before = calls().size();
  ASSERT_EQ(kiln_session_set_input_device(second, "a", KILN_DTYPE_FLOAT32,
                                          kShape, 2, sumAddress, bytes),
            KILN_STATUS_OK)
      << lastError();
  ASSERT_EQ(kiln_session_set_input(second, "b", KILN_DTYPE_FLOAT32, kShape, 2,
                                   kB, sizeof(kB)),
            KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(second), KILN_STATUS_OK) << lastError();
  std::vector<std::string> names = calls();
  names.erase(names.begin(), names.begin() + long(before));
  // a came device to device (besides the entry's own copy), only b went up.
  EXPECT_EQ(std::count(names.begin(), names.end(), "cuMemcpyHtoDAsync_v2"), 1)
      << logText();
  EXPECT_EQ(std::count(names.begin(), names.end(), "cuMemcpyDtoDAsync_v2"), 2)
      << logText();
  kiln_session *first = session;
  session = second; // output() and expectAddOutputs() read `session`
  float sum[6];
  for (int i = 0; i < 6; ++i)
    sum[i] = kA[i] + kB[i] + kW[i];
  expectAddOutputs(sum, kB);
  kiln_session_release(first);

  // Setting a from the host again uploads it again.
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(kA, kB);
  kiln_session_release(session);
  session = nullptr;
  expectNothingLeaked();
}

TEST_F(CudaBackendTest, DeviceMemoryCallsCheckTheirArguments) {
  load(cudaAddModel(cudaHostCode()));
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  kiln_tensor_desc desc;
  uint64_t address = 1;
  size_t bytes = 1;
  // No output before a run.
  EXPECT_EQ(kiln_session_output_device(session, 0, &desc, &address, &bytes),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(address, 0u);
  EXPECT_EQ(lastError(), "no outputs yet: call kiln_session_run first");
  EXPECT_EQ(kiln_session_output_device(session, 0, &desc, nullptr, &bytes),
            KILN_STATUS_INVALID_ARGUMENT);
  // The host path's checks: name, dtype, shape, byte size.
  const int64_t wrong[] = {3, 2};
  EXPECT_EQ(kiln_session_set_input_device(session, "c", KILN_DTYPE_FLOAT32,
                                          kShape, 2, 0x1000, 24),
            KILN_STATUS_NOT_FOUND);
  EXPECT_EQ(kiln_session_set_input_device(session, "a", KILN_DTYPE_INT32,
                                          kShape, 2, 0x1000, 24),
            KILN_STATUS_DTYPE_MISMATCH);
  EXPECT_EQ(kiln_session_set_input_device(session, "a", KILN_DTYPE_FLOAT32,
                                          wrong, 2, 0x1000, 24),
            KILN_STATUS_SHAPE_MISMATCH);
  EXPECT_EQ(kiln_session_set_input_device(session, "a", KILN_DTYPE_FLOAT32,
                                          kShape, 2, 0x1000, 20),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_session_set_input_device(session, "a", KILN_DTYPE_FLOAT32,
                                          kShape, 2, 0, 24),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "input 'a': device_address is 0");
  // An address outside device memory is refused before any copy (which
  // would fault on the device and break its context); the session stays
  // usable and the input counts as unset.
  static float notOnTheDevice[6];
  std::ofstream(logPath_, std::ios::trunc);
  EXPECT_EQ(kiln_session_set_input_device(
                session, "a", KILN_DTYPE_FLOAT32, kShape, 2,
                uint64_t(uintptr_t(notOnTheDevice)), sizeof(notOnTheDevice)),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "copying input 0 (24 bytes) from device "
                                    "address 0x"))
      << lastError();
  EXPECT_TRUE(contains(lastError(), "the address is not in device memory: "
                                    "cuMemGetAddressRange_v2 returned "
                                    "CUDA_ERROR_NOT_FOUND"))
      << lastError();
  std::vector<std::string> names = calls();
  EXPECT_EQ(std::count(names.begin(), names.end(), "cuMemcpyDtoDAsync_v2"), 0)
      << logText();
  ASSERT_EQ(kiln_session_set_input(session, "b", KILN_DTYPE_FLOAT32, kShape, 2,
                                   kB, sizeof(kB)),
            KILN_STATUS_OK);
  EXPECT_EQ(kiln_session_run(session), KILN_STATUS_MISSING_INPUT);
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(kA, kB);
}

TEST_F(CudaBackendTest, CpuSessionsHaveNoDeviceMemory) {
  ASSERT_EQ(loadBytes(buildArtifact(addModel(addHostCode())), &model),
            KILN_STATUS_OK);
  ASSERT_EQ(create("cpu"), KILN_STATUS_OK) << lastError();
  EXPECT_EQ(kiln_session_set_input_device(session, "a", KILN_DTYPE_FLOAT32,
                                          kShape, 2, 0x1000, 24),
            KILN_STATUS_UNSUPPORTED);
  EXPECT_EQ(lastError(),
            "kiln_session_set_input_device: the session runs on device "
            "'cpu', which has no device memory; use host memory "
            "(kiln_session_set_input / kiln_session_output)");
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  kiln_tensor_desc desc;
  uint64_t address;
  size_t bytes;
  EXPECT_EQ(kiln_session_output_device(session, 0, &desc, &address, &bytes),
            KILN_STATUS_UNSUPPORTED);
}

TEST_F(CudaBackendTest, DeviceStrings) {
  load(cudaAddModel(cudaHostCode()));
  configure("KILN_FAKE_CUDA_DEVICES", "2");
  ASSERT_EQ(create("cuda"), KILN_STATUS_OK) << lastError();
  kiln_session_release(session);
  session = nullptr;
  ASSERT_EQ(create("cuda:1"), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(kA, kB);
  kiln_session_release(session);
  session = nullptr;
  std::vector<std::string> ordinals;
  for (const LogLine &line : log())
    if (line.name == "cuDeviceGet")
      ordinals.push_back(line.args.at("ordinal"));
  EXPECT_EQ(ordinals, (std::vector<std::string>{"0", "1"}));

  EXPECT_EQ(create("cuda:2"), KILN_STATUS_DEVICE_UNAVAILABLE);
  EXPECT_EQ(session, nullptr);
  EXPECT_EQ(lastError(), "device 'cuda:2' does not exist: the CUDA driver "
                         "sees 2 devices (cuda:0 to cuda:1)");
  for (const char *bad : {"cuda:", "cuda:x", "cuda:-1", "CUDA:0", "cuda:0:1"}) {
    EXPECT_EQ(create(bad), KILN_STATUS_INVALID_ARGUMENT) << bad;
    EXPECT_EQ(lastError(), std::string("unknown device '") + bad +
                               "'; expected 'cpu' or 'cuda:N'");
  }
  expectNothingLeaked();
}

TEST_F(CudaBackendTest, TwoSessionsAndAnotherThread) {
  load(cudaAddModel(cudaHostCode()));
  kiln_session *second = nullptr;
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(kiln_session_create(model, "cuda:0", &second), KILN_STATUS_OK);
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  const float a2[] = {6, 5, 4, 3, 2, 1};
  ASSERT_EQ(kiln_session_set_input(second, "a", KILN_DTYPE_FLOAT32, kShape, 2,
                                   a2, sizeof(a2)),
            KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_set_input(second, "b", KILN_DTYPE_FLOAT32, kShape, 2,
                                   kB, sizeof(kB)),
            KILN_STATUS_OK);
  // The model may be released first; sessions keep it.
  kiln_model_release(model);
  model = nullptr;
  kiln_status status = KILN_STATUS_INTERNAL;
  int depth = -1;
  std::thread([&] {
    status = kiln_session_run(second);
    depth = fake().contextDepth();
  }).join();
  ASSERT_EQ(status, KILN_STATUS_OK);
  EXPECT_EQ(depth, 0);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  expectAddOutputs(kA, kB);
  std::swap(session, second);
  expectAddOutputs(a2, kB);
  kiln_session_release(second);
  kiln_session_release(session);
  session = nullptr;
  expectNothingLeaked();
}

TEST_F(CudaBackendTest, ZeroSizeTensorsGetDistinctAlignedPointers) {
  load(cudaZeroSizeModel(cudaHostCode()));
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  const int64_t shape[] = {0, 3};
  ASSERT_EQ(kiln_session_set_input(session, "x", KILN_DTYPE_FLOAT32, shape, 2,
                                   nullptr, 0),
            KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  EXPECT_EQ(output(0).size(), 0u);
  EXPECT_EQ(output(1), (Bytes{1, 0, 0, 0}));
  // Nothing is copied for zero bytes; only `ok` comes back.
  int copies = 0;
  for (const LogLine &line : log()) {
    if (line.name.compare(0, 8, "cuMemcpy") != 0)
      continue;
    ++copies;
    EXPECT_NE(line.args.at("bytes"), "0") << line.text;
  }
  EXPECT_EQ(copies, 1) << logText();
}

//===--- Choosing the image -----------------------------------------------===//

/// The arch and kind ("cubin"/"ptx") of the image the session loaded.
std::string loadedImage(const std::vector<LogLine> &lines) {
  for (const LogLine &line : lines)
    if (line.name == "cuModuleLoadDataEx")
      return line.args.at("arch") + " " + line.args.at("image");
  return "none";
}

struct ImageCase {
  const char *capability;
  std::vector<GpuImageKind> images;
  const char *expected; // "sm_80 ptx", or "" for UNSUPPORTED
};

class CudaImageChoiceTest : public CudaBackendTest,
                            public ::testing::WithParamInterface<ImageCase> {};

TEST_P(CudaImageChoiceTest, PicksTheRightImage) {
  const ImageCase &c = GetParam();
  load(cudaAddModel(cudaHostCode(), c.images));
  configure("KILN_FAKE_CUDA_CC", c.capability);
  kiln_status status = create();
  if (*c.expected) {
    ASSERT_EQ(status, KILN_STATUS_OK) << lastError();
    EXPECT_EQ(loadedImage(log()), c.expected) << logText();
    ASSERT_EQ(setInputs(), KILN_STATUS_OK);
    ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
    expectAddOutputs(kA, kB);
  } else {
    EXPECT_EQ(status, KILN_STATUS_UNSUPPORTED);
    EXPECT_EQ(session, nullptr);
    EXPECT_EQ(loadedImage(log()), "none");
  }
  kiln_session_release(session);
  session = nullptr;
  expectNothingLeaked();
}

constexpr uint32_t kCubin = KILN_GPU_IMAGE_CUBIN, kPtx = KILN_GPU_IMAGE_PTX;

INSTANTIATE_TEST_SUITE_P(
    Images, CudaImageChoiceTest,
    ::testing::Values(
        // An exact cubin wins, with or without the 'a' suffix.
        ImageCase{"90", {{"sm_90a", kCubin}, {"sm_80", kPtx}}, "sm_90a cubin"},
        ImageCase{"80", {{"sm_90a", kCubin}, {"sm_80", kCubin}}, "sm_80 cubin"},
        ImageCase{"90", {{"sm_90", kPtx}, {"sm_90", kCubin}}, "sm_90 cubin"},
        // No cubin for the device: the PTX it can run, JIT-compiled.
        ImageCase{"80", {{"sm_90a", kCubin}, {"sm_80", kPtx}}, "sm_80 ptx"},
        ImageCase{"86", {{"sm_90a", kCubin}, {"sm_80", kPtx}}, "sm_80 ptx"},
        ImageCase{"100", {{"sm_90a", kCubin}, {"sm_80", kPtx}}, "sm_80 ptx"},
        // The highest PTX the device can run, whatever the table order.
        ImageCase{"86",
                  {{"sm_70", kPtx}, {"sm_80", kPtx}, {"sm_75", kPtx},
                   {"sm_90", kPtx}},
                  "sm_80 ptx"},
        // Arch-specific PTX runs on its exact capability only; family PTX
        // on later minors of its major.
        ImageCase{"100", {{"sm_90a", kPtx}, {"sm_80", kPtx}}, "sm_80 ptx"},
        ImageCase{"90", {{"sm_90a", kPtx}, {"sm_80", kPtx}}, "sm_90a ptx"},
        ImageCase{"103", {{"sm_100f", kPtx}, {"sm_90", kPtx}}, "sm_100f ptx"},
        ImageCase{"120", {{"sm_100f", kPtx}, {"sm_90", kPtx}}, "sm_90 ptx"},
        // Nothing fits.
        ImageCase{"75", {{"sm_90a", kCubin}, {"sm_80", kPtx}}, ""},
        ImageCase{"100", {{"sm_90a", kCubin}, {"sm_90a", kPtx}}, ""},
        ImageCase{"86", {{"sm_80", kCubin}}, ""}));

TEST_F(CudaBackendTest, NoUsableImageNamesBothArchs) {
  load(cudaAddModel(cudaHostCode()));
  configure("KILN_FAKE_CUDA_CC", "75");
  EXPECT_EQ(create(), KILN_STATUS_UNSUPPORTED);
  EXPECT_EQ(lastError(),
            "device 'cuda:0' (Kiln Fake GPU 0 (sm_75)) has compute capability "
            "7.5 (sm_75) but the artifact has code only for sm_90a cubin, "
            "sm_80 ptx: it needs a cubin for sm_75 or PTX for an arch it can "
            "run; recompile the model for sm_75");
  expectNothingLeaked();
}

TEST_F(CudaBackendTest, EachDeviceGetsItsOwnImage) {
  load(cudaAddModel(cudaHostCode()));
  setenv("KILN_FAKE_CUDA_DEVICES", "2", 1);
  configure("KILN_FAKE_CUDA_CC", "90,80");
  ASSERT_EQ(create("cuda:1"), KILN_STATUS_OK) << lastError();
  EXPECT_EQ(loadedImage(log()), "sm_80 ptx");
}

//===--- Driver and artifact problems -------------------------------------===//

TEST_F(CudaBackendTest, NoDriver) {
  load(cudaAddModel(cudaHostCode()));
  setenv("KILN_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
  EXPECT_EQ(create(), KILN_STATUS_DEVICE_UNAVAILABLE);
  EXPECT_EQ(session, nullptr);
  EXPECT_TRUE(contains(lastError(),
                       "device 'cuda:0': cannot load the CUDA driver "
                       "'/nonexistent/libcuda.so.1' ("))
      << lastError();
  EXPECT_TRUE(contains(lastError(), "is an NVIDIA driver installed? "
                                    "KILN_CUDA_DRIVER may name the library's "
                                    "path"))
      << lastError();
  // Not remembered: the next try with a driver works.
  setenv("KILN_CUDA_DRIVER", KILN_TEST_FAKE_CUDA, 1);
  EXPECT_EQ(create(), KILN_STATUS_OK) << lastError();
}

TEST_F(CudaBackendTest, LibraryThatIsNotADriver) {
  load(cudaAddModel(cudaHostCode()));
  setenv("KILN_CUDA_DRIVER", KILN_TEST_CUDA_HOST_CODE, 1);
  EXPECT_EQ(create(), KILN_STATUS_DEVICE_UNAVAILABLE);
  EXPECT_EQ(lastError(), std::string("device 'cuda:0': the CUDA driver '") +
                             KILN_TEST_CUDA_HOST_CODE +
                             "' has no entry point cuInit; it is not a CUDA "
                             "driver or older than this runtime needs (CUDA "
                             "11.4)");
}

TEST_F(CudaBackendTest, NoGpu) {
  load(cudaAddModel(cudaHostCode()));
  configure("KILN_FAKE_CUDA_DEVICES", "0");
  EXPECT_EQ(create(), KILN_STATUS_DEVICE_UNAVAILABLE);
  EXPECT_EQ(lastError(),
            std::string("device 'cuda:0': initializing the CUDA driver '") +
                KILN_TEST_FAKE_CUDA +
                "' (is there a GPU?): cuInit returned CUDA_ERROR_NO_DEVICE "
                "(no CUDA-capable device is detected)");
  expectNothingLeaked();
}

TEST_F(CudaBackendTest, CpuArtifactOnCudaAndBack) {
  // A CPU artifact on a CUDA device fails before the driver is touched.
  ASSERT_EQ(loadBytes(buildArtifact(addModel(addHostCode())), &model),
            KILN_STATUS_OK);
  EXPECT_EQ(create(), KILN_STATUS_UNSUPPORTED);
  EXPECT_EQ(lastError(), "artifact target 'cpu-x86_64' cannot run on device "
                         "'cuda:0': it runs on 'cpu' devices");
  EXPECT_TRUE(log().empty()) << logText();
  kiln_model_release(model);
  model = nullptr;
  load(cudaAddModel(cudaHostCode()));
  EXPECT_EQ(create("cpu"), KILN_STATUS_UNSUPPORTED);
  EXPECT_EQ(lastError(), "artifact target 'cuda-sm_90a,sm_80' cannot run on "
                         "device 'cpu': it runs on 'cuda' devices");
}

TEST_F(CudaBackendTest, ImageTheDriverRejects) {
  ModelSpec spec = cudaAddModel(cudaHostCode());
  spec.gpuCode.images[0].data = fakeGpuImage(
      "sm_90a", KILN_GPU_IMAGE_CUBIN, spec.gpuCode.kernels, " invalid");
  load(spec);
  EXPECT_EQ(create(), KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_EQ(lastError(),
            "device 'cuda:0' (Kiln Fake GPU 0 (sm_90)): loading the sm_90a "
            "cubin image (JIT log: fake ptxas: error: the sm_90a image is "
            "invalid): cuModuleLoadDataEx returned CUDA_ERROR_INVALID_PTX (a "
            "PTX JIT compilation failed)");
  expectNothingLeaked();
}

TEST_F(CudaBackendTest, KernelMissingFromTheImage) {
  ModelSpec spec = cudaAddModel(cudaHostCode());
  spec.gpuCode.images[0].data =
      fakeGpuImage("sm_90a", KILN_GPU_IMAGE_CUBIN, {"another_kernel"});
  load(spec);
  EXPECT_EQ(create(), KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_TRUE(contains(lastError(),
                       "finding kernel 'kiln_test_add' in the sm_90a image: "
                       "cuModuleGetFunction returned CUDA_ERROR_NOT_FOUND"))
      << lastError();
  expectNothingLeaked();
}

TEST_F(CudaBackendTest, BrokenHostCode) {
  struct Case {
    const char *entry;
    kiln_status status;
    const char *message;
  };
  const Case cases[] = {
      {"kiln_entry_bad_kernel", KILN_STATUS_CORRUPT_ARTIFACT,
       "device 'cuda:0' (Kiln Fake GPU 0 (sm_90)): the host code launched "
       "kernel 7, but GPU_CODE has 1"},
      {"kiln_entry_ignores_failure", KILN_STATUS_CORRUPT_ARTIFACT,
       "the host code launched kernel 7, but GPU_CODE has 1"},
      {"kiln_entry_returns_error", KILN_STATUS_CORRUPT_ARTIFACT,
       "device 'cuda:0' (Kiln Fake GPU 0 (sm_90)): the host code's entry "
       "returned 42, but none of its calls failed"},
      {"kiln_entry_out_of_bounds", KILN_STATUS_CORRUPT_ARTIFACT,
       "outside the session's device memory"},
      {"kiln_entry_fault", KILN_STATUS_DEVICE_ERROR,
       "device 'cuda:0' (Kiln Fake GPU 0 (sm_90)): running the model: "
       "cuStreamSynchronize returned CUDA_ERROR_ILLEGAL_ADDRESS (an illegal "
       "memory access was encountered)"},
      {"no_such_entry", KILN_STATUS_CORRUPT_ARTIFACT,
       "HOST_CODE does not define the entry symbol 'no_such_entry'"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.entry);
    fake().reset();
    std::ofstream(logPath_, std::ios::trunc);
    ModelSpec spec = cudaAddModel(cudaHostCode());
    spec.entrySymbol = c.entry;
    load(spec);
    kiln_status status = create();
    std::string message = lastError();
    if (status == KILN_STATUS_OK) {
      ASSERT_EQ(setInputs(), KILN_STATUS_OK);
      status = kiln_session_run(session);
      message = lastError();
      EXPECT_TRUE(output(0).empty()); // no outputs after a failed run
    }
    EXPECT_EQ(status, c.status) << kiln_status_string(status);
    EXPECT_TRUE(contains(message, c.message)) << message;
    kiln_session_release(session);
    session = nullptr;
    kiln_model_release(model);
    model = nullptr;
    expectNothingLeaked();
  }
}

TEST_F(CudaBackendTest, TargetAndSectionsAreCheckedAtLoad) {
  struct Case {
    std::function<void(ModelSpec &)> edit;
    const char *message;
  };
  const Case cases[] = {
      {[](ModelSpec &s) { s.withGpuCode = false; },
       "artifact for target 'cuda-sm_90a,sm_80' has no GPU_CODE section"},
      {[](ModelSpec &s) { s.withHostCode = false; },
       "artifact for target 'cuda-sm_90a,sm_80' has no HOST_CODE section"},
      {[](ModelSpec &s) { s.target = "cuda-"; },
       "target 'cuda-': '' is not a GPU architecture"},
      {[](ModelSpec &s) { s.target = "cuda-sm_90a,,sm_80"; },
       "target 'cuda-sm_90a,,sm_80': '' is not a GPU architecture"},
      {[](ModelSpec &s) { s.target = "cuda-sm_90a, sm_80"; },
       "target 'cuda-sm_90a, sm_80': ' sm_80' is not a GPU architecture"},
      {[](ModelSpec &s) { s.target = "cuda-sm_90a,sm_80,sm_90a"; },
       "target 'cuda-sm_90a,sm_80,sm_90a' lists sm_90a twice"},
      {[](ModelSpec &s) { s.target = "cuda-sm_90a"; },
       "GPU_CODE has a ptx image for sm_80, which target 'cuda-sm_90a' does "
       "not list"},
      {[](ModelSpec &s) { s.target = "cuda-sm_90a,sm_80,sm_100"; },
       "target 'cuda-sm_90a,sm_80,sm_100' lists sm_100 but GPU_CODE has no "
       "image for it"},
  };
  for (const Case &c : cases) {
    ModelSpec spec = cudaAddModel(cudaHostCode());
    c.edit(spec);
    EXPECT_EQ(loadBytes(buildArtifact(spec), &model),
              KILN_STATUS_CORRUPT_ARTIFACT)
        << c.message;
    EXPECT_EQ(model, nullptr);
    EXPECT_TRUE(contains(lastError(), c.message)) << lastError();
  }
}

TEST_F(CudaBackendTest, CudaArtifactLoadsWithoutADriver) {
  setenv("KILN_CUDA_DRIVER", "/nonexistent", 1);
  load(cudaAddModel(cudaHostCode()));
  EXPECT_EQ(kiln_model_num_gpu_images(model), 2u);
  EXPECT_EQ(kiln_model_gpu_workspace_bytes(model), 24u);
}

//===--- Every driver call failing --------------------------------------===//

/// One injected failure: KILN_FAKE_CUDA_FAIL, where it shows (creation,
/// run 1..3, or release), the status and a fragment of the message. A
/// failure that the runtime absorbs (graph capture) shows as "none" and the
/// runs must still produce the right numbers.
struct Injection {
  const char *fail;
  const char *phase; // "create", "run1", "run2", "run3", "release", "none"
  kiln_status status;
  const char *message;
  /// What the failure leaves behind (expectNothingLeaked's list): what a
  /// failed release call was to release; "current" when popping the
  /// context failed, so it stays current on the thread.
  const char *leaks = "";
};

std::ostream &operator<<(std::ostream &out, const Injection &injection) {
  return out << injection.fail;
}

class CudaFailureTest : public CudaBackendTest,
                        public ::testing::WithParamInterface<Injection> {};

TEST_P(CudaFailureTest, FailsCleanly) {
  const Injection &injection = GetParam();
  load(cudaAddModel(cudaHostCode()));
  configure("KILN_FAKE_CUDA_FAIL", injection.fail);
  const std::string phase = injection.phase;
  auto expectFailure = [&](kiln_status status) {
    EXPECT_EQ(status, injection.status)
        << kiln_status_string(status) << ": " << lastError();
    EXPECT_TRUE(contains(lastError(), injection.message))
        << "message: " << lastError() << "\n"
        << logText();
    EXPECT_EQ(lastError().compare(0, 14, "device 'cuda:0"), 0) << lastError();
  };

  kiln_status status = create();
  if (phase == "create") {
    expectFailure(status);
    EXPECT_EQ(session, nullptr);
  } else {
    ASSERT_EQ(status, KILN_STATUS_OK) << lastError();
    ASSERT_EQ(setInputs(), KILN_STATUS_OK);
    for (int run = 1; run <= 3; ++run) {
      status = kiln_session_run(session);
      if (phase == "run" + std::to_string(run)) {
        expectFailure(status);
        EXPECT_TRUE(output(0).empty());
        break;
      }
      ASSERT_EQ(status, KILN_STATUS_OK) << run << ": " << lastError();
      expectAddOutputs(kA, kB);
    }
  }
  releaseAfterInjecting(injection.leaks);
}

INSTANTIATE_TEST_SUITE_P(
    DriverCalls, CudaFailureTest,
    ::testing::Values(
        // Session creation.
        Injection{"cuInit:1", "create", KILN_STATUS_DEVICE_UNAVAILABLE,
                  "cuInit returned CUDA_ERROR_NO_DEVICE"},
        Injection{"cuDeviceGetCount:1", "create",
                  KILN_STATUS_DEVICE_UNAVAILABLE,
                  "counting devices: cuDeviceGetCount returned "
                  "CUDA_ERROR_NOT_INITIALIZED"},
        Injection{"cuDeviceGet:1", "create", KILN_STATUS_DEVICE_UNAVAILABLE,
                  "opening the device: cuDeviceGet returned "
                  "CUDA_ERROR_INVALID_DEVICE"},
        Injection{"cuDeviceGetAttribute:1", "create",
                  KILN_STATUS_DEVICE_UNAVAILABLE,
                  "reading its compute capability: cuDeviceGetAttribute"},
        Injection{"cuDeviceGetAttribute:2", "create",
                  KILN_STATUS_DEVICE_UNAVAILABLE,
                  "reading its compute capability: cuDeviceGetAttribute"},
        Injection{"cuDeviceGetName:1", "create", KILN_STATUS_DEVICE_UNAVAILABLE,
                  "reading its name: cuDeviceGetName returned"},
        Injection{"cuDevicePrimaryCtxRetain:1", "create",
                  KILN_STATUS_OUT_OF_MEMORY,
                  "retaining its primary context: cuDevicePrimaryCtxRetain "
                  "returned CUDA_ERROR_OUT_OF_MEMORY (out of memory)"},
        Injection{"cuCtxPushCurrent_v2:1", "create", KILN_STATUS_DEVICE_ERROR,
                  "making its context current: cuCtxPushCurrent_v2 returned "
                  "CUDA_ERROR_INVALID_CONTEXT"},
        Injection{"cuModuleLoadDataEx:1", "create", KILN_STATUS_UNSUPPORTED,
                  "loading the sm_90a cubin image: cuModuleLoadDataEx "
                  "returned CUDA_ERROR_NO_BINARY_FOR_GPU"},
        Injection{"cuModuleGetFunction:1", "create",
                  KILN_STATUS_CORRUPT_ARTIFACT,
                  "finding kernel 'kiln_test_add' in the sm_90a image"},
        Injection{"cuStreamCreate:1", "create", KILN_STATUS_OUT_OF_MEMORY,
                  "creating a stream: cuStreamCreate returned "
                  "CUDA_ERROR_OUT_OF_MEMORY"},
        Injection{"cuMemAlloc_v2:1", "create", KILN_STATUS_OUT_OF_MEMORY,
                  "allocating 1792 bytes of device memory for the weights, "
                  "inputs, outputs and a 24-byte workspace: cuMemAlloc_v2 "
                  "returned CUDA_ERROR_OUT_OF_MEMORY (out of memory)"},
        Injection{"cuMemsetD8Async:1", "create", KILN_STATUS_DEVICE_ERROR,
                  "clearing device memory: cuMemsetD8Async returned "
                  "CUDA_ERROR_ILLEGAL_ADDRESS"},
        Injection{"cuMemcpyHtoDAsync_v2:1", "create", KILN_STATUS_DEVICE_ERROR,
                  "uploading weight 'w' (24 bytes): cuMemcpyHtoDAsync_v2 "
                  "returned"},
        Injection{"cuStreamSynchronize:1", "create", KILN_STATUS_DEVICE_ERROR,
                  "uploading the weights: cuStreamSynchronize returned "
                  "CUDA_ERROR_LAUNCH_FAILED"},
        Injection{"cuCtxPopCurrent_v2:1", "create", KILN_STATUS_DEVICE_ERROR,
                  "restoring the caller's context: cuCtxPopCurrent_v2 "
                  "returned",
                  "current"},
        // The error's name cannot be looked up: the number is given.
        Injection{"cuMemAlloc_v2:1,cuGetErrorName:1", "create",
                  KILN_STATUS_OUT_OF_MEMORY,
                  "cuMemAlloc_v2 returned CUresult 2"},
        Injection{"cuMemAlloc_v2:1,cuGetErrorString:1", "create",
                  KILN_STATUS_OUT_OF_MEMORY,
                  "cuMemAlloc_v2 returned CUDA_ERROR_OUT_OF_MEMORY"},
        // The first run: direct launches.
        Injection{"cuCtxPushCurrent_v2:2", "run1", KILN_STATUS_DEVICE_ERROR,
                  "making its context current"},
        Injection{"cuMemcpyHtoDAsync_v2:2", "run1", KILN_STATUS_DEVICE_ERROR,
                  "uploading input 0 (24 bytes): cuMemcpyHtoDAsync_v2"},
        Injection{"cuLaunchKernel:1", "run1", KILN_STATUS_DEVICE_ERROR,
                  "launching kernel 'kiln_test_add' (grid 1x1x1, block "
                  "64x1x1, 0 bytes of shared memory): cuLaunchKernel returned "
                  "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"},
        Injection{"cuLaunchKernel:2:2", "run1", KILN_STATUS_OUT_OF_MEMORY,
                  "cuLaunchKernel returned CUDA_ERROR_OUT_OF_MEMORY"},
        Injection{"cuMemcpyDtoDAsync_v2:1", "run1", KILN_STATUS_DEVICE_ERROR,
                  "copying 24 bytes on the device: cuMemcpyDtoDAsync_v2"},
        Injection{"cuMemsetD8Async:2", "run1", KILN_STATUS_DEVICE_ERROR,
                  "setting 4 bytes on the device: cuMemsetD8Async"},
        Injection{"cuMemcpyDtoHAsync_v2:1", "run1", KILN_STATUS_DEVICE_ERROR,
                  "downloading output 0 (24 bytes): cuMemcpyDtoHAsync_v2"},
        Injection{"cuStreamSynchronize:2", "run1", KILN_STATUS_DEVICE_ERROR,
                  "running the model: cuStreamSynchronize returned "
                  "CUDA_ERROR_LAUNCH_FAILED (unspecified launch failure)"},
        Injection{"cuCtxPopCurrent_v2:2", "run1", KILN_STATUS_DEVICE_ERROR,
                  "restoring the caller's context", "current"},
        // The second run captures a graph: a failure there falls back to
        // direct launches, silently, for good.
        Injection{"cuStreamBeginCapture_v2:1", "none", KILN_STATUS_OK, ""},
        Injection{"cuLaunchKernel:3", "none", KILN_STATUS_OK, ""},
        Injection{"cuStreamEndCapture:1", "none", KILN_STATUS_OK, ""},
        Injection{"cuGraphInstantiateWithFlags:1", "none", KILN_STATUS_OK, ""},
        Injection{"cuGraphDestroy:1", "none", KILN_STATUS_OK, "", "graph"},
        Injection{"cuGraphLaunch:1", "run2", KILN_STATUS_DEVICE_ERROR,
                  "launching the model's graph: cuGraphLaunch returned"},
        Injection{"cuGraphLaunch:2", "run3", KILN_STATUS_DEVICE_ERROR,
                  "launching the model's graph: cuGraphLaunch returned"},
        // Release cannot report: the rest is still released.
        Injection{"cuStreamSynchronize:5", "release", KILN_STATUS_OK, ""},
        Injection{"cuGraphExecDestroy:1", "release", KILN_STATUS_OK, "",
                  "graph"},
        Injection{"cuMemFree_v2:1", "release", KILN_STATUS_OK, "",
                  "allocation"},
        Injection{"cuStreamDestroy_v2:1", "release", KILN_STATUS_OK, "",
                  "stream"},
        Injection{"cuModuleUnload:1", "release", KILN_STATUS_OK, "", "module"},
        Injection{"cuDevicePrimaryCtxRelease_v2:1", "release", KILN_STATUS_OK,
                  "", "context"},
        // Without its context the release calls fail too (the fake, like
        // the driver, wants one current); the runtime still tries each.
        Injection{"cuCtxPushCurrent_v2:5", "release", KILN_STATUS_OK, "",
                  "allocation,module,stream"},
        Injection{"cuCtxPopCurrent_v2:5", "release", KILN_STATUS_OK, "",
                  "current"}),
    [](const ::testing::TestParamInfo<Injection> &info) {
      return injectionTestName(info.param.fail);
    });

TEST_F(CudaBackendTest, FallbackAfterAFailedCaptureStaysDirect) {
  load(cudaAddModel(cudaHostCode()));
  configure("KILN_FAKE_CUDA_FAIL", "cuStreamEndCapture:1");
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  ASSERT_EQ(setInputs(), KILN_STATUS_OK);
  for (int run = 0; run < 4; ++run) {
    ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
    expectAddOutputs(kA, kB);
  }
  std::vector<std::string> names = calls();
  EXPECT_EQ(std::count(names.begin(), names.end(), "cuStreamBeginCapture_v2"),
            1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "cuGraphLaunch"), 0);
  // Runs 1, 3 and 4 launch directly, and run 2 again after the failed
  // capture: 2 kernels each, plus 2 in the capture.
  EXPECT_EQ(std::count(names.begin(), names.end(), "cuLaunchKernel"), 10);
}

TEST_F(CudaBackendTest, ReleasedWithoutRunning) {
  load(cudaAddModel(cudaHostCode()));
  ASSERT_EQ(create(), KILN_STATUS_OK) << lastError();
  kiln_session_release(session);
  session = nullptr;
  expectNothingLeaked();
}

} // namespace
