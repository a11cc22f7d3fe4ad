//===- profile_test.cpp - The KERNELS section and kernel profiling -------===//
//
// The loader checks the kernel table (kiln/artifact_format.h, "Kernels");
// kiln_model_kernel describes it; kiln_session_enable_profile makes the
// host code's exported hook record each kernel's start and end.
// test_host_code.c's kiln_entry_profiled stands in for compiled code.

#include "test_support.h"

#include <gtest/gtest.h>

#include <string>

using namespace kiln::test;

namespace {

const std::vector<KernelSpec> kTwoKernels = {
    {"add+add", {"kiln.add"}, {"add_0", "add_1"}}, {"copy", {}, {}}};

ModelSpec profiledModel(std::optional<Bytes> kernels) {
  ModelSpec spec = addModel(addHostCode());
  spec.entrySymbol = "kiln_entry_profiled";
  spec.kernels = std::move(kernels);
  return spec;
}

class ProfileTest : public ::testing::Test {
protected:
  void TearDown() override {
    kiln_session_release(session);
    kiln_model_release(model);
  }

  void load(const Bytes &kernels = encodeKernels(kTwoKernels)) {
    ASSERT_EQ(loadBytes(buildArtifact(profiledModel(kernels)), &model),
              KILN_STATUS_OK)
        << kiln_last_error();
    ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK)
        << kiln_last_error();
    float zeros[6] = {};
    int64_t dims[2] = {2, 3};
    for (const char *name : {"a", "b"})
      ASSERT_EQ(kiln_session_set_input(session, name, KILN_DTYPE_FLOAT32, dims,
                                       2, zeros, sizeof(zeros)),
                KILN_STATUS_OK);
  }

  void expectCorrupt(const Bytes &kernels, const std::string &message) {
    kiln_model *broken = nullptr;
    EXPECT_EQ(loadBytes(buildArtifact(profiledModel(kernels)), &broken),
              KILN_STATUS_CORRUPT_ARTIFACT);
    EXPECT_EQ(broken, nullptr);
    EXPECT_NE(std::string(kiln_last_error()).find(message), std::string::npos)
        << kiln_last_error();
  }

  std::vector<kiln_profile_event> events(uint64_t *dropped = nullptr) {
    const kiln_profile_event *data = nullptr;
    size_t count = 0;
    EXPECT_EQ(kiln_session_profile_get(session, &data, &count, dropped),
              KILN_STATUS_OK)
        << kiln_last_error();
    return {data, data + count};
  }

  kiln_model *model = nullptr;
  kiln_session *session = nullptr;
};

TEST_F(ProfileTest, DescribesTheKernels) {
  load();
  ASSERT_EQ(kiln_model_num_kernels(model), 2u);
  kiln_kernel_info info;
  ASSERT_EQ(kiln_model_kernel(model, 0, &info), KILN_STATUS_OK);
  EXPECT_STREQ(info.name, "add+add");
  ASSERT_EQ(info.num_kinds, 1u);
  EXPECT_STREQ(info.kinds[0], "kiln.add");
  ASSERT_EQ(info.num_nodes, 2u);
  EXPECT_STREQ(info.nodes[1], "add_1");
  ASSERT_EQ(kiln_model_kernel(model, 1, &info), KILN_STATUS_OK);
  EXPECT_EQ(info.num_kinds, 0u);
  EXPECT_EQ(info.num_nodes, 0u);
  EXPECT_EQ(kiln_model_kernel(model, 2, &info), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("kernel index 2 is out of range"),
            std::string::npos)
      << kiln_last_error();
  EXPECT_EQ(info.name, nullptr);
  EXPECT_EQ(kiln_model_kernel(model, 0, nullptr), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_num_kernels(nullptr), 0u);
  uint64_t offset = 0, size = 0;
  EXPECT_EQ(kiln_model_section(model, KILN_SECTION_KERNELS, &offset, &size),
            KILN_STATUS_OK);
  EXPECT_EQ(size, encodeKernels(kTwoKernels).size());
}

TEST_F(ProfileTest, RecordsEachKernelAndRun) {
  load();
  ASSERT_EQ(kiln_session_enable_profile(session, 100), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK);
  uint64_t dropped = 1;
  std::vector<kiln_profile_event> e = events(&dropped);
  EXPECT_EQ(dropped, 0u);
  // Per run: kernel 0, kernel 1 (the call naming kernel 7 is ignored), run.
  ASSERT_EQ(e.size(), 6u);
  for (uint32_t run = 0; run < 2; ++run) {
    const kiln_profile_event *r = &e[3 * run];
    EXPECT_EQ(r[0].kernel, 0u);
    EXPECT_EQ(r[1].kernel, 1u);
    EXPECT_EQ(r[2].kernel, KILN_PROFILE_RUN);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(r[i].run, run);
      EXPECT_LE(r[i].start_ns, r[i].end_ns);
      EXPECT_GE(r[i].start_ns, r[2].start_ns); // inside the run
      EXPECT_LE(r[i].end_ns, r[2].end_ns);
    }
    EXPECT_LE(r[0].end_ns, r[1].start_ns);
  }
  // The outputs are those of the unprofiled entry.
  kiln_tensor_desc desc;
  const void *data = nullptr;
  size_t bytes = 0;
  ASSERT_EQ(kiln_session_output(session, 0, &desc, &data, &bytes),
            KILN_STATUS_OK);
  EXPECT_EQ(static_cast<const float *>(data)[5], 600.0f);
}

TEST_F(ProfileTest, DropsWhatDoesNotFitAndStops) {
  load();
  ASSERT_EQ(kiln_session_enable_profile(session, 2), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK);
  uint64_t dropped = 0;
  EXPECT_EQ(events(&dropped).size(), 2u);
  EXPECT_EQ(dropped, 1u);
  // Enabling again starts afresh; 0 turns it off.
  ASSERT_EQ(kiln_session_enable_profile(session, 10), KILN_STATUS_OK);
  EXPECT_TRUE(events().empty());
  ASSERT_EQ(kiln_session_enable_profile(session, 0), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK);
  const kiln_profile_event *data = nullptr;
  size_t count = 5;
  EXPECT_EQ(kiln_session_profile_get(session, &data, &count, nullptr),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("profiling is not enabled"),
            std::string::npos)
      << kiln_last_error();
  EXPECT_EQ(count, 0u);
}

TEST_F(ProfileTest, RefusesNullArguments) {
  load();
  EXPECT_EQ(kiln_session_enable_profile(nullptr, 10),
            KILN_STATUS_INVALID_ARGUMENT);
  size_t count = 0;
  EXPECT_EQ(kiln_session_profile_get(session, nullptr, &count, nullptr),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "out_events is NULL");
}

TEST_F(ProfileTest, ArtifactsWithoutKernelsRecordRuns) {
  ASSERT_EQ(loadBytes(buildArtifact(profiledModel(std::nullopt)), &model),
            KILN_STATUS_OK);
  EXPECT_EQ(kiln_model_num_kernels(model), 0u);
  ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK);
  float zeros[6] = {};
  int64_t dims[2] = {2, 3};
  for (const char *name : {"a", "b"})
    ASSERT_EQ(kiln_session_set_input(session, name, KILN_DTYPE_FLOAT32, dims, 2,
                                     zeros, sizeof(zeros)),
              KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_enable_profile(session, 10), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_run(session), KILN_STATUS_OK);
  std::vector<kiln_profile_event> e = events();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].kernel, KILN_PROFILE_RUN);
}

TEST_F(ProfileTest, RefusesCorruptKernelTables) {
  expectCorrupt(encodeKernels(kTwoKernels, 0x12345678),
                "corrupt KERNELS section: magic is 0x12345678");
  Bytes truncated = encodeKernels(kTwoKernels);
  truncated.resize(truncated.size() - 3);
  expectCorrupt(truncated, "corrupt KERNELS section: kernel 1 node count");
  Bytes trailing = encodeKernels(kTwoKernels);
  trailing.push_back(0);
  expectCorrupt(trailing, "corrupt KERNELS section: 1 bytes after the last kernel");
  expectCorrupt(encodeKernels({{"", {}, {}}}),
                "corrupt KERNELS section: kernel 0 has an empty name");
  expectCorrupt(encodeKernels({{"k", {"kiln.add"}, {""}}}),
                "corrupt KERNELS section: kernel 0 node 0 is empty");
  expectCorrupt(encodeKernels({{std::string("a\0b", 3), {}, {}}}),
                "kernel 0 name contains a NUL byte");
  Bytes huge = encodeKernels({});
  huge[4] = 0xff; // num_kernels = 255, with no bytes for them
  expectCorrupt(huge, "corrupt KERNELS section: num_kernels is 255");
}

} // namespace
