//===- generation_load_test.cpp - The GENERATION section and its API -----===//
//
// The loader checks a generation step's roles against the signature
// (kiln/artifact_format.h, "Generation steps"); kiln_model_generation_info
// and kiln_model_state_input describe them; kiln_generation_* refuse what
// they cannot run. Running a generation step is tested end to end
// (test/e2e/generate), with artifacts the compiler writes.

#include "test_support.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

using namespace kiln::test;

namespace {

ModelSpec stepModel() {
  return generationStepModel(addHostCode()); // loads; never run here
}

Bytes artifactWith(const ModelSpec &spec, const GenerationSpec &g) {
  return buildGenerationArtifact(spec, g);
}

class GenerationLoadTest : public ::testing::Test {
protected:
  void TearDown() override {
    kiln_session_release(session);
    kiln_model_release(model);
  }
  /// Loads an artifact whose GENERATION section is broken as `edit` says
  /// and expects CORRUPT_ARTIFACT with `message` in the error.
  void expectCorrupt(const GenerationSpec &g, const std::string &message,
                     const ModelSpec &spec = stepModel()) {
    kiln_model *broken = nullptr;
    EXPECT_EQ(loadBytes(artifactWith(spec, g), &broken),
              KILN_STATUS_CORRUPT_ARTIFACT);
    EXPECT_EQ(broken, nullptr);
    EXPECT_NE(std::string(kiln_last_error()).find(message), std::string::npos)
        << kiln_last_error();
  }

  kiln_model *model = nullptr;
  kiln_session *session = nullptr;
};

TEST_F(GenerationLoadTest, DescribesTheRoles) {
  ASSERT_EQ(loadBytes(artifactWith(stepModel(), {}), &model), KILN_STATUS_OK)
      << kiln_last_error();
  kiln_generation_info info;
  ASSERT_EQ(kiln_model_generation_info(model, &info), KILN_STATUS_OK);
  EXPECT_EQ(info.max_seq, 8);
  EXPECT_EQ(info.tokens_input, 0u);
  EXPECT_EQ(info.positions_input, 1u);
  EXPECT_EQ(info.logits_output, 0u);
  ASSERT_EQ(info.num_state_inputs, 2u);
  size_t index = 0;
  EXPECT_EQ(kiln_model_state_input(model, 1, &index), KILN_STATUS_OK);
  EXPECT_EQ(index, 3u);
  EXPECT_EQ(kiln_model_state_input(model, 2, &index),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_generation_info(nullptr, &info),
            KILN_STATUS_INVALID_ARGUMENT);
}

TEST_F(GenerationLoadTest, OtherModelsAreNoGenerationSteps) {
  ASSERT_EQ(loadBytes(buildArtifact(addModel(addHostCode())), &model),
            KILN_STATUS_OK);
  kiln_generation_info info;
  EXPECT_EQ(kiln_model_generation_info(model, &info), KILN_STATUS_NOT_FOUND);
  EXPECT_NE(std::string(kiln_last_error()).find("kiln-compile --generate"),
            std::string::npos);
  ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK);
  kiln_generation *generation = nullptr;
  EXPECT_EQ(kiln_generation_create(session, 1, nullptr, &generation),
            KILN_STATUS_NOT_FOUND);
  EXPECT_EQ(generation, nullptr);
}

TEST_F(GenerationLoadTest, BrokenSectionsAreCorrupt) {
  GenerationSpec g;
  g.magic = 0x12345678;
  expectCorrupt(g, "corrupt GENERATION: bad magic");
  g = {};
  g.maxSeq = 0;
  expectCorrupt(g, "max_seq 0 is outside");
  g = {};
  g.tokens = "nope";
  expectCorrupt(g, "the tokens input 'nope' is not in the signature");
  g = {};
  g.positions = "cache.key.0";
  expectCorrupt(g, "the positions input must be int64 [batch]");
  g = {};
  g.logits = "past_length";
  expectCorrupt(g, "the logits output 'past_length' is not in the signature");
  g = {};
  g.states = {"cache.key.0", "cache.key.0"};
  expectCorrupt(g, "state input 'cache.key.0' is listed twice");
  g = {};
  g.states = {"tokens"};
  expectCorrupt(g, "is listed twice or is the tokens or positions");
  g = {};
  g.trailing = {1, 2};
  expectCorrupt(g, "bytes after the last state input");
  g = {};
  g.states.push_back("extra");
  g.trailing.clear();
  expectCorrupt(g, "the state input 'extra' is not in the signature");
  ModelSpec floatTokens = stepModel();
  floatTokens.inputs[0].dtype = KILN_DTYPE_FLOAT32;
  expectCorrupt({}, "the tokens input must be integers [batch, seq]",
                floatTokens);
}

TEST_F(GenerationLoadTest, GenerationsRefuseBadArguments) {
  ASSERT_EQ(loadBytes(artifactWith(stepModel(), {}), &model), KILN_STATUS_OK);
  ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK);
  kiln_generation *generation = nullptr;
  EXPECT_EQ(kiln_generation_create(nullptr, 1, nullptr, &generation),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_generation_create(session, 0, nullptr, &generation),
            KILN_STATUS_INVALID_ARGUMENT);
  kiln_sampling bad = {-1.0f, 0, 0.0f, 0};
  EXPECT_EQ(kiln_generation_create(session, 1, &bad, &generation),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("temperature >= 0"),
            std::string::npos);
  ASSERT_EQ(kiln_generation_create(session, 1, nullptr, &generation),
            KILN_STATUS_OK);
  int64_t tokens[1] = {3}, next[1] = {0};
  EXPECT_EQ(kiln_generation_step(generation, tokens, next),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("needs a prefill first"),
            std::string::npos);
  EXPECT_EQ(kiln_generation_prefill(generation, tokens, 0, next),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_generation_prefill(generation, tokens, 9, next),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("holds 8 positions"),
            std::string::npos)
      << kiln_last_error();
  EXPECT_EQ(kiln_generation_prefill(nullptr, tokens, 1, next),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_generation_length(generation), 0);
  EXPECT_EQ(kiln_generation_length(nullptr), 0);
  kiln_generation_release(generation);
  kiln_generation_release(nullptr);
}

} // namespace
