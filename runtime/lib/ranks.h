//===- ranks.h - The RANKS section of a partitioned model -------*- C++ -*-===//

#ifndef KILN_RUNTIME_LIB_RANKS_H
#define KILN_RUNTIME_LIB_RANKS_H

#include "kiln/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

struct RankEntry {
  std::string summary;
  uint64_t offset = 0; // relative to the RANKS section
  uint64_t size = 0;
};

struct RankTable {
  std::string plan;
  std::vector<RankEntry> ranks; // empty: a model of one rank
};

/// Parses and checks RANKS (kiln/artifact_format.h, "Partitioned models"):
/// magic, counts, every entry aligned and inside the section.
kiln_status parseRanks(const uint8_t *data, uint64_t size, RankTable &out);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_RANKS_H
