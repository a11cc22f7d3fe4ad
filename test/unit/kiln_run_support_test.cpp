//===- kiln_run_support_test.cpp - kiln-run's option parsing and output --===//

#include "options.h"
#include "output_writer.h"
#include "summary.h"

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
                   "--repeat", "7", "-q", "--print-signature"},
                  options),
            "");
  EXPECT_EQ(options.model, "m.kiln");
  ASSERT_EQ(options.inputs.size(), 3u);
  EXPECT_EQ(options.inputs[1].first, "b");
  EXPECT_EQ(options.inputs[1].second, "y=z.pb"); // split at the first '='
  EXPECT_EQ(options.inputs[2].first, "c");
  EXPECT_EQ(options.outputDir, "out");
  EXPECT_EQ(options.repeat, 7u);
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
  EXPECT_EQ(parseError({"m", "--device"}), "--device needs a value");
  Options help;
  EXPECT_EQ(parse({"--help"}, help), ""); // no model needed
  EXPECT_TRUE(help.help);
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
    EXPECT_NE(writer.add("bad", KILN_DTYPE_BFLOAT16, dims, values, 4), "");
    // Destroyed without commit, as when kiln-run fails.
  }
  EXPECT_EQ(listDir(root), std::vector<std::string>{});
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
  const uint8_t fp8[3] = {};
  EXPECT_EQ(summarize(desc("q", KILN_DTYPE_FLOAT8E4M3FN, three), fp8, 3),
            "q: float8e4m3fn[3] (no statistics for this dtype)");
}

} // namespace
