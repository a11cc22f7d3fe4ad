//===- GraphValues.h - Sequence and optional graph inputs, outputs -*- C++
//-*-===//
//
// Kiln's code takes and returns only tensors, so a graph input or output
// that is an ONNX sequence or optional is passed as the tensors it holds,
// known at compile time: a sequence of N tensors (N from
// `--sequence-input NAME=N`) is N tensors named NAME[0] ... NAME[N-1], an
// optional that holds a tensor is that tensor (named NAME), and an empty
// optional (`--absent-input NAME`, or an output the graph leaves empty) is
// no tensor. The entry records each such value in `kiln.values`, which the
// artifact carries as its VALUES section (kiln/artifact_format.h), so that
// a caller (kiln-run) passes and writes them as sequences and optionals.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_GRAPHVALUES_H
#define KILN_LIB_ONNX_GRAPHVALUES_H

#include "kiln/ONNX/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringSet.h"

#include "onnx/onnx_pb.h"

#include <deque>
#include <string>
#include <vector>

namespace kiln::onnx_import {

/// A sequence or optional graph input or output and the tensors it is.
struct GraphValueGroup {
  std::string name;
  bool output = false;
  /// The ONNX type: "sequence<tensor<float>>", "optional<tensor<int32>>".
  std::string type;
  /// False for an empty optional (which has no tensors).
  bool present = true;
  bool sequence = false;
  std::vector<std::string> tensors;
};

/// "sequence<optional<tensor<float>>>": an ONNX type as text.
std::string valueTypeText(const onnx::TypeProto &type);

/// Whether a tensor of `shape` (its static dims; a dynamic one counts as 1)
/// and element type `elt` takes fewer than 2^63 bytes, the most the runtime
/// addresses; sub-byte types count one byte per element, as at the API.
bool fitsInAddressSpace(llvm::ArrayRef<int64_t> shape, mlir::Type elt);

/// The ONNX element type of the tensors `type` holds (0 when unstated).
int elementOnnxType(const onnx::TypeProto &type);

/// Fills `out` with what the model holds (OnnxModelSummary).
void summarize(const onnx::ModelProto &model, OnnxModelSummary &out);

/// The name of element `i` of sequence `name`: "name[i]".
std::string sequenceElementName(llvm::StringRef name, size_t i);

/// For a graph input that is a sequence or an optional, fills `group` and
/// appends to `elements` one tensor ValueInfo per tensor it passes (none
/// for an absent optional). Returns an error message ("" on success).
std::string expandGraphInput(const onnx::ValueInfoProto &in,
                             const OnnxImportOptions &options,
                             std::deque<onnx::ValueInfoProto> &elements,
                             GraphValueGroup &group);

/// Checks that every --sequence-input and --absent-input names a graph
/// input of a fitting type; an error message or "".
std::string checkValueFlags(const onnx::GraphProto &graph,
                            const OnnxImportOptions &options);

/// Whether `type` is a tensor of strings, which Kiln has no type for.
bool isStringTensor(const onnx::TypeProto &type);

/// "unsupported: <op> on string tensors (input 'x' ...)" when `node` reads
/// one of `stringValues`, else "".
std::string stringInputError(const onnx::NodeProto &node,
                             const llvm::StringSet<> &stringValues);

/// Records `groups` as the entry's `kiln.values` (nothing when empty): an
/// array of {name, output, type, present, sequence, tensors}.
void recordGraphValues(mlir::func::FuncOp func,
                       llvm::ArrayRef<GraphValueGroup> groups);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_GRAPHVALUES_H
