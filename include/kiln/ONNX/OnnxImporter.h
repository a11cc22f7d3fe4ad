//===- OnnxImporter.h - ONNX models into the Kiln dialect -------*- C++ -*-===//
//
// Reads an ONNX model (binary protobuf, or ONNX's textual syntax for files
// ending in .onnxtxt) and builds a module with one function whose arguments
// are the graph inputs and whose results are the graph outputs. Shapes are
// static: symbolic input dimensions must be given in the options.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_ONNX_ONNXIMPORTER_H
#define KILN_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

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

struct OnnxImportOptions {
  /// Shapes for graph inputs, overriding (and completing) the model's.
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Ranges of named symbolic dimensions (ONNX dim_param), by name. A
  /// range of one value pins the dimension: it becomes static.
  llvm::StringMap<DimRange> dimRanges;
  /// Graph inputs that become constants (and leave the signature): how a
  /// shape-determining input such as TopK's K or OneHot's depth gets the
  /// static value Kiln needs.
  llvm::StringMap<BoundInput> boundInputs;
  /// Name of the function the graph becomes.
  std::string entryName = "main";
  /// Initializers with more elements than this are stored as dense
  /// resources (blobs) instead of inline attributes.
  int64_t inlineConstantLimit = 256;
};

/// Imports the model at `path`. Errors are reported as diagnostics on
/// `context` (each names the node, op and what is wrong) and yield null.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxModel(llvm::StringRef path, mlir::MLIRContext &context,
                const OnnxImportOptions &options);

} // namespace kiln

#endif // KILN_ONNX_ONNXIMPORTER_H
