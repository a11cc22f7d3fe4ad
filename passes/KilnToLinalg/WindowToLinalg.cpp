//===- WindowToLinalg.cpp - kiln.conv and kiln.pool to linalg -------------===//
//
// Both become one linalg.generic over (n, channel, out..., reduced...)
// that reads a padded copy of the input through the affine maps
// `out * stride + k * dilation`. The padding is a tensor.pad with the
// reduction's identity (zero for sums, -inf for maxima), so the loop body
// never tests bounds. The average's divisors depend only on the output
// position and are computed here, at compile time.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kiln;

namespace {

/// The window of one op, with its ceil-mode overhang folded into the
/// trailing pads: `padEnd` is what the loops need so that every window
/// they visit lies inside the padded input.
struct Window {
  SmallVector<int64_t> sizes, kernel, strides, dilations, padBegin, padEnd;
  SmallVector<int64_t> statedPadEnd; // the op's own trailing pads
  SmallVector<int64_t> outSizes;
  int64_t rank() const { return sizes.size(); }
};

Window makeWindow(RankedTensorType input, RankedTensorType result,
                  ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                  ArrayRef<int64_t> dilations, ArrayRef<int64_t> pads) {
  Window w;
  int64_t k = input.getRank() - 2;
  for (int64_t i = 0; i < k; ++i) {
    w.sizes.push_back(input.getDimSize(2 + i));
    w.outSizes.push_back(result.getDimSize(2 + i));
    w.kernel.push_back(kernel[i]);
    w.strides.push_back(strides[i]);
    w.dilations.push_back(dilations[i]);
    w.padBegin.push_back(pads[i]);
    w.statedPadEnd.push_back(pads[k + i]);
    int64_t reach = (w.outSizes[i] - 1) * strides[i] +
                    dilations[i] * (kernel[i] - 1) + 1;
    w.padEnd.push_back(
        std::max(pads[k + i], reach - w.sizes[i] - w.padBegin[i]));
  }
  return w;
}

/// `input` [N, C, D...] padded on its spatial dimensions with `value`.
Value padSpatial(OpBuilder &b, Location loc, Value input, const Window &w,
                 Value value) {
  auto type = cast<RankedTensorType>(input.getType());
  bool any = llvm::any_of(w.padBegin, [](int64_t p) { return p > 0; }) ||
             llvm::any_of(w.padEnd, [](int64_t p) { return p > 0; });
  if (!any)
    return input;
  SmallVector<OpFoldResult> low(2, b.getIndexAttr(0)),
      high(2, b.getIndexAttr(0));
  SmallVector<int64_t> shape(type.getShape().take_front(2));
  for (int64_t i = 0; i < w.rank(); ++i) {
    low.push_back(b.getIndexAttr(w.padBegin[i]));
    high.push_back(b.getIndexAttr(w.padEnd[i]));
    shape.push_back(w.sizes[i] + w.padBegin[i] + w.padEnd[i]);
  }
  return tensor::PadOp::create(b, loc, type.clone(shape), input, low, high,
                               value);
}

/// The input map of a window loop nest: (d0, d1, out..., ..., k...) ->
/// (d0, channel, out * stride + k * dilation), where the out dims start at
/// 2 and the kernel dims at `kernelDim`.
AffineMap windowInputMap(MLIRContext *ctx, const Window &w, int64_t numDims,
                         AffineExpr channel, int64_t kernelDim) {
  SmallVector<AffineExpr> exprs{getAffineDimExpr(0, ctx), channel};
  for (int64_t i = 0; i < w.rank(); ++i)
    exprs.push_back(getAffineDimExpr(2 + i, ctx) * w.strides[i] +
                    getAffineDimExpr(kernelDim + i, ctx) * w.dilations[i]);
  return AffineMap::get(numDims, 0, exprs, ctx);
}

/// The map (d0 .. d{numDims-1}) -> (d{first} .. d{first+count-1}).
AffineMap dimRangeMap(MLIRContext *ctx, int64_t numDims, int64_t first,
                      int64_t count) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < count; ++i)
    exprs.push_back(getAffineDimExpr(first + i, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

/// The accumulator tensor a conv starts from: the bias broadcast over
/// [N, M, out...], or zeros.
Value convInit(OpBuilder &b, Location loc, RankedTensorType accType,
               Value bias) {
  Type acc = accType.getElementType();
  if (!bias)
    return filledTensor(b, loc, accType, scalarConstant(b, loc, acc, 0));
  MLIRContext *ctx = b.getContext();
  int64_t rank = accType.getRank();
  auto empty = tensor::EmptyOp::create(b, loc, accType.getShape(), acc);
  SmallVector<AffineMap> maps{dimRangeMap(ctx, rank, 1, 1),
                              AffineMap::getMultiDimIdentityMap(rank, ctx)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, accType, bias, ValueRange{empty}, maps, iterators,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, widenScalar(nb, l, args[0], acc));
             })
      .getResult(0);
}

SmallVector<Value> lowerConv(ConvOp op, ConvOp::Adaptor adaptor,
                             ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  RankedTensorType inType = op.getInput().getType(), type = op.getType();
  RankedTensorType wType = op.getWeight().getType();
  Window w = makeWindow(inType, type, wType.getShape().drop_front(2),
                        op.getStrides(), op.getDilations(), op.getPads());
  Type elt = type.getElementType(), acc = accumulatorType(elt);
  Value input = padSpatial(rewriter, loc, adaptor.getInput(), w,
                           scalarConstant(rewriter, loc, elt, 0));
  // Loops: n, m, out... (parallel), c, k... (reduction).
  int64_t k = w.rank(), numDims = 3 + 2 * k, cDim = 2 + k;
  int64_t channelsPerGroup = wType.getDimSize(1);
  int64_t filtersPerGroup = type.getDimSize(1) / op.getGroup();
  AffineExpr channel =
      getAffineDimExpr(1, ctx).floorDiv(filtersPerGroup) * channelsPerGroup +
      getAffineDimExpr(cDim, ctx);
  SmallVector<AffineExpr> weightExprs{getAffineDimExpr(1, ctx),
                                      getAffineDimExpr(cDim, ctx)};
  for (int64_t i = 0; i < k; ++i)
    weightExprs.push_back(getAffineDimExpr(cDim + 1 + i, ctx));
  SmallVector<AffineMap> maps{
      windowInputMap(ctx, w, numDims, channel, cDim + 1),
      AffineMap::get(numDims, 0, weightExprs, ctx),
      dimRangeMap(ctx, numDims, 0, 2 + k)};
  SmallVector<utils::IteratorType> iterators(2 + k,
                                             utils::IteratorType::parallel);
  iterators.append(1 + k, utils::IteratorType::reduction);
  auto accType = type.clone(acc);
  auto conv = linalg::GenericOp::create(
      rewriter, loc, accType, ValueRange{input, adaptor.getWeight()},
      convInit(rewriter, loc, accType, adaptor.getBias()), maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value x = widenScalar(b, l, args[0], acc);
        Value y = widenScalar(b, l, args[1], acc);
        Value product =
            buildFloatOrIntOp<arith::MulFOp, arith::MulIOp>(b, l, x, y);
        linalg::YieldOp::create(
            b, l,
            buildFloatOrIntOp<arith::AddFOp, arith::AddIOp>(b, l, args[2],
                                                            product));
      });
  return {narrowTo(rewriter, loc, conv.getResult(0), type)};
}

/// The value padding adds to a pooling window: nothing to a maximum (the
/// type's lowest value) and zero to a sum.
Value poolPadValue(OpBuilder &b, Location loc, Type elt, PoolKind kind) {
  if (kind != PoolKind::Max)
    return scalarConstant(b, loc, elt, 0);
  if (auto f = dyn_cast<FloatType>(elt))
    return arith::ConstantOp::create(
        b, loc, elt,
        b.getFloatAttr(f, APFloat::getInf(f.getFloatSemantics(),
                                          /*Negative=*/true)));
  return arith::ConstantOp::create(
      b, loc, elt,
      b.getIntegerAttr(elt,
                       APInt::getSignedMinValue(elt.getIntOrFloatBitWidth())));
}

/// The element an Lp window sums: |x|^p.
Value lpTerm(OpBuilder &b, Location loc, Value x, int64_t p) {
  Value a = math::AbsFOp::create(b, loc, x);
  if (p == 1)
    return a;
  if (p == 2)
    return arith::MulFOp::create(b, loc, a, a);
  return math::PowFOp::create(b, loc, a,
                              scalarConstant(b, loc, a.getType(), p));
}

/// For the average: how many elements each output position's window
/// divides by, as a constant [out...] tensor of `type`'s element type.
Value averageDivisors(OpBuilder &b, Location loc, const Window &w,
                      bool countPads, Type elt) {
  auto countType = RankedTensorType::get(w.outSizes, elt);
  SmallVector<SmallVector<double>> perDim(w.rank());
  for (int64_t i = 0; i < w.rank(); ++i) {
    // Positions past the stated pads (ceil mode's overhang) never count.
    int64_t lo = countPads ? -w.padBegin[i] : 0;
    int64_t hi = w.sizes[i] + (countPads ? w.statedPadEnd[i] : 0);
    for (int64_t o = 0; o < w.outSizes[i]; ++o) {
      int64_t n = 0;
      for (int64_t k = 0; k < w.kernel[i]; ++k) {
        int64_t at = o * w.strides[i] + k * w.dilations[i] - w.padBegin[i];
        n += at >= lo && at < hi;
      }
      perDim[i].push_back(n);
    }
  }
  SmallVector<Attribute> values;
  SmallVector<int64_t> index(w.rank(), 0);
  for (int64_t flat = 0; flat < countType.getNumElements(); ++flat) {
    double count = 1;
    for (int64_t i = w.rank() - 1, rest = flat; i >= 0; --i) {
      index[i] = rest % w.outSizes[i];
      rest /= w.outSizes[i];
    }
    for (int64_t i = 0; i < w.rank(); ++i)
      count *= perDim[i][index[i]];
    values.push_back(b.getFloatAttr(elt, std::max(count, 1.0)));
  }
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(countType, values));
}

SmallVector<Value> lowerPool(PoolOp op, PoolOp::Adaptor adaptor,
                             ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  RankedTensorType inType = op.getInput().getType(), type = op.getType();
  PoolKind kind = op.getKind();
  int64_t p = op.getP();
  Window w = makeWindow(inType, type, op.getKernelShape(), op.getStrides(),
                        op.getDilations(), op.getPads());
  Type elt = type.getElementType();
  Type acc = kind == PoolKind::Max ? elt : accumulatorType(elt);
  Value input = padSpatial(rewriter, loc, adaptor.getInput(), w,
                           poolPadValue(rewriter, loc, elt, kind));
  // Loops: n, c, out... (parallel), k... (reduction). The kernel loops
  // read no operand of their own, so a [k...] tensor stands for the window
  // (as upstream's linalg pooling ops do) to give them their bounds.
  int64_t k = w.rank(), numDims = 2 + 2 * k;
  Value windowShape = tensor::EmptyOp::create(rewriter, loc, w.kernel, elt);
  SmallVector<AffineMap> maps{
      windowInputMap(ctx, w, numDims, getAffineDimExpr(1, ctx), 2 + k),
      dimRangeMap(ctx, numDims, 2 + k, k), dimRangeMap(ctx, numDims, 0, 2 + k)};
  SmallVector<utils::IteratorType> iterators(2 + k,
                                             utils::IteratorType::parallel);
  iterators.append(k, utils::IteratorType::reduction);
  auto accType = type.clone(acc);
  Value init = filledTensor(rewriter, loc, accType,
                            kind == PoolKind::Max
                                ? poolPadValue(rewriter, loc, acc, kind)
                                : scalarConstant(rewriter, loc, acc, 0));
  auto pool = linalg::GenericOp::create(
      rewriter, loc, accType, ValueRange{input, windowShape}, init, maps,
      iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        Value x = widenScalar(b, l, args[0], acc);
        Value next =
            kind == PoolKind::Max
                ? buildMaxOrMin(b, l, /*isMax=*/true, args[2], x)
                : arith::AddFOp::create(
                      b, l, args[2], kind == PoolKind::Lp ? lpTerm(b, l, x, p) : x);
        linalg::YieldOp::create(b, l, next);
      });
  Value result = pool.getResult(0);
  if (kind == PoolKind::Average) {
    Value divisors = averageDivisors(rewriter, loc, w, op.getCountIncludePad(),
                                     acc);
    int64_t rank = accType.getRank();
    result = buildParallelGeneric(
        rewriter, loc, accType, ValueRange{result, divisors},
        {AffineMap::getMultiDimIdentityMap(rank, ctx),
         dimRangeMap(ctx, rank, 2, k)},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          return arith::DivFOp::create(b, l, args[0], args[1]);
        });
  } else if (kind == PoolKind::Lp) {
    result = buildElementwise(
        rewriter, loc, accType, result,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          if (p == 1)
            return args[0];
          if (p == 2)
            return math::SqrtOp::create(b, l, args[0]);
          return math::PowFOp::create(
              b, l, args[0], scalarConstant(b, l, acc, 1.0 / double(p)));
        });
  }
  return {narrowTo(rewriter, loc, result, type)};
}

} // namespace

void kiln::populateWindowLoweringPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerConv, lowerPool);
}
