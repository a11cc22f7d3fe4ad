//===- ranks_load_test.cpp - Partitioned models' RANKS in kiln_model_load -===//
//
// A partitioned model (format version 5) holds each rank's artifact in its
// RANKS section. Without the collectives, kiln_model_load reads rank 0's for
// introspection and sessions refuse to run it; every corruption of the rank
// table is a CORRUPT_ARTIFACT with a message naming what is wrong.
//
//===----------------------------------------------------------------------===//

#include "model_load_test.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace kiln::test;

namespace {

void putU32(Bytes &out, uint32_t v) {
  out.insert(out.end(), reinterpret_cast<uint8_t *>(&v),
             reinterpret_cast<uint8_t *>(&v) + 4);
}
void putU64(Bytes &out, uint64_t v) {
  out.insert(out.end(), reinterpret_cast<uint8_t *>(&v),
             reinterpret_cast<uint8_t *>(&v) + 8);
}
void putStr(Bytes &out, const std::string &s) {
  putU32(out, uint32_t(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

struct RankSpec {
  uint32_t magic = KILN_RANKS_MAGIC;
  std::string plan = "expert parallelism over 2 ranks (ep=2)";
  std::vector<Bytes> ranks;
  /// Overrides of rank r's offset (relative to RANKS) and size.
  std::vector<std::pair<size_t, uint64_t>> offsets, sizes;
  std::optional<uint32_t> count;
};

Bytes encodeRanks(const RankSpec &spec) {
  Bytes table;
  putU32(table, spec.magic);
  putU32(table, spec.count.value_or(uint32_t(spec.ranks.size())));
  putStr(table, spec.plan);
  size_t tableSize = table.size();
  for (size_t r = 0; r < spec.ranks.size(); ++r)
    tableSize += 4 + 6 + 16;
  auto aligned = [](uint64_t n) { return (n + 63) / 64 * 64; };
  std::vector<uint64_t> offsets;
  uint64_t at = aligned(tableSize);
  for (const Bytes &rank : spec.ranks) {
    offsets.push_back(at);
    at = aligned(at + rank.size());
  }
  for (size_t r = 0; r < spec.ranks.size(); ++r) {
    uint64_t offset = offsets[r], size = spec.ranks[r].size();
    for (auto [index, value] : spec.offsets)
      if (index == r)
        offset = value;
    for (auto [index, value] : spec.sizes)
      if (index == r)
        size = value;
    putStr(table, "rank " + std::to_string(r));
    putU64(table, offset);
    putU64(table, size);
  }
  for (size_t r = 0; r < spec.ranks.size(); ++r) {
    table.resize(offsets[r], 0);
    table.insert(table.end(), spec.ranks[r].begin(), spec.ranks[r].end());
  }
  return table;
}

ModelSpec rankModel() {
  ModelSpec spec = addModel(addHostCode());
  spec.formatVersion = KILN_ARTIFACT_BASE_FORMAT_VERSION;
  return spec;
}

Bytes partitioned(const RankSpec &ranks, ModelSpec outer = rankModel()) {
  Bytes artifact = assemble({{KILN_SECTION_METADATA, encodeMetadata(outer)},
                             {KILN_SECTION_RANKS, encodeRanks(ranks)}});
  headerOf(artifact).format_version = KILN_ARTIFACT_RANKS_VERSION;
  return artifact;
}

RankSpec twoRanks() {
  RankSpec spec;
  spec.ranks = {buildArtifact(rankModel()), buildArtifact(rankModel())};
  return spec;
}

using RanksLoadTest = ModelLoadTest;

TEST_F(RanksLoadTest, LoadsRankZeroForIntrospection) {
  ASSERT_EQ(loadBytes(partitioned(twoRanks()), &model), KILN_STATUS_OK)
      << kiln_last_error();
  EXPECT_EQ(kiln_model_num_ranks(model), 2u);
  EXPECT_EQ(kiln_model_rank(model), 0u);
  EXPECT_STREQ(kiln_model_plan(model), "expert parallelism over 2 ranks (ep=2)");
  EXPECT_STREQ(kiln_model_rank_summary(model, 1), "rank 1");
  EXPECT_EQ(kiln_model_rank_summary(model, 2), nullptr);
  EXPECT_EQ(kiln_model_format_version(model), KILN_ARTIFACT_RANKS_VERSION);
  EXPECT_STREQ(kiln_model_target(model), "cpu-x86_64");
  EXPECT_EQ(kiln_model_num_inputs(model), 2u);
  EXPECT_EQ(kiln_model_num_weights(model), 1u);

  // Without the collectives (no mpirun) a session refuses to run a rank.
  kiln_session *session = nullptr;
  EXPECT_EQ(kiln_session_create(model, "cpu", &session),
            KILN_STATUS_UNSUPPORTED);
  EXPECT_EQ(session, nullptr);
  EXPECT_NE(std::string(kiln_last_error())
                .find("the model is partitioned for 2 ranks (expert "
                      "parallelism over 2 ranks (ep=2)): run one process per "
                      "rank, e.g. mpirun -np 2 kiln-run"),
            std::string::npos)
      << kiln_last_error();
}

TEST_F(RanksLoadTest, SingleRankModelsHaveOneRank) {
  ASSERT_EQ(loadBytes(buildArtifact(rankModel()), &model), KILN_STATUS_OK);
  EXPECT_EQ(kiln_model_num_ranks(model), 1u);
  EXPECT_STREQ(kiln_model_plan(model), "");
  EXPECT_EQ(kiln_model_num_ranks(nullptr), 1u);
}

TEST_F(RanksLoadTest, RejectsCorruptRankTables) {
  RankSpec magic = twoRanks();
  magic.magic = 0x12345678;
  expectFailure(partitioned(magic), KILN_STATUS_CORRUPT_ARTIFACT,
                "corrupt RANKS section: magic is 0x12345678");

  RankSpec one = twoRanks();
  one.count = 1;
  expectFailure(partitioned(one), KILN_STATUS_CORRUPT_ARTIFACT,
                "num_ranks is 1, must lie in [2, 4096]");

  RankSpec many = twoRanks();
  many.count = 1000000;
  expectFailure(partitioned(many), KILN_STATUS_CORRUPT_ARTIFACT,
                "num_ranks is 1000000 but only");

  RankSpec unaligned = twoRanks();
  unaligned.offsets = {{1, 65}};
  expectFailure(partitioned(unaligned), KILN_STATUS_CORRUPT_ARTIFACT,
                "rank 1's artifact at offset 65 is not 64-byte aligned");

  RankSpec outside = twoRanks();
  outside.sizes = {{1, 1u << 30}};
  expectFailure(partitioned(outside), KILN_STATUS_CORRUPT_ARTIFACT,
                "rank 1's artifact (1073741824 bytes at offset");

  RankSpec small = twoRanks();
  small.sizes = {{0, 10}};
  expectFailure(partitioned(small), KILN_STATUS_CORRUPT_ARTIFACT,
                "does not lie inside the section");
}

TEST_F(RanksLoadTest, RejectsBadRankArtifacts) {
  // Rank 0's bytes corrupted: its own checksum catches it.
  RankSpec flipped = twoRanks();
  flipped.ranks[0][200] ^= 0xff;
  expectFailure(partitioned(flipped), KILN_STATUS_CORRUPT_ARTIFACT,
                "rank 0's artifact: checksum mismatch");

  // A rank's artifact may not be partitioned itself.
  RankSpec nested = twoRanks();
  nested.ranks[0] = partitioned(twoRanks());
  expectFailure(partitioned(nested), KILN_STATUS_CORRUPT_ARTIFACT,
                "rank 0's artifact has format version 5; a rank's artifact "
                "must be a single-rank one");

  // A rank whose signature differs from the file's.
  ModelSpec other = rankModel();
  other.inputs[0].name = "renamed";
  RankSpec differs = twoRanks();
  differs.ranks[0] = buildArtifact(other);
  expectFailure(partitioned(differs), KILN_STATUS_CORRUPT_ARTIFACT,
                "rank 0's artifact has another target or signature than the "
                "model's METADATA");
}

} // namespace
