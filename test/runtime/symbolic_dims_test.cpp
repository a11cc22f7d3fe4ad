//===- symbolic_dims_test.cpp - Symbolic dims: load, set, run, outputs ---===//
//
// The "dynamic" model of test_host_code.c (artifact_builder.h) has symbols
// batch (0..8) and seq (1..16). Its entry takes the shapes from the symbol
// values the runtime passes, and returns those values, so the tests see
// both the ABI and the arithmetic.
//
//===----------------------------------------------------------------------===//

#include "test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace kiln::test;

namespace {

std::string lastError() { return kiln_last_error(); }

bool contains(const std::string &text, const std::string &fragment) {
  return text.find(fragment) != std::string::npos;
}

//===--- Loading ----------------------------------------------------------===//

class SymbolLoadTest : public ::testing::Test {
protected:
  void TearDown() override { kiln_model_release(model); }

  void expectCorrupt(const ModelSpec &spec, const std::string &fragment) {
    EXPECT_EQ(loadBytes(buildArtifact(spec), &model),
              KILN_STATUS_CORRUPT_ARTIFACT)
        << lastError();
    EXPECT_EQ(model, nullptr);
    EXPECT_TRUE(contains(lastError(), fragment)) << "message: " << lastError();
  }

  ModelSpec spec = dynamicModel(addHostCode());
  kiln_model *model = nullptr;
};

TEST_F(SymbolLoadTest, DescribesSymbolsAndSymbolicDims) {
  ASSERT_EQ(loadBytes(buildArtifact(spec), &model), KILN_STATUS_OK)
      << lastError();
  ASSERT_EQ(kiln_model_num_symbols(model), 2u);
  const char *name = nullptr;
  int64_t min = -1, max = -1;
  ASSERT_EQ(kiln_model_symbol(model, 1, &name, &min, &max), KILN_STATUS_OK);
  EXPECT_STREQ(name, "seq");
  EXPECT_EQ(min, 1);
  EXPECT_EQ(max, 16);
  ASSERT_EQ(kiln_model_symbol(model, 0, &name, nullptr, nullptr),
            KILN_STATUS_OK);
  EXPECT_STREQ(name, "batch");

  kiln_tensor_desc desc;
  ASSERT_EQ(kiln_model_input(model, 1, &desc), KILN_STATUS_OK);
  ASSERT_EQ(desc.rank, 2u);
  EXPECT_EQ(desc.dims[0], 1);  // static
  EXPECT_EQ(desc.dims[1], -2); // seq
  ASSERT_EQ(kiln_model_output(model, 1, &desc), KILN_STATUS_OK);
  ASSERT_EQ(desc.rank, 1u);
  EXPECT_EQ(desc.dims[0], -1); // batch
}

TEST_F(SymbolLoadTest, SymbolIntrospectionChecksArguments) {
  ASSERT_EQ(loadBytes(buildArtifact(spec), &model), KILN_STATUS_OK);
  const char *name = "stale";
  int64_t min = 7, max = 7;
  EXPECT_EQ(kiln_model_symbol(model, 2, &name, &min, &max),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(name, nullptr);
  EXPECT_EQ(min, 0);
  EXPECT_TRUE(contains(lastError(), "symbol index 2 is out of range"));
  EXPECT_EQ(kiln_model_symbol(model, 0, nullptr, &min, &max),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_symbol(nullptr, 0, &name, &min, &max),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_num_symbols(nullptr), 0u);
}

TEST_F(SymbolLoadTest, StaticModelsHaveNoSymbols) {
  ASSERT_EQ(loadBytes(buildArtifact(addModel(addHostCode())), &model),
            KILN_STATUS_OK);
  EXPECT_EQ(kiln_model_num_symbols(model), 0u);
}

TEST_F(SymbolLoadTest, Version2ArtifactsStillLoad) {
  ModelSpec old = addModel(addHostCode());
  old.formatVersion = 2; // METADATA ends at workspace_bytes
  ASSERT_EQ(loadBytes(buildArtifact(old), &model), KILN_STATUS_OK)
      << lastError();
  EXPECT_EQ(kiln_model_num_symbols(model), 0u);
}

TEST_F(SymbolLoadTest, Version2HasNoSymbols) {
  spec.formatVersion = 2;
  expectCorrupt(spec, "input 0 'a' dim 0 is -1, which names symbol 0, but the "
                      "model has 0 symbols");
}

TEST_F(SymbolLoadTest, SymbolNamesMustBeNonEmptyAndUnique) {
  spec.symbols[1].name = "";
  expectCorrupt(spec, "symbol 1 has an empty name");
  spec.symbols[1].name = "batch";
  expectCorrupt(spec, "two symbols are named 'batch'");
  spec.symbols[1].name = std::string("se\0q", 4);
  expectCorrupt(spec, "symbol 1 name contains a NUL byte");
}

TEST_F(SymbolLoadTest, RangesMustBeOrderedAndBounded) {
  spec.symbols[1] = {"seq", 5, 3};
  expectCorrupt(spec, "symbol 1 'seq' has range 5..3; a range needs 0 <= min "
                      "<= max <= 1099511627776");
  spec.symbols[1] = {"seq", -1, 3};
  expectCorrupt(spec, "has range -1..3");
  spec.symbols[1] = {"seq", 1, KILN_MAX_SYMBOL_VALUE + 1};
  expectCorrupt(spec, "has range 1..1099511627777");
  spec.symbols[1] = {"seq", KILN_MAX_SYMBOL_VALUE, KILN_MAX_SYMBOL_VALUE};
  ASSERT_EQ(loadBytes(buildArtifact(spec), &model), KILN_STATUS_OK)
      << lastError();
}

TEST_F(SymbolLoadTest, DimsMustNameExistingSymbols) {
  spec.outputs[0].dims = {-1, -3};
  expectCorrupt(spec, "output 0 'sum' dim 1 is -3, which names symbol 2, but "
                      "the model has 2 symbols");
  spec.outputs[0].dims = {-1, INT64_MIN};
  expectCorrupt(spec, "output 0 'sum' dim 1 is -9223372036854775808");
}

TEST_F(SymbolLoadTest, EverySymbolNeedsAnInputDim) {
  spec.symbols.push_back({"zeta", 1, 4});
  spec.outputs[2].dims = {-3}; // only an output uses zeta
  expectCorrupt(spec, "symbol 'zeta' occurs in no input's shape, so no run "
                      "could give it a value");
}

TEST_F(SymbolLoadTest, WeightsAreStatic) {
  spec.weights[0].tensor.dims = {-1};
  expectCorrupt(spec, "weight 0 'w' has a symbolic dimension in shape [-1] "
                      "(weights are static)");
}

TEST_F(SymbolLoadTest, TruncatedSymbolTableFailsCleanly) {
  Bytes metadata = encodeMetadata(spec);
  for (size_t cut = 1; cut <= 2 * (4 + 5 + 16); ++cut) {
    Bytes shorter(metadata.begin(), metadata.end() - cut);
    Bytes artifact = assemble({{KILN_SECTION_METADATA, shorter},
                               {KILN_SECTION_HOST_CODE, spec.hostCode},
                               {KILN_SECTION_WEIGHTS, encodeWeights(spec)}});
    EXPECT_EQ(loadBytes(artifact, &model), KILN_STATUS_CORRUPT_ARTIFACT)
        << "cut " << cut;
    EXPECT_EQ(model, nullptr);
  }
}

TEST_F(SymbolLoadTest, CudaLoadsButDoesNotRunSymbols) {
  ModelSpec cuda = cudaAddModel(readFile(KILN_TEST_CUDA_HOST_CODE));
  cuda.symbols = {{"batch", 1, 4}};
  cuda.inputs[0].dims = {-1, 3};
  ASSERT_EQ(loadBytes(buildArtifact(cuda), &model), KILN_STATUS_OK)
      << lastError();
  EXPECT_EQ(kiln_model_num_symbols(model), 1u);
  kiln_session *session = nullptr;
  EXPECT_EQ(kiln_session_create(model, "cuda:0", &session),
            KILN_STATUS_UNSUPPORTED);
  EXPECT_EQ(session, nullptr);
  EXPECT_TRUE(contains(lastError(), "dynamic dims are not supported by the "
                                    "CUDA backend yet"))
      << lastError();
}

//===--- Sessions ---------------------------------------------------------===//

class SymbolSessionTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(loadBytes(buildArtifact(dynamicModel(addHostCode())), &model),
              KILN_STATUS_OK)
        << lastError();
    ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK)
        << lastError();
  }
  void TearDown() override {
    kiln_session_release(session);
    kiln_model_release(model);
  }

  kiln_status setFloats(const char *name, std::vector<int64_t> dims,
                        const std::vector<float> &values) {
    return kiln_session_set_input(session, name, KILN_DTYPE_FLOAT32,
                                  dims.data(), uint32_t(dims.size()),
                                  values.data(), values.size() * sizeof(float));
  }

  /// a[i][j] = 10 i + j, b[j] = 1000 j.
  void setInputs(int64_t batch, int64_t seq) {
    std::vector<float> a, b;
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t j = 0; j < seq; ++j)
        a.push_back(float(10 * i + j));
    for (int64_t j = 0; j < seq; ++j)
      b.push_back(float(1000 * j));
    ASSERT_EQ(setFloats("a", {batch, seq}, a), KILN_STATUS_OK) << lastError();
    ASSERT_EQ(setFloats("b", {1, seq}, b), KILN_STATUS_OK) << lastError();
  }

  struct Output {
    std::vector<int64_t> dims;
    const void *data = nullptr;
    size_t bytes = 0;
  };
  Output output(size_t index) {
    kiln_tensor_desc desc;
    Output out;
    EXPECT_EQ(kiln_session_output(session, index, &desc, &out.data, &out.bytes),
              KILN_STATUS_OK)
        << lastError();
    out.dims.assign(desc.dims, desc.dims + desc.rank);
    return out;
  }

  /// Runs at (batch, seq) and checks every output against the formula.
  void runAndCheck(int64_t batch, int64_t seq) {
    setInputs(batch, seq);
    ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
    Output sum = output(0), rowsum = output(1), symbols = output(2);
    EXPECT_EQ(sum.dims, (std::vector<int64_t>{batch, seq}));
    EXPECT_EQ(rowsum.dims, (std::vector<int64_t>{batch}));
    EXPECT_EQ(symbols.dims, (std::vector<int64_t>{2}));
    ASSERT_EQ(sum.bytes, size_t(batch * seq) * sizeof(float));
    ASSERT_EQ(rowsum.bytes, size_t(batch) * sizeof(float));
    EXPECT_NE(sum.data, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(sum.data) % 64, 0u);
    const auto *values = static_cast<const int64_t *>(symbols.data);
    EXPECT_EQ(values[0], batch);
    EXPECT_EQ(values[1], seq);
    const auto *sums = static_cast<const float *>(sum.data);
    const auto *rows = static_cast<const float *>(rowsum.data);
    for (int64_t i = 0; i < batch; ++i) {
      float row = 0;
      for (int64_t j = 0; j < seq; ++j) {
        float expected = float(10 * i + j) + float(1000 * j) + 100;
        EXPECT_EQ(sums[i * seq + j], expected) << i << "," << j;
        row += expected;
      }
      EXPECT_EQ(rows[i], row) << i;
    }
  }

  void expectNoOutputs() {
    kiln_tensor_desc desc;
    const void *data;
    size_t bytes;
    EXPECT_EQ(kiln_session_output(session, 0, &desc, &data, &bytes),
              KILN_STATUS_INVALID_ARGUMENT);
  }

  kiln_model *model = nullptr;
  kiln_session *session = nullptr;
};

TEST_F(SymbolSessionTest, RunsAtEveryShapeInRange) {
  runAndCheck(2, 3);
  runAndCheck(4, 5);  // the buffers grow
  runAndCheck(1, 2);  // and are reused
  runAndCheck(8, 16); // both maxima
}

TEST_F(SymbolSessionTest, ZeroSizeShapesGetRealBuffers) {
  runAndCheck(0, 4); // batch's range starts at 0
  EXPECT_NE(output(0).data, nullptr);
  EXPECT_NE(output(1).data, nullptr);
}

TEST_F(SymbolSessionTest, SymbolicDimOutsideItsRange) {
  std::vector<float> a(2 * 17);
  EXPECT_EQ(setFloats("a", {2, 17}, a), KILN_STATUS_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'a' dim 1 (seq) is 17, outside seq's range "
                         "1..16");
  EXPECT_EQ(setFloats("a", {9, 1}, std::vector<float>(9)),
            KILN_STATUS_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'a' dim 0 (batch) is 9, outside batch's range "
                         "0..8");
  EXPECT_EQ(setFloats("a", {-1, 1}, {}), KILN_STATUS_SHAPE_MISMATCH);
  EXPECT_TRUE(contains(lastError(), "dim 0 (batch) is -1"));
}

TEST_F(SymbolSessionTest, RankAndStaticDimsMustMatch) {
  EXPECT_EQ(setFloats("a", {6}, std::vector<float>(6)),
            KILN_STATUS_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'a' expects shape [batch,seq] but got [6]");
  EXPECT_EQ(setFloats("b", {2, 3}, std::vector<float>(6)),
            KILN_STATUS_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'b' expects shape [1,seq] but got [2,3]");
}

TEST_F(SymbolSessionTest, ByteSizeFollowsTheActualShape) {
  int64_t dims[] = {2, 3};
  std::vector<float> a(6);
  EXPECT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, dims, 2,
                                   a.data(), 5 * sizeof(float)),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "input 'a' of dtype float32 and shape [2,3] needs 24 "
                         "bytes but byte_size is 20");
}

TEST_F(SymbolSessionTest, InputsMustAgreeOnASymbol) {
  ASSERT_EQ(setFloats("a", {2, 3}, std::vector<float>(6)), KILN_STATUS_OK);
  ASSERT_EQ(setFloats("b", {1, 4}, std::vector<float>(4)), KILN_STATUS_OK);
  EXPECT_EQ(kiln_session_run(session), KILN_STATUS_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(),
            "input 'b' dim 1 is 4 but seq is 3 (from input 'a' dim 1)");
  expectNoOutputs();
  // Setting b again at the agreed shape makes the session usable again.
  runAndCheck(2, 3);
}

TEST_F(SymbolSessionTest, FailedSetInputKeepsThePreviousValue) {
  setInputs(3, 2);
  EXPECT_EQ(setFloats("a", {3, 17}, std::vector<float>(51)),
            KILN_STATUS_SHAPE_MISMATCH);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << lastError();
  EXPECT_EQ(output(0).dims, (std::vector<int64_t>{3, 2}));
}

TEST_F(SymbolSessionTest, MissingInputIsReportedBeforeSymbols) {
  ASSERT_EQ(setFloats("a", {2, 3}, std::vector<float>(6)), KILN_STATUS_OK);
  EXPECT_EQ(kiln_session_run(session), KILN_STATUS_MISSING_INPUT);
  EXPECT_TRUE(contains(lastError(), "missing input 'b'")) << lastError();
}

TEST_F(SymbolSessionTest, SessionsKeepTheirOwnShapes) {
  kiln_session *other = nullptr;
  ASSERT_EQ(kiln_session_create(model, "cpu", &other), KILN_STATUS_OK);
  std::vector<float> a(5), b(5);
  int64_t aDims[] = {1, 5}, bDims[] = {1, 5};
  ASSERT_EQ(kiln_session_set_input(other, "a", KILN_DTYPE_FLOAT32, aDims, 2,
                                   a.data(), sizeof(float) * 5),
            KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_set_input(other, "b", KILN_DTYPE_FLOAT32, bDims, 2,
                                   b.data(), sizeof(float) * 5),
            KILN_STATUS_OK);
  runAndCheck(3, 2);
  ASSERT_EQ(kiln_session_run(other), KILN_STATUS_OK);
  OutputView sum = sessionOutput(other, 0);
  ASSERT_EQ(sum.status, KILN_STATUS_OK);
  EXPECT_EQ(sum.dims(), (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(output(0).dims, (std::vector<int64_t>{3, 2}));
  kiln_session_release(other);
}

} // namespace
