//===- metadata.h - Parse and check the METADATA section --------*- C++ -*-===//
//
// Second stage of loading: decode the I/O signature and the weight table.
// Every read is bounds-checked against the section, every count against the
// bytes that remain (so a corrupt count cannot trigger a huge allocation),
// and every tensor's byte size is computed with overflow checks, so later
// code can trust byteSize without re-checking.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_METADATA_H
#define KILN_RUNTIME_LIB_METADATA_H

#include "artifact.h"
#include "kiln/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

struct TensorInfo {
  std::string name;
  kiln_dtype dtype = KILN_DTYPE_INVALID;
  std::vector<int64_t> dims;
  uint64_t elements = 0;
  /// Fits in size_t. Inputs and outputs: the dense row-major size at the
  /// API, one byte per element for sub-byte dtypes. Weights: the size
  /// stored in WEIGHTS, packed for sub-byte dtypes (kiln_dtype_packed_size).
  uint64_t byteSize = 0;
};

struct WeightInfo {
  TensorInfo tensor;
  uint64_t offset = 0; // relative to the WEIGHTS section
};

struct Metadata {
  std::string target;
  std::string entrySymbol;
  std::vector<WeightInfo> weights;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  /// Host scratch of a "cpu-" target's entry; fits in size_t (below
  /// SIZE_MAX / 2), 0 for other targets.
  uint64_t workspaceBytes = 0;
};

/// Decodes `data[0, size)`. Zero bytes after workspace_bytes are accepted
/// as padding; anything else there is corruption.
kiln_status parseMetadata(const uint8_t *data, uint64_t size, Metadata &out);

/// Checks each weight against the WEIGHTS section: 64-byte-aligned offset
/// and inside the section. (parseMetadata already checked that byte_size is
/// the packed size of its dtype and shape.)
kiln_status checkWeights(const Metadata &metadata, const SectionRef &weights);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_METADATA_H
