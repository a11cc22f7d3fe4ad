//===- DecomposeCompositeOps.cpp - The kiln-decompose-composite-ops pass
//----===//

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnShapes.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"
#include "kiln/passes/KilnToLinalg/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace kiln {
#define GEN_PASS_DEF_DECOMPOSECOMPOSITEOPS
#include "kiln/passes/KilnToLinalg/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// A rank-0 tensor constant, broadcast by the elementwise ops that use it.
Value scalarTensor(PatternRewriter &rewriter, Location loc, Type elt,
                   double value) {
  DenseElementsAttr attr = scalarConstantAttr(elt, value);
  return arith::ConstantOp::create(rewriter, loc, attr.getType(), attr);
}

/// `type` with the dimensions in `axes` set to 1.
RankedTensorType keptDims(RankedTensorType type, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t a : axes)
    shape[a] = 1;
  return RankedTensorType::get(shape, type.getElementType());
}

/// What layer_norm and rms_norm both start from: the axes they normalize
/// over (the normalized axis to the last) and epsilon as a scalar tensor.
template <typename NormOpTy>
std::pair<SmallVector<int64_t>, Value>
normAxesAndEpsilon(NormOpTy op, PatternRewriter &rewriter) {
  RankedTensorType type = op.getType();
  SmallVector<int64_t> axes = llvm::to_vector(
      llvm::seq<int64_t>(op.getNormalizedAxis(), type.getRank()));
  Value eps = scalarTensor(rewriter, op.getLoc(), type.getElementType(),
                           op.getEpsilon().convertToDouble());
  return {axes, eps};
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
LogicalResult decomposeSoftmax(OpTy op, PatternRewriter &rewriter) {
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

/// Replaces `op` by `y` plus the op's bias, where it has one.
template <typename OpTy>
LogicalResult replaceAddingBias(PatternRewriter &rewriter, OpTy op, Value y) {
  if (Value bias = op.getBias())
    y = AddOp::create(rewriter, op.getLoc(), op.getType(), y, bias);
  rewriter.replaceOp(op, y);
  return success();
}

/// x * rsqrt(mean(x^2 over `axes`) + eps): the step layer_norm (on the
/// centered input) and rms_norm share.
Value divideByRms(PatternRewriter &rewriter, Location loc, Value x,
                  ArrayRef<int64_t> axes, Value eps) {
  auto type = cast<RankedTensorType>(x.getType());
  Value sq = MulOp::create(rewriter, loc, type, x, x);
  Value ms = reduceKeep<ReduceMeanOp>(rewriter, loc, sq, axes);
  Value inv = RsqrtOp::create(
      rewriter, loc, AddOp::create(rewriter, loc, ms.getType(), ms, eps));
  return MulOp::create(rewriter, loc, type, x, inv);
}

/// y = (x - mean) * rsqrt(mean((x - mean)^2) + eps) * scale + bias.
LogicalResult decomposeLayerNorm(LayerNormOp op, PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  auto [axes, eps] = normAxesAndEpsilon(op, rewriter);
  Value x = op.getInput();
  Value mean = reduceKeep<ReduceMeanOp>(rewriter, loc, x, axes);
  Value centered = SubOp::create(rewriter, loc, type, x, mean);
  Value y = divideByRms(rewriter, loc, centered, axes, eps);
  y = MulOp::create(rewriter, loc, type, y, op.getScale());
  return replaceAddingBias(rewriter, op, y);
}

/// linear(x, w, b) = x @ transpose(w) + b.
LogicalResult decomposeLinear(LinearOp op, PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  auto wType = op.getWeight().getType();
  Type elt = type.getElementType();
  auto wtType =
      RankedTensorType::get({wType.getDimSize(1), wType.getDimSize(0)}, elt);
  Value wt = TransposeOp::create(rewriter, loc, wtType, op.getWeight(),
                                 rewriter.getDenseI64ArrayAttr({1, 0}));
  Value x = op.getInput();
  auto xType = op.getInput().getType();
  // A vector input is a one-row matrix for the product.
  if (xType.getRank() == 1)
    x = ReshapeOp::create(
        rewriter, loc, RankedTensorType::get({1, xType.getDimSize(0)}, elt), x);
  SmallVector<int64_t> prodShape(
      cast<RankedTensorType>(x.getType()).getShape().drop_back());
  prodShape.push_back(wType.getDimSize(0));
  Value y = MatmulOp::create(rewriter, loc,
                             RankedTensorType::get(prodShape, elt), x, wt);
  if (xType.getRank() == 1)
    y = ReshapeOp::create(rewriter, loc, type, y);
  return replaceAddingBias(rewriter, op, y);
}

/// qlinear(x, w, ...) = linear(x, dequantize(w, ...) [* global_scale], b).
/// The dequantize is elementwise, so fusion later moves it into the product's
/// loop nest: the weight is read quantized and never copied out in floats.
LogicalResult decomposeQLinear(QLinearOp op, PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  Type elt = op.getType().getElementType();
  RankedTensorType wType = op.getWeight().getType();
  Value globalScale = op.getGlobalScale();
  // With a global scale, dequantize to f32 and round once at the end.
  Type dequantElt = globalScale ? rewriter.getF32Type() : elt;
  auto dequantType = wType.clone(dequantElt);
  Value w = DequantizeOp::create(
      rewriter, loc, dequantType, op.getWeight(), op.getScale(),
      op.getZeroPoint(), rewriter.getI64IntegerAttr(0),
      rewriter.getI64IntegerAttr(0), op.getBlockShapeAttr(),
      op.getIsUnsignedAttr());
  if (globalScale) {
    auto gType = cast<RankedTensorType>(globalScale.getType());
    if (gType.getRank() == 1)
      globalScale = ReshapeOp::create(
          rewriter, loc, RankedTensorType::get({}, gType.getElementType()),
          globalScale);
    w = MulOp::create(rewriter, loc, dequantType, w, globalScale);
    if (dequantElt != elt)
      w = CastOp::create(rewriter, loc, wType.clone(elt), w);
  }
  rewriter.replaceOpWithNewOp<LinearOp>(op, op.getType(), op.getInput(), w,
                                        op.getBias());
  return success();
}

/// A 0-d tensor of `elt` holding 1 / count (floats) or count (integers),
/// where count, the number of elements averaged over, is only known at run
/// time (a reduced axis is dynamic): computed from tensor.dim, the
/// reciprocal in f32 for 16-bit floats.
Value dynamicMeanFactor(PatternRewriter &rewriter, Location loc,
                        ReduceMeanOp op) {
  Value input = op.getInput();
  OpFoldResult count = rewriter.getIndexAttr(1);
  for (int64_t a : op.getAxes())
    count = mulSizes(rewriter, loc, count, dimOf(rewriter, loc, input, a));
  Value n = arith::IndexCastUIOp::create(
      rewriter, loc, rewriter.getI64Type(),
      getValueOrCreateConstantIndexOp(rewriter, loc, count));
  Type elt = op.getType().getElementType();
  Value scalar;
  if (isa<FloatType>(elt)) {
    Type wide = accumulatorType(elt);
    Value one = arith::ConstantOp::create(rewriter, loc, wide,
                                          rewriter.getFloatAttr(wide, 1.0));
    scalar = arith::DivFOp::create(
        rewriter, loc, one, arith::UIToFPOp::create(rewriter, loc, wide, n));
    if (wide != elt)
      scalar = arith::TruncFOp::create(rewriter, loc, elt, scalar);
  } else {
    scalar = arith::TruncIOp::create(rewriter, loc, elt, n);
    if (elt.isInteger(64))
      scalar = n;
  }
  return tensor::FromElementsOp::create(
      rewriter, loc, RankedTensorType::get({}, elt), scalar);
}

/// mean = sum * (1 / count) for floats (count itself may not be
/// representable, e.g. in f16), sum / count for integers (truncating).
LogicalResult decomposeReduceMean(ReduceMeanOp op, PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  auto inType = op.getInput().getType();
  Value sum = ReduceSumOp::create(rewriter, loc, op.getType(), op.getInput(),
                                  op.getAxesAttr(), op.getKeepdimsAttr());
  Type elt = op.getType().getElementType();
  if (llvm::any_of(op.getAxes(),
                   [&](int64_t a) { return inType.isDynamicDim(a); })) {
    Value factor = dynamicMeanFactor(rewriter, loc, op);
    if (isa<FloatType>(elt))
      rewriter.replaceOpWithNewOp<MulOp>(op, op.getType(), sum, factor);
    else
      rewriter.replaceOpWithNewOp<DivOp>(op, op.getType(), sum, factor);
    return success();
  }
  int64_t count = 1;
  for (int64_t a : op.getAxes())
    count *= inType.getDimSize(a);
  if (isa<FloatType>(elt)) {
    Value inv = scalarTensor(rewriter, loc, elt, 1.0 / (double)count);
    rewriter.replaceOpWithNewOp<MulOp>(op, op.getType(), sum, inv);
  } else {
    Value n = scalarTensor(rewriter, loc, elt, (double)count);
    rewriter.replaceOpWithNewOp<DivOp>(op, op.getType(), sum, n);
  }
  return success();
}

/// y = x * rsqrt(mean(x^2) + eps) * scale.
LogicalResult decomposeRmsNorm(RmsNormOp op, PatternRewriter &rewriter) {
  auto [axes, eps] = normAxesAndEpsilon(op, rewriter);
  Value y = divideByRms(rewriter, op.getLoc(), op.getInput(), axes, eps);
  rewriter.replaceOpWithNewOp<MulOp>(op, op.getType(), y, op.getScale());
  return success();
}

/// flags[x] = x is one of `indices`, for x in [0, size).
Value globalFlags(PatternRewriter &rewriter, Location loc, Value indices,
                  int64_t size) {
  auto it = cast<RankedTensorType>(indices.getType());
  int64_t n = it.getNumElements();
  Type i64 = rewriter.getI64Type();
  SmallVector<int64_t> positions(size);
  for (int64_t i = 0; i < size; ++i)
    positions[i] = i;
  auto posType = RankedTensorType::get({size, 1}, i64);
  Value pos = arith::ConstantOp::create(
      rewriter, loc, posType,
      DenseElementsAttr::get(posType, ArrayRef(positions)));
  Value idx = ReshapeOp::create(rewriter, loc,
                                RankedTensorType::get({1, n}, i64), indices);
  auto eqType = RankedTensorType::get({size, n}, rewriter.getI1Type());
  Value eq =
      CompareOp::create(rewriter, loc, eqType, CompareDirection::EQ, pos, idx);
  return ReduceMaxOp::create(
      rewriter, loc, RankedTensorType::get({size}, rewriter.getI1Type()), eq,
      rewriter.getDenseI64ArrayAttr({1}), rewriter.getBoolAttr(false));
}

/// Attention as matmuls, a positional mask applied by index, and a softmax
/// that yields zeros for a query with no key left. GQA reshapes the query
/// heads into [kv_heads, group] so the key/value heads broadcast instead of
/// being repeated. kv_seqlen joins the positional mask; a scores result is
/// the intermediate value its score_stage names.
LogicalResult decomposeAttention(AttentionOp op, PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  auto qt = op.getQuery().getType();
  Type elt = qt.getElementType();
  int64_t b = qt.getDimSize(0), hq = qt.getDimSize(1), s = qt.getDimSize(2),
          d = qt.getDimSize(3);
  auto pkt = op.getPresentKey().getType();
  int64_t hkv = pkt.getDimSize(1), l = pkt.getDimSize(2);
  int64_t dv = op.getPresentValue().getType().getDimSize(3);
  int64_t g = hq / hkv;
  int64_t past = op.getPastKey() ? op.getPastKey().getType().getDimSize(2) : 0;
  auto ty = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, elt);
  };
  // The requested stage of the scores, as [B, Hq, S, L].
  std::optional<ScoreStage> stage = op.getScoreStage();
  Value scores;
  auto capture = [&](ScoreStage at, Value x) {
    if (stage != at)
      return;
    auto st = ty({b, hq, s, l});
    scores = x.getType() == st ? x : ReshapeOp::create(rewriter, loc, st, x);
  };

  Value k = op.getKey(), v = op.getValue();
  if (op.getPastKey()) {
    IntegerAttr axis = rewriter.getI64IntegerAttr(2);
    k = ConcatOp::create(rewriter, loc, pkt, ValueRange{op.getPastKey(), k},
                         axis);
    v = ConcatOp::create(rewriter, loc, op.getPresentValue().getType(),
                         ValueRange{op.getPastValue(), v}, axis);
  }
  // 16-bit floats are computed in f32, as reference implementations
  // accumulate them; the KV cache keeps its own type.
  Type storage = elt;
  if (cast<FloatType>(elt).getWidth() < 32)
    elt = rewriter.getF32Type();
  auto widen = [&](Value x) -> Value {
    auto xt = cast<RankedTensorType>(x.getType());
    if (xt.getElementType() == elt || !isa<FloatType>(xt.getElementType()))
      return x;
    return CastOp::create(rewriter, loc, xt.clone(elt), x);
  };
  Value qg = ReshapeOp::create(rewriter, loc, ty({b, hkv, g, s, d}),
                               widen(op.getQuery()));
  Value kt = TransposeOp::create(rewriter, loc, ty({b, hkv, d, l}), widen(k),
                                 rewriter.getDenseI64ArrayAttr({0, 1, 3, 2}));
  kt = ReshapeOp::create(rewriter, loc, ty({b, hkv, 1, d, l}), kt);
  Value sc = MatmulOp::create(rewriter, loc, ty({b, hkv, g, s, l}), qg, kt);
  sc = MulOp::create(
      rewriter, loc, sc.getType(), sc,
      scalarTensor(rewriter, loc, elt, op.getScale().convertToDouble()));
  capture(ScoreStage::Scaled, sc);
  if (double cap = op.getSoftcap().convertToDouble(); cap > 0) {
    Value c = scalarTensor(rewriter, loc, elt, cap);
    Value t = TanhOp::create(rewriter, loc,
                             DivOp::create(rewriter, loc, sc.getType(), sc, c));
    sc = MulOp::create(rewriter, loc, sc.getType(), t, c);
  }
  auto scoresType = ty({b, hq, s, l});
  sc = ReshapeOp::create(rewriter, loc, scoresType, sc);
  capture(ScoreStage::Softcapped, sc);

  if (op.getMaskKind() != MaskKind::None || op.getKvSeqlen() ||
      op.getQueryStart()) {
    Value flags;
    if (Value indices = op.getGlobalIndices())
      flags =
          globalFlags(rewriter, loc, indices, std::max<int64_t>(l, past + s));
    sc = AttentionMaskOp::create(
        rewriter, loc, scoresType, sc, flags, op.getKvSeqlen(), op.getQueryStart(),
        rewriter.getI64IntegerAttr(past), op.getMaskKindAttr(),
        op.getWindowLeftAttr(), op.getWindowRightAttr(),
        op.getNumGlobalTokensAttr(), op.getBlockSizeAttr(),
        op.getBlockLayoutAttr());
  }
  Value negInf = scalarTensor(rewriter, loc, elt,
                              -std::numeric_limits<double>::infinity());
  if (Value mask = op.getMask() ? widen(op.getMask()) : Value()) {
    if (cast<RankedTensorType>(mask.getType()).getElementType().isInteger(1))
      sc = SelectOp::create(rewriter, loc, scoresType, mask, sc, negInf);
    else
      sc = AddOp::create(rewriter, loc, scoresType, sc, mask);
  }
  capture(ScoreStage::Masked, sc);

  // Softmax over keys, zero for rows with nothing left.
  Value zero = scalarTensor(rewriter, loc, elt, 0);
  Value max = reduceKeep<ReduceMaxOp>(rewriter, loc, sc, {3});
  auto rowType = cast<RankedTensorType>(max.getType());
  auto rowBool = rowType.clone(rewriter.getI1Type());
  Value empty = CompareOp::create(rewriter, loc, rowBool, CompareDirection::EQ,
                                  max, negInf);
  max = SelectOp::create(rewriter, loc, rowType, empty, zero, max);
  Value e = ExpOp::create(rewriter, loc,
                          SubOp::create(rewriter, loc, scoresType, sc, max));
  Value sum = reduceKeep<ReduceSumOp>(rewriter, loc, e, {3});
  Value p = DivOp::create(rewriter, loc, scoresType, e, sum);
  Value any = CompareOp::create(rewriter, loc, rowBool, CompareDirection::GT,
                                sum, zero);
  p = SelectOp::create(rewriter, loc, scoresType, any, p, zero);
  capture(ScoreStage::Probs, p);

  Value pg = ReshapeOp::create(rewriter, loc, ty({b, hkv, g, s, l}), p);
  Value vg = ReshapeOp::create(rewriter, loc, ty({b, hkv, 1, l, dv}), widen(v));
  Value o = MatmulOp::create(rewriter, loc, ty({b, hkv, g, s, dv}), pg, vg);
  o = ReshapeOp::create(rewriter, loc, ty({b, hq, s, dv}), o);
  if (storage != elt)
    o = CastOp::create(rewriter, loc, op.getOutput().getType(), o);
  SmallVector<Value> results = {o, k, v};
  if (scores && storage != elt)
    scores = CastOp::create(rewriter, loc, op.getScores().getType(), scores);
  if (scores)
    results.push_back(scores);
  rewriter.replaceOp(op, results);
  return success();
}

/// swiglu(x) = silu(x[..., :F]) * x[..., F:].
LogicalResult decomposeSwiGLU(SwiGLUOp op, PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  int64_t rank = type.getRank(), f = type.getDimSize(rank - 1);
  auto half = [&](int64_t start) {
    SmallVector<int64_t> starts(rank, 0), steps(rank, 1);
    starts.back() = start;
    return SliceOp::create(rewriter, loc, type, op.getInput(),
                           rewriter.getDenseI64ArrayAttr(starts),
                           rewriter.getDenseI64ArrayAttr(steps));
  };
  Value gate = SiluOp::create(rewriter, loc, half(0));
  rewriter.replaceOpWithNewOp<MulOp>(op, type, gate, half(f));
  return success();
}

/// MoE routing in Kiln ops: scores, optional grouping, top-k, weights, and
/// the capacity drop. See kiln.moe_route for the rules implemented here.
LogicalResult decomposeMoERoute(MoERouteOp op, PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  auto lt = op.getLogits().getType();
  Type elt = lt.getElementType(), i64 = rewriter.getI64Type();
  Type i1 = rewriter.getI1Type();
  int64_t t = lt.getDimSize(0), e = lt.getDimSize(1), k = op.getK();
  // The number of (token, choice) assignments, dynamic with the tokens.
  int64_t tk = ShapedType::isDynamic(t) ? ShapedType::kDynamic : t * k;
  auto ty = [&](ArrayRef<int64_t> shape, Type et) {
    return RankedTensorType::get(shape, et);
  };
  auto topK = [&](Value v, int64_t axis, int64_t n) {
    auto vt = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape(vt.getShape());
    shape[axis] = n;
    return TopKOp::create(
        rewriter, loc, vt.clone(shape), vt.clone(shape).clone(i64), v,
        rewriter.getI64IntegerAttr(axis), rewriter.getI64IntegerAttr(n),
        rewriter.getBoolAttr(true));
  };
  auto oneHot = [&](Value idx, int64_t depth, Type et) {
    auto it = cast<RankedTensorType>(idx.getType());
    SmallVector<int64_t> shape(it.getShape());
    shape.push_back(depth);
    return OneHotOp::create(rewriter, loc, ty(shape, et), idx,
                            rewriter.getI64IntegerAttr(it.getRank()),
                            rewriter.getI64IntegerAttr(depth),
                            rewriter.getF64FloatAttr(0),
                            rewriter.getF64FloatAttr(1));
  };

  Value logits = op.getLogits();
  Value scores = op.getScoring() == RouterScoring::Softmax
                     ? (Value)SoftmaxOp::create(rewriter, loc, lt, logits,
                                                rewriter.getI64IntegerAttr(1))
                     : (Value)SigmoidOp::create(rewriter, loc, logits);
  Value select = scores;
  if (Value bias = op.getScoreBias())
    select = AddOp::create(rewriter, loc, lt, scores, bias);

  int64_t groups = op.getNumGroups();
  if (groups > 1) {
    int64_t n = e / groups, keep = op.getTopGroups();
    Value grouped =
        ReshapeOp::create(rewriter, loc, ty({t, groups, n}, elt), select);
    // [t, groups, 1] (or [t, groups, n] with n = 1), then [t, groups].
    Value groupScore = grouped;
    if (n >= 2 && op.getGroupScoring() == GroupScoring::Max)
      groupScore = reduceKeep<ReduceMaxOp>(rewriter, loc, grouped, {2});
    else if (n >= 2)
      groupScore = reduceKeep<ReduceSumOp>(
          rewriter, loc, topK(grouped, 2, 2).getValues(), {2});
    groupScore =
        ReshapeOp::create(rewriter, loc, ty({t, groups}, elt), groupScore);
    Value kept = topK(groupScore, 1, keep).getIndices();
    Value hot = oneHot(kept, groups, i1); // [t, keep, groups]
    Value mask = ReduceMaxOp::create(rewriter, loc, ty({t, 1, groups}, i1), hot,
                                     rewriter.getDenseI64ArrayAttr({1}),
                                     rewriter.getBoolAttr(true));
    mask = ReshapeOp::create(rewriter, loc, ty({t, groups, 1}, i1), mask);
    Value negInf = scalarTensor(rewriter, loc, elt,
                                -std::numeric_limits<double>::infinity());
    grouped = SelectOp::create(rewriter, loc, ty({t, groups, n}, elt), mask,
                               grouped, negInf);
    select = ReshapeOp::create(rewriter, loc, lt, grouped);
  }

  Value experts = topK(select, 1, k).getIndices();
  Value weights =
      GatherElementsOp::create(rewriter, loc, ty({t, k}, elt), scores, experts,
                               rewriter.getI64IntegerAttr(1));
  if (op.getNormalize()) {
    Value sum = reduceKeep<ReduceSumOp>(rewriter, loc, weights, {1});
    weights = DivOp::create(rewriter, loc, ty({t, k}, elt), weights, sum);
  }
  if (double scale = op.getRoutedScale().convertToDouble(); scale != 1.0)
    weights = MulOp::create(rewriter, loc, ty({t, k}, elt), weights,
                            scalarTensor(rewriter, loc, elt, scale));

  // counts[e] = assignments to e before any drop.
  Value flat = ReshapeOp::create(rewriter, loc, ty({tk}, i64), experts);
  Value hot = oneHot(flat, e, i64); // [t*k, e]
  Value counts = ReduceSumOp::create(rewriter, loc, ty({e}, i64), hot,
                                     rewriter.getDenseI64ArrayAttr({0}),
                                     rewriter.getBoolAttr(false));

  if (int64_t capacity = op.getCapacity(); capacity > 0) {
    // An assignment's slot is the number of earlier assignments (in
    // token, then choice order) to the same expert.
    Value before = CumSumOp::create(
        rewriter, loc, hot.getType(), hot, rewriter.getI64IntegerAttr(0),
        rewriter.getBoolAttr(true), rewriter.getBoolAttr(false));
    Value slot = GatherElementsOp::create(
        rewriter, loc, ty({tk, 1}, i64), before,
        ReshapeOp::create(rewriter, loc, ty({tk, 1}, i64), flat),
        rewriter.getI64IntegerAttr(1));
    slot = ReshapeOp::create(rewriter, loc, ty({t, k}, i64), slot);
    Value fits = CompareOp::create(
        rewriter, loc, ty({t, k}, i1), CompareDirection::LT, slot,
        scalarTensor(rewriter, loc, i64, (double)capacity));
    weights = SelectOp::create(rewriter, loc, ty({t, k}, elt), fits, weights,
                               scalarTensor(rewriter, loc, elt, 0));
    experts = SelectOp::create(rewriter, loc, ty({t, k}, i64), fits, experts,
                               scalarTensor(rewriter, loc, i64, -1));
  }
  rewriter.replaceOp(op, {weights, experts, counts});
  return success();
}

/// Reports the composite ops with dynamic sizes that the decompositions
/// cannot express yet, so that none is left half-decomposed.
LogicalResult checkDynamicSizesSupported(Operation *root) {
  WalkResult walk = root->walk([](Operation *op) {
    if (auto attention = dyn_cast<AttentionOp>(op)) {
      // kiln.attention_mask takes the queries' offset (the cache length)
      // as an attribute.
      Value past = attention.getPastKey();
      bool positional = attention.getMaskKind() != MaskKind::None ||
                        attention.getGlobalIndices();
      if (past && positional &&
          cast<RankedTensorType>(past.getType()).isDynamicDim(2)) {
        attention.emitOpError(
            "has a dynamic KV cache length and a positional mask, which its "
            "decomposition does not support yet: the mask's query offset "
            "must be static");
        return WalkResult::interrupt();
      }
    }
    if (auto route = dyn_cast<MoERouteOp>(op)) {
      // The capacity drop counts assignments with a [T*k, T*k] comparison
      // built from static sizes.
      if (route.getCapacity() > 0 &&
          route.getLogits().getType().isDynamicDim(0)) {
        route.emitOpError("has a capacity and a dynamic token count, which "
                          "its decomposition does not support yet");
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

struct DecomposeCompositeOpsPass
    : kiln::impl::DecomposeCompositeOpsBase<DecomposeCompositeOpsPass> {
  void runOnOperation() override {
    if (failed(checkDynamicSizesSupported(getOperation())))
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    patterns.add(decomposeSoftmax<SoftmaxOp, false>);
    patterns.add(decomposeSoftmax<LogSoftmaxOp, true>);
    patterns.add(decomposeLayerNorm);
    patterns.add(decomposeRmsNorm);
    patterns.add(decomposeLinear);
    patterns.add(decomposeQLinear);
    patterns.add(decomposeReduceMean);
    patterns.add(decomposeAttention);
    patterns.add(decomposeMoERoute);
    patterns.add(decomposeSwiGLU);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
