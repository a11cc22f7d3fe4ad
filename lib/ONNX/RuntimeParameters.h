//===- RuntimeParameters.h - Parameters that only the run knows -*- C++ -*-===//
//
// Private to lib/ONNX. Lowerings of nodes whose parameters arrive as graph
// inputs (on the CPU target, where the importer reads run-time shape
// inputs): Trilu's diagonal, OneHot's depth and values, a float Range, a
// window function's size, Tile's repeats, TopK's K, Split's sizes and
// Slice's axes and steps. Each reads the values with tensor.extract and
// computes with them on index values; sizes they decide are dynamic dims
// (the runtime sizes such outputs after the run). The handlers in
// Onnx*Ops.cpp call them when isRuntimeInput (RuntimeAxes.h) says the
// parameter is not a constant.
//
// Values ONNX calls invalid give an empty result where they decide a size
// (a negative depth or repeat count, a K beyond the axis, split sizes that
// do not add up to the dimension, repeated Slice axes or a zero step),
// since the runtime cannot yet fail a run on an input's value.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_RUNTIMEPARAMETERS_H
#define KILN_LIB_ONNX_RUNTIMEPARAMETERS_H

#include "NodeContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace kiln::onnx_import {

/// Index arithmetic that folds on constants (the index maps of Pad and
/// Resize).
struct IndexMath {
  mlir::OpBuilder &b;
  mlir::Location loc;
  mlir::Value constant(int64_t v) {
    return b.createOrFold<mlir::arith::ConstantIndexOp>(loc, v);
  }
  mlir::Value add(mlir::Value l, mlir::Value r) {
    return b.createOrFold<mlir::arith::AddIOp>(loc, l, r);
  }
  mlir::Value sub(mlir::Value l, mlir::Value r) {
    return b.createOrFold<mlir::arith::SubIOp>(loc, l, r);
  }
  mlir::Value max(mlir::Value l, mlir::Value r) {
    return b.createOrFold<mlir::arith::MaxSIOp>(loc, l, r);
  }
  mlir::Value min(mlir::Value l, mlir::Value r) {
    return b.createOrFold<mlir::arith::MinSIOp>(loc, l, r);
  }
  mlir::Value rem(mlir::Value l, mlir::Value r) {
    return b.createOrFold<mlir::arith::RemSIOp>(loc, l, r);
  }
  mlir::Value cmp(mlir::arith::CmpIPredicate p, mlir::Value l, mlir::Value r) {
    return b.createOrFold<mlir::arith::CmpIOp>(loc, p, l, r);
  }
  mlir::Value select(mlir::Value c, mlir::Value l, mlir::Value r) {
    return b.createOrFold<mlir::arith::SelectOp>(loc, c, l, r);
  }
  mlir::Value both(mlir::Value l, mlir::Value r) {
    return b.createOrFold<mlir::arith::AndIOp>(loc, l, r);
  }
};

/// Element `k` of input `i` (a scalar or a 1-D tensor of static length)
/// read with tensor.extract, or null after an error naming `what` when
/// there is no such element.
mlir::Value inputElement(NodeContext &nc, size_t i, int64_t k,
                         llvm::StringRef what);

/// `v` (any integer or float scalar) as a signed index value; floats are
/// truncated toward zero, as ONNX casts OneHot's depth.
mlir::Value asIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);

/// `v` cast to the scalar type `to` (integer or float; integers signed).
mlir::Value castScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                       mlir::Type to);

/// Trilu of `x` with the diagonal offset k of input 1.
mlir::LogicalResult runtimeTriluOp(NodeContext &nc, mlir::Value x);

/// OneHot whose depth (input 1) or values (input 2) the run gives.
mlir::LogicalResult runtimeOneHotOp(NodeContext &nc);

/// Range of floating-point start, limit and delta the run gives.
mlir::LogicalResult runtimeFloatRangeOp(NodeContext &nc);

/// The elements of input `i` (a 1-D tensor of static length) as index
/// values: constants where the model gives them, tensor.extract where the
/// run does (isRuntimeInput); failure after an error naming `what`.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
indexValues(NodeContext &nc, size_t i, llvm::StringRef what);

/// 0, 1, ..., n - 1 in f64 [n] for the n of input `i` (a scalar that the
/// run gives; a negative n gives an empty tensor), or null after an error
/// naming `what`: the sample indices of the window functions.
mlir::Value runtimeIota(NodeContext &nc, size_t i, llvm::StringRef what);

/// Tile of `x` by the repeats of input 1.
mlir::LogicalResult runtimeTileOp(NodeContext &nc, mlir::Value x);

/// TopK of `x` along `axis` (normalized) with the K of input 1: the whole
/// axis sorted, then its first K.
mlir::LogicalResult runtimeTopKOp(NodeContext &nc, mlir::Value x,
                                  int64_t axis);

/// Slice of `x` (opset 10 or later) whose axes or steps the run gives:
/// every dimension's first index, count and step computed at run time,
/// and one generic that reads the elements.
mlir::LogicalResult runtimeSliceOp(NodeContext &nc, mlir::Value x);

/// Split of `x` along `axis` (normalized) into the sizes of input 1.
mlir::LogicalResult runtimeSplitOp(NodeContext &nc, mlir::Value x,
                                   int64_t axis);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_RUNTIMEPARAMETERS_H
