//===- generation_info.h - Parse and check the GENERATION section -*- C++ -*-===//
//
// A generation step's roles (kiln/artifact_format.h, "Generation steps"):
// which input holds the tokens, which the cache positions, which output
// the logits, and which inputs are KV caches the entry updates in place.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_GENERATION_INFO_H
#define KILN_RUNTIME_LIB_GENERATION_INFO_H

#include "metadata.h"

#include <cstdint>
#include <vector>

namespace kiln::rt {

struct GenerationInfo {
  bool present = false;
  int64_t maxSeq = 0;
  size_t tokensInput = 0, positionsInput = 0, logitsOutput = 0;
  /// Input indices, in section order.
  std::vector<size_t> stateInputs;
  /// A paged cache: blocks of kvBlockSize positions (0: contiguous), the
  /// pools' block count and the block table input.
  int64_t kvBlockSize = 0, kvBlocks = 0;
  size_t blockTableInput = 0;
  /// Sliding-window (or hierarchical) attentions paged in pools of their
  /// own (windowBlocks > 0): each sequence's ring blocks in the window
  /// block table input's row of windowColumns; windowStates are those
  /// pools (a subset of stateInputs). Requests need blocks of the full
  /// pools only when some state input is not windowed (hasFullStates).
  int64_t windowBlocks = 0, windowColumns = 0;
  size_t windowBlockTableInput = 0;
  std::vector<size_t> windowStates;
  bool hasFullStates = true;
};

/// Decodes `data[0, size)` and checks it against `metadata`'s signature.
kiln_status parseGeneration(const uint8_t *data, uint64_t size,
                            const Metadata &metadata, GenerationInfo &out);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_GENERATION_INFO_H
