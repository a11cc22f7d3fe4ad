//===- KilnShapes.h - How Kiln result dimensions follow from operands -*- C++ -*-===//
//
// Kiln ops implement ReifyRankedShapedTypeOpInterface: given an op whose
// result types have dynamic (`?`) dimensions, reifyResultShapes says how
// each one is computed from the operands (tensor.dim of an operand, or
// index arithmetic on such sizes). The rules below are the shared ones;
// an op class picks its rule in ODS (a class-level extraClassDefinition) or
// in KilnShapes.cpp, so every op family has exactly one rule.
//
// Static result dimensions are never recomputed: they reify to their
// constant, so a rule only speaks for the dimensions the type leaves open,
// and fails when such a size is not a function of the operands' shapes
// (kiln.reshape or kiln.broadcast to a `?` whose size is not an operand's).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_KILNSHAPES_H
#define KILN_DIALECTS_KILN_KILNSHAPES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace kiln {

/// The size of dimension `dim` of the ranked tensor `tensor`: its constant
/// when static, a `tensor.dim` otherwise.
mlir::OpFoldResult dimOf(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value tensor, int64_t dim);

/// Index arithmetic on sizes, folded when both sides are constants.
mlir::OpFoldResult addSizes(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::OpFoldResult x, mlir::OpFoldResult y);
mlir::OpFoldResult mulSizes(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::OpFoldResult x, mlir::OpFoldResult y);
mlir::OpFoldResult divSizes(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::OpFoldResult x, mlir::OpFoldResult y);

/// Says how dynamic dimension `dim` of result `result` follows from the
/// operands; a null OpFoldResult when it does not.
using DynamicDimRule =
    llvm::function_ref<mlir::OpFoldResult(unsigned result, int64_t dim)>;

/// Fills `shapes` with every result's sizes: static dimensions as their
/// constants, dynamic ones from `rule`. Fails when the rule has no answer
/// for a dynamic dimension.
mlir::LogicalResult reifyShapes(mlir::Operation *op,
                                mlir::ReifiedRankedShapedTypeDims &shapes,
                                DynamicDimRule rule);

/// Every result has the shape of operand `operand` (unary, same-shape
/// ops: activations, casts, softmax, norms, scans, RoPE, masks).
mlir::LogicalResult reifyAsOperand(mlir::Operation *op, mlir::OpBuilder &b,
                                   mlir::ReifiedRankedShapedTypeDims &shapes,
                                   unsigned operand = 0);

/// The result is the NumPy broadcast of all operands: a dynamic result
/// dimension takes the size of the first operand whose aligned dimension
/// is dynamic (the verifier allows only 1 or `?` beside it, and the
/// lowering broadcasts only static 1s).
mlir::LogicalResult reifyBroadcast(mlir::Operation *op, mlir::OpBuilder &b,
                                   mlir::ReifiedRankedShapedTypeDims &shapes);

/// The NumPy broadcast size of dimension `dim` of a rank-`rank` result of
/// `operands` (right-aligned), or null when no operand gives it.
mlir::OpFoldResult broadcastDim(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::ValueRange operands, int64_t rank,
                                int64_t dim);

/// Every result is `input` reduced over `axes` (sorted, non-negative):
/// those dimensions become 1 with `keepDims`, and are dropped otherwise.
mlir::LogicalResult reifyReduction(mlir::Operation *op, mlir::OpBuilder &b,
                                   mlir::ReifiedRankedShapedTypeDims &shapes,
                                   mlir::Value input,
                                   llvm::ArrayRef<int64_t> axes,
                                   bool keepDims);

} // namespace kiln

#endif // KILN_DIALECTS_KILN_KILNSHAPES_H
