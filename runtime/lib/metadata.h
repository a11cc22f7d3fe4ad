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

/// A symbolic dimension (format version 3): each run gives it one value
/// in [min, max], taken from the inputs' shapes. A computed one is an
/// output dimension the run itself reports (a NonZero's count); computed
/// symbols follow the others.
struct SymbolInfo {
  std::string name;
  int64_t min = 0;
  int64_t max = 0;
  bool computed = false;
};

/// A dim of -(k+1) names symbol k (kiln/artifact_format.h).
inline bool isSymbolic(int64_t dim) { return dim < 0; }
inline uint64_t symbolIndex(int64_t dim) { return uint64_t(-(dim + 1)); }

struct TensorInfo {
  std::string name;
  kiln_dtype dtype = KILN_DTYPE_INVALID;
  /// As in the artifact: symbolic dims are -(k+1).
  std::vector<int64_t> dims;
  /// Some dim is symbolic: the shape, and so `elements` and `byteSize`,
  /// are known only per run (both are 0 here).
  bool symbolic = false;
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
  /// Empty for static models (and every version-2 artifact). Each symbol
  /// the inputs bind occurs in some input dim, each computed one (after
  /// them) only in output dims, and every symbolic dim names one of them.
  std::vector<SymbolInfo> symbols;
  /// The outputs with a computed dim, in order: the entry writes those
  /// only when they fit the capacity the runtime gives (artifact_format.h).
  std::vector<size_t> computedOutputs;
  size_t numBoundSymbols() const {
    return symbols.size() - numComputedSymbols;
  }
  size_t numComputedSymbols = 0;
  /// Length of the CPU entry's symbol-values array: the symbols' values,
  /// one capacity per computed output, and a status word when there is
  /// such an output.
  size_t numSymbolValues() const {
    return symbols.size() + computedOutputs.size() +
           (computedOutputs.empty() ? 0 : 1);
  }
};

/// Decodes `data[0, size)`, METADATA of artifact format `formatVersion`.
/// Zero bytes after its last field are accepted as padding; anything else
/// there is corruption.
kiln_status parseMetadata(const uint8_t *data, uint64_t size,
                          uint32_t formatVersion, Metadata &out);

/// The dense row-major byte size of `dims` (all static) at `elementSize`
/// bytes per element, in `bytes`; false when it exceeds SIZE_MAX / 2, the
/// largest buffer the runtime allocates.
bool denseByteSize(const int64_t *dims, size_t rank, uint64_t elementSize,
                   uint64_t &bytes);

/// "[batch,seq,64]": `dims` with each symbol by its name.
std::string symbolicShapeString(const std::vector<int64_t> &dims,
                                const std::vector<SymbolInfo> &symbols);

/// Checks each weight against the WEIGHTS section: 64-byte-aligned offset
/// and inside the section. (parseMetadata already checked that byte_size is
/// the packed size of its dtype and shape.)
kiln_status checkWeights(const Metadata &metadata, const SectionRef &weights);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_METADATA_H
