//===- kiln_run_support_test.cpp - kiln-run's option parsing and output --===//

#include "options.h"
#include "output_writer.h"
#include "serve.h"
#include "summary.h"

#include "kiln/tensor_io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kiln::run;

namespace {

std::string parse(std::vector<const char *> args, Options &options) {
  args.insert(args.begin(), "kiln-run");
  return parseOptions(int(args.size()), const_cast<char **>(args.data()),
                      options);
}

TEST(KilnRunOptionsTest, ParsesEveryFlag) {
  Options options;
  ASSERT_EQ(parse({"m.kiln", "--input", "a=x.npy", "-i", "b=y=z.pb",
                   "--input=c=w.npy", "--output-dir=out", "--device", "cpu",
                   "--repeat", "7", "-q", "--print-signature", "--threads",
                   "3"},
                  options),
            "");
  EXPECT_EQ(options.model, "m.kiln");
  ASSERT_EQ(options.inputs.size(), 3u);
  EXPECT_EQ(options.inputs[1].first, "b");
  EXPECT_EQ(options.inputs[1].second, "y=z.pb"); // split at the first '='
  EXPECT_EQ(options.inputs[2].first, "c");
  EXPECT_EQ(options.outputDir, "out");
  EXPECT_EQ(options.repeat, 7u);
  EXPECT_EQ(options.threads, 3u);
  EXPECT_TRUE(options.repeatGiven && options.quiet && options.printSignature);
}

/// Each case parses into fresh options.
std::string parseError(std::vector<const char *> args) {
  Options options;
  return parse(std::move(args), options);
}

TEST(KilnRunOptionsTest, RejectsBadUsage) {
  EXPECT_NE(parseError({}).find("no model given"), std::string::npos);
  EXPECT_EQ(parseError({"m", "--input", "=x.npy"}),
            "--input expects NAME=FILE, got '=x.npy'");
  EXPECT_EQ(parseError({"m", "--input", "a="}),
            "--input expects NAME=FILE, got 'a='");
  EXPECT_EQ(parseError({"m", "--repeat", "-3"}),
            "--repeat expects an integer from 1 to 1000000, got '-3'");
  EXPECT_EQ(parseError({"m", "--repeat", "2x"}),
            "--repeat expects an integer from 1 to 1000000, got '2x'");
  EXPECT_EQ(parseError({"m", "--threads", "5000"}),
            "--threads expects an integer from 1 to 4096, got '5000'");
  EXPECT_EQ(parseError({"m", "--device"}), "--device needs a value");
  Options help;
  EXPECT_EQ(parse({"--help"}, help), ""); // no model needed
  EXPECT_TRUE(help.help);
}

TEST(KilnRunServeTest, ParsesServeFlags) {
  Options options;
  ASSERT_EQ(parse({"m.kiln", "--serve-trace", "t.txt", "--max-batch", "4",
                   "--temperature", "0.5"},
                  options),
            "");
  EXPECT_EQ(options.serveTrace, "t.txt");
  EXPECT_EQ(options.maxBatch, 4u);
  EXPECT_EQ(parseError({"m", "--max-batch", "2"}),
            "--max-batch needs --serve-trace");
  EXPECT_EQ(parseError({"m", "--serve-trace", "t", "--max-batch", "0"}),
            "--max-batch expects an integer from 1 to 1048576, got '0'");
  EXPECT_NE(parseError({"m", "--serve-trace", "t", "--generate", "3"})
                .find("does not go with --generate"),
            std::string::npos);
}

TEST(KilnRunServeTest, ParsesTraces) {
  std::vector<TraceRequest> trace;
  ASSERT_EQ(parseTrace("# a comment\n0.5 4 1 2 3\n\n0 2 7 # late\n",
                       trace),
            "");
  ASSERT_EQ(trace.size(), 2u);
  // Sorted by arrival.
  EXPECT_EQ(trace[0].arrival, 0.0);
  EXPECT_EQ(trace[0].maxNew, 2u);
  EXPECT_EQ(trace[0].prompt, (std::vector<int64_t>{7}));
  EXPECT_EQ(trace[1].prompt, (std::vector<int64_t>{1, 2, 3}));
  auto error = [](const std::string &text) {
    std::vector<TraceRequest> t;
    return parseTrace(text, t);
  };
  EXPECT_EQ(error(""), "the trace has no requests");
  EXPECT_NE(error("0 4\n").find("trace line 1: expected ARRIVAL_SECONDS"),
            std::string::npos);
  EXPECT_NE(error("\n-1 4 1\n").find("trace line 2: the arrival must be"),
            std::string::npos);
  EXPECT_NE(error("0 0 1\n").find("max new tokens must be a positive"),
            std::string::npos);
  EXPECT_NE(error("0 2 1 x\n").find("token 'x' is not an integer"),
            std::string::npos);
}

TEST(KilnRunOutputTest, SanitizesFileNames) {
  EXPECT_EQ(sanitizeFileName("logits"), "logits");
  EXPECT_EQ(sanitizeFileName("a/b:c d"), "a_b_c_d");
  EXPECT_EQ(sanitizeFileName(".."), "_..");
  EXPECT_EQ(sanitizeFileName(".hidden"), "_.hidden");
  EXPECT_EQ(sanitizeFileName("x.y-z_1"), "x.y-z_1");
  EXPECT_EQ(sanitizeFileName(""), "_");
}

std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *handle = opendir(dir.c_str())) {
    while (dirent *entry = readdir(handle))
      if (std::string(entry->d_name) != "." &&
          std::string(entry->d_name) != "..")
        names.push_back(entry->d_name);
    closedir(handle);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class KilnRunWriterTest : public ::testing::Test {
protected:
  void SetUp() override {
    const char *tmp = std::getenv("TMPDIR");
    root = std::string(tmp && *tmp ? tmp : "/tmp") + "/kiln-writer-XXXXXX";
    ASSERT_NE(mkdtemp(root.data()), nullptr);
  }
  void TearDown() override {
    std::string command = "rm -rf '" + root + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  std::string root;
  const float values[2] = {1, 2};
  const std::vector<int64_t> dims = {2};
};

TEST_F(KilnRunWriterTest, CommitsUniqueNames) {
  OutputWriter writer;
  ASSERT_EQ(writer.open(root + "/a/b"), "");
  ASSERT_EQ(writer.add("x/y", KILN_DTYPE_FLOAT32, dims, values, 8), "");
  ASSERT_EQ(writer.add("x_y", KILN_DTYPE_FLOAT32, dims, values, 8), "");
  ASSERT_EQ(writer.add("x:y", KILN_DTYPE_FLOAT32, dims, values, 8), "");
  ASSERT_EQ(writer.commit(), "");
  EXPECT_EQ(listDir(root + "/a/b"),
            (std::vector<std::string>{"x_y.npy", "x_y_2.npy", "x_y_3.npy"}));
}

TEST_F(KilnRunWriterTest, FailureRemovesEverythingCreated) {
  {
    OutputWriter writer;
    ASSERT_EQ(writer.open(root + "/new/dir"), "");
    ASSERT_EQ(writer.add("ok", KILN_DTYPE_FLOAT32, dims, values, 8), "");
    const uint16_t halves[2] = {0x3f80, 0x4000};
    ASSERT_EQ(writer.add("half", KILN_DTYPE_BFLOAT16, dims, halves, 4), "");
    const uint8_t notFloat4[2] = {0x1, 0x10};
    EXPECT_EQ(writer.add("bad", KILN_DTYPE_FLOAT4E2M1, dims, notFloat4, 2),
              "output 'bad' cannot be saved as '" + root +
                  "/new/dir/bad.pb': element 1 is 16, outside float4e2m1's "
                  "range [0, 15] (one element per byte, zero-extended)");
    // Destroyed without commit, as when kiln-run fails.
  }
  EXPECT_EQ(listDir(root), std::vector<std::string>{});
}

TEST_F(KilnRunWriterTest, LowPrecisionOutputsGoWhereNumPyCanReadThem) {
  OutputWriter writer;
  ASSERT_EQ(writer.open(root), "");
  std::string name;
  const uint16_t halves[2] = {0x3f80, 0x4000};
  ASSERT_EQ(writer.add("b/f", KILN_DTYPE_BFLOAT16, dims, halves, 4, &name), "");
  EXPECT_EQ(name, "b_f.pb");
  const uint8_t fp8[2] = {0x38, 0x7f};
  for (kiln_dtype dtype :
       {KILN_DTYPE_FLOAT8E4M3FN, KILN_DTYPE_FLOAT8E4M3FNUZ,
        KILN_DTYPE_FLOAT8E5M2, KILN_DTYPE_FLOAT8E5M2FNUZ,
        KILN_DTYPE_FLOAT8E8M0}) {
    ASSERT_EQ(writer.add(kiln_dtype_name(dtype), dtype, dims, fp8, 2, &name),
              "");
    EXPECT_EQ(name, std::string(kiln_dtype_name(dtype)) + ".pb");
  }
  const uint8_t fp4[2] = {0x1, 0xf};
  ASSERT_EQ(writer.add("fp4", KILN_DTYPE_FLOAT4E2M1, dims, fp4, 2, &name), "");
  EXPECT_EQ(name, "fp4.pb");
  const uint8_t int4[2] = {0xf8, 7};
  ASSERT_EQ(writer.add("i4", KILN_DTYPE_INT4, dims, int4, 2, &name), "");
  EXPECT_EQ(name, "i4.npy");
  const uint8_t uint2[2] = {3, 0};
  ASSERT_EQ(writer.add("u2", KILN_DTYPE_UINT2, dims, uint2, 2, &name), "");
  EXPECT_EQ(name, "u2.npy");
  // The same base name with another extension still gets a suffix, so no
  // two outputs differ only by extension.
  ASSERT_EQ(writer.add("fp4", KILN_DTYPE_FLOAT32, dims, values, 8, &name), "");
  EXPECT_EQ(name, "fp4_2.npy");
  ASSERT_EQ(writer.commit(), "");
  EXPECT_EQ(listDir(root),
            (std::vector<std::string>{"b_f.pb", "float8e4m3fn.pb",
                                      "float8e4m3fnuz.pb", "float8e5m2.pb",
                                      "float8e5m2fnuz.pb", "float8e8m0.pb",
                                      "fp4.pb", "fp4_2.npy", "i4.npy",
                                      "u2.npy"}));

  kiln::HostTensor tensor;
  ASSERT_EQ(kiln::readTensorFile(root + "/fp4.pb", tensor), "");
  EXPECT_EQ(tensor.name, "fp4");
  EXPECT_EQ(tensor.dtype, KILN_DTYPE_FLOAT4E2M1);
  EXPECT_EQ(tensor.data, (std::vector<uint8_t>{0x1, 0xf}));
  ASSERT_EQ(kiln::readTensorFile(root + "/i4.npy", tensor), "");
  EXPECT_EQ(tensor.dtype, KILN_DTYPE_INT8);
  EXPECT_EQ(tensor.data, (std::vector<uint8_t>{0xf8, 7}));
}

TEST_F(KilnRunWriterTest, SubByteNpyOutputsAreRangeChecked) {
  OutputWriter writer;
  ASSERT_EQ(writer.open(root), "");
  const uint8_t int2[2] = {1, 2};
  EXPECT_NE(writer.add("i2", KILN_DTYPE_INT2, dims, int2, 2)
                .find("element 1 is 2, outside int2's range [-2, 1]"),
            std::string::npos);
}

TEST_F(KilnRunWriterTest, RejectsAFileInThePath) {
  std::string file = root + "/file";
  FILE *handle = std::fopen(file.c_str(), "w");
  ASSERT_NE(handle, nullptr);
  std::fclose(handle);
  OutputWriter writer;
  EXPECT_NE(writer.open(file + "/out").find("exists and is not a directory"),
            std::string::npos);
}

kiln_tensor_desc desc(const char *name, kiln_dtype dtype,
                      const std::vector<int64_t> &dims) {
  return {name, dtype, uint32_t(dims.size()), dims.data()};
}

TEST(KilnRunSummaryTest, DescribesTensors) {
  std::vector<int64_t> three = {3}, eight = {8};
  const float floats[3] = {1, NAN, -2};
  EXPECT_EQ(summarize(desc("f", KILN_DTYPE_FLOAT32, three), floats, 12),
            "f: float32[3] min=-2 max=1 mean=-0.5 nan=1 values=[1, nan, -2]");
  const uint16_t halves[3] = {0x3c00, 0xc000, 0x0001}; // 1, -2, 2^-24
  EXPECT_EQ(summarize(desc("h", KILN_DTYPE_FLOAT16, three), halves, 6),
            "h: float16[3] min=-2 max=1 mean=-0.333333 values=[1, -2, "
            "5.96046e-08]");
  const uint8_t bools[3] = {1, 0, 1};
  EXPECT_EQ(summarize(desc("b", KILN_DTYPE_BOOL, three), bools, 3),
            "b: bool[3] true=2/3 values=[1, 0, 1]");
  const int64_t ints[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(summarize(desc("i", KILN_DTYPE_INT64, eight), ints, 64),
            "i: int64[8] min=1 max=8 mean=4.5 values=[1, 2, 3, 4, 5, 6, ...]");
  const uint16_t bf16[3] = {0x3f80, 0xc000, 0x7fc0};
  EXPECT_EQ(summarize(desc("b", KILN_DTYPE_BFLOAT16, three), bf16, 6),
            "b: bfloat16[3] min=-2 max=1 mean=-0.5 nan=1 values=[1, -2, nan]");
}

/// The summary's values=[...] for `bytes` of a one-byte-per-element dtype.
std::string shown(kiln_dtype dtype, std::vector<uint8_t> bytes) {
  std::vector<int64_t> dims = {int64_t(bytes.size())};
  std::string line = summarize(desc("x", dtype, dims), bytes.data(), bytes.size());
  return line.substr(line.find("values=["));
}

TEST(KilnRunSummaryTest, DecodesFloat8AndFloat4) {
  // e4m3fn: 1, -2, 448 (max), smallest subnormal 2^-9, NaN (S.1111.111).
  EXPECT_EQ(shown(KILN_DTYPE_FLOAT8E4M3FN, {0x38, 0xc0, 0x7e, 0x01, 0xff, 0x80}),
            "values=[1, -2, 448, 0.00195312, nan, -0]");
  // e4m3fnuz: bias 8, 0x80 is the only NaN, no infinity.
  EXPECT_EQ(shown(KILN_DTYPE_FLOAT8E4M3FNUZ, {0x40, 0x7f, 0x80, 0xff, 0x01}),
            "values=[1, 240, nan, -240, 0.000976562]");
  // e5m2: IEEE-like, with infinities.
  EXPECT_EQ(shown(KILN_DTYPE_FLOAT8E5M2, {0x3c, 0x7b, 0x7c, 0xfc, 0x7d, 0x01}),
            "values=[1, 57344, inf, -inf, nan, 1.52588e-05]");
  // e5m2fnuz: bias 16, 0x80 NaN, no infinity.
  EXPECT_EQ(shown(KILN_DTYPE_FLOAT8E5M2FNUZ, {0x40, 0x7f, 0x80, 0xc0}),
            "values=[1, 57344, nan, -1]");
  // e8m0: 2^(e - 127), 0xff NaN.
  EXPECT_EQ(shown(KILN_DTYPE_FLOAT8E8M0, {0x7f, 0x80, 0x7c, 0xff, 0x00}),
            "values=[1, 2, 0.125, nan, 5.87747e-39]");
  // float4e2m1: every positive code, and -6.
  EXPECT_EQ(shown(KILN_DTYPE_FLOAT4E2M1, {0, 1, 2, 3, 4, 5}),
            "values=[0, 0.5, 1, 1.5, 2, 3]");
  EXPECT_EQ(shown(KILN_DTYPE_FLOAT4E2M1, {6, 7, 0xf, 0x9}),
            "values=[4, 6, -6, -0.5]");
}

TEST(KilnRunSummaryTest, SubByteIntegersAreOnePerByte) {
  std::vector<int64_t> four = {4};
  const uint8_t int4[4] = {0xf8, 7, 0xff, 0};
  EXPECT_EQ(summarize(desc("i", KILN_DTYPE_INT4, four), int4, 4),
            "i: int4[4] min=-8 max=7 mean=-0.5 values=[-8, 7, -1, 0]");
  const uint8_t uint2[4] = {3, 0, 2, 1};
  EXPECT_EQ(summarize(desc("u", KILN_DTYPE_UINT2, four), uint2, 4),
            "u: uint2[4] min=0 max=3 mean=1.5 values=[3, 0, 2, 1]");
  EXPECT_EQ(shown(KILN_DTYPE_INT2, {0xfe, 1}), "values=[-2, 1]");
  EXPECT_EQ(shown(KILN_DTYPE_UINT4, {15, 8}), "values=[15, 8]");
}

} // namespace
