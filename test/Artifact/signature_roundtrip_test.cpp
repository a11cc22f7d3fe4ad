//===- signature_roundtrip_test.cpp - readSignature -> writer -> runtime -===//
//
// Symbolic dims across the contract: an entry with kiln.dim_ranges and
// kiln.dim_symbols is read by readSignature, written by writeArtifact and
// loaded by the runtime, whose session runs it with test_host_code.c's
// "dynamic" entry (the one the runtime tests assemble by hand). What the
// compiler writes must be what the runtime reads, symbol table and ABI
// included.
//
//===----------------------------------------------------------------------===//

#include "kiln/Artifact/ArtifactWriter.h"
#include "kiln/Artifact/Signature.h"
#include "kiln/artifact_format.h"
#include "kiln/runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <vector>

using namespace mlir;

namespace {

// Weights, inputs and outputs of test_host_code.c's kiln_entry_dynamic.
const char *kDynamicEntry = R"mlir(
func.func private @main(
    %w: tensor<1xf32> {kiln.name = "w", kiln.weight = dense<100.0> : tensor<1xf32>},
    %a: tensor<?x?xf32> {kiln.name = "a", kiln.dim_symbols = ["batch", "seq"]},
    %b: tensor<1x?xf32> {kiln.name = "b", kiln.dim_symbols = ["", "seq"]})
    -> (tensor<?x?xf32> {kiln.name = "sum", kiln.dim_symbols = ["batch", "seq"]},
        tensor<?xf32> {kiln.name = "rowsum", kiln.dim_symbols = ["batch"]},
        tensor<2xi64> {kiln.name = "symbols"})
    attributes {kiln.dim_ranges = {seq = array<i64: 1, 16>, batch = array<i64: 0, 8>}}
)mlir";

class SignatureRoundTrip : public ::testing::Test {
protected:
  void SetUp() override {
    context.loadDialect<func::FuncDialect>();
    module = parseSourceString<ModuleOp>(kDynamicEntry, &context);
    ASSERT_TRUE(module);
    ASSERT_TRUE(succeeded(readSignature(
        module->lookupSymbol<func::FuncOp>("main"), contents)));
  }
  void TearDown() override {
    kiln_session_release(session);
    kiln_model_release(model);
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }

  /// Writes `contents` around the test host code and loads it.
  void writeAndLoad() {
    auto hostCode = llvm::MemoryBuffer::getFile(KILN_TEST_HOST_CODE);
    ASSERT_TRUE(bool(hostCode));
    contents.target = "cpu-x86_64";
    contents.entrySymbol = "kiln_entry_dynamic";
    contents.hostCode = (*hostCode)->getBuffer().str();
    llvm::SmallString<128> file;
    ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("kiln-roundtrip", "kiln",
                                                    file));
    path = file.str().str();
    ASSERT_FALSE(bool(writeArtifact(path, contents)));
    ASSERT_EQ(kiln_model_load(path.c_str(), &model), KILN_STATUS_OK)
        << kiln_last_error();
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  kiln::ArtifactContents contents;
  std::string path;
  kiln_model *model = nullptr;
  kiln_session *session = nullptr;
};

TEST_F(SignatureRoundTrip, ReadsSymbolsInNameOrder) {
  ASSERT_EQ(contents.symbols.size(), 2u);
  EXPECT_EQ(contents.symbols[0].name, "batch");
  EXPECT_EQ(contents.symbols[0].min, 0);
  EXPECT_EQ(contents.symbols[1].name, "seq");
  EXPECT_EQ(contents.symbols[1].max, 16);
  ASSERT_EQ(contents.inputs.size(), 2u);
  EXPECT_EQ(contents.inputs[0].dims, (std::vector<int64_t>{-1, -2}));
  EXPECT_EQ(contents.inputs[1].dims, (std::vector<int64_t>{1, -2}));
  EXPECT_EQ(contents.outputs[1].dims, (std::vector<int64_t>{-1}));
  EXPECT_EQ(contents.outputs[2].dims, (std::vector<int64_t>{2}));
  ASSERT_EQ(contents.weights.size(), 1u);
}

TEST_F(SignatureRoundTrip, RuntimeLoadsAndRunsWhatTheWriterWrote) {
  writeAndLoad();
  ASSERT_EQ(kiln_model_num_symbols(model), 2u);
  const char *name = nullptr;
  int64_t min = 0, max = 0;
  ASSERT_EQ(kiln_model_symbol(model, 1, &name, &min, &max), KILN_STATUS_OK);
  EXPECT_STREQ(name, "seq");
  EXPECT_EQ(min, 1);
  EXPECT_EQ(max, 16);

  ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK)
      << kiln_last_error();
  const int64_t aDims[] = {2, 3}, bDims[] = {1, 3};
  const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {10, 20, 30};
  ASSERT_EQ(kiln_session_set_input(session, "a", KILN_DTYPE_FLOAT32, aDims, 2,
                                   a, sizeof(a)),
            KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_set_input(session, "b", KILN_DTYPE_FLOAT32, bDims, 2,
                                   b, sizeof(b)),
            KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK) << kiln_last_error();
  kiln_tensor_desc desc;
  const void *data;
  size_t bytes;
  ASSERT_EQ(kiln_session_output(session, 0, &desc, &data, &bytes),
            KILN_STATUS_OK);
  ASSERT_EQ(desc.rank, 2u);
  EXPECT_EQ(desc.dims[0], 2);
  EXPECT_EQ(desc.dims[1], 3);
  ASSERT_EQ(bytes, sizeof(a));
  const auto *sum = static_cast<const float *>(data);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(sum[i], a[i] + b[i % 3] + 100) << i;
}

TEST_F(SignatureRoundTrip, ZeroMebibytesOfAWeightAreHolesThatReadBackAsZeros) {
  // 3 MiB and a bit of zeros with a byte set at each end: the whole zero
  // MiBs between are not written, and the file reads back the same.
  std::vector<char> zeros((size_t(3) << 20) + 100, 0);
  zeros.front() = 1;
  zeros.back() = 2;
  kiln::ArtifactWeight weight;
  weight.tensor.name = "zeros";
  weight.tensor.dtype = KILN_DTYPE_INT8;
  weight.tensor.dims = {(int64_t)zeros.size()};
  weight.view = zeros;
  contents.weights.push_back(weight);
  writeAndLoad();
  uint64_t offset = 0, size = 0;
  ASSERT_EQ(kiln_model_section(model, KILN_SECTION_WEIGHTS, &offset, &size),
            KILN_STATUS_OK);
  ASSERT_EQ(size, KILN_ARTIFACT_ALIGNMENT + zeros.size());
  auto file = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(bool(file));
  llvm::StringRef written = (*file)->getBuffer().substr(
      offset + KILN_ARTIFACT_ALIGNMENT, zeros.size());
  EXPECT_TRUE(written == llvm::StringRef(zeros.data(), zeros.size()));
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  // The two whole zero MiBs inside the weight are holes: the file takes
  // 2 MiB less than its size, give or take a block's rounding (a file
  // system without holes would store them: then this says so).
  EXPECT_LE(uint64_t(info.st_blocks) * 512,
            uint64_t(info.st_size) - (uint64_t(2) << 20) + 65536);
}

} // namespace
