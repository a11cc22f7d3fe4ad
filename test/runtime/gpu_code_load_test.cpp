//===- gpu_code_load_test.cpp - GPU_CODE validation in kiln_model_load ---===//
//
// The GPU_CODE section (kiln/artifact_format.h) is checked at load like
// METADATA: every bad field is one CORRUPT_ARTIFACT message naming it, never
// a crash, and a valid one can be introspected without a GPU.
//
//===----------------------------------------------------------------------===//

#include "model_load_test.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace kiln::test;

namespace {

class GpuCodeLoadTest : public ModelLoadTest {
protected:
  /// A "cuda-sm_90a,sm_80" add model: an sm_90a cubin and an sm_80 PTX.
  static ModelSpec spec() {
    ModelSpec spec = addModel(addHostCode());
    spec.target = "cuda-sm_90a,sm_80";
    spec.withGpuCode = true;
    spec.gpuCode.workspaceBytes = 4096;
    spec.gpuCode.kernels = {"kiln_test_add", "kiln_test_other"};
    spec.gpuCode.images = {
        {"sm_90a", KILN_GPU_IMAGE_CUBIN,
         fakeGpuImage("sm_90a", KILN_GPU_IMAGE_CUBIN, spec.gpuCode.kernels)},
        {"sm_80", KILN_GPU_IMAGE_PTX,
         fakeGpuImage("sm_80", KILN_GPU_IMAGE_PTX, spec.gpuCode.kernels)}};
    return spec;
  }

  /// spec()'s artifact with `gpuCode` as its GPU_CODE section, byte for
  /// byte.
  static Bytes withGpuSection(const Bytes &gpuCode) {
    ModelSpec model = spec();
    return assemble({{KILN_SECTION_METADATA, encodeMetadata(model)},
                     {KILN_SECTION_HOST_CODE, model.hostCode},
                     {KILN_SECTION_WEIGHTS, encodeWeights(model)},
                     {KILN_SECTION_GPU_CODE, gpuCode}});
  }

  void expectFailure(const Bytes &artifact, const std::string &fragment) {
    ModelLoadTest::expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT,
                                 fragment);
  }

  void expectFailure(const ModelSpec &spec, const std::string &fragment) {
    expectFailure(buildArtifact(spec), fragment);
  }
};

TEST_F(GpuCodeLoadTest, LoadsAndDescribesImages) {
  ModelSpec valid = spec();
  ASSERT_EQ(loadBytes(buildArtifact(valid), &model), KILN_STATUS_OK)
      << kiln_last_error();
  EXPECT_STREQ(kiln_model_target(model), "cuda-sm_90a,sm_80");
  EXPECT_EQ(kiln_model_gpu_workspace_bytes(model), 4096u);
  ASSERT_EQ(kiln_model_num_gpu_images(model), 2u);
  const char *arch = nullptr;
  int format = 0;
  uint64_t bytes = 0;
  ASSERT_EQ(kiln_model_gpu_image(model, 0, &arch, &format, &bytes),
            KILN_STATUS_OK);
  EXPECT_STREQ(arch, "sm_90a");
  EXPECT_EQ(format, KILN_GPU_IMAGE_CUBIN);
  EXPECT_EQ(bytes, valid.gpuCode.images[0].data.size());
  ASSERT_EQ(kiln_model_gpu_image(model, 1, &arch, &format, nullptr),
            KILN_STATUS_OK);
  EXPECT_STREQ(arch, "sm_80");
  EXPECT_EQ(format, KILN_GPU_IMAGE_PTX);

  EXPECT_EQ(kiln_model_gpu_image(model, 2, &arch, &format, &bytes),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(arch, nullptr);
  EXPECT_EQ(bytes, 0u);
  EXPECT_STREQ(kiln_last_error(),
               "GPU image index 2 is out of range; the model has 2");
  EXPECT_EQ(kiln_model_gpu_image(model, 0, nullptr, &format, nullptr),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_gpu_image(nullptr, 0, &arch, &format, nullptr),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_num_gpu_images(nullptr), 0u);
  EXPECT_EQ(kiln_model_gpu_workspace_bytes(nullptr), 0u);
}

TEST_F(GpuCodeLoadTest, NamesKernels) {
  ASSERT_EQ(loadBytes(buildArtifact(spec()), &model), KILN_STATUS_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_model_num_gpu_kernels(model), 2u);
  const char *name = nullptr;
  ASSERT_EQ(kiln_model_gpu_kernel(model, 1, &name), KILN_STATUS_OK);
  EXPECT_STREQ(name, "kiln_test_other");
  EXPECT_EQ(kiln_model_gpu_kernel(model, 2, &name),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(name, nullptr);
  EXPECT_STREQ(kiln_last_error(),
               "GPU kernel index 2 is out of range; the model has 2");
  uint64_t offset = 0, size = 0;
  EXPECT_EQ(kiln_model_section(model, KILN_SECTION_GPU_CODE, &offset, &size),
            KILN_STATUS_OK);
  EXPECT_GT(size, 0u);
  EXPECT_EQ(kiln_model_num_gpu_kernels(nullptr), 0u);
}

TEST_F(GpuCodeLoadTest, CpuModelHasNoImages) {
  ASSERT_EQ(loadBytes(buildArtifact(addModel(addHostCode())), &model),
            KILN_STATUS_OK);
  EXPECT_EQ(kiln_model_num_gpu_images(model), 0u);
  EXPECT_EQ(kiln_model_gpu_workspace_bytes(model), 0u);
}

TEST_F(GpuCodeLoadTest, BadMagic) {
  ModelSpec bad = spec();
  bad.gpuCode.magic = 0x12345678;
  expectFailure(bad, "corrupt GPU_CODE: magic is 0x12345678, expected "
                     "0x3143474b");
}

TEST_F(GpuCodeLoadTest, TruncatedTable) {
  Bytes section = encodeGpuCode(spec().gpuCode);
  // Magic (4) + workspace (8) + count (4) + "kiln_test_add" (4 + 13): the
  // second kernel's name length is cut in half.
  section.resize(4 + 8 + 4 + 17 + 2);
  expectFailure(withGpuSection(section),
                "corrupt GPU_CODE: kernel 1 name length needs 4 bytes at "
                "offset 33 but only 2 remain");
}

TEST_F(GpuCodeLoadTest, TruncatedAtEveryLength) {
  Bytes section = encodeGpuCode(spec().gpuCode);
  for (size_t length = 0; length < section.size(); ++length) {
    Bytes cut(section.begin(), section.begin() + length);
    EXPECT_EQ(loadBytes(withGpuSection(cut), &model),
              KILN_STATUS_CORRUPT_ARTIFACT)
        << length;
    EXPECT_EQ(model, nullptr);
    EXPECT_EQ(std::string(kiln_last_error()).find("corrupt GPU_CODE: "),
              std::string(kiln_last_error()).find("corrupt"))
        << kiln_last_error();
  }
}

TEST_F(GpuCodeLoadTest, FlippedBytesNeverCrash) {
  Bytes section = encodeGpuCode(spec().gpuCode);
  for (size_t i = 0; i < section.size(); ++i) {
    Bytes flipped = section;
    flipped[i] ^= 0xff;
    kiln_status status = loadBytes(withGpuSection(flipped), &model);
    EXPECT_TRUE(status == KILN_STATUS_OK ||
                status == KILN_STATUS_CORRUPT_ARTIFACT)
        << i << ": " << kiln_status_string(status);
    kiln_model_release(model);
    model = nullptr;
  }
}

TEST_F(GpuCodeLoadTest, HugeCountsDoNotAllocate) {
  Bytes section = encodeGpuCode(spec().gpuCode);
  uint32_t huge = 0xffffffffu;
  std::memcpy(section.data() + 12, &huge, 4); // num_kernels
  expectFailure(withGpuSection(section),
                "corrupt GPU_CODE: num_kernels is 4294967295 but only");
}

TEST_F(GpuCodeLoadTest, ImageOutOfBounds) {
  ModelSpec bad = spec();
  bad.gpuCode.images[1].offset = 1 << 20;
  expectFailure(bad, "corrupt GPU_CODE: image 1 (sm_80 ptx) at offset "
                     "1048576 with size");
  bad = spec();
  bad.gpuCode.images[0].size = 1 << 20;
  expectFailure(bad, "extends past the end of the section");
  // offset + size would wrap around.
  bad = spec();
  bad.gpuCode.images[0].offset = 128;
  bad.gpuCode.images[0].size = UINT64_MAX - 1;
  expectFailure(bad, "corrupt GPU_CODE: image 0 (sm_90a cubin) at offset 128 "
                     "with size 18446744073709551614 extends past the end");
}

TEST_F(GpuCodeLoadTest, ImageOffsetMustBeAlignedAndAfterTheTables) {
  ModelSpec bad = spec();
  bad.gpuCode.images[0].offset = 8;
  expectFailure(bad, "image 0 (sm_90a cubin) at offset 8 is not 64-byte "
                     "aligned");
  bad.gpuCode.images[0].offset = 0;
  expectFailure(bad, "image 0 (sm_90a cubin) at offset 0 overlaps the "
                     "tables, which end at");
}

TEST_F(GpuCodeLoadTest, ImageContents) {
  ModelSpec bad = spec();
  bad.gpuCode.images[0].data = Bytes(64, 0x90);
  expectFailure(bad, "corrupt GPU_CODE: image 0 (sm_90a cubin) is not an ELF "
                     "file");
  bad = spec();
  bad.gpuCode.images[1].data.back() = '\n';
  expectFailure(bad, "corrupt GPU_CODE: image 1 (sm_80 ptx) does not end with "
                     "a NUL byte");
  bad = spec();
  bad.gpuCode.images[1].size = 0;
  expectFailure(bad, "corrupt GPU_CODE: image 1 (sm_80 ptx) is empty");
}

TEST_F(GpuCodeLoadTest, BadArchAndFormat) {
  for (const char *arch :
       {"", "sm_9", "sm_090", "sm_90x", "sm_90aa", "compute_90", "sm_1000",
        "SM_90", "sm_"}) {
    ModelSpec bad = spec();
    bad.gpuCode.images[0].arch = arch;
    expectFailure(bad, std::string("corrupt GPU_CODE: image 0 has arch '") +
                           arch + "'; expected sm_ followed by 2 or 3 digits");
  }
  ModelSpec bad = spec();
  bad.gpuCode.images[1].format = 3;
  expectFailure(bad, "corrupt GPU_CODE: image 1 (sm_80) has format 3; "
                     "expected 1 (cubin) or 2 (PTX)");
}

TEST_F(GpuCodeLoadTest, DuplicatesAndEmptyTables) {
  ModelSpec bad = spec();
  bad.gpuCode.images[1] = bad.gpuCode.images[0];
  expectFailure(bad, "corrupt GPU_CODE: two cubin images for sm_90a");
  bad = spec();
  bad.gpuCode.kernels[1] = "kiln_test_add";
  expectFailure(bad, "corrupt GPU_CODE: two kernels are named 'kiln_test_add'");
  bad = spec();
  bad.gpuCode.kernels[0] = "";
  expectFailure(bad, "corrupt GPU_CODE: kernel 0 has an empty name");
  bad = spec();
  bad.gpuCode.kernels[0] = std::string("a\0b", 3);
  expectFailure(bad, "corrupt GPU_CODE: kernel 0 name contains a NUL byte");
  bad = spec();
  bad.gpuCode.images.clear();
  expectFailure(bad, "corrupt GPU_CODE: no images (num_images is 0)");
}

TEST_F(GpuCodeLoadTest, ArchsWithSuffixesAndThreeDigits) {
  ModelSpec valid = spec();
  valid.target = "cuda-sm_100f,sm_120a";
  valid.gpuCode.images[0].arch = "sm_100f";
  valid.gpuCode.images[1].arch = "sm_120a";
  ASSERT_EQ(loadBytes(buildArtifact(valid), &model), KILN_STATUS_OK)
      << kiln_last_error();
  EXPECT_EQ(kiln_model_num_gpu_images(model), 2u);
}

TEST_F(GpuCodeLoadTest, GpuCodeIsValidatedWhateverTheTarget) {
  ModelSpec bad = spec();
  bad.target = "cpu-x86_64";
  bad.gpuCode.magic = 0;
  expectFailure(bad, "corrupt GPU_CODE: magic is 0x00000000");
}

} // namespace
