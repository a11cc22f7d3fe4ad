//===- runtime_load_test.cpp - Artifact validation in kiln_model_load ----===//
//
// Every way a file can be wrong must end in a status and a precise message,
// never a crash.
//
//===----------------------------------------------------------------------===//

#include "model_load_test.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace kiln::test;

namespace {

class RuntimeLoadTest : public ModelLoadTest {
protected:
  Bytes valid() { return buildArtifact(addModel(addHostCode())); }
};

TEST_F(RuntimeLoadTest, LoadsAndDescribesValidArtifact) {
  ASSERT_EQ(loadBytes(valid(), &model), KILN_STATUS_OK) << kiln_last_error();
  EXPECT_STREQ(kiln_model_target(model), "cpu-x86_64");
  ASSERT_EQ(kiln_model_num_inputs(model), 2u);
  ASSERT_EQ(kiln_model_num_outputs(model), 2u);

  kiln_tensor_desc desc;
  ASSERT_EQ(kiln_model_input(model, 1, &desc), KILN_STATUS_OK);
  EXPECT_STREQ(desc.name, "b");
  EXPECT_EQ(desc.dtype, KILN_DTYPE_FLOAT32);
  ASSERT_EQ(desc.rank, 2u);
  EXPECT_EQ(desc.dims[0], 2);
  EXPECT_EQ(desc.dims[1], 3);
  ASSERT_EQ(kiln_model_output(model, 1, &desc), KILN_STATUS_OK);
  EXPECT_STREQ(desc.name, "stats/count");
  EXPECT_EQ(desc.rank, 0u);

  size_t index = 99;
  EXPECT_EQ(kiln_model_find_input(model, "b", &index), KILN_STATUS_OK);
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(kiln_model_find_output(model, "sum", &index), KILN_STATUS_OK);
  EXPECT_EQ(index, 0u);
  EXPECT_EQ(kiln_model_find_input(model, "nope", &index),
            KILN_STATUS_NOT_FOUND);
  EXPECT_STREQ(kiln_last_error(),
               "model has no input named 'nope'; inputs are: a, b");
  EXPECT_EQ(kiln_model_input(model, 2, &desc), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(desc.name, nullptr);
}

TEST_F(RuntimeLoadTest, DescribesWeightsSectionsAndHeader) {
  ASSERT_EQ(loadBytes(valid(), &model), KILN_STATUS_OK) << kiln_last_error();
  EXPECT_EQ(kiln_model_format_version(model), KILN_ARTIFACT_FORMAT_VERSION);
  EXPECT_STREQ(kiln_model_entry_symbol(model), KILN_ENTRY_SYMBOL);

  ASSERT_EQ(kiln_model_num_weights(model), 1u);
  kiln_tensor_desc desc;
  uint64_t bytes = 0;
  ASSERT_EQ(kiln_model_weight(model, 0, &desc, &bytes), KILN_STATUS_OK);
  EXPECT_STREQ(desc.name, "w");
  EXPECT_EQ(desc.dtype, KILN_DTYPE_FLOAT32);
  ASSERT_EQ(desc.rank, 2u);
  EXPECT_EQ(desc.dims[1], 3);
  EXPECT_EQ(bytes, 24u);
  EXPECT_EQ(kiln_model_weight(model, 1, &desc, &bytes),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(desc.name, nullptr);
  EXPECT_EQ(bytes, 0u);
  EXPECT_STREQ(kiln_last_error(),
               "weight index 1 is out of range; the model has 1 weights");

  // Sections lie after the header, 64-byte aligned; a CPU artifact has no
  // GPU_CODE.
  uint64_t offset = 0, size = 0;
  ASSERT_EQ(kiln_model_section(model, KILN_SECTION_WEIGHTS, &offset, &size),
            KILN_STATUS_OK);
  EXPECT_EQ(offset % KILN_ARTIFACT_ALIGNMENT, 0u);
  EXPECT_GE(offset, KILN_ARTIFACT_HEADER_SIZE);
  EXPECT_GE(size, 24u);
  EXPECT_EQ(kiln_model_section(model, KILN_SECTION_GPU_CODE, &offset, &size),
            KILN_STATUS_NOT_FOUND);
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(kiln_model_section(model, KILN_SECTION_METADATA, nullptr, &size),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_num_gpu_kernels(model), 0u);

  EXPECT_EQ(kiln_model_format_version(nullptr), 0u);
  EXPECT_EQ(kiln_model_entry_symbol(nullptr), nullptr);
  EXPECT_EQ(kiln_model_num_weights(nullptr), 0u);
}

TEST_F(RuntimeLoadTest, MissingFileIsIoError) {
  EXPECT_EQ(kiln_model_load("/nonexistent/model.kiln", &model),
            KILN_STATUS_IO_ERROR);
  EXPECT_NE(std::string(kiln_last_error()).find("cannot open"),
            std::string::npos);
}

TEST_F(RuntimeLoadTest, DirectoryIsIoError) {
  EXPECT_EQ(kiln_model_load("/", &model), KILN_STATUS_IO_ERROR);
}

TEST_F(RuntimeLoadTest, NullArgumentsAreRejected) {
  EXPECT_EQ(kiln_model_load(nullptr, &model), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_load("x.kiln", nullptr), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_target(nullptr), nullptr);
  EXPECT_EQ(kiln_model_num_inputs(nullptr), 0u);
  kiln_tensor_desc desc;
  size_t index;
  EXPECT_EQ(kiln_model_input(nullptr, 0, &desc), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_find_input(nullptr, "a", &index),
            KILN_STATUS_INVALID_ARGUMENT);
  kiln_model_release(nullptr);
}

TEST_F(RuntimeLoadTest, BadMagic) {
  Bytes artifact = valid();
  artifact[0] = 'X';
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT,
                "not a Kiln artifact (bad magic)");
  expectFailure(Bytes(), KILN_STATUS_CORRUPT_ARTIFACT, "not a Kiln artifact");
  expectFailure(Bytes{'h', 'e', 'l', 'l', 'o'}, KILN_STATUS_CORRUPT_ARTIFACT,
                "not a Kiln artifact");
}

TEST_F(RuntimeLoadTest, TruncatedFile) {
  Bytes artifact = valid();
  size_t size = artifact.size();
  artifact.resize(size - 100);
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT,
                "truncated: header says " + std::to_string(size) +
                    " bytes, file has " + std::to_string(size - 100));
  artifact.resize(40); // less than a header
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT, "truncated");
}

TEST_F(RuntimeLoadTest, TrailingData) {
  Bytes artifact = valid();
  artifact.push_back(0);
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT, "trailing data");
}

TEST_F(RuntimeLoadTest, EveryPrefixFailsCleanly) {
  // Every length through the header, table and metadata; sparser after.
  Bytes artifact = valid();
  for (size_t size = 0; size < artifact.size(); size += size < 512 ? 1 : 97) {
    Bytes prefix(artifact.begin(), artifact.begin() + size);
    EXPECT_EQ(loadBytes(prefix, &model), KILN_STATUS_CORRUPT_ARTIFACT)
        << "prefix of " << size << " bytes";
  }
}

TEST_F(RuntimeLoadTest, CorruptChecksum) {
  Bytes artifact = valid();
  artifact.back() ^= 0x40; // a weight byte
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT, "checksum mismatch");
}

TEST_F(RuntimeLoadTest, OtherFormatVersion) {
  Bytes artifact = valid();
  headerOf(artifact).format_version = 1; // FNV-1a checksums, before XXH64
  expectFailure(artifact, KILN_STATUS_VERSION_MISMATCH,
                "artifact format version 1, this runtime reads versions 2 to "
                "5; recompile the model");
  headerOf(artifact).format_version = KILN_ARTIFACT_FORMAT_VERSION + 1; // a newer compiler
  expectFailure(artifact, KILN_STATUS_VERSION_MISMATCH,
                "artifact format version 6, this runtime reads versions 2 to "
                "5; recompile the model");
}

TEST_F(RuntimeLoadTest, WrongHeaderSize) {
  Bytes artifact = valid();
  headerOf(artifact).header_size = 128;
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT, "header_size is 128");
}

TEST_F(RuntimeLoadTest, SectionOutOfBounds) {
  Bytes artifact = valid();
  sectionEntry(artifact, 2).size += 64;
  refreshChecksum(artifact);
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT, "section 2 (WEIGHTS)");

  // offset + size wraps around 2^64: must not pass the bounds check.
  artifact = valid();
  sectionEntry(artifact, 1).offset = 64;
  sectionEntry(artifact, 1).size = UINT64_MAX - 10;
  refreshChecksum(artifact);
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT,
                "extends past the end of the file");
}

TEST_F(RuntimeLoadTest, SectionTableOutOfBounds) {
  Bytes artifact = valid();
  headerOf(artifact).section_count = 0x10000000;
  refreshChecksum(artifact);
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT,
                "section table (268435456 entries");
}

TEST_F(RuntimeLoadTest, MisalignedOrOverlappingSection) {
  Bytes artifact = valid();
  sectionEntry(artifact, 0).offset += 8;
  refreshChecksum(artifact);
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT, "not 64-byte aligned");

  artifact = valid();
  sectionEntry(artifact, 0).offset = 0;
  refreshChecksum(artifact);
  expectFailure(artifact, KILN_STATUS_CORRUPT_ARTIFACT,
                "overlaps the header or the section table");
}

TEST_F(RuntimeLoadTest, MissingOrDuplicateSections) {
  expectFailure(assemble({{KILN_SECTION_WEIGHTS, Bytes(64)}}),
                KILN_STATUS_CORRUPT_ARTIFACT, "no METADATA section");
  Bytes metadata = encodeMetadata(addModel(addHostCode()));
  expectFailure(assemble({{KILN_SECTION_METADATA, metadata},
                          {KILN_SECTION_METADATA, metadata}}),
                KILN_STATUS_CORRUPT_ARTIFACT, "more than one METADATA section");

  ModelSpec spec = addModel(addHostCode());
  spec.withHostCode = false;
  expectFailure(buildArtifact(spec), KILN_STATUS_CORRUPT_ARTIFACT,
                "artifact for target 'cpu-x86_64' has no HOST_CODE section");
}

TEST_F(RuntimeLoadTest, UnknownSectionKindsAreSkipped) {
  ModelSpec spec = addModel(addHostCode());
  ASSERT_EQ(loadBytes(assemble({{KILN_SECTION_METADATA, encodeMetadata(spec)},
                                {99, Bytes(10, 7)},
                                {KILN_SECTION_HOST_CODE, spec.hostCode},
                                {KILN_SECTION_WEIGHTS, encodeWeights(spec)}}),
                      &model),
            KILN_STATUS_OK)
      << kiln_last_error();
}

/// Artifact whose METADATA section is `metadata`, with valid everything else.
Bytes withMetadata(const Bytes &metadata) {
  ModelSpec spec = addModel(addHostCode());
  return assemble({{KILN_SECTION_METADATA, metadata},
                   {KILN_SECTION_HOST_CODE, spec.hostCode},
                   {KILN_SECTION_WEIGHTS, encodeWeights(spec)}});
}

TEST_F(RuntimeLoadTest, CorruptMetadataMagic) {
  Bytes metadata = encodeMetadata(addModel(addHostCode()));
  metadata[0] ^= 1;
  expectFailure(withMetadata(metadata), KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt metadata: magic is");
}

TEST_F(RuntimeLoadTest, TruncatedMetadataAtEveryLength) {
  Bytes metadata = encodeMetadata(addModel(addHostCode()));
  for (size_t size = 0; size < metadata.size(); ++size) {
    Bytes prefix(metadata.begin(), metadata.begin() + size);
    EXPECT_EQ(loadBytes(withMetadata(prefix), &model),
              KILN_STATUS_CORRUPT_ARTIFACT)
        << "metadata cut to " << size << " bytes";
    EXPECT_NE(std::string(kiln_last_error()).find("corrupt metadata"),
              std::string::npos)
        << kiln_last_error();
  }
}

TEST_F(RuntimeLoadTest, FlippedMetadataBytesNeverCrash) {
  // With a recomputed checksum, each corrupted byte reaches the parser.
  Bytes metadata = encodeMetadata(addModel(addHostCode()));
  for (size_t i = 0; i < metadata.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      Bytes corrupt = metadata;
      corrupt[i] ^= flip;
      kiln_status status = loadBytes(withMetadata(corrupt), &model);
      if (status == KILN_STATUS_OK) {
        kiln_model_release(model);
        model = nullptr;
      } else {
        EXPECT_EQ(status, KILN_STATUS_CORRUPT_ARTIFACT) << kiln_last_error();
      }
    }
  }
}

TEST_F(RuntimeLoadTest, TrailingMetadataBytes) {
  Bytes metadata = encodeMetadata(addModel(addHostCode()));
  metadata.resize(metadata.size() + 8, 0); // zero padding is accepted
  ASSERT_EQ(loadBytes(withMetadata(metadata), &model), KILN_STATUS_OK)
      << kiln_last_error();
  kiln_model_release(model);
  model = nullptr;
  metadata.push_back(1);
  expectFailure(withMetadata(metadata), KILN_STATUS_CORRUPT_ARTIFACT,
                "unexpected non-zero byte");
}

TEST_F(RuntimeLoadTest, HugeCountDoesNotAllocate) {
  ModelSpec spec = addModel(addHostCode());
  spec.weights.clear();
  spec.inputs.clear();
  spec.outputs.clear();
  Bytes metadata = encodeMetadata(spec);
  // Patch num_inputs (after magic, target, entry symbol and num_weights).
  size_t numInputs =
      4 + 4 + spec.target.size() + 4 + spec.entrySymbol.size() + 4;
  uint32_t huge = 0xffffffff;
  std::memcpy(&metadata[numInputs], &huge, 4);
  expectFailure(withMetadata(metadata), KILN_STATUS_CORRUPT_ARTIFACT,
                "num_inputs is 4294967295 but only");
}

TEST_F(RuntimeLoadTest, BadTensorDescriptions) {
  ModelSpec spec = addModel(addHostCode());
  spec.inputs[0].dtype = 99;
  expectFailure(buildArtifact(spec), KILN_STATUS_CORRUPT_ARTIFACT,
                "input 0 'a' has unknown dtype 99");

  spec = addModel(addHostCode());
  spec.inputs[1].dims = {2, -1};
  expectFailure(buildArtifact(spec), KILN_STATUS_CORRUPT_ARTIFACT,
                "input 1 'b' dim 1 is -1, which names symbol 0, but the model "
                "has 0 symbols");

  spec = addModel(addHostCode());
  spec.outputs[0].dims = {INT64_MAX, INT64_MAX};
  expectFailure(buildArtifact(spec), KILN_STATUS_CORRUPT_ARTIFACT,
                "is too large");

  spec = addModel(addHostCode());
  spec.inputs[1].name = "a";
  expectFailure(buildArtifact(spec), KILN_STATUS_CORRUPT_ARTIFACT,
                "two inputs are named 'a'");

  spec = addModel(addHostCode());
  spec.outputs[0].name = "";
  expectFailure(buildArtifact(spec), KILN_STATUS_CORRUPT_ARTIFACT,
                "output 0 has an empty name");
}

TEST_F(RuntimeLoadTest, WeightSizeMustMatchShape) {
  ModelSpec spec = addModel(addHostCode());
  spec.weights[0].data.resize(20);
  expectFailure(buildArtifact(spec), KILN_STATUS_CORRUPT_ARTIFACT,
                "weight 0 'w' has byte_size 20 but float32[2,3] needs 24");
}

TEST_F(RuntimeLoadTest, SubByteWeightsAreStoredPacked) {
  // int4[5] takes 3 bytes, int2[7] 2, uint2[2,2] 1, float4e2m1[4] 2;
  // float8 one byte per element.
  ModelSpec spec = addModel(addHostCode());
  spec.weights.push_back({{"i4", KILN_DTYPE_INT4, {5}}, Bytes(3, 0x11)});
  spec.weights.push_back({{"i2", KILN_DTYPE_INT2, {7}}, Bytes(2, 0x1b)});
  spec.weights.push_back({{"u2", KILN_DTYPE_UINT2, {2, 2}}, Bytes(1, 0xe4)});
  spec.weights.push_back({{"f4", KILN_DTYPE_FLOAT4E2M1, {4}}, Bytes(2)});
  spec.weights.push_back({{"f8", KILN_DTYPE_FLOAT8E8M0, {3}}, Bytes(3)});
  spec.weights.push_back({{"e", KILN_DTYPE_UINT4, {0, 9}}, Bytes()});
  ASSERT_EQ(loadBytes(buildArtifact(spec), &model), KILN_STATUS_OK)
      << kiln_last_error();
}

TEST_F(RuntimeLoadTest, SubByteWeightOfUnpackedSizeIsRejected) {
  // One byte per element is the API layout, not the stored one.
  ModelSpec spec = addModel(addHostCode());
  spec.weights.push_back({{"q", KILN_DTYPE_INT4, {5}}, Bytes(5)});
  expectFailure(buildArtifact(spec), KILN_STATUS_CORRUPT_ARTIFACT,
                "weight 1 'q' has byte_size 5 but int4[5] needs 3 (packed, 4 "
                "bits per element)");
  spec.weights.back() = {{"q", KILN_DTYPE_INT2, {2, 3}}, Bytes(1)};
  expectFailure(buildArtifact(spec), KILN_STATUS_CORRUPT_ARTIFACT,
                "weight 1 'q' has byte_size 1 but int2[2,3] needs 2 (packed, "
                "2 bits per element)");
}

TEST_F(RuntimeLoadTest, PackedWeightOutsideWeightsSection) {
  ModelSpec spec;
  spec.hostCode = addHostCode();
  spec.weights.push_back({{"q", KILN_DTYPE_UINT4, {9}}, Bytes(5, 0x21)});
  Bytes weights = encodeWeights(spec);
  weights.resize(4); // the weight needs 5 bytes
  expectFailure(assemble({{KILN_SECTION_METADATA, encodeMetadata(spec)},
                          {KILN_SECTION_HOST_CODE, spec.hostCode},
                          {KILN_SECTION_WEIGHTS, weights}}),
                KILN_STATUS_CORRUPT_ARTIFACT,
                "weight 'q' at offset 0 with size 5 extends past the end of "
                "the WEIGHTS section (4 bytes)");
}

TEST_F(RuntimeLoadTest, LowPrecisionSignature) {
  ASSERT_EQ(loadBytes(buildArtifact(lowPrecisionModel(addHostCode())), &model),
            KILN_STATUS_OK)
      << kiln_last_error();
  kiln_tensor_desc desc;
  ASSERT_EQ(kiln_model_input(model, 0, &desc), KILN_STATUS_OK);
  EXPECT_EQ(desc.dtype, KILN_DTYPE_INT4);
  ASSERT_EQ(kiln_model_output(model, 2, &desc), KILN_STATUS_OK);
  EXPECT_EQ(desc.dtype, KILN_DTYPE_UINT2);
  ASSERT_EQ(kiln_model_output(model, 5, &desc), KILN_STATUS_OK);
  EXPECT_EQ(desc.dtype, KILN_DTYPE_FLOAT4E2M1);
}

TEST_F(RuntimeLoadTest, WeightOutsideWeightsSection) {
  ModelSpec spec = addModel(addHostCode());
  Bytes weights = encodeWeights(spec);
  weights.resize(16); // the weight needs 24 bytes
  expectFailure(assemble({{KILN_SECTION_METADATA, encodeMetadata(spec)},
                          {KILN_SECTION_HOST_CODE, spec.hostCode},
                          {KILN_SECTION_WEIGHTS, weights}}),
                KILN_STATUS_CORRUPT_ARTIFACT,
                "weight 'w' at offset 0 with size 24 extends past the end of "
                "the WEIGHTS section (16 bytes)");
  expectFailure(assemble({{KILN_SECTION_METADATA, encodeMetadata(spec)},
                          {KILN_SECTION_HOST_CODE, spec.hostCode}}),
                KILN_STATUS_CORRUPT_ARTIFACT, "has no WEIGHTS section");
}

TEST_F(RuntimeLoadTest, OtherTargetLoadsForIntrospection) {
  // A target no backend of this runtime knows needs no particular section;
  // kiln_session_create reports it. (A "cuda-" target needs HOST_CODE and
  // GPU_CODE: cuda_backend_test.cpp.)
  ModelSpec spec = addModel(Bytes());
  spec.target = "tpu-v5";
  spec.withHostCode = false;
  ASSERT_EQ(loadBytes(buildArtifact(spec), &model), KILN_STATUS_OK)
      << kiln_last_error();
  EXPECT_STREQ(kiln_model_target(model), "tpu-v5");
}

} // namespace
