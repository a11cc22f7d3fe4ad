//===- RuntimeAxes.h - Axes that only the run knows -------------*- C++ -*-===//
//
// Private to lib/ONNX. A node whose axes arrive as a graph input (a
// Reduce's `axes`, CumSum's `axis`, Squeeze's and Unsqueeze's `axes`) has
// finitely many possible values: distinct axes of a tensor whose rank the
// compiler knows. The importer builds the node's static lowering once per
// possible value, as the cases of one `scf.index_switch` on a key computed
// from the axes at run time, and casts each case's results to a common
// type (dynamic where the cases disagree). A value that is no valid axes
// (out of range, repeated, or refused by the node) selects the default
// case, which yields tensors of NaN (floats) or 0 (integers) whose dynamic
// dims are 0: the runtime has no way yet to fail a run on an input's value
// (see test/e2e/conformance/README.md).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_RUNTIMEAXES_H
#define KILN_LIB_ONNX_RUNTIMEAXES_H

#include "NodeContext.h"
#include "ShapeArithmetic.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace kiln::onnx_import {

/// The node's lowering for one value of the axes (normalized, in [0,
/// rank)): its results, or nothing when that value is invalid for the node
/// (it must then build nothing).
using AxesLowering = llvm::function_ref<std::optional<
    llvm::SmallVector<mlir::Value>>(llvm::ArrayRef<int64_t> axes)>;

/// Dispatches at run time over the values of axes input `i` (an integer
/// scalar, or a 1-D tensor of static length k): k distinct axes of
/// [-rank, rank), a set (each lowering gets it sorted). The results are
/// the switch's, or failure after an error (too many values to build, or
/// none valid).
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
dispatchOnAxes(NodeContext &nc, size_t i, int64_t rank, AxesLowering lower);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_RUNTIMEAXES_H
