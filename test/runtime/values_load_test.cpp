//===- values_load_test.cpp - The VALUES section --------------------------===//
//
// The loader checks the sequence and optional values (kiln/artifact_format.h,
// "Sequences and optionals") and kiln_model_value describes them: which of
// the entry's tensors each sequence or optional input or output is.

#include "model_load_test.h"

#include <gtest/gtest.h>

#include <string>

using namespace kiln::test;

namespace {

constexpr uint32_t kSequence = KILN_VALUE_SEQUENCE | KILN_VALUE_PRESENT;

/// addModel's inputs a, b as the sequence "s"; its output "sum" as an
/// optional tensor; an empty optional input "none".
const std::vector<ValueSpec> kValues = {
    {"s", 0, kSequence, "sequence<tensor<float>>", {"a", "b"}},
    {"sum", 1, KILN_VALUE_PRESENT, "optional<tensor<float>>", {"sum"}},
    {"none", 0, 0, "optional<tensor<int64>>", {}}};

ModelSpec withValues(std::optional<Bytes> values) {
  ModelSpec spec = addModel(addHostCode());
  spec.values = std::move(values);
  return spec;
}

class ValuesTest : public ModelLoadTest {
protected:
  void expectCorrupt(const Bytes &values, const std::string &fragment) {
    expectFailure(buildArtifact(withValues(values)),
                  KILN_STATUS_CORRUPT_ARTIFACT, fragment);
  }
};

TEST_F(ValuesTest, DescribesTheValues) {
  ASSERT_EQ(loadBytes(buildArtifact(withValues(encodeValues(kValues))), &model),
            KILN_STATUS_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_model_num_values(model), 3u);
  kiln_value_info info;
  ASSERT_EQ(kiln_model_value(model, 0, &info), KILN_STATUS_OK);
  EXPECT_STREQ(info.name, "s");
  EXPECT_EQ(info.is_output, 0);
  EXPECT_EQ(info.is_sequence, 1);
  EXPECT_EQ(info.present, 1);
  EXPECT_STREQ(info.type, "sequence<tensor<float>>");
  ASSERT_EQ(info.num_tensors, 2u);
  EXPECT_EQ(info.tensors[0], 0u);
  EXPECT_EQ(info.tensors[1], 1u);
  ASSERT_EQ(kiln_model_value(model, 1, &info), KILN_STATUS_OK);
  EXPECT_EQ(info.is_output, 1);
  EXPECT_EQ(info.is_sequence, 0);
  ASSERT_EQ(info.num_tensors, 1u);
  EXPECT_EQ(info.tensors[0], 0u); // the output "sum"
  ASSERT_EQ(kiln_model_value(model, 2, &info), KILN_STATUS_OK);
  EXPECT_EQ(info.present, 0);
  EXPECT_EQ(info.num_tensors, 0u);
  EXPECT_EQ(kiln_model_value(model, 3, &info), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(info.name, nullptr);
  EXPECT_EQ(kiln_model_value(model, 0, nullptr), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_num_values(nullptr), 0u);
}

TEST_F(ValuesTest, AnArtifactWithoutTheSectionHasNoValues) {
  ASSERT_EQ(loadBytes(buildArtifact(withValues(std::nullopt)), &model),
            KILN_STATUS_OK)
      << kiln_last_error();
  EXPECT_EQ(kiln_model_num_values(model), 0u);
}

TEST_F(ValuesTest, RefusesCorruptValues) {
  expectCorrupt(encodeValues(kValues, 0x12345678),
                "corrupt VALUES section: magic is 0x12345678");
  Bytes truncated = encodeValues(kValues);
  truncated.resize(truncated.size() - 3);
  expectCorrupt(truncated, "corrupt VALUES section: value 2");
  Bytes trailing = encodeValues(kValues);
  trailing.push_back(0);
  expectCorrupt(trailing, "1 bytes after the last value");
  expectCorrupt(encodeValues({{"s", 0, kSequence, "sequence", {"a", "c"}}}),
                "value 0 tensor 1 'c' is not one of the model's tensors");
  expectCorrupt(encodeValues({{"s", 1, kSequence, "sequence", {"a"}}}),
                "value 0 tensor 0 'a' is not one of the model's tensors");
  expectCorrupt(encodeValues({{"s", 0, kSequence, "sequence", {"a"}},
                              {"t", 0, kSequence, "sequence", {"a"}}}),
                "value 1 tensor 'a' belongs to another value too");
  expectCorrupt(encodeValues({{"s", 0, kSequence, "sequence", {}},
                              {"s", 0, kSequence, "sequence", {}}}),
                "two input values are named 's'");
  expectCorrupt(encodeValues({{"o", 0, 0, "optional", {"a"}}}),
                "value 0 ('o') has 1 tensors; an absent value has none");
  expectCorrupt(encodeValues({{"o", 0, KILN_VALUE_PRESENT, "optional", {}}}),
                "value 0 ('o') has 0 tensors");
  expectCorrupt(encodeValues({{"o", 2, 0, "optional", {}}}),
                "value 0 has role 2 and flags 0x0");
  expectCorrupt(encodeValues({{"o", 0, 4, "optional", {}}}),
                "value 0 has role 0 and flags 0x4");
  expectCorrupt(encodeValues({{"", 0, 0, "optional", {}}}),
                "value 0 has an empty name");
  expectCorrupt(encodeValues({{"o", 0, 0, "", {}}}), "value 0 type is empty");
  Bytes huge = encodeValues({});
  huge[4] = 0xff; // num_values = 255, with no bytes for them
  expectCorrupt(huge, "corrupt VALUES section: num_values is 255");
}

} // namespace
