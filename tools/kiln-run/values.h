//===- values.h - Sequence and optional inputs and outputs ------*- C++ -*-===//
//
// An artifact passes an ONNX sequence as one tensor per element (NAME[i])
// and an optional as its tensor or nothing (kiln_model_value). kiln-run
// takes a sequence input as a directory of its elements' files (0.npy,
// 1.npy, ...; or .pb) and writes a sequence output as such a directory;
// an empty optional output writes no file.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUN_VALUES_H
#define KILN_RUN_VALUES_H

#include "kiln/runtime.h"

#include <string>
#include <utility>
#include <vector>

namespace kiln::run {

/// A sequence or optional of the model (kiln_value_info, copied).
struct ModelValue {
  std::string name;
  bool output = false;
  bool sequence = false;
  bool present = false;
  std::string type;
  std::vector<size_t> tensors;
};

/// The model's sequence and optional values.
std::vector<ModelValue> modelValues(const kiln_model *model);

/// Replaces each `--input NAME=DIR` of a sequence input by one entry per
/// element (NAME[i]=DIR/i.npy or DIR/i.pb). Returns "" or the one-line
/// error (not a directory, the wrong number of elements, an optional
/// compiled empty given a value).
std::string
expandSequenceInputs(const kiln_model *model,
                     std::vector<std::pair<std::string, std::string>> &inputs);

/// For missing input `index`: the error that names the sequence it is an
/// element of and how to pass it, or "" when it is a plain tensor.
std::string missingElementHint(const kiln_model *model, size_t index);

/// The value that output `index` is element `position` of; null when it
/// is a plain tensor.
const ModelValue *outputValueOf(const std::vector<ModelValue> &values,
                                size_t index, size_t &position);

/// "sequence<tensor<float>>, 3 tensors (x[0], x[1], x[2])" or
/// "optional<tensor<int32>>, empty": a value for --print-signature.
std::string describeValue(const kiln_model *model, const ModelValue &value);

} // namespace kiln::run

#endif // KILN_RUN_VALUES_H
