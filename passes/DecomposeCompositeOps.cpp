//===- DecomposeCompositeOps.cpp - The kiln-decompose pass ----------------===//

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_DECOMPOSECOMPOSITEOPS
#include "kiln/passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// A rank-0 tensor constant, broadcast by the elementwise ops that use it.
Value scalarTensor(PatternRewriter &rewriter, Location loc, Type elt,
                   double value) {
  auto type = RankedTensorType::get({}, elt);
  Attribute attr;
  if (auto ft = dyn_cast<FloatType>(elt))
    attr = DenseElementsAttr::get(type, rewriter.getFloatAttr(ft, value));
  else
    attr = DenseElementsAttr::get(
        type, rewriter.getIntegerAttr(elt, (int64_t)value));
  return arith::ConstantOp::create(rewriter, loc, type, cast<TypedAttr>(attr));
}

/// `type` with the dimensions in `axes` set to 1.
RankedTensorType keptDims(RankedTensorType type, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t a : axes)
    shape[a] = 1;
  return RankedTensorType::get(shape, type.getElementType());
}

template <typename ReduceOpTy>
Value reduceKeep(PatternRewriter &rewriter, Location loc, Value x,
                 ArrayRef<int64_t> axes) {
  auto type = cast<RankedTensorType>(x.getType());
  return ReduceOpTy::create(rewriter, loc, keptDims(type, axes), x,
                            rewriter.getDenseI64ArrayAttr(axes),
                            rewriter.getBoolAttr(true));
}

/// softmax(x) = exp(x - max) / sum(exp(x - max)), and
/// log_softmax(x) = (x - max) - log(sum(exp(x - max))).
template <typename OpTy, bool IsLog>
struct DecomposeSoftmax : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Value x = op.getInput();
    int64_t axis = op.getNormalizedAxis();
    Value max = reduceKeep<ReduceMaxOp>(rewriter, loc, x, {axis});
    Value shifted = SubOp::create(rewriter, loc, type, x, max);
    Value e = ExpOp::create(rewriter, loc, shifted);
    Value sum = reduceKeep<ReduceSumOp>(rewriter, loc, e, {axis});
    Value result;
    if (IsLog)
      result = SubOp::create(rewriter, loc, type, shifted,
                             LogOp::create(rewriter, loc, sum));
    else
      result = DivOp::create(rewriter, loc, type, e, sum);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// y = (x - mean) * rsqrt(mean((x - mean)^2) + eps) * scale + bias.
struct DecomposeLayerNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    SmallVector<int64_t> axes;
    for (int64_t d = op.getNormalizedAxis(); d < type.getRank(); ++d)
      axes.push_back(d);
    Value x = op.getInput();
    Value mean = reduceKeep<ReduceMeanOp>(rewriter, loc, x, axes);
    Value centered = SubOp::create(rewriter, loc, type, x, mean);
    Value sq = MulOp::create(rewriter, loc, type, centered, centered);
    Value var = reduceKeep<ReduceMeanOp>(rewriter, loc, sq, axes);
    Value eps = scalarTensor(rewriter, loc, type.getElementType(),
                             op.getEpsilon().convertToDouble());
    Value varEps = AddOp::create(rewriter, loc, var.getType(), var, eps);
    Value inv = RsqrtOp::create(rewriter, loc, varEps);
    Value y = MulOp::create(rewriter, loc, type, centered, inv);
    y = MulOp::create(rewriter, loc, type, y, op.getScale());
    if (op.getBias())
      y = AddOp::create(rewriter, loc, type, y, op.getBias());
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// linear(x, w, b) = x @ transpose(w) + b.
struct DecomposeLinear : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    auto wType = op.getWeight().getType();
    Type elt = type.getElementType();
    auto wtType = RankedTensorType::get(
        {wType.getDimSize(1), wType.getDimSize(0)}, elt);
    Value wt = TransposeOp::create(rewriter, loc, wtType, op.getWeight(),
                                   rewriter.getDenseI64ArrayAttr({1, 0}));
    Value x = op.getInput();
    auto xType = op.getInput().getType();
    // A vector input is a one-row matrix for the product.
    if (xType.getRank() == 1)
      x = ReshapeOp::create(
          rewriter, loc,
          RankedTensorType::get({1, xType.getDimSize(0)}, elt), x);
    SmallVector<int64_t> prodShape(cast<RankedTensorType>(x.getType())
                                       .getShape()
                                       .drop_back());
    prodShape.push_back(wType.getDimSize(0));
    Value y = MatmulOp::create(rewriter, loc,
                               RankedTensorType::get(prodShape, elt), x, wt);
    if (xType.getRank() == 1)
      y = ReshapeOp::create(rewriter, loc, type, y);
    if (op.getBias())
      y = AddOp::create(rewriter, loc, type, y, op.getBias());
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// mean = sum * (1 / count) for floats (count itself may not be
/// representable, e.g. in f16), sum / count for integers (truncating).
struct DecomposeReduceMean : OpRewritePattern<ReduceMeanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceMeanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    int64_t count = 1;
    for (int64_t a : op.getAxes())
      count *= inType.getDimSize(a);
    Value sum = ReduceSumOp::create(rewriter, loc, op.getType(), op.getInput(),
                                    op.getAxesAttr(), op.getKeepdimsAttr());
    Type elt = op.getType().getElementType();
    if (isa<FloatType>(elt)) {
      Value inv = scalarTensor(rewriter, loc, elt, 1.0 / (double)count);
      rewriter.replaceOpWithNewOp<MulOp>(op, op.getType(), sum, inv);
    } else {
      Value n = scalarTensor(rewriter, loc, elt, (double)count);
      rewriter.replaceOpWithNewOp<DivOp>(op, op.getType(), sum, n);
    }
    return success();
  }
};

struct DecomposeCompositeOpsPass
    : kiln::impl::DecomposeCompositeOpsBase<DecomposeCompositeOpsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DecomposeSoftmax<SoftmaxOp, false>,
                 DecomposeSoftmax<LogSoftmaxOp, true>, DecomposeLayerNorm,
                 DecomposeLinear, DecomposeReduceMean>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
