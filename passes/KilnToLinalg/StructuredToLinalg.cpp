//===- StructuredToLinalg.cpp - Matmul, reductions and scans to linalg
//------===//

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace kiln;

namespace {

bool isFloat(Type t) { return isa<FloatType>(t); }

Value addScalars(OpBuilder &b, Location loc, Value x, Value y) {
  return buildFloatOrIntOp<arith::AddFOp, arith::AddIOp>(b, loc, x, y);
}

Value mulScalars(OpBuilder &b, Location loc, Value x, Value y) {
  return buildFloatOrIntOp<arith::MulFOp, arith::MulIOp>(b, loc, x, y);
}

/// Matmul as one linalg.generic over (batch..., m, k, n): the reduction
/// dimension sits between the two parallel ones so that the innermost loop
/// walks rows of the rhs and of the result contiguously, which LLVM's loop
/// vectorizer turns into SIMD code. The operands' batch dimensions broadcast
/// through their indexing maps.
SmallVector<Value> lowerMatmul(MatmulOp op, MatmulOp::Adaptor adaptor,
                               ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  Type acc = accumulatorType(type.getElementType());
  RankedTensorType accType = type.clone(acc);
  Value zero = scalarConstant(rewriter, loc, acc, 0);
  FailureOr<Value> empty = emptyTensorFor(rewriter, loc, op, 0, acc);
  if (failed(empty))
    return {};
  Value init = fillTensor(rewriter, loc, *empty, zero);
  ArrayRef<int64_t> ls = op.getLhs().getType().getShape();
  ArrayRef<int64_t> rs = op.getRhs().getType().getShape();
  MLIRContext *ctx = rewriter.getContext();
  int64_t batchRank = type.getRank() - 2;
  int64_t numLoops = batchRank + 3; // batch..., m, k, n
  AffineExpr m = getAffineDimExpr(batchRank, ctx);
  AffineExpr k = getAffineDimExpr(batchRank + 1, ctx);
  AffineExpr n = getAffineDimExpr(batchRank + 2, ctx);
  ArrayRef<int64_t> batch = type.getShape().drop_back(2);
  auto operandMap = [&](ArrayRef<int64_t> shape, AffineExpr row,
                        AffineExpr col) {
    AffineMap bmap = getBroadcastMap(ctx, shape.drop_back(2), batch);
    SmallVector<AffineExpr> exprs(bmap.getResults());
    exprs.push_back(row);
    exprs.push_back(col);
    return AffineMap::get(numLoops, 0, exprs, ctx);
  };
  SmallVector<AffineExpr> outExprs;
  for (int64_t d = 0; d < batchRank; ++d)
    outExprs.push_back(getAffineDimExpr(d, ctx));
  outExprs.push_back(m);
  outExprs.push_back(n);
  SmallVector<AffineMap> maps = {operandMap(ls, m, k), operandMap(rs, k, n),
                                 AffineMap::get(numLoops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  iterators[batchRank + 1] = utils::IteratorType::reduction;
  auto generic = linalg::GenericOp::create(
      rewriter, loc, accType, ValueRange{adaptor.getLhs(), adaptor.getRhs()},
      init, maps, iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        Value prod = mulScalars(b, l, widenScalar(b, l, args[0], acc),
                                widenScalar(b, l, args[1], acc));
        linalg::YieldOp::create(b, l, addScalars(b, l, args[2], prod));
      });
  return {narrowTo(rewriter, loc, generic.getResult(0), type)};
}

enum class ReduceKind { Sum, Max, Min, Prod };

/// The loop structure of a reduction of `input` over `axes`: the reduced
/// shape and sizes (tensor.dim of the input where dynamic), the indexing
/// maps of the input (identity) and of the reduced output, and the
/// iterator types.
struct ReductionLoops {
  SmallVector<int64_t> reducedShape;
  SmallVector<OpFoldResult> reducedSizes;
  AffineMap inputMap, outputMap;
  SmallVector<utils::IteratorType> iterators;

  /// A tensor.empty of the reduced sizes.
  Value empty(OpBuilder &b, Location loc, Type elementType) const {
    return emptyTensor(b, loc, reducedSizes, elementType);
  }
};

ReductionLoops reductionLoops(OpBuilder &b, Location loc, Value input,
                              ArrayRef<int64_t> axes) {
  auto inputType = cast<RankedTensorType>(input.getType());
  MLIRContext *ctx = inputType.getContext();
  int64_t rank = inputType.getRank();
  ReductionLoops loops;
  SmallVector<AffineExpr> outExprs;
  for (int64_t d = 0; d < rank; ++d) {
    if (llvm::is_contained(axes, d)) {
      loops.iterators.push_back(utils::IteratorType::reduction);
      continue;
    }
    loops.iterators.push_back(utils::IteratorType::parallel);
    loops.reducedShape.push_back(inputType.getDimSize(d));
    loops.reducedSizes.push_back(dimOf(b, loc, input, d));
    outExprs.push_back(getAffineDimExpr(d, ctx));
  }
  loops.inputMap = AffineMap::getMultiDimIdentityMap(rank, ctx);
  loops.outputMap = AffineMap::get(rank, 0, outExprs, ctx);
  return loops;
}

/// The identity element of a reduction, as a scalar of type `t`.
Value reductionIdentity(OpBuilder &b, Location loc, Type t, ReduceKind kind) {
  switch (kind) {
  case ReduceKind::Sum:
    return scalarConstant(b, loc, t, 0);
  case ReduceKind::Prod:
    return scalarConstant(b, loc, t, 1);
  case ReduceKind::Max:
  case ReduceKind::Min: {
    bool isMax = kind == ReduceKind::Max;
    if (auto ft = dyn_cast<FloatType>(t))
      return arith::ConstantOp::create(
          b, loc, t,
          b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(),
                                             /*Negative=*/isMax)));
    unsigned w = t.getIntOrFloatBitWidth();
    APInt v = isMax ? APInt::getSignedMinValue(w) : APInt::getSignedMaxValue(w);
    if (w == 1) // bool orders false < true
      v = isMax ? APInt(1, 0) : APInt(1, 1);
    return arith::ConstantOp::create(b, loc, t, b.getIntegerAttr(t, v));
  }
  }
  llvm_unreachable("unknown reduction");
}

Value combine(OpBuilder &b, Location loc, ReduceKind kind, Value acc, Value x) {
  switch (kind) {
  case ReduceKind::Sum:
    return addScalars(b, loc, acc, x);
  case ReduceKind::Prod:
    return mulScalars(b, loc, acc, x);
  case ReduceKind::Max:
    return buildMaxOrMin(b, loc, /*isMax=*/true, acc, x);
  case ReduceKind::Min:
    return buildMaxOrMin(b, loc, /*isMax=*/false, acc, x);
  }
  llvm_unreachable("unknown reduction");
}

template <typename OpTy, ReduceKind Kind>
SmallVector<Value> lowerReduce(OpTy op, typename OpTy::Adaptor adaptor,
                               ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  auto inputType = cast<RankedTensorType>(op.getInput().getType());
  Type elt = inputType.getElementType();
  // Reduce into the shape without the reduced dimensions, then reshape to
  // the keepdims form if asked.
  ReductionLoops loops =
      reductionLoops(rewriter, loc, adaptor.getInput(), op.getAxes());
  ArrayRef<int64_t> reducedShape = loops.reducedShape;
  // Sums and products of 16-bit floats accumulate in f32.
  bool widen = Kind == ReduceKind::Sum || Kind == ReduceKind::Prod;
  Type acc = widen ? accumulatorType(elt) : elt;
  auto reducedType = RankedTensorType::get(reducedShape, acc);
  Value identity = reductionIdentity(rewriter, loc, acc, Kind);
  Value init = fillTensor(rewriter, loc, loops.empty(rewriter, loc, acc),
                          identity);
  auto generic = linalg::GenericOp::create(
      rewriter, loc, reducedType, adaptor.getInput(), init,
      ArrayRef<AffineMap>{loops.inputMap, loops.outputMap}, loops.iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(
            b, l,
            combine(b, l, Kind, args[1], widenScalar(b, l, args[0], acc)));
      });
  Value reduced = narrowTo(rewriter, loc, generic.getResult(0),
                           RankedTensorType::get(reducedShape, elt));
  return {reshapeTensor(rewriter, loc, reduced, op.getType())};
}

/// ArgMax/ArgMin: one generic with two outputs, the running extreme value
/// and its index; ties keep the first index unless select_last_index.
template <typename OpTy>
SmallVector<Value> lowerArgReduce(OpTy op, typename OpTy::Adaptor adaptor,
                                  ConversionPatternRewriter &rewriter) {
  constexpr bool IsMax = std::is_same_v<OpTy, ArgMaxOp>;
  Location loc = op.getLoc();
  Type elt = op.getInput().getType().getElementType();
  int64_t axis = op.getAxis();
  ReductionLoops loops =
      reductionLoops(rewriter, loc, adaptor.getInput(), {axis});
  ArrayRef<int64_t> reducedShape = loops.reducedShape;
  auto valueType = RankedTensorType::get(reducedShape, elt);
  auto indexType = RankedTensorType::get(reducedShape, rewriter.getI64Type());
  Value worst = reductionIdentity(rewriter, loc, elt,
                                  IsMax ? ReduceKind::Max : ReduceKind::Min);
  Value initValue =
      fillTensor(rewriter, loc, loops.empty(rewriter, loc, elt), worst);
  Value zero = scalarConstant(rewriter, loc, rewriter.getI64Type(), 0);
  Value initIndex = fillTensor(
      rewriter, loc, loops.empty(rewriter, loc, rewriter.getI64Type()), zero);
  SmallVector<AffineMap> maps = {loops.inputMap, loops.outputMap,
                                 loops.outputMap};
  bool last = op.getSelectLastIndex();
  auto generic = linalg::GenericOp::create(
      rewriter, loc, TypeRange{valueType, indexType}, adaptor.getInput(),
      ValueRange{initValue, initIndex}, maps, loops.iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value x = args[0], best = args[1], bestIndex = args[2];
        Value i = arith::IndexCastOp::create(
            b, l, b.getI64Type(), linalg::IndexOp::create(b, l, axis));
        CompareDirection dir =
            IsMax ? (last ? CompareDirection::GE : CompareDirection::GT)
                  : (last ? CompareDirection::LE : CompareDirection::LT);
        Value better = compareScalars(b, l, dir, x, best);
        // The first element always wins, so an all -inf (or all NaN)
        // row still reports a valid index.
        Value first =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, i,
                                  scalarConstant(b, l, b.getI64Type(), 0));
        better = arith::OrIOp::create(b, l, better, first);
        linalg::YieldOp::create(
            b, l,
            ValueRange{arith::SelectOp::create(b, l, better, x, best),
                       arith::SelectOp::create(b, l, better, i, bestIndex)});
      });
  return {reshapeTensor(rewriter, loc, generic.getResult(1), op.getType())};
}

/// Cumulative sum or product as a generic over (dims..., j) where j walks
/// the scanned axis and only the positions before (or after) i contribute.
/// Quadratic in the axis length, which is fine for the short axes scans see
/// in transformer graphs (position ids); a scan kernel can replace it later.
template <typename OpTy, ReduceKind Kind>
SmallVector<Value> lowerScan(OpTy op, typename OpTy::Adaptor adaptor,
                             ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  RankedTensorType type = op.getType();
  int64_t rank = type.getRank(), axis = op.getAxis();
  Type elt = type.getElementType();
  Value identity = reductionIdentity(rewriter, loc, elt, Kind);
  FailureOr<Value> empty = emptyTensorFor(rewriter, loc, op, 0);
  if (failed(empty))
    return {};
  Value init = fillTensor(rewriter, loc, *empty, identity);
  SmallVector<AffineExpr> inExprs, outExprs;
  for (int64_t d = 0; d < rank; ++d) {
    inExprs.push_back(getAffineDimExpr(d == axis ? rank : d, ctx));
    outExprs.push_back(getAffineDimExpr(d, ctx));
  }
  SmallVector<AffineMap> maps = {AffineMap::get(rank + 1, 0, inExprs, ctx),
                                 AffineMap::get(rank + 1, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  bool exclusive = op.getExclusive(), reverse = op.getReverse();
  auto generic = linalg::GenericOp::create(
      rewriter, loc, type, adaptor.getInput(), init, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value i = linalg::IndexOp::create(b, l, axis);
        Value j = linalg::IndexOp::create(b, l, rank);
        arith::CmpIPredicate pred =
            reverse ? (exclusive ? arith::CmpIPredicate::sgt
                                 : arith::CmpIPredicate::sge)
                    : (exclusive ? arith::CmpIPredicate::slt
                                 : arith::CmpIPredicate::sle);
        Value take = arith::CmpIOp::create(b, l, pred, j, i);
        Value x = arith::SelectOp::create(b, l, take, args[0],
                                          reductionIdentity(b, l, elt, Kind));
        linalg::YieldOp::create(b, l, combine(b, l, Kind, args[1], x));
      });
  return {generic.getResult(0)};
}

} // namespace

void kiln::populateStructuredLoweringPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerMatmul, lowerReduce<ReduceSumOp, ReduceKind::Sum>,
               lowerReduce<ReduceMaxOp, ReduceKind::Max>,
               lowerReduce<ReduceMinOp, ReduceKind::Min>,
               lowerReduce<ReduceProdOp, ReduceKind::Prod>,
               lowerScan<CumSumOp, ReduceKind::Sum>,
               lowerScan<CumProdOp, ReduceKind::Prod>, lowerArgReduce<ArgMaxOp>,
               lowerArgReduce<ArgMinOp>);
}
