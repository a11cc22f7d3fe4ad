//===- values.h - Parse and check the VALUES section ------------*- C++ -*-===//
//
// The inputs and outputs that are ONNX sequences or optionals
// (kiln/artifact_format.h, "Sequences and optionals"): which of the
// entry's tensors each one is passed as.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_VALUES_H
#define KILN_RUNTIME_LIB_VALUES_H

#include "metadata.h"

#include "kiln/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

struct ValueEntry {
  std::string name;
  bool output = false;
  bool sequence = false;
  bool present = false;
  std::string type;
  /// Indices among the metadata's inputs (outputs for an output).
  std::vector<size_t> tensors;
};

/// Decodes `data[0, size)` into `out`, checking each tensor name against
/// `metadata`'s inputs and outputs.
kiln_status parseValues(const uint8_t *data, uint64_t size,
                        const Metadata &metadata, std::vector<ValueEntry> &out);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_VALUES_H
