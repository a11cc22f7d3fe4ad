//===- KilnToLinalg.h - The Kiln -> linalg lowering's pieces ---*- C++ -*-===//
//
// The pattern sets of kiln-convert-kiln-to-linalg live one file per op
// family (elementwise, structured, data movement, indexing, transformer,
// MoE, quantization) and meet here. The builders are public because the
// boundary passes build the same generics.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_KILNTOLINALG_KILNTOLINALG_H
#define KILN_PASSES_KILNTOLINALG_KILNTOLINALG_H

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnShapes.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace kiln {

/// The indexing map that reads a tensor of `operandShape` inside a loop nest
/// over `resultShape` under NumPy broadcasting: leading dimensions the
/// operand lacks are dropped, and its size-1 dimensions read index 0.
mlir::AffineMap getBroadcastMap(mlir::MLIRContext *ctx,
                                llvm::ArrayRef<int64_t> operandShape,
                                llvm::ArrayRef<int64_t> resultShape);

// Dynamic dimensions. A Kiln op's result may have `?` dimensions; the
// lowering sizes what it allocates from the op's reified shape
// (ReifyRankedShapedTypeOpInterface, dialects/Kiln/KilnShapes.h), or, in
// the generic builders, from the inputs that read each loop dimension.
// Static shapes allocate exactly as before (a tensor.empty with no
// operands).

/// `tensor.empty` of `sizes` (constant sizes become static dimensions).
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        llvm::ArrayRef<mlir::OpFoldResult> sizes,
                        mlir::Type elementType);

/// The sizes of result `result` of `op`: its static shape, or its reified
/// shape. When a dynamic size does not follow from the operands, reports
/// on `op` which dimensions and fails.
llvm::FailureOr<llvm::SmallVector<mlir::OpFoldResult>>
resultSizes(mlir::OpBuilder &b, mlir::Operation *op, unsigned result);

/// `tensor.empty` with the shape of the tensor `like` (tensor.dim where
/// dynamic) and `elementType`.
mlir::Value emptyLike(mlir::OpBuilder &b, mlir::Location loc, mlir::Value like,
                      mlir::Type elementType);

/// `tensor.empty` shaped like result `result` of `op` (see resultSizes),
/// with `elementType` when given (an accumulator type) or the result's own.
llvm::FailureOr<mlir::Value> emptyTensorFor(mlir::OpBuilder &b,
                                            mlir::Location loc,
                                            mlir::Operation *op,
                                            unsigned result,
                                            mlir::Type elementType = {});

/// Builds an all-parallel `linalg.generic` over `resultType` reading
/// `inputs` through `inputMaps` (the result is written through the identity
/// map); `body` maps the scalar inputs to the scalar result. The result is
/// written into `init` when given; otherwise into a new tensor whose
/// dynamic sizes are those of the input dimensions the loops read (for
/// loop d, an input whose map result p is exactly d gives its dimension p),
/// so every dynamic result dimension must be read by some input that way
/// unless `init` is given.
mlir::Value buildParallelGeneric(
    mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType resultType,
    mlir::ValueRange inputs, llvm::ArrayRef<mlir::AffineMap> inputMaps,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::ValueRange)>
        body,
    mlir::Value init = {});

/// buildParallelGeneric with each input broadcast to the result shape.
mlir::Value buildElementwise(
    mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType resultType,
    mlir::ValueRange inputs,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::ValueRange)>
        body,
    mlir::Value init = {});

/// `raw` (an integer index) as an index into a dimension of `size`:
/// negative values count from the end (ONNX's convention). `inRange`, when
/// given, receives whether it lands in [0, size).
/// A dynamic `size` is an index value defined outside the body.
mlir::Value normalizeIndex(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value raw, mlir::OpFoldResult size,
                           mlir::Value *inRange = nullptr);
mlir::Value normalizeIndex(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value raw, int64_t size,
                           mlir::Value *inRange = nullptr);

/// Clamps an index into [0, size) so a read can never leave the buffer.
mlir::Value clampIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value i,
                       mlir::OpFoldResult size);
mlir::Value clampIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value i,
                       int64_t size);

/// Inside a linalg body: the loop indices of a rank-`rank` iteration space
/// with the one of dimension `axis` replaced by `at` (the coordinates an
/// axis-indexed read such as GatherElements or ScatterElements uses).
llvm::SmallVector<mlir::Value> loopIndicesWithAxis(mlir::OpBuilder &b,
                                                   mlir::Location loc,
                                                   int64_t rank, int64_t axis,
                                                   mlir::Value at);

/// The type sums and products of `t` accumulate in: f32 for 16-bit
/// floats (as every reference does), `t` itself otherwise.
mlir::Type accumulatorType(mlir::Type t);

/// `value` (a tensor of the accumulator type) converted to `type`.
mlir::Value narrowTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                     mlir::RankedTensorType type);

/// Inside a linalg body: `x` widened to the accumulator type `acc`.
mlir::Value widenScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                        mlir::Type acc);

/// A scalar constant of `type` (integer or float) with value `value`.
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Type type, double value);

/// A tensor of the static `type` filled with the scalar `value`.
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::RankedTensorType type, mlir::Value value);

/// `init` (a tensor.empty, any shape) filled with the scalar `value`.
mlir::Value fillTensor(mlir::OpBuilder &b, mlir::Location loc, mlir::Value init,
                       mlir::Value value);

/// Reshapes `input` to `resultType` (same element count) with
/// tensor.collapse_shape / tensor.expand_shape. A dynamic result needs
/// `resultSizes` (resultSizes() of the op) unless every expanded group has
/// at most one dynamic size, which the expansion infers.
mlir::Value reshapeTensor(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value input, mlir::RankedTensorType resultType,
                          llvm::ArrayRef<mlir::OpFoldResult> resultSizes = {});

/// Scalar comparison `lhs dir rhs` of two ints or two floats: ordered for
/// floats (unordered for NE), signed for integers unless `isUnsigned`.
mlir::Value compareScalars(mlir::OpBuilder &b, mlir::Location loc,
                           CompareDirection dir, mlir::Value lhs,
                           mlir::Value rhs, bool isUnsigned = false);

/// `x` converted to the element type `to` with the semantics documented on
/// kiln.cast (integers signed unless `isUnsigned`; float to float by
/// extension or truncation).
mlir::Value castScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       mlir::Type to, bool isUnsigned = false);

/// `lhs op rhs` on two scalars: `FloatOp` for floats, `IntOp` for integers.
template <typename FloatOp, typename IntOp>
mlir::Value buildFloatOrIntOp(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value lhs, mlir::Value rhs) {
  if (mlir::isa<mlir::FloatType>(lhs.getType()))
    return FloatOp::create(b, loc, lhs, rhs);
  return IntOp::create(b, loc, lhs, rhs);
}

/// The larger (`isMax`) or smaller of two scalars: NaN-propagating for
/// floats, unsigned for i1 (false < true), signed for other integers.
mlir::Value buildMaxOrMin(mlir::OpBuilder &b, mlir::Location loc, bool isMax,
                          mlir::Value lhs, mlir::Value rhs);

/// Scalar sigmoid 1 / (1 + e^-x) of a float value.
mlir::Value buildSigmoid(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// Scalar GELU of a float value, exact (erf) or tanh-approximated.
mlir::Value buildGelu(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      GeluApproximation approx);

/// The activation of `op`'s experts applied elementwise to their gate
/// projection (and, for SwiGLU, the up projection): projections[0] and
/// projections[1], both [rows, F].
mlir::Value buildExpertActivation(mlir::OpBuilder &b, mlir::Location loc,
                                  MoEExpertsOp op,
                                  mlir::ValueRange projections);

/// Row `index` of a `[R, C]` tensor, as `[C]`.
mlir::Value extractRow(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value matrix, mlir::OpFoldResult index);

/// `matrix + bias[e]` for an `[E, C]` bias (its row broadcast over the
/// matrix's rows), or `matrix` itself when there is no bias.
mlir::Value addExpertBias(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value matrix, mlir::Value bias, mlir::Value e);

/// A lowering of one kiln op: a function from the op and its converted
/// operands to the values that replace its results. It returns no values
/// when it cannot lower the op, after reporting why on the op (a dynamic
/// size that does not follow from the operands, see resultSizes).
template <typename OpTy>
using LoweringFn = llvm::SmallVector<mlir::Value> (*)(
    OpTy, typename OpTy::Adaptor, mlir::ConversionPatternRewriter &);

/// The conversion pattern that replaces an op by what its LoweringFn
/// builds.
template <typename OpTy>
struct FunctionLowering : mlir::OpConversionPattern<OpTy> {
  FunctionLowering(mlir::MLIRContext *ctx, LoweringFn<OpTy> fn)
      : mlir::OpConversionPattern<OpTy>(ctx), fn(fn) {}
  mlir::LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  mlir::ConversionPatternRewriter &rewriter) const override {
    llvm::SmallVector<mlir::Value> results = fn(op, adaptor, rewriter);
    if (results.empty())
      return mlir::failure();
    rewriter.replaceOp(op, results);
    return mlir::success();
  }
  LoweringFn<OpTy> fn;
};

/// Adds one conversion pattern per lowering function to `patterns`.
template <typename... OpTys>
void addLowerings(mlir::RewritePatternSet &patterns, LoweringFn<OpTys>... fns) {
  (patterns.add<FunctionLowering<OpTys>>(patterns.getContext(), fns), ...);
}

void populateElementwiseLoweringPatterns(mlir::RewritePatternSet &patterns);
void populateStructuredLoweringPatterns(mlir::RewritePatternSet &patterns);
void populateDataMovementLoweringPatterns(mlir::RewritePatternSet &patterns);
void populateTransformerLoweringPatterns(mlir::RewritePatternSet &patterns);
void populateIndexingLoweringPatterns(mlir::RewritePatternSet &patterns);
void populateMoELoweringPatterns(mlir::RewritePatternSet &patterns);
void populateQuantLoweringPatterns(mlir::RewritePatternSet &patterns);
void populateWindowLoweringPatterns(mlir::RewritePatternSet &patterns);

} // namespace kiln

#endif // KILN_PASSES_KILNTOLINALG_KILNTOLINALG_H
