//===- OnnxNNOps.cpp - Matmuls, normalizations and reductions -------------===//

#include "NodeContext.h"
#include "RuntimeAxes.h"

#include <algorithm>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

/// ONNX MatMul follows numpy.matmul: a 1-D operand is a row (lhs) or a column
/// (rhs) vector whose unit dimension is removed from the result.
Value kiln::onnx_import::numpyMatmul(NodeContext &nc, Value a, Value b) {
  RankedTensorType at = nc.typeOf(a), bt = nc.typeOf(b);
  if (at.getRank() == 0 || bt.getRank() == 0) {
    (void)nc.error("operands must not be scalars");
    return {};
  }
  if (at.getElementType() != bt.getElementType()) {
    (void)nc.error("operands have different element types");
    return {};
  }
  bool vecA = at.getRank() == 1, vecB = bt.getRank() == 1;
  if (vecA)
    a = nc.reshape(a, {1, at.getDimSize(0)});
  if (vecB)
    b = nc.reshape(b, {bt.getDimSize(0), 1});
  ArrayRef<int64_t> as = nc.typeOf(a).getShape(), bs = nc.typeOf(b).getShape();
  if (as.back() != bs[bs.size() - 2]) {
    (void)nc.error("inner dimensions differ: " + Twine(as.back()) +
                          " vs " + Twine(bs[bs.size() - 2]));
    return {};
  }
  FailureOr<SmallVector<int64_t>> batch =
      broadcastShapes({as.drop_back(2), bs.drop_back(2)});
  if (failed(batch)) {
    (void)nc.error("batch dimensions do not broadcast");
    return {};
  }
  SmallVector<int64_t> shape = *batch;
  shape.append({as[as.size() - 2], bs.back()});
  Value r = MatmulOp::create(nc.b, nc.loc,
                             RankedTensorType::get(shape, at.getElementType()),
                             a, b);
  SmallVector<int64_t> finalShape(shape);
  if (vecB)
    finalShape.pop_back();
  if (vecA)
    finalShape.erase(finalShape.end() - (vecB ? 1 : 2));
  return nc.reshape(r, finalShape);
}

namespace {

LogicalResult matmulOp(NodeContext &nc) {
  Value a = nc.input(0), b = nc.input(1);
  if (!a || !b)
    return nc.error("expects two inputs");
  Value r = numpyMatmul(nc, a, b);
  return nc.setResult(r);
}

/// Y = alpha * A' @ B' + beta * C, with A' and B' optionally transposed.
LogicalResult gemmOp(NodeContext &nc) {
  Value a = nc.input(0), b = nc.input(1), c = nc.input(2);
  if (!a || !b)
    return nc.error("expects inputs A and B");
  if (nc.typeOf(a).getRank() != 2 || nc.typeOf(b).getRank() != 2)
    return nc.error("A and B must be matrices");
  if (nc.getInt("transA", 0))
    a = nc.transpose(a, {1, 0});
  if (nc.getInt("transB", 0))
    b = nc.transpose(b, {1, 0});
  RankedTensorType at = nc.typeOf(a), bt = nc.typeOf(b);
  if (at.getDimSize(1) != bt.getDimSize(0))
    return nc.error("inner dimensions differ: " + Twine(at.getDimSize(1)) +
                    " vs " + Twine(bt.getDimSize(0)));
  Type elt = at.getElementType();
  Value y = MatmulOp::create(
      nc.b, nc.loc,
      RankedTensorType::get({at.getDimSize(0), bt.getDimSize(1)}, elt), a, b);
  float alpha = nc.getFloat("alpha", 1.0f), beta = nc.getFloat("beta", 1.0f);
  if (alpha != 1.0f)
    y = nc.binary<MulOp>(y, nc.scalar(elt, alpha));
  if (c && beta != 0.0f) {
    if (beta != 1.0f)
      c = nc.binary<MulOp>(c, nc.scalar(elt, beta));
    RankedTensorType yt = nc.typeOf(y);
    y = nc.binary<AddOp>(y, c);
    if (!y)
      return failure();
    if (nc.typeOf(y) != yt)
      return nc.error("C does not broadcast to the product's shape");
  }
  return nc.setResult(y);
}

template <typename OpTy> LogicalResult softmaxOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  if (!isa<FloatType>(t.getElementType()))
    return nc.error("expects a floating-point input");
  int64_t rank = t.getRank();
  if (nc.opset >= 13) {
    FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", -1), rank);
    if (failed(axis))
      return failure();
    return nc.setResult(
        OpTy::create(nc.b, nc.loc, t, x, nc.b.getI64IntegerAttr(*axis)));
  }
  // Before opset 13 the input is coerced to 2-D at `axis` (default 1) and
  // the softmax runs over the whole trailing block.
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", 1), rank);
  if (failed(axis))
    return failure();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < *axis ? outer : inner) *= t.getDimSize(d);
  Value flat = nc.reshape(x, {outer, inner});
  Value r = OpTy::create(nc.b, nc.loc, nc.typeOf(flat), flat,
                         nc.b.getI64IntegerAttr(1));
  return nc.setResult(nc.reshape(r, t.getShape()));
}

/// Y = LayerNorm(X); the optional Mean and InvStdDev outputs are computed
/// from primitive ops when the graph uses them.
LogicalResult layerNormOp(NodeContext &nc) {
  Value x = nc.input(0), scale = nc.input(1), bias = nc.input(2);
  if (!x || !scale)
    return nc.error("expects inputs X and Scale");
  RankedTensorType t = nc.typeOf(x);
  if (!isa<FloatType>(t.getElementType()))
    return nc.error("expects a floating-point input");
  FailureOr<int64_t> axis =
      nc.normalizeAxis(nc.getInt("axis", -1), t.getRank());
  if (failed(axis))
    return failure();
  float eps = nc.getFloat("epsilon", 1e-5f);
  if (!nc.hasOutput(1) && !nc.hasOutput(2)) {
    return nc.setResult(LayerNormOp::create(nc.b, nc.loc, t, x, scale, bias,
                                            nc.b.getI64IntegerAttr(*axis),
                                            nc.b.getF32FloatAttr(eps)));
  }
  // stash_type 1 (the default) computes statistics in f32.
  Type elt = t.getElementType();
  Type stash = nc.getInt("stash_type", 1) == 1 ? nc.b.getF32Type() : elt;
  SmallVector<int64_t> axes;
  for (int64_t d = *axis; d < t.getRank(); ++d)
    axes.push_back(d);
  Value xs = nc.cast(x, stash);
  Value mean = nc.reduce<ReduceMeanOp>(xs, axes, /*keepdims=*/true);
  Value centered = nc.binary<SubOp>(xs, mean);
  Value var = nc.reduce<ReduceMeanOp>(nc.binary<MulOp>(centered, centered),
                                      axes, /*keepdims=*/true);
  Value invStd = nc.unary<RsqrtOp>(
      nc.binary<AddOp>(var, nc.scalar(stash, eps)));
  Value y = nc.cast(nc.binary<MulOp>(centered, invStd), elt);
  // Scale and B must broadcast against X; binary() reports it if not.
  y = nc.binary<MulOp>(y, scale);
  if (y && bias)
    y = nc.binary<AddOp>(y, bias);
  if (!y)
    return failure();
  return nc.setResults({y, mean, invStd});
}

/// [C, 1, ..., 1]: the shape of a per-channel value against [N, C, D...]
/// `x`.
SmallVector<int64_t> channelParameterShape(RankedTensorType x) {
  SmallVector<int64_t> shape(x.getRank() - 1, 1);
  shape[0] = x.getDimSize(1);
  return shape;
}

/// A per-channel parameter [C] of a norm over `x` [N, C, D1, ...], in x's
/// element type, shaped [C, 1, ..., 1] to broadcast against it.
Value channelParameter(NodeContext &nc, Value param, RankedTensorType x) {
  return nc.reshape(nc.cast(param, x.getElementType()),
                    channelParameterShape(x));
}

/// BatchNormalization over dimension 1 (channels):
/// (x - mean) / sqrt(var + epsilon) * scale + bias, with the given
/// statistics (inference) or, in training_mode, the batch's own.
LogicalResult batchNormOp(NodeContext &nc) {
  for (size_t i = 0; i < 5; ++i)
    if (!nc.input(i))
      return nc.error("expects X, scale, B, input_mean and input_var");
  Value x = nc.input(0);
  RankedTensorType t = nc.typeOf(x);
  if (t.getRank() < 2)
    return nc.error("X must have rank 2 or more");
  auto param = [&](size_t i) { return channelParameter(nc, nc.input(i), t); };
  Type elt = t.getElementType();
  Value mean, variance;
  if (!nc.getInt("training_mode", 0)) {
    mean = param(3);
    variance = param(4);
  } else {
    // The batch's own statistics (biased variance) over every axis but the
    // channels; the running ones blend them in with momentum (opset 14+:
    // outputs 1 and 2).
    if (nc.opset < 14)
      return nc.unsupported("training_mode", "1", "0 before opset 14");
    SmallVector<int64_t> axes{0};
    for (int64_t d = 2; d < t.getRank(); ++d)
      axes.push_back(d);
    Value batchMean = nc.reduce<ReduceMeanOp>(x, axes, true);
    Value centered = nc.binary<SubOp>(x, batchMean);
    Value batchVar = nc.reduce<ReduceMeanOp>(
        nc.binary<MulOp>(centered, centered), axes, true);
    float momentum = nc.getFloat("momentum", 0.9f);
    auto blend = [&](size_t i, Value batch) {
      Value running = nc.cast(nc.input(i), elt);
      Value flat = nc.reshape(batch, nc.typeOf(running).getShape());
      return nc.binary<AddOp>(
          nc.binary<MulOp>(running, nc.scalar(elt, momentum)),
          nc.binary<MulOp>(flat, nc.scalar(elt, 1 - momentum)));
    };
    if (nc.hasOutput(1))
      nc.setOutput(1, blend(3, batchMean));
    if (nc.hasOutput(2))
      nc.setOutput(2, blend(4, batchVar));
    auto channels = [&](Value v) {
      return nc.reshape(v, channelParameterShape(t));
    };
    mean = channels(batchMean);
    variance = channels(batchVar);
  }
  Value var =
      nc.binary<AddOp>(variance, nc.scalar(elt, nc.getFloat("epsilon", 1e-5f)));
  Value y = nc.binary<MulOp>(nc.binary<SubOp>(x, mean), nc.unary<RsqrtOp>(var));
  y = nc.binary<AddOp>(nc.binary<MulOp>(y, param(1)), param(2));
  return nc.setResult(y);
}

/// InstanceNormalization: for each (n, c), over the spatial dimensions,
/// (x - mean) / sqrt(var + epsilon) * scale[c] + B[c], variance biased.
LogicalResult instanceNormOp(NodeContext &nc) {
  Value x = nc.input(0);
  if (!x || !nc.input(1) || !nc.input(2))
    return nc.error("expects input, scale and B");
  RankedTensorType t = nc.typeOf(x);
  if (t.getRank() < 3 || !isa<FloatType>(t.getElementType()))
    return nc.error("input must be floats [N, C, D1, ...]");
  SmallVector<int64_t> spatial;
  for (int64_t d = 2; d < t.getRank(); ++d)
    spatial.push_back(d);
  Value centered =
      nc.binary<SubOp>(x, nc.reduce<ReduceMeanOp>(x, spatial, true));
  Value var = nc.reduce<ReduceMeanOp>(nc.binary<MulOp>(centered, centered),
                                      spatial, true);
  Value eps = nc.scalar(t.getElementType(), nc.getFloat("epsilon", 1e-5f));
  Value y = nc.binary<MulOp>(centered,
                             nc.unary<RsqrtOp>(nc.binary<AddOp>(var, eps)));
  y = nc.binary<MulOp>(y, channelParameter(nc, nc.input(1), t));
  return nc.setResult(
      nc.binary<AddOp>(y, channelParameter(nc, nc.input(2), t)));
}

/// GroupNormalization: the channels split into num_groups groups; each
/// (n, group) normalized over its channels and spatial positions with the
/// biased variance, then scaled and shifted per channel (opset 21: scale
/// and bias [C]) or per group (opset 18: [num_groups]).
LogicalResult groupNormOp(NodeContext &nc) {
  Value x = nc.input(0);
  if (!x || !nc.input(1) || !nc.input(2))
    return nc.error("expects X, scale and bias");
  RankedTensorType t = nc.typeOf(x);
  if (t.getRank() < 3 || !t.hasStaticShape() ||
      !isa<FloatType>(t.getElementType()))
    return nc.error("X must be floats [N, C, D1, ...] with static sizes");
  int64_t groups = nc.getInt("num_groups", 0), c = t.getDimSize(1);
  if (groups < 1 || c % groups)
    return nc.error("num_groups (" + Twine(groups) +
                    ") must divide the channels (" + Twine(c) + ")");
  if (nc.getInt("stash_type", 1) != 1)
    return nc.unsupported("stash_type", Twine(nc.getInt("stash_type", 1)),
                          "1 (float32)");
  Type elt = t.getElementType();
  int64_t perGroup = t.getNumElements() / (t.getDimSize(0) * groups);
  Value g = nc.reshape(x, {t.getDimSize(0), groups, perGroup});
  Value centered = nc.binary<SubOp>(g, nc.reduce<ReduceMeanOp>(g, {2}, true));
  Value var =
      nc.reduce<ReduceMeanOp>(nc.binary<MulOp>(centered, centered), {2}, true);
  Value eps = nc.scalar(elt, nc.getFloat("epsilon", 1e-5f));
  Value y =
      nc.binary<MulOp>(centered, nc.unary<RsqrtOp>(nc.binary<AddOp>(var, eps)));
  int64_t paramSize = nc.typeOf(nc.input(1)).getNumElements();
  if (paramSize == groups && groups != c) {
    // Per group: applied in the grouped layout.
    auto perGroupParam = [&](size_t i) {
      return nc.reshape(nc.cast(nc.input(i), elt), {groups, 1});
    };
    y = nc.binary<AddOp>(nc.binary<MulOp>(y, perGroupParam(1)),
                         perGroupParam(2));
    return nc.setResult(nc.reshape(y, t.getShape()));
  }
  if (paramSize != c || nc.typeOf(nc.input(2)).getNumElements() != c)
    return nc.error("scale and bias must hold one value per channel (" +
                    Twine(c) + ") or per group (" + Twine(groups) + ")");
  y = nc.reshape(y, t.getShape());
  y = nc.binary<MulOp>(y, channelParameter(nc, nc.input(1), t));
  return nc.setResult(
      nc.binary<AddOp>(y, channelParameter(nc, nc.input(2), t)));
}

/// The axes a Reduce* node reduces: from the `axes` attribute (before opset
/// 18, except ReduceSum from 13) or the optional second input. Empty means
/// all axes unless noop_with_empty_axes is set.
FailureOr<SmallVector<int64_t>> reductionAxes(NodeContext &nc, int64_t rank,
                                              bool &noop) {
  SmallVector<int64_t> axes;
  RankedTensorType given = nc.inputType(1);
  if (given && given.hasStaticShape() && given.getNumElements() == 0) {
    // No axes, whether or not the run gives them.
  } else if (nc.input(1)) {
    FailureOr<SmallVector<int64_t>> in = nc.constantInts(1, "axes");
    if (failed(in))
      return failure();
    axes = *in;
  } else if (std::optional<SmallVector<int64_t>> a = nc.getInts("axes")) {
    axes = *a;
  }
  noop = false;
  if (axes.empty()) {
    if (nc.getInt("noop_with_empty_axes", 0)) {
      noop = true;
      return axes;
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
    return axes;
  }
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = nc.normalizeAxis(a, rank, "reduction axis");
    if (failed(n))
      return failure();
    a = *n;
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return axes;
}

enum class Pre { None, Abs, Square, Exp };
enum class Post { None, Sqrt, Log };

/// The reduction of `x` (after the step before) over `axes` (normalized,
/// sorted), with the step after.
template <typename OpTy, Pre P, Post Q>
Value reduced(NodeContext &nc, Value x, ArrayRef<int64_t> axes, bool keepdims) {
  Value r;
  if (P == Pre::Exp) {
    // log-sum-exp, stably: max + log(sum(exp(x - max)))
    Value max = nc.reduce<ReduceMaxOp>(x, axes, /*keepdims=*/true);
    Value sum = nc.reduce<ReduceSumOp>(
        nc.unary<ExpOp>(nc.binary<SubOp>(x, max)), axes, true);
    r = nc.binary<AddOp>(max, nc.unary<LogOp>(sum));
    if (!keepdims) {
      RankedTensorType t = nc.typeOf(x);
      SmallVector<int64_t> shape;
      for (int64_t d = 0; d < t.getRank(); ++d)
        if (!llvm::is_contained(axes, d))
          shape.push_back(t.getDimSize(d));
      r = nc.reshape(r, shape);
    }
    return r;
  }
  r = nc.reduce<OpTy>(x, axes, keepdims);
  if (Q == Post::Sqrt)
    r = nc.unary<SqrtOp>(r);
  else if (Q == Post::Log)
    r = nc.unary<LogOp>(r);
  return r;
}

/// Every ONNX reduction is a Kiln reduction with an elementwise step before
/// (|x|, x^2, e^x) and/or after (sqrt, log). Axes given at run time pick
/// one reduction per possible set (RuntimeAxes.h).
template <typename OpTy, Pre P = Pre::None, Post Q = Post::None>
LogicalResult reduceOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  if ((P == Pre::Exp || Q != Post::None) &&
      !isa<FloatType>(t.getElementType()))
    return nc.error("expects a floating-point input");
  bool keepdims = nc.getInt("keepdims", 1) != 0;
  RankedTensorType given = nc.inputType(1);
  bool runtimeAxes = isRuntimeInput(nc, 1) && given &&
                     !(given.hasStaticShape() && given.getNumElements() == 0);
  bool noop = false;
  FailureOr<SmallVector<int64_t>> axes = SmallVector<int64_t>();
  if (!runtimeAxes)
    axes = reductionAxes(nc, t.getRank(), noop);
  if (failed(axes))
    return failure();
  if (P == Pre::Abs)
    x = nc.unary<AbsOp>(x);
  else if (P == Pre::Square)
    x = nc.binary<MulOp>(x, x);
  if (noop) {
    if (Q == Post::Sqrt)
      x = nc.unary<SqrtOp>(x);
    else if (Q == Post::Log)
      x = nc.unary<LogOp>(x);
    return nc.setResult(x);
  }
  if (!runtimeAxes)
    return nc.setResult(reduced<OpTy, P, Q>(nc, x, *axes, keepdims));
  FailureOr<SmallVector<Value>> r = dispatchOnAxes(
      nc, 1, t.getRank(),
      [&](ArrayRef<int64_t> set) -> std::optional<SmallVector<Value>> {
        return SmallVector<Value>{reduced<OpTy, P, Q>(nc, x, set, keepdims)};
      });
  if (failed(r))
    return failure();
  return nc.setResult(r->front());
}

/// LpNormalization: x divided by its L1 (p = 1) or L2 (p = 2) norm along
/// `axis`; a zero vector stays zero, as in ONNX's reference (no epsilon
/// otherwise).
LogicalResult lpNormalizationOp(NodeContext &nc) {
  if (nc.numInputs() < 1)
    return nc.error("expects an input");
  Value x = nc.input(0);
  RankedTensorType type = nc.typeOf(x);
  if (!isa<FloatType>(type.getElementType()))
    return nc.error("expects a floating-point input");
  int64_t p = nc.getInt("p", 2);
  if (p != 1 && p != 2)
    return nc.unsupported("p", Twine(p), "1, 2");
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", -1),
                                             type.getRank());
  if (failed(axis))
    return failure();
  Value norm =
      p == 1 ? nc.reduce<ReduceSumOp>(nc.unary<AbsOp>(x), {*axis}, true)
             : nc.unary<SqrtOp>(nc.reduce<ReduceSumOp>(
                   nc.binary<MulOp>(x, x), {*axis}, true));
  // Only a zero vector has norm 0: dividing it by 1 keeps it zero.
  Type elt = type.getElementType();
  Value isZero = nc.compare(CompareDirection::EQ, norm, nc.scalar(elt, 0));
  Value safeNorm = nc.b.createOrFold<SelectOp>(nc.loc, norm.getType(), isZero,
                                               nc.scalar(elt, 1), norm);
  return nc.setResult(nc.binary<DivOp>(x, safeNorm));
}

/// LRN: x / (bias + alpha / size * S)^beta, where S sums x^2 over the
/// channels c - floor((size - 1) / 2) ... c + ceil((size - 1) / 2); that sum
/// is a product with a constant band matrix over the channel axis 1.
LogicalResult lrnOp(NodeContext &nc) {
  Value x = nc.input(0);
  if (!x)
    return nc.error("expects an input");
  RankedTensorType t = nc.typeOf(x);
  int64_t size = nc.getInt("size", 0);
  if (!isa<FloatType>(t.getElementType()) || t.getRank() < 3 ||
      ShapedType::isDynamic(t.getDimSize(1)))
    return nc.error("expects a floating-point input [N, C, ...] with a "
                    "static C");
  if (size < 1)
    return nc.error("size must be positive, got " + Twine(size));
  int64_t c = t.getDimSize(1), before = (size - 1) / 2, after = size / 2;
  SmallVector<float> band;
  for (int64_t i = 0; i < c; ++i) // band[i, out]: channel i feeds out
    for (int64_t out = 0; out < c; ++out)
      band.push_back(i >= out - before && i <= out + after ? 1.0f : 0.0f);
  Value bandMatrix = nc.cast(
      nc.constant(DenseElementsAttr::get(
          RankedTensorType::get({c, c}, nc.b.getF32Type()), ArrayRef(band))),
      t.getElementType());
  SmallVector<int64_t> toLast, fromLast;
  for (int64_t d = 0; d < t.getRank(); ++d)
    if (d != 1)
      toLast.push_back(d);
  toLast.push_back(1);
  fromLast.assign(t.getRank(), 0);
  for (auto [i, d] : llvm::enumerate(toLast))
    fromLast[d] = int64_t(i);
  Value squares = nc.transpose(nc.binary<MulOp>(x, x), toLast);
  Value sum = nc.transpose(numpyMatmul(nc, squares, bandMatrix), fromLast);
  Type elt = t.getElementType();
  Value base = nc.binary<AddOp>(
      nc.scalar(elt, nc.getFloat("bias", 1.0f)),
      nc.binary<MulOp>(
          nc.scalar(elt, nc.getFloat("alpha", 1e-4f) / double(size)), sum));
  return nc.setResult(nc.binary<DivOp>(
      x, nc.binary<PowOp>(base, nc.scalar(elt, nc.getFloat("beta", 0.75f)))));
}

/// MeanVarianceNormalization, as its function body: (x - E[x]) /
/// (sqrt(E[x^2] - E[x]^2) + 1e-9) over `axes` (default 0, 2, 3).
LogicalResult meanVarianceNormalizationOp(NodeContext &nc) {
  Value x = nc.input(0);
  if (!x)
    return nc.error("expects an input");
  RankedTensorType t = nc.typeOf(x);
  if (!isa<FloatType>(t.getElementType()))
    return nc.error("expects a floating-point input");
  SmallVector<int64_t> axes;
  for (int64_t a : nc.getInts("axes").value_or(SmallVector<int64_t>{0, 2, 3})) {
    FailureOr<int64_t> axis = nc.normalizeAxis(a, t.getRank(), "axes value");
    if (failed(axis))
      return failure();
    axes.push_back(*axis);
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  Value mean = nc.reduce<ReduceMeanOp>(x, axes, /*keepdims=*/true);
  Value meanOfSquares =
      nc.reduce<ReduceMeanOp>(nc.binary<MulOp>(x, x), axes, true);
  Value variance =
      nc.binary<SubOp>(meanOfSquares, nc.binary<MulOp>(mean, mean));
  Value std = nc.binary<AddOp>(nc.unary<SqrtOp>(variance),
                               nc.scalar(t.getElementType(), 1e-9));
  return nc.setResult(nc.binary<DivOp>(nc.binary<SubOp>(x, mean), std));
}

/// EyeLike: ones on the k-th diagonal of a 2-D tensor shaped like the
/// input, zeros elsewhere, of `dtype` (default: the input's). A constant,
/// so the input's shape must be static.
LogicalResult eyeLikeOp(NodeContext &nc) {
  if (nc.numInputs() < 1)
    return nc.error("expects an input");
  RankedTensorType in = nc.inputType(0);
  if (in.getRank() != 2)
    return nc.error("expects a 2-D input, got rank " + Twine(in.getRank()));
  if (!in.hasStaticShape())
    return nc.error("needs a static input shape (it builds a constant); "
                    "give the shape with --input-shape or --dim");
  Type elt = in.getElementType();
  if (const onnx::AttributeProto *dtype = nc.attr("dtype")) {
    elt = elementTypeFor(nc.b.getContext(), int(dtype->i()));
    if (!elt)
      return nc.unsupported("dtype", Twine(dtype->i()),
                            "the numeric and bool types");
  }
  int64_t rows = in.getDimSize(0), cols = in.getDimSize(1);
  int64_t k = nc.getInt("k", 0);
  SmallVector<float> values(size_t(rows * cols), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    if (r + k >= 0 && r + k < cols)
      values[size_t(r * cols + r + k)] = 1.0f;
  auto f32 = RankedTensorType::get({rows, cols}, nc.b.getF32Type());
  Value eye = nc.constant(DenseElementsAttr::get(f32, ArrayRef(values)));
  return nc.setResult(elt.isF32() ? eye : nc.cast(eye, elt));
}

/// The largest matrices Det expands (n! products of n entries each).
constexpr int64_t kMaxDetSize = 4;

/// Det of [..., n, n]: the Leibniz sum over permutations p of
/// sign(p) * prod_i x[..., i, p(i)], for small n. (An LU factorization
/// would need data-dependent pivoting; for the sizes taken here the
/// expansion is a few dozen elementwise ops.)
LogicalResult detOp(NodeContext &nc, Value x) {
  RankedTensorType type = nc.typeOf(x);
  int64_t rank = type.getRank();
  if (rank < 2 || !isa<FloatType>(type.getElementType()) ||
      !type.hasStaticShape())
    return nc.error("X must be floats of a static shape [..., n, n]");
  int64_t n = type.getDimSize(rank - 1);
  if (n != type.getDimSize(rank - 2))
    return nc.error("X's last two dimensions (" +
                    Twine(type.getDimSize(rank - 2)) + ", " + Twine(n) +
                    ") must be equal");
  if (n < 1 || n > kMaxDetSize)
    return nc.error("Det of " + Twine(n) + "x" + Twine(n) +
                    " matrices is not supported (it is expanded over "
                    "permutations, for 1x1 to " +
                    Twine(kMaxDetSize) + "x" + Twine(kMaxDetSize) + ")");
  ArrayRef<int64_t> batch = type.getShape().drop_back(2);
  auto entry = [&](int64_t i, int64_t j) {
    SmallVector<int64_t> shape(batch), starts(rank, 0), steps(rank, 1);
    shape.append({1, 1});
    starts[rank - 2] = i;
    starts[rank - 1] = j;
    Value slice = nc.b.createOrFold<SliceOp>(nc.loc, type.clone(shape), x,
                                             nc.b.getDenseI64ArrayAttr(starts),
                                             nc.b.getDenseI64ArrayAttr(steps));
    return nc.reshape(slice, batch);
  };
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, n));
  Value det;
  do {
    Value term = entry(0, perm[0]);
    for (int64_t i = 1; i < n; ++i)
      term = nc.binary<MulOp>(term, entry(i, perm[i]));
    int64_t inversions = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j)
        inversions += perm[i] > perm[j];
    if (!det)
      det = term;
    else if (inversions % 2)
      det = nc.binary<SubOp>(det, term);
    else
      det = nc.binary<AddOp>(det, term);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return nc.setResult(det);
}

} // namespace

void kiln::onnx_import::registerNNHandlers(HandlerTable &t) {
#define ONNX_NN_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
