//===- DataMovementToLinalg.cpp - Shape and indexing ops to tensor/linalg
//---===//

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace kiln;

namespace {

SmallVector<Value> lowerTranspose(TransposeOp op, TransposeOp::Adaptor adaptor,
                                  ConversionPatternRewriter &rewriter) {
  FailureOr<Value> init = emptyTensorFor(rewriter, op.getLoc(), op, 0);
  if (failed(init))
    return {};
  auto t = linalg::TransposeOp::create(
      rewriter, op.getLoc(), adaptor.getInput(), *init, op.getPermutation());
  return {t.getResult()};
}

SmallVector<Value> lowerReshape(ReshapeOp op, ReshapeOp::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) {
  FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(rewriter, op, 0);
  if (failed(sizes))
    return {};
  return {reshapeTensor(rewriter, op.getLoc(), adaptor.getInput(),
                        op.getType(), *sizes)};
}

SmallVector<Value> lowerBroadcast(BroadcastOp op, BroadcastOp::Adaptor adaptor,
                                  ConversionPatternRewriter &rewriter) {
  // A stretched dynamic size is not the input's: size the result from the
  // op (which fails clearly where the size is unknown).
  Value init;
  if (!op.getType().hasStaticShape()) {
    FailureOr<Value> empty = emptyTensorFor(rewriter, op.getLoc(), op, 0);
    if (failed(empty))
      return {};
    init = *empty;
  }
  return {buildElementwise(
      rewriter, op.getLoc(), op.getType(), adaptor.getInput(),
      [](OpBuilder &, Location, ValueRange args) { return args[0]; }, init)};
}

SmallVector<Value> lowerConcat(ConcatOp op, ConcatOp::Adaptor adaptor,
                               ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  FailureOr<Value> empty = emptyTensorFor(rewriter, loc, op, 0);
  if (failed(empty))
    return {};
  Value result = *empty;
  int64_t axis = op.getAxis();
  // Each input lands where the previous ones end along the axis: a running
  // sum of their sizes (tensor.dim where dynamic).
  OpFoldResult offset = rewriter.getIndexAttr(0);
  SmallVector<OpFoldResult> strides(type.getRank(), rewriter.getIndexAttr(1));
  for (Value in : adaptor.getInputs()) {
    auto inType = cast<RankedTensorType>(in.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), rewriter.getIndexAttr(0));
    offsets[axis] = offset;
    SmallVector<OpFoldResult> sizes;
    for (int64_t d = 0; d < inType.getRank(); ++d)
      sizes.push_back(dimOf(rewriter, loc, in, d));
    offset = addSizes(rewriter, loc, offset, sizes[axis]);
    if (inType.hasStaticShape() && inType.getNumElements() == 0)
      continue;
    result = tensor::InsertSliceOp::create(rewriter, loc, in, result, offsets,
                                           sizes, strides);
  }
  return {result};
}

/// Builds a generic over the result, written into `init`, whose body
/// computes source coordinates from the loop indices and reads `source`
/// with tensor.extract. Used where the access is not an affine map of the
/// loops (negative steps, gathers).
Value buildIndexedRead(
    OpBuilder &b, Location loc, RankedTensorType resultType, ValueRange inputs,
    ArrayRef<AffineMap> inputMaps, Value init, Value source,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>
        coordinates) {
  return buildParallelGeneric(
      b, loc, resultType, inputs, inputMaps,
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        return tensor::ExtractOp::create(nb, l, source,
                                         coordinates(nb, l, args));
      },
      init);
}

SmallVector<Value> lowerSlice(SliceOp op, SliceOp::Adaptor adaptor,
                              ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  ArrayRef<int64_t> starts = op.getStarts(), steps = op.getSteps();
  FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(rewriter, op, 0);
  if (failed(sizes))
    return {};
  if (type.hasStaticShape() && type.getNumElements() == 0)
    return {emptyTensor(rewriter, loc, *sizes, type.getElementType())};
  if (llvm::all_of(steps, [](int64_t s) { return s > 0; }))
    return {tensor::ExtractSliceOp::create(
        rewriter, loc, type, adaptor.getInput(),
        getAsIndexOpFoldResult(rewriter.getContext(), starts), *sizes,
        getAsIndexOpFoldResult(rewriter.getContext(), steps))};
  return {buildIndexedRead(
      rewriter, loc, type, {}, {},
      emptyTensor(rewriter, loc, *sizes, type.getElementType()),
      adaptor.getInput(),
      [&](OpBuilder &b, Location l, ValueRange) {
        SmallVector<Value> coords;
        for (int64_t d = 0; d < type.getRank(); ++d) {
          Value i = linalg::IndexOp::create(b, l, d);
          Value step = arith::ConstantIndexOp::create(b, l, steps[d]);
          Value start = arith::ConstantIndexOp::create(b, l, starts[d]);
          coords.push_back(arith::AddIOp::create(
              b, l, start, arith::MulIOp::create(b, l, i, step)));
        }
        return coords;
      })};
}

/// Gather: the indices tensor is an input of the generic (read with a
/// projected map), the data tensor is read with tensor.extract.
SmallVector<Value> lowerGather(GatherOp op, GatherOp::Adaptor adaptor,
                               ConversionPatternRewriter &rewriter) {
  RankedTensorType type = op.getType();
  int64_t axis = op.getAxis();
  int64_t idxRank = op.getIndices().getType().getRank();
  int64_t dataRank = op.getData().getType().getRank();
  FailureOr<Value> init = emptyTensorFor(rewriter, op.getLoc(), op, 0);
  if (failed(init))
    return {};
  OpFoldResult axisSize = dimOf(rewriter, op.getLoc(), adaptor.getData(), axis);
  SmallVector<AffineExpr> idxExprs;
  for (int64_t d = 0; d < idxRank; ++d)
    idxExprs.push_back(rewriter.getAffineDimExpr(axis + d));
  AffineMap idxMap =
      AffineMap::get(type.getRank(), 0, idxExprs, rewriter.getContext());
  return {buildIndexedRead(
      rewriter, op.getLoc(), type, adaptor.getIndices(), {idxMap}, *init,
      adaptor.getData(), [&](OpBuilder &b, Location l, ValueRange args) {
        // Out-of-range indices clamp so a bad index can never read outside
        // the buffer.
        Value idx = clampIndex(b, l, normalizeIndex(b, l, args[0], axisSize),
                               axisSize);
        SmallVector<Value> coords;
        for (int64_t d = 0; d < axis; ++d)
          coords.push_back(linalg::IndexOp::create(b, l, d));
        coords.push_back(idx);
        for (int64_t d = axis + 1; d < dataRank; ++d)
          coords.push_back(linalg::IndexOp::create(b, l, d - 1 + idxRank));
        return coords;
      })};
}

SmallVector<Value> lowerTrilu(TriluOp op, TriluOp::Adaptor adaptor,
                              ConversionPatternRewriter &rewriter) {
  RankedTensorType type = op.getType();
  int64_t rank = type.getRank();
  int64_t diagonal = op.getDiagonal();
  bool upper = op.getUpper();
  Value result = buildElementwise(
      rewriter, op.getLoc(), type, adaptor.getInput(),
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value i = linalg::IndexOp::create(b, l, rank - 2);
        Value j = linalg::IndexOp::create(b, l, rank - 1);
        Value diff = arith::SubIOp::create(b, l, j, i);
        Value k = arith::ConstantIndexOp::create(b, l, diagonal);
        Value keep = arith::CmpIOp::create(
            b, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
            diff, k);
        Value zero = scalarConstant(b, l, type.getElementType(), 0);
        return (Value)arith::SelectOp::create(b, l, keep, args[0], zero);
      });
  return {result};
}

} // namespace

void kiln::populateDataMovementLoweringPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerTranspose, lowerReshape, lowerBroadcast,
               lowerConcat, lowerSlice, lowerGather, lowerTrilu);
}
