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
#include <vector>

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
  expectCorrupt(g, "corrupt GENERATION: magic is 0x");
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

/// The paged form: tokens, past_length, block_table i64[batch,2]; two
/// pools f32[5,2,4,4] (5 blocks of 4 positions; max_seq 8 = 2 blocks).
ModelSpec pagedModel() {
  ModelSpec spec;
  spec.hostCode = addHostCode(); // loads; the tests never run it
  spec.symbols = {{"batch", 1, 4}, {"seq", 1, 8}};
  spec.inputs = {{"tokens", KILN_DTYPE_INT64, {-1, -2}},
                 {"past_length", KILN_DTYPE_INT64, {-1}},
                 {"block_table", KILN_DTYPE_INT64, {-1, 2}},
                 {"cache.key.0", KILN_DTYPE_FLOAT32, {5, 2, 4, 4}},
                 {"cache.value.0", KILN_DTYPE_FLOAT32, {5, 2, 4, 4}}};
  spec.outputs = {{"logits", KILN_DTYPE_FLOAT32, {-1, -2, 16}}};
  return spec;
}

/// The paged tail after the state names.
Bytes pagedTail(int64_t blockSize = 4, int64_t blocks = 5,
                const std::string &table = "block_table",
                uint32_t magic = KILN_GENERATION_PAGED_MAGIC) {
  Bytes out;
  auto put = [&](const void *data, size_t size) {
    const auto *bytes = static_cast<const uint8_t *>(data);
    out.insert(out.end(), bytes, bytes + size);
  };
  uint32_t length = uint32_t(table.size());
  put(&magic, 4);
  put(&blockSize, 8);
  put(&blocks, 8);
  put(&length, 4);
  put(table.data(), table.size());
  return out;
}

GenerationSpec pagedGeneration(Bytes tail = pagedTail()) {
  GenerationSpec g;
  g.trailing = std::move(tail);
  return g;
}

TEST_F(GenerationLoadTest, DescribesThePaging) {
  ASSERT_EQ(loadBytes(artifactWith(pagedModel(), pagedGeneration()), &model),
            KILN_STATUS_OK)
      << kiln_last_error();
  kiln_paged_info paged;
  ASSERT_EQ(kiln_model_paged_info(model, &paged), KILN_STATUS_OK);
  EXPECT_EQ(paged.block_size, 4);
  EXPECT_EQ(paged.num_blocks, 5);
  EXPECT_EQ(paged.block_table_input, 2u);
  EXPECT_EQ(kiln_model_paged_info(nullptr, &paged),
            KILN_STATUS_INVALID_ARGUMENT);
  // A contiguous generation step has no paging.
  kiln_model *contiguous = nullptr;
  ASSERT_EQ(loadBytes(artifactWith(stepModel(), {}), &contiguous),
            KILN_STATUS_OK);
  EXPECT_EQ(kiln_model_paged_info(contiguous, &paged), KILN_STATUS_NOT_FOUND);
  EXPECT_NE(std::string(kiln_last_error()).find("--kv-block-size"),
            std::string::npos);
  kiln_model_release(contiguous);
}

TEST_F(GenerationLoadTest, BrokenPagingIsCorrupt) {
  ModelSpec spec = pagedModel();
  expectCorrupt(pagedGeneration(pagedTail(3)),
                "block_size 3 must be positive and divide max_seq 8", spec);
  expectCorrupt(pagedGeneration(pagedTail(0)),
                "block_size 0 must be positive", spec);
  expectCorrupt(pagedGeneration(pagedTail(4, 0)),
                "num_blocks 0 is outside [1, 2^31]", spec);
  expectCorrupt(pagedGeneration(pagedTail(4, int64_t(1) << 40)),
                "num_blocks 1099511627776 is outside", spec);
  expectCorrupt(pagedGeneration(pagedTail(4, 5, "nope")),
                "the block table input 'nope' is not in the signature", spec);
  expectCorrupt(pagedGeneration(pagedTail(4, 5, "past_length")),
                "the block table must be an int64 [batch, blocks] input",
                spec);
  expectCorrupt(pagedGeneration(pagedTail(4, 5, "cache.key.0")),
                "the block table must be an int64 [batch, blocks] input",
                spec);
  // The pools' shape must be the paging's.
  expectCorrupt(pagedGeneration(pagedTail(4, 6)),
                "state input 'cache.key.0' is not a pool of 6 blocks of 4 "
                "positions",
                spec);
  // Truncated: the tail's magic, then too few bytes.
  Bytes cut = pagedTail();
  cut.resize(10);
  expectCorrupt(pagedGeneration(cut), "corrupt GENERATION", spec);
  // Nonzero bytes after the tail.
  Bytes extra = pagedTail();
  extra.push_back(7);
  expectCorrupt(pagedGeneration(extra), "bytes after the last state input",
                spec);
}

/// The paged form with a windowed layer: pools cache.*.0 of 5 blocks, the
/// windowed cache.*.1 of 3 blocks found through window_block_table
/// i64[batch,1].
ModelSpec windowedModel() {
  ModelSpec spec = pagedModel();
  spec.inputs.insert(
      spec.inputs.begin() + 3,
      TensorSpec{"window_block_table", KILN_DTYPE_INT64, {-1, 1}});
  spec.inputs.push_back(
      TensorSpec{"cache.key.1", KILN_DTYPE_FLOAT32, {3, 2, 4, 4}});
  spec.inputs.push_back(
      TensorSpec{"cache.value.1", KILN_DTYPE_FLOAT32, {3, 2, 4, 4}});
  return spec;
}

/// The window tail after the paged one.
Bytes windowTail(int64_t blocks = 3,
                 const std::string &table = "window_block_table",
                 const std::vector<std::string> &pools = {"cache.key.1",
                                                          "cache.value.1"}) {
  Bytes out = pagedTail();
  auto put = [&](const void *data, size_t size) {
    const auto *bytes = static_cast<const uint8_t *>(data);
    out.insert(out.end(), bytes, bytes + size);
  };
  auto str = [&](const std::string &s) {
    uint32_t length = uint32_t(s.size());
    put(&length, 4);
    put(s.data(), s.size());
  };
  uint32_t magic = KILN_GENERATION_WINDOW_MAGIC;
  put(&magic, 4);
  put(&blocks, 8);
  str(table);
  uint32_t count = uint32_t(pools.size());
  put(&count, 4);
  for (const std::string &pool : pools)
    str(pool);
  return out;
}

GenerationSpec windowedGeneration(Bytes tail = windowTail()) {
  GenerationSpec g = pagedGeneration(std::move(tail));
  g.states = {"cache.key.0", "cache.value.0", "cache.key.1", "cache.value.1"};
  return g;
}

TEST_F(GenerationLoadTest, DescribesTheWindowedPools) {
  ASSERT_EQ(
      loadBytes(artifactWith(windowedModel(), windowedGeneration()), &model),
      KILN_STATUS_OK)
      << kiln_last_error();
  kiln_paged_info paged;
  ASSERT_EQ(kiln_model_paged_info(model, &paged), KILN_STATUS_OK);
  EXPECT_EQ(paged.num_blocks, 5);
  EXPECT_EQ(paged.window_blocks, 3);
  EXPECT_EQ(paged.window_columns, 1);
  EXPECT_EQ(paged.window_block_table_input, 3u);
  EXPECT_EQ(paged.has_full_pools, 1);
  // Without the window tail there is none.
  kiln_model *plain = nullptr;
  ASSERT_EQ(loadBytes(artifactWith(pagedModel(), pagedGeneration()), &plain),
            KILN_STATUS_OK);
  ASSERT_EQ(kiln_model_paged_info(plain, &paged), KILN_STATUS_OK);
  EXPECT_EQ(paged.window_blocks, 0);
  kiln_model_release(plain);
  // A batch over it starts with both pools free.
  ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK);
  kiln_batch *batch = nullptr;
  ASSERT_EQ(kiln_batch_create(session, nullptr, &batch), KILN_STATUS_OK)
      << kiln_last_error();
  kiln_batch_stats stats;
  ASSERT_EQ(kiln_batch_get_stats(batch, &stats), KILN_STATUS_OK);
  EXPECT_EQ(stats.total_blocks, 5);
  EXPECT_EQ(stats.window_total_blocks, 3);
  EXPECT_EQ(stats.window_free_blocks, 3);
  kiln_batch_release(batch);
}

TEST_F(GenerationLoadTest, BrokenWindowedPoolsAreCorrupt) {
  ModelSpec spec = windowedModel();
  expectCorrupt(windowedGeneration(windowTail(0)),
                "window_blocks 0 is outside [1, 2^31]", spec);
  expectCorrupt(windowedGeneration(windowTail(3, "nope")),
                "the window block table input 'nope' is not in the signature",
                spec);
  expectCorrupt(windowedGeneration(windowTail(3, "block_table")),
                "the window block table must be an int64 [batch, blocks]",
                spec);
  expectCorrupt(windowedGeneration(windowTail(3, "window_block_table", {})),
                "a window tail without windowed pools", spec);
  expectCorrupt(
      windowedGeneration(windowTail(3, "window_block_table", {"tokens"})),
      "windowed pool 'tokens' is not a state input", spec);
  expectCorrupt(windowedGeneration(windowTail(3, "window_block_table",
                                              {"cache.key.1", "cache.key.1"})),
                "windowed pool 'cache.key.1' is not a state input or is "
                "listed twice",
                spec);
  // Each pool's blocks are its kind's.
  expectCorrupt(windowedGeneration(windowTail(4)),
                "state input 'cache.key.1' is not a pool of 4 blocks", spec);
  expectCorrupt(
      windowedGeneration(windowTail(3, "window_block_table", {"cache.key.0"})),
      "state input 'cache.key.0' is not a pool of 3 blocks", spec);
  Bytes cut = windowTail();
  cut.resize(cut.size() - 3);
  expectCorrupt(windowedGeneration(cut), "corrupt GENERATION", spec);
}

TEST_F(GenerationLoadTest, BatchesRefuseBadArguments) {
  ASSERT_EQ(loadBytes(artifactWith(pagedModel(), pagedGeneration()), &model),
            KILN_STATUS_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_session_create(model, "cpu", &session), KILN_STATUS_OK);
  // A paged model is not for kiln_generation.
  kiln_generation *generation = nullptr;
  EXPECT_EQ(kiln_generation_create(session, 1, nullptr, &generation),
            KILN_STATUS_UNSUPPORTED);
  EXPECT_NE(std::string(kiln_last_error()).find("kiln_batch_"),
            std::string::npos);
  kiln_batch *batch = nullptr;
  EXPECT_EQ(kiln_batch_create(nullptr, nullptr, &batch),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_batch_create(session, nullptr, nullptr),
            KILN_STATUS_INVALID_ARGUMENT);
  kiln_batch_options tooMany = {5};
  EXPECT_EQ(kiln_batch_create(session, &tooMany, &batch),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("max_batch 5 is above"),
            std::string::npos)
      << kiln_last_error();
  EXPECT_EQ(batch, nullptr);
  ASSERT_EQ(kiln_batch_create(session, nullptr, &batch), KILN_STATUS_OK)
      << kiln_last_error();
  kiln_batch_stats stats;
  ASSERT_EQ(kiln_batch_get_stats(batch, &stats), KILN_STATUS_OK);
  EXPECT_EQ(stats.total_blocks, 5);
  EXPECT_EQ(stats.free_blocks, 5);
  EXPECT_EQ(stats.waiting + stats.running + stats.finished, 0u);
  EXPECT_EQ(kiln_batch_get_stats(nullptr, &stats),
            KILN_STATUS_INVALID_ARGUMENT);

  int64_t prompt[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  uint64_t id = 7;
  EXPECT_EQ(kiln_batch_add(batch, prompt, 0, 1, nullptr, nullptr, 0, &id),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(kiln_batch_add(batch, prompt, 2, 0, nullptr, nullptr, 0, &id),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_batch_add(batch, nullptr, 2, 1, nullptr, nullptr, 0, &id),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_batch_add(batch, prompt, 2, 1, nullptr, nullptr, 1, &id),
            KILN_STATUS_INVALID_ARGUMENT); // stop tokens NULL
  // 6 prompt + 4 new need 9 positions; a sequence holds 8.
  EXPECT_EQ(kiln_batch_add(batch, prompt, 6, 4, nullptr, nullptr, 0, &id),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("need 9 cache positions"),
            std::string::npos)
      << kiln_last_error();
  kiln_sampling bad = {0.5f, 0, 2.0f, 0};
  EXPECT_EQ(kiln_batch_add(batch, prompt, 2, 1, &bad, nullptr, 0, &id),
            KILN_STATUS_INVALID_ARGUMENT);
  ASSERT_EQ(kiln_batch_get_stats(batch, &stats), KILN_STATUS_OK);
  EXPECT_EQ(stats.waiting, 0u); // nothing refused was queued
  ASSERT_EQ(kiln_batch_add(batch, prompt, 3, 2, nullptr, nullptr, 0, &id),
            KILN_STATUS_OK);
  EXPECT_EQ(id, 1u);
  ASSERT_EQ(kiln_batch_get_stats(batch, &stats), KILN_STATUS_OK);
  EXPECT_EQ(stats.waiting, 1u);

  size_t count = 9;
  int64_t out[4];
  EXPECT_EQ(kiln_batch_take(batch, &id, out, 4, &count), KILN_STATUS_NOT_FOUND);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(kiln_batch_take(nullptr, &id, out, 4, &count),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_batch_take(batch, &id, nullptr, 4, &count),
            KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_batch_step(nullptr, nullptr), KILN_STATUS_INVALID_ARGUMENT);
  kiln_batch_release(batch);
  kiln_batch_release(nullptr);
}

} // namespace
