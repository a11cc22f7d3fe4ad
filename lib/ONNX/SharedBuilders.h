//===- SharedBuilders.h - Builders several handler files share -*- C++ -*-===//
//
// Private to lib/ONNX. What one operator's handler builds and another's
// needs too (the recurrent operators' activations and time steps, MaxPool's
// Indices): declared here, beside NodeContext.h, by the files that define
// them, so that only the files that use them include it.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_SHAREDBUILDERS_H
#define KILN_LIB_ONNX_SHAREDBUILDERS_H

#include "NodeContext.h"

namespace kiln::onnx_import {

/// A broadcasting select (ONNX Where): `a` where `cond`, else `b`; null
/// after an error when the shapes do not broadcast.
mlir::Value select(NodeContext &nc, mlir::Value cond, mlir::Value a,
                   mlir::Value b);

// Activations written in primitive ops (OnnxElementwiseOps.cpp), shared by
// their operators and the recurrent operators' `activations`. `x` is a
// float tensor.
/// x where x > 0, else alpha * (e^x - 1) (Elu).
mlir::Value exponentialLinear(NodeContext &nc, mlir::Value x, double alpha);
/// clamp(alpha * x + beta, 0, 1).
mlir::Value hardSigmoidOf(NodeContext &nc, mlir::Value x, double alpha,
                          double beta);
/// log(1 + e^x), computed without overflow.
mlir::Value softplusOf(NodeContext &nc, mlir::Value x);

/// Step `t` of `x` along `axis`: x[..., t, ...] without that axis
/// (OnnxControlFlowOps.cpp, shared by Scan and the recurrent operators).
mlir::Value stepOf(NodeContext &nc, mlir::Value x, int64_t axis, int64_t t);
/// `steps` (one per step, in step order, of one shape) stacked along a new
/// `axis`.
mlir::Value stackSteps(NodeContext &nc, llvm::ArrayRef<mlir::Value> steps,
                       int64_t axis);

/// A pooling window: one kernel size, stride and dilation per spatial
/// axis, and pads (all the begins, then all the ends).
struct PoolWindow {
  llvm::ArrayRef<int64_t> kernel, strides, dilations, pads;
};
/// MaxPool's Indices output for float `x` [N, C, D...] pooled to
/// `outType` (OnnxMaxPoolIndices.cpp): the flat index into `x` of each
/// window's first maximum, row-major or, with `columnMajor`
/// (storage_order 1), column-major over the spatial axes. Null after an
/// error.
mlir::Value maxPoolIndices(NodeContext &nc, mlir::Value x,
                           mlir::RankedTensorType outType, const PoolWindow &w,
                           bool columnMajor);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_SHAREDBUILDERS_H
