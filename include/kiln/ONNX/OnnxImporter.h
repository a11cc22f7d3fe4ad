//===- OnnxImporter.h - ONNX models into the Kiln dialect -------*- C++ -*-===//
//
// Reads an ONNX model (binary protobuf, or ONNX's textual syntax for files
// ending in .onnxtxt) and builds a module with one function whose arguments
// are the graph inputs and whose results are the graph outputs. Symbolic
// input dimensions (dim_param) stay dynamic, with ranges from the options.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_ONNX_ONNXIMPORTER_H
#define KILN_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace kiln {

/// A graph input fixed to a value at compile time.
struct BoundInput {
  int dtype = 0; // ONNX TensorProto.DataType
  std::vector<int64_t> dims;
  std::string data; // dense little-endian bytes (bool: one byte each)
};

/// The values a symbolic dimension may take at run time, both inclusive.
struct DimRange {
  int64_t min = 1, max = kDefaultDimMax;
  /// The range of a symbolic dimension the user gives none (--dim): wide
  /// enough for any prompt or batch a CPU or one GPU runs.
  static constexpr int64_t kDefaultDimMax = 65536;
  bool pinned() const { return min == max; }
};

/// What an ONNX model file holds, for reports (`kiln-compile --check`,
/// `kiln-inspect`): read from the file as it is, before Kiln rewrites or
/// imports anything.
struct OnnxModelSummary {
  /// Operator set versions by domain ("" is the default domain, ai.onnx).
  std::map<std::string, int64_t> opsets;
  size_t nodes = 0;
  /// Nodes per operator: "MatMul", or "<domain>.<op>" outside ai.onnx
  /// ("com.microsoft.GroupQueryAttention").
  std::map<std::string, size_t> nodesPerOp;
  /// The graph inputs that are not initializers, each with its declared
  /// type as ONNX states it: "int64[batch,seq]" (a dim_param by name, an
  /// anonymous dimension as "?").
  std::vector<std::pair<std::string, std::string>> inputs;
  /// The symbolic dimensions of those inputs and the range each gets
  /// (--dim, or the default); a pinned one has min == max.
  std::map<std::string, DimRange> symbols;
};

struct OnnxImportOptions {
  /// Shapes for graph inputs, overriding (and completing) the model's.
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Ranges of named symbolic dimensions (ONNX dim_param), by name. A
  /// range of one value pins the dimension: it becomes static.
  llvm::StringMap<DimRange> dimRanges;
  /// Whether a shape given as a graph input (Reshape's, Expand's, ...) is
  /// read at run time; otherwise it must be a constant (or bound with
  /// boundInputs). Only a target that sizes buffers at run time can.
  bool runtimeShapeInputs = true;
  /// Graph inputs that become constants (and leave the signature): how a
  /// shape-determining input such as TopK's K or OneHot's depth gets the
  /// static value Kiln needs.
  llvm::StringMap<BoundInput> boundInputs;
  /// Graph inputs that are sequences, by name: how many tensors each holds
  /// (the compiled code takes them as that many tensor inputs NAME[i]).
  llvm::StringMap<int64_t> sequenceInputs;
  /// Optional graph inputs compiled as the empty optional.
  llvm::StringSet<> absentInputs;
  /// Name of the function the graph becomes.
  std::string entryName = "main";
  /// Initializers with more elements than this are stored as dense
  /// resources (blobs) instead of inline attributes.
  int64_t inlineConstantLimit = 256;
  /// When set, filled with what the file holds as soon as it is read, so
  /// also when the import then fails.
  OnnxModelSummary *summary = nullptr;
  /// Warn about the nodes that were not checked because they read a value
  /// an earlier error left undefined. Off for a compile, whose errors are
  /// the message; on for `kiln-compile --check`, which promises a complete
  /// account.
  bool reportUncheckedNodes = false;
  /// Intermediate values kept as extra results after the graph outputs,
  /// for debugging a wrong answer (kiln-compile --dump): each entry names a
  /// node (all its outputs) or a value. `dumpAll` keeps every node output.
  /// Each extra result is named after its ONNX value.
  std::vector<std::string> dumpValues;
  bool dumpAll = false;
};

/// Imports the model at `path`. Errors are reported as diagnostics on
/// `context` (each names the node, op and what is wrong) and yield null.
/// A node that cannot be imported does not stop the import: every such
/// node is reported, so that one call lists all of a model's problems.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxModel(llvm::StringRef path, mlir::MLIRContext &context,
                const OnnxImportOptions &options);

/// The `location`s of the external data files that the tensors of the
/// model at `path` name (relative to the model's folder, as written;
/// sorted, each once), for a compile cache's key. Fails when the model
/// does not parse.
llvm::Expected<std::vector<std::string>>
onnxExternalDataLocations(llvm::StringRef path);

} // namespace kiln

#endif // KILN_ONNX_ONNXIMPORTER_H
