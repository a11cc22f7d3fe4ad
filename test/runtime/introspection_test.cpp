//===- introspection_test.cpp - KERNEL_DETAILS, MEMORY_PLAN, DUMPS -------===//
//
// The optional sections that only describe the program
// (kiln/artifact_format.h, "Kernels" and "Dumps"): read back through
// kiln_model_kernel_detail, kiln_model_memory_plan,
// kiln_model_planned_buffer and kiln_model_output_dump; every malformed
// table is a one-line CORRUPT_ARTIFACT, never a crash; an artifact without
// them loads and says NOT_FOUND.

#include "test_support.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

using namespace kiln::test;

namespace {

/// A little-endian writer for the sections under test.
struct Writer {
  Bytes bytes;
  template <typename T> Writer &scalar(T v) {
    const auto *p = reinterpret_cast<const uint8_t *>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }
  Writer &u32(uint32_t v) { return scalar(v); }
  Writer &u64(uint64_t v) { return scalar(v); }
  Writer &str(const std::string &s) {
    u32(uint32_t(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
};

const std::vector<KernelSpec> kTwoKernels = {
    {"matmul", {"kiln.matmul"}, {"mm"}}, {"softmax", {}, {"sm"}}};

Bytes details(uint32_t magic = KILN_KERNEL_DETAILS_MAGIC, uint32_t rows = 2) {
  Writer w;
  w.u32(magic).u32(rows);
  for (uint32_t i = 0; i < rows; ++i)
    w.u64(100 * (i + 1)).str(i ? "scf.for 4" : "scf.parallel 4x8 / scf.for 16");
  return w.bytes;
}

/// One buffer of 128 bytes at `offset`, living through kernels
/// [first, last], in a 256-byte workspace.
Bytes plan(uint64_t offset = 64, uint32_t first = 0, uint32_t last = 1) {
  Writer w;
  w.u32(KILN_MEMORY_PLAN_MAGIC).u64(256).u64(128).u32(1);
  w.str("mm").str("4x8xf32").u64(offset).u64(128).u32(first).u32(last);
  return w.bytes;
}

Bytes dumps(uint32_t first, uint32_t count, const std::string &node = "mm") {
  Writer w;
  w.u32(KILN_DUMPS_MAGIC).u32(first).u32(count);
  for (uint32_t i = 0; i < count; ++i)
    w.str(node);
  return w.bytes;
}

Bytes artifact(const std::vector<Section> &extra, bool withKernels = true) {
  ModelSpec spec = addModel(addHostCode());
  std::vector<Section> sections = {
      {KILN_SECTION_METADATA, encodeMetadata(spec)},
      {KILN_SECTION_HOST_CODE, spec.hostCode},
      {KILN_SECTION_WEIGHTS, encodeWeights(spec)}};
  if (withKernels)
    sections.push_back({KILN_SECTION_KERNELS, encodeKernels(kTwoKernels)});
  sections.insert(sections.end(), extra.begin(), extra.end());
  return assemble(sections);
}

size_t numOutputs() { return addModel(addHostCode()).outputs.size(); }

void expectCorrupt(const Bytes &bytes, const std::string &message) {
  kiln_model *model = nullptr;
  EXPECT_EQ(loadBytes(bytes, &model), KILN_STATUS_CORRUPT_ARTIFACT);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(kiln_last_error()).find(message), std::string::npos)
      << kiln_last_error();
}

TEST(IntrospectionTest, ReadsTheSections) {
  size_t outputs = numOutputs();
  kiln_model *model = nullptr;
  ASSERT_EQ(loadBytes(artifact({{KILN_SECTION_KERNEL_DETAILS, details()},
                                {KILN_SECTION_MEMORY_PLAN, plan()},
                                {KILN_SECTION_DUMPS,
                                 dumps(uint32_t(outputs - 1), 1)}}),
                      &model),
            KILN_STATUS_OK)
      << kiln_last_error();
  kiln_kernel_detail detail;
  ASSERT_EQ(kiln_model_kernel_detail(model, 0, &detail), KILN_STATUS_OK);
  EXPECT_EQ(detail.code_bytes, 100u);
  EXPECT_STREQ(detail.loop_nest, "scf.parallel 4x8 / scf.for 16");
  ASSERT_EQ(kiln_model_kernel_detail(model, 1, &detail), KILN_STATUS_OK);
  EXPECT_EQ(detail.code_bytes, 200u);
  EXPECT_EQ(kiln_model_kernel_detail(model, 2, &detail),
            KILN_STATUS_INVALID_ARGUMENT);

  kiln_memory_plan p;
  ASSERT_EQ(kiln_model_memory_plan(model, &p), KILN_STATUS_OK);
  EXPECT_EQ(p.workspace_bytes, 256u);
  EXPECT_EQ(p.peak_bytes, 128u);
  ASSERT_EQ(p.num_buffers, 1u);
  kiln_planned_buffer b;
  ASSERT_EQ(kiln_model_planned_buffer(model, 0, &b), KILN_STATUS_OK);
  EXPECT_STREQ(b.nodes, "mm");
  EXPECT_STREQ(b.type, "4x8xf32");
  EXPECT_EQ(b.offset, 64u);
  EXPECT_EQ(b.bytes, 128u);
  EXPECT_EQ(b.first_kernel, 0u);
  EXPECT_EQ(b.last_kernel, 1u);
  EXPECT_EQ(kiln_model_planned_buffer(model, 1, &b),
            KILN_STATUS_INVALID_ARGUMENT);

  const char *node = nullptr;
  EXPECT_EQ(kiln_model_output_dump(model, 0, &node),
            outputs > 1 ? KILN_STATUS_NOT_FOUND : KILN_STATUS_OK);
  ASSERT_EQ(kiln_model_output_dump(model, outputs - 1, &node), KILN_STATUS_OK);
  EXPECT_STREQ(node, "mm");
  kiln_model_release(model);
}

TEST(IntrospectionTest, AbsentSectionsAreNotFound) {
  kiln_model *model = nullptr;
  ASSERT_EQ(loadBytes(artifact({}), &model), KILN_STATUS_OK)
      << kiln_last_error();
  kiln_kernel_detail detail;
  EXPECT_EQ(kiln_model_kernel_detail(model, 0, &detail), KILN_STATUS_NOT_FOUND);
  EXPECT_EQ(detail.loop_nest, nullptr);
  kiln_memory_plan p;
  EXPECT_EQ(kiln_model_memory_plan(model, &p), KILN_STATUS_NOT_FOUND);
  const char *node = nullptr;
  EXPECT_EQ(kiln_model_output_dump(model, 0, &node), KILN_STATUS_NOT_FOUND);
  EXPECT_EQ(node, nullptr);
  kiln_model_release(model);
}

TEST(IntrospectionTest, RejectsMalformedTables) {
  expectCorrupt(artifact({{KILN_SECTION_KERNEL_DETAILS, details(0x12345678)}}),
                "corrupt KERNEL_DETAILS section: magic is 0x12345678");
  expectCorrupt(artifact({{KILN_SECTION_KERNEL_DETAILS,
                           details(KILN_KERNEL_DETAILS_MAGIC, 1)}}),
                "corrupt KERNEL_DETAILS section: 1 rows, but KERNELS has 2");
  expectCorrupt(artifact({{KILN_SECTION_KERNEL_DETAILS, details()}},
                         /*withKernels=*/false),
                "corrupt KERNEL_DETAILS section: 2 rows, but KERNELS has 0");
  Bytes truncated = details();
  truncated.resize(truncated.size() - 3);
  expectCorrupt(artifact({{KILN_SECTION_KERNEL_DETAILS, truncated}}),
                "corrupt KERNEL_DETAILS section: kernel 1 loop_nest");
  Bytes trailing = details();
  trailing.push_back(0);
  expectCorrupt(
      artifact({{KILN_SECTION_KERNEL_DETAILS, trailing}}),
      "corrupt KERNEL_DETAILS section: 1 bytes after the last kernel");

  expectCorrupt(artifact({{KILN_SECTION_MEMORY_PLAN, plan(64, 1, 2)}}),
                "corrupt MEMORY_PLAN section: buffer 0 lives from kernel 1 to "
                "kernel 2, but KERNELS has 2 rows");
  expectCorrupt(artifact({{KILN_SECTION_MEMORY_PLAN, plan(64, 1, 0)}}),
                "buffer 0 lives from kernel 1 to kernel 0");
  expectCorrupt(artifact({{KILN_SECTION_MEMORY_PLAN, plan(192)}}),
                "corrupt MEMORY_PLAN section: buffer 0 [192, +128) is outside "
                "the 256-byte workspace");
  expectCorrupt(artifact({{KILN_SECTION_MEMORY_PLAN, plan(~uint64_t(0))}}),
                "is outside the 256-byte workspace");
  Bytes huge = plan();
  // num_buffers (after magic, workspace and peak) far beyond the bytes.
  std::memset(huge.data() + 20, 0xff, 4);
  expectCorrupt(artifact({{KILN_SECTION_MEMORY_PLAN, huge}}),
                "corrupt MEMORY_PLAN section: num_buffers is 4294967295");

  size_t outputs = numOutputs();
  expectCorrupt(artifact({{KILN_SECTION_DUMPS, dumps(uint32_t(outputs), 1)}}),
                "corrupt DUMPS section: 1 dumps from output");
  expectCorrupt(
      artifact({{KILN_SECTION_DUMPS, dumps(uint32_t(outputs - 1), 1, "")}}),
      "corrupt DUMPS section: dump 0 node is empty");
  expectCorrupt(artifact({{KILN_SECTION_DUMPS, dumps(0xffffffffu, 2)}}),
                "corrupt DUMPS section: 2 dumps from output 4294967295");
}

} // namespace
