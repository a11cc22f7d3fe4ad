//===- OnnxTransformerOps.cpp - Transformer operators ---------------------===//
//
// The ONNX domain's transformer operators (Attention, RMSNormalization,
// RotaryEmbedding, TensorScatter, CausalConvWithState, LinearAttention)
// and ai.onnx.preview's FlexAttention.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// ONNX Attention (opsets 23 and 24) as kiln.attention. nonpad_kv_seqlen
/// becomes the kv_seqlen operand; qk_matmul_output becomes the scores
/// result, its qk_matmul_output_mode the score_stage (the function body of
/// opset 24 orders the stages QK * scale, softcap, + bias, softmax).
LogicalResult attentionOp(NodeContext &nc) {
  Value q = nc.input(0), k = nc.input(1), v = nc.input(2);
  if (!q || !k || !v)
    return nc.error("expects Q, K and V");
  std::optional<ScoreStage> stage;
  if (nc.hasOutput(3)) {
    int64_t mode = nc.getInt("qk_matmul_output_mode", 0);
    static const ScoreStage stages[] = {ScoreStage::Scaled,
                                        ScoreStage::Softcapped,
                                        ScoreStage::Masked, ScoreStage::Probs};
    if (mode < 0 || mode > 3)
      return nc.unsupported("qk_matmul_output_mode", Twine(mode));
    stage = stages[mode];
  }
  RankedTensorType qt = nc.typeOf(q);
  if (!isa<FloatType>(qt.getElementType()))
    return nc.error("expects floating-point Q, K and V");
  if (nc.typeOf(k).getRank() != qt.getRank() ||
      nc.typeOf(v).getRank() != qt.getRank())
    return nc.error("Q, K and V must all be 3-D or all 4-D");
  bool packed = qt.getRank() == 3;
  if (packed) {
    int64_t hq = nc.getInt("q_num_heads", 0), hkv = nc.getInt("kv_num_heads", 0);
    if (hq <= 0 || hkv <= 0)
      return nc.error("3-D inputs need the q_num_heads and kv_num_heads "
                      "attributes");
    if (qt.getDimSize(2) % hq || nc.typeOf(k).getDimSize(2) % hkv ||
        nc.typeOf(v).getDimSize(2) % hkv)
      return nc.error("hidden sizes are not multiples of the head counts");
    q = nc.splitHeads(q, hq);
    k = nc.splitHeads(k, hkv);
    v = nc.splitHeads(v, hkv);
  } else if (qt.getRank() != 4) {
    return nc.error("Q, K and V must be 3-D or 4-D");
  }
  RankedTensorType q4 = nc.typeOf(q), k4 = nc.typeOf(k), v4 = nc.typeOf(v);
  Type elt = q4.getElementType();
  int64_t b = q4.getDimSize(0), hq = q4.getDimSize(1), s = q4.getDimSize(2),
          d = q4.getDimSize(3);
  int64_t hkv = k4.getDimSize(1), t = k4.getDimSize(2), dv = v4.getDimSize(3);
  if (hkv == 0 || hq % hkv)
    return nc.error("query heads (" + Twine(hq) +
                    ") must be a multiple of key/value heads (" + Twine(hkv) +
                    ")");
  Value pastK = nc.input(4), pastV = nc.input(5);
  if ((bool)pastK != (bool)pastV)
    return nc.error("past_key and past_value come together");
  int64_t past = pastK ? nc.typeOf(pastK).getDimSize(2) : 0;
  int64_t total = past + t;

  float scale = nc.attr("scale") ? nc.getFloat("scale", 1.0f)
                                 : 1.0f / std::sqrt((float)d);
  float softcap = nc.getFloat("softcap", 0.0f);
  if (softcap < 0)
    return nc.unsupported("softcap", std::to_string(softcap));

  // A mask shorter than the keys is padded with "not allowed" (ONNX).
  Value mask = nc.input(3);
  if (mask) {
    RankedTensorType mt = nc.typeOf(mask);
    if (mt.getRank() < 2 || mt.getRank() > 4)
      return nc.error("attn_mask must have rank 2 to 4");
    int64_t have = mt.getDimSize(mt.getRank() - 1);
    if (have > total)
      return nc.error("attn_mask covers " + Twine(have) + " keys but there "
                      "are only " + Twine(total));
    if (have < total) {
      SmallVector<int64_t> padShape(mt.getShape());
      padShape.back() = total - have;
      auto padType = mt.clone(padShape);
      Attribute fill =
          mt.getElementType().isInteger(1)
              ? (Attribute)nc.b.getBoolAttr(false)
              : (Attribute)nc.b.getFloatAttr(
                    mt.getElementType(), -std::numeric_limits<double>::infinity());
      Value pad = nc.constant(DenseElementsAttr::get(padType, fill));
      SmallVector<int64_t> full(mt.getShape());
      full.back() = total;
      mask = ConcatOp::create(nc.b, nc.loc, mt.clone(full),
                              ValueRange{mask, pad},
                              nc.b.getI64IntegerAttr(mt.getRank() - 1));
    }
  }

  MaskKind kind = nc.getInt("is_causal", 0) ? MaskKind::Causal : MaskKind::None;

  // nonpad_kv_seqlen: batch entry b has that many valid keys.
  Value lengths = nc.input(6);
  if (lengths) {
    RankedTensorType lt = nc.typeOf(lengths);
    if (!isa<IntegerType>(lt.getElementType()) || lt.getRank() != 1 ||
        lt.getDimSize(0) != b)
      return nc.error("nonpad_kv_seqlen must be " + Twine(b) +
                      " integers, one per batch entry");
    // Without a cache, ONNX revisions disagree on where causal queries sit
    // (top-left in opset 24's function body, nonpad_kv_seqlen[b] - S in the
    // later reference); Kiln would silently pick one.
    if (kind == MaskKind::Causal && !pastK)
      return nc.error("is_causal with nonpad_kv_seqlen and no past_key is "
                      "not supported by Kiln (ONNX revisions place the "
                      "queries differently)");
    lengths = nc.cast(lengths, nc.b.getI64Type());
  }

  auto ty = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, elt);
  };
  auto op = AttentionOp::create(
      nc.b, nc.loc, ty({b, hq, s, dv}), ty({b, hkv, total, d}),
      ty({b, hkv, total, dv}),
      stage ? (Type)ty({b, hq, s, total}) : Type(), q, k, v, mask, pastK,
      pastV, /*global_indices=*/Value(), lengths, /*query_start=*/Value(),
      nc.b.getF32FloatAttr(scale), nc.b.getF32FloatAttr(softcap),
      stage ? ScoreStageAttr::get(nc.b.getContext(), *stage)
            : ScoreStageAttr(),
      MaskKindAttr::get(nc.b.getContext(), kind),
      nc.b.getI64IntegerAttr(-1), nc.b.getI64IntegerAttr(-1),
      nc.b.getI64IntegerAttr(0), nc.b.getI64IntegerAttr(0),
      DenseBoolArrayAttr());
  Value y = op.getOutput();
  if (packed) // [B, H, S, Dv] -> [B, S, H*Dv]
    y = nc.reshape(nc.transpose(y, {0, 2, 1, 3}), {b, s, hq * dv});
  SmallVector<Value> results = {y, op.getPresentKey(), op.getPresentValue()};
  if (stage) // [B, Hq, S, L] for 3-D inputs too
    results.push_back(op.getScores());
  return nc.setResults(results);
}

/// RMSNormalization (opset 23): X / sqrt(mean(X^2) + epsilon) * scale over
/// [axis, rank); statistics in f32 unless stash_type says otherwise.
LogicalResult rmsNormOp(NodeContext &nc) {
  Value x = nc.input(0), scale = nc.input(1);
  if (!x || !scale)
    return nc.error("expects X and scale");
  RankedTensorType t = nc.typeOf(x);
  if (!isa<FloatType>(t.getElementType()))
    return nc.error("expects a floating-point input");
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", -1), t.getRank());
  if (failed(axis))
    return failure();
  int stash = nc.getInt("stash_type", 1);
  Type stashType = elementTypeFor(nc.b.getContext(), stash);
  if (!stashType || !isa<FloatType>(stashType))
    return nc.unsupported("stash_type", onnxTypeName(stash));
  Value xs = nc.cast(x, stashType);
  Value ss = nc.cast(scale, stashType);
  Value y = RmsNormOp::create(nc.b, nc.loc, nc.typeOf(xs), xs, ss,
                              nc.b.getI64IntegerAttr(*axis),
                              nc.b.getF32FloatAttr(nc.getFloat("epsilon", 1e-5f)));
  return nc.setResult(nc.cast(y, t.getElementType()));
}

/// RotaryEmbedding (opset 23) as kiln.rope on [B, H, S, D].
LogicalResult rotaryEmbeddingOp(NodeContext &nc) {
  Value x = nc.input(0), cos = nc.input(1), sin = nc.input(2);
  if (!x || !cos || !sin)
    return nc.error("expects X, cos_cache and sin_cache");
  RankedTensorType t = nc.typeOf(x);
  if (!isa<FloatType>(t.getElementType()))
    return nc.error("expects a floating-point input");
  bool packed = t.getRank() == 3;
  if (packed) {
    int64_t heads = nc.getInt("num_heads", 0);
    if (heads <= 0 || t.getDimSize(2) % heads)
      return nc.error("3-D input needs a num_heads attribute that divides "
                      "the hidden size");
    x = nc.splitHeads(x, heads);
  } else if (t.getRank() != 4) {
    return nc.error("X must be 3-D or 4-D");
  }
  Value positions = nc.input(3);
  int64_t dim = nc.getInt("rotary_embedding_dim", 0);
  RankedTensorType x4 = nc.typeOf(x);
  if (dim < 0 || dim > x4.getDimSize(3) || dim % 2)
    return nc.unsupported("rotary_embedding_dim", Twine(dim));
  Value r = RopeOp::create(nc.b, nc.loc, x4, x, nc.cast(cos, t.getElementType()),
                           nc.cast(sin, t.getElementType()), positions,
                           nc.b.getBoolAttr(nc.getInt("interleaved", 0) != 0),
                           nc.b.getI64IntegerAttr(dim));
  if (packed)
    r = nc.reshape(nc.transpose(r, {0, 2, 1, 3}), t.getShape());
  return nc.setResult(r);
}

/// TensorScatter (opset 24), the ONNX KV-cache update.
LogicalResult tensorScatterOp(NodeContext &nc) {
  Value cache = nc.input(0), update = nc.input(1), positions = nc.input(2);
  if (!cache || !update)
    return nc.error("expects past_cache and update");
  RankedTensorType t = nc.typeOf(cache);
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", -2), t.getRank());
  if (failed(axis))
    return failure();
  if (*axis == 0)
    return nc.error("axis must not be the batch dimension");
  std::string mode = nc.getString("mode", "linear");
  if (mode != "linear" && mode != "circular")
    return nc.unsupported("mode", "'" + mode + "'");
  if (!positions) // no write_indices: every batch entry writes from 0
    positions = nc.constant(DenseElementsAttr::get(
        RankedTensorType::get({t.getDimSize(0)}, nc.b.getI64Type()),
        (int64_t)0));
  positions = nc.cast(positions, nc.b.getI64Type());
  return nc.setResult(KVCacheUpdateOp::create(
      nc.b, nc.loc, t, cache, update, positions, nc.b.getI64IntegerAttr(*axis),
      nc.b.getBoolAttr(mode == "circular")));
}

/// CausalConvWithState (opset 27): a depthwise causal 1-D convolution that
/// carries its last K - 1 inputs between calls, as its function body: the
/// input [N, C, L] after past_state [N, C, K - 1] (zeros without one), a
/// kiln.conv of groups C with weight [C, 1, K] and bias, then the
/// activation (silu / swish: x * sigmoid(x), in f32 for narrower types);
/// present_state is the last K - 1 steps of that padded input.
LogicalResult causalConvWithStateOp(NodeContext &nc) {
  Value x = nc.input(0), weight = nc.input(1), bias = nc.input(2),
        past = nc.input(3);
  if (!x || !weight)
    return nc.error("expects input and weight");
  std::string activation = nc.getString("activation", "none");
  if (activation != "none" && activation != "silu" && activation != "swish")
    return nc.unsupported("activation", "'" + activation + "'",
                          "'none', 'silu', 'swish'");
  RankedTensorType xt = nc.typeOf(x), wt = nc.typeOf(weight);
  if (!isa<FloatType>(xt.getElementType()) || xt.getRank() != 3 ||
      !xt.hasStaticShape() || !wt.hasStaticShape())
    return nc.error("expects a floating-point input [N, C, L] of static "
                    "shape");
  int64_t n = xt.getDimSize(0), c = xt.getDimSize(1), l = xt.getDimSize(2);
  if (wt.getRank() != 3 || wt.getDimSize(0) != c || wt.getDimSize(1) != 1 ||
      wt.getDimSize(2) < 1)
    return nc.error("expects a weight [C, 1, K] for C = " + Twine(c));
  int64_t k = wt.getDimSize(2);
  auto stateType = xt.clone({n, c, k - 1});
  if (past && nc.typeOf(past) != stateType)
    return nc.error("expects a past_state [N, C, K - 1] of the input's type");
  if (!past)
    past = nc.constant(DenseElementsAttr::get(
        stateType, nc.b.getFloatAttr(xt.getElementType(), 0.0)));
  Value padded = ConcatOp::create(nc.b, nc.loc, xt.clone({n, c, l + k - 1}),
                                  ValueRange{past, x},
                                  nc.b.getI64IntegerAttr(2));
  Value y = ConvOp::create(nc.b, nc.loc, xt, padded, weight, bias,
                           nc.b.getDenseI64ArrayAttr({1}),
                           nc.b.getDenseI64ArrayAttr({1}),
                           nc.b.getDenseI64ArrayAttr({0, 0}),
                           nc.b.getI64IntegerAttr(c));
  if (activation != "none") {
    Value wide = nc.cast(y, nc.b.getF32Type());
    y = nc.cast(nc.unary<SiluOp>(wide), xt.getElementType());
  }
  nc.setOutput(0, y);
  if (nc.hasOutput(1)) {
    SmallVector<int64_t> last = llvm::to_vector(llvm::seq<int64_t>(l, l + k - 1));
    nc.setOutput(1, nc.b.createOrFold<GatherOp>(
                        nc.loc, stateType, padded,
                        nc.i64Constant(last, {k - 1}),
                        nc.b.getI64IntegerAttr(2)));
  }
  return success();
}

/// LinearAttention's update_rule: how S_t follows from S_{t-1}.
enum class LinearRule { Linear, Gated, Delta, GatedDelta };

/// The most steps LinearAttention's recurrence is unrolled over (a dozen
/// small ops each); a longer sequence is refused rather than compiled slowly.
constexpr int64_t kMaxLinearAttentionSteps = 256;

/// LinearAttention's operands in f32 (as its function body computes),
/// heads split out with time still axis 1: q [B, T, Hkv, G, dk] (query
/// head h reads the state of kv head h / G), k [B, T, Hkv, dk],
/// v [B, T, Hkv, dv], the gate exp(decay) [B, T, Hkv, dk or 1] and beta
/// [B, T, Hkv or 1] where the rule uses them, and the running state
/// [B, Hkv, dk, dv].
struct LinearAttentionOperands {
  int64_t batch, steps, qHeads, kvHeads, dk, dv;
  Value q, k, v, gate, beta, state;
};

/// Input `i` of LinearAttention, [B, T, width] of the query's element type
/// for one of `widths`, reshaped to [B, T, width / inner, inner] (or
/// [B, T, width] for inner = 0); failure after an error naming `what`.
FailureOr<Value> linearAttentionInput(NodeContext &nc, size_t i, StringRef what,
                                      int64_t b, int64_t t,
                                      ArrayRef<int64_t> widths, int64_t inner) {
  Value x = nc.input(i);
  RankedTensorType xt = nc.typeOf(x);
  std::string expected;
  for (int64_t w : widths)
    expected +=
        (expected.empty() ? "" : " or ") +
        ("[" + Twine(b) + ", " + Twine(t) + ", " + Twine(w) + "]").str();
  if (xt.getElementType() != nc.inputType(0).getElementType() ||
      xt.getShape().size() != 3 || xt.getDimSize(0) != b ||
      xt.getDimSize(1) != t || !llvm::is_contained(widths, xt.getDimSize(2)))
    return nc.error(what + " must be " + expected + " of the query's type");
  Value wide = nc.cast(x, nc.b.getF32Type());
  int64_t width = xt.getDimSize(2);
  if (inner == 0)
    return wide;
  return nc.reshape(wide, {b, t, width / inner, inner});
}

/// Checks LinearAttention's inputs and attributes and prepares them.
FailureOr<LinearAttentionOperands> linearAttentionOperands(NodeContext &nc,
                                                           LinearRule rule) {
  Value q = nc.input(0), k = nc.input(1), v = nc.input(2);
  if (!q || !k || !v)
    return nc.error("expects query, key and value");
  int64_t hq, hkv;
  if (failed(nc.headCounts("q_num_heads", "kv_num_heads", hq, hkv)))
    return failure();
  RankedTensorType qt = nc.typeOf(q);
  if (!isa<FloatType>(qt.getElementType()) || qt.getRank() != 3 ||
      !qt.hasStaticShape())
    return nc.error("expects a floating-point query [B, T, q_num_heads * d_k] "
                    "of static shape");
  int64_t b = qt.getDimSize(0), t = qt.getDimSize(1);
  if (t < 1 || t > kMaxLinearAttentionSteps)
    return nc.error("a sequence of " + Twine(t) +
                    " steps is not supported (the recurrence is unrolled, "
                    "over 1 to " +
                    Twine(kMaxLinearAttentionSteps) + " steps)");
  if (qt.getDimSize(2) % hq)
    return nc.error("query's last dimension (" + Twine(qt.getDimSize(2)) +
                    ") is not a multiple of q_num_heads (" + Twine(hq) + ")");
  int64_t dk = qt.getDimSize(2) / hq;
  RankedTensorType vt = nc.typeOf(v);
  if (vt.getRank() != 3 || vt.getDimSize(2) <= 0 || vt.getDimSize(2) % hkv)
    return nc.error("value must be [B, T, kv_num_heads * d_v]");
  int64_t dv = vt.getDimSize(2) / hkv;

  LinearAttentionOperands ops{b, t, hq, hkv, dk, dv, {}, {}, {}, {}, {}, {}};
  ops.q = nc.reshape(nc.cast(q, nc.b.getF32Type()), {b, t, hkv, hq / hkv, dk});
  FailureOr<Value> key =
      linearAttentionInput(nc, 1, "key", b, t, {hkv * dk}, dk);
  FailureOr<Value> value =
      linearAttentionInput(nc, 2, "value", b, t, {hkv * dv}, dv);
  if (failed(key) || failed(value))
    return failure();
  ops.k = *key;
  ops.v = *value;
  bool gated = rule == LinearRule::Gated || rule == LinearRule::GatedDelta;
  bool delta = rule == LinearRule::Delta || rule == LinearRule::GatedDelta;
  if ((gated && !nc.input(4)) || (delta && !nc.input(5)))
    return nc.error(
        "update_rule '" + nc.getString("update_rule", "gated_delta") +
        "' needs the " + (gated && !nc.input(4) ? "decay" : "beta") + " input");
  if (gated) {
    // Per channel [B, T, Hkv * dk] or per head [B, T, Hkv].
    bool perChannel = nc.typeOf(nc.input(4)).getRank() == 3 &&
                      nc.typeOf(nc.input(4)).getDimSize(2) == hkv * dk;
    FailureOr<Value> decay = linearAttentionInput(
        nc, 4, "decay", b, t, {hkv * dk, hkv}, perChannel ? dk : 1);
    if (failed(decay))
      return failure();
    ops.gate = nc.unary<ExpOp>(*decay);
  }
  if (delta) {
    FailureOr<Value> beta =
        linearAttentionInput(nc, 5, "beta", b, t, {hkv, 1}, 0);
    if (failed(beta))
      return failure();
    ops.beta = *beta;
  }
  auto stateType = RankedTensorType::get({b, hkv, dk, dv}, qt.getElementType());
  if (Value past = nc.input(3)) {
    if (nc.typeOf(past) != stateType)
      return nc.error("past_state must be [B, kv_num_heads, d_k, d_v] of the "
                      "query's type");
    ops.state = nc.cast(past, nc.b.getF32Type());
  } else {
    ops.state = nc.constant(DenseElementsAttr::get(
        stateType.clone(nc.b.getF32Type()), nc.b.getF32FloatAttr(0.0f)));
  }
  return ops;
}

/// Time step `t` of `x` [B, T, ...], reshaped to `shape`.
Value linearAttentionStepOf(NodeContext &nc, Value x, int64_t t,
                            ArrayRef<int64_t> shape) {
  RankedTensorType xt = nc.typeOf(x);
  SmallVector<int64_t> sliceShape(xt.getShape());
  sliceShape[1] = 1;
  SmallVector<int64_t> starts(xt.getRank(), 0), steps(xt.getRank(), 1);
  starts[1] = t;
  Value step = nc.b.createOrFold<SliceOp>(nc.loc, xt.clone(sliceShape), x,
                                          nc.b.getDenseI64ArrayAttr(starts),
                                          nc.b.getDenseI64ArrayAttr(steps));
  return nc.reshape(step, shape);
}

/// One step of the recurrence: updates ops.state to S_t and returns
/// q_t^T S_t [B, 1, Hq * dv], unscaled.
///   gate:   S = exp(g_t) * S
///   delta:  v_t = beta_t * (v_t - S^T k_t)
///   update: S = S + k_t (x) v_t
Value linearAttentionStep(NodeContext &nc, LinearAttentionOperands &ops,
                          int64_t t) {
  int64_t b = ops.batch, hkv = ops.kvHeads, dk = ops.dk, dv = ops.dv;
  Value s = ops.state;
  if (ops.gate) {
    int64_t width = nc.typeOf(ops.gate).getDimSize(3);
    s = nc.binary<MulOp>(
        s, linearAttentionStepOf(nc, ops.gate, t, {b, hkv, width, 1}));
  }
  Value kColumn = linearAttentionStepOf(nc, ops.k, t, {b, hkv, dk, 1});
  Value vRow = linearAttentionStepOf(nc, ops.v, t, {b, hkv, 1, dv});
  if (ops.beta) {
    Value kRow = nc.reshape(kColumn, {b, hkv, 1, dk});
    Value retrieved = numpyMatmul(nc, kRow, s);
    int64_t width = nc.typeOf(ops.beta).getDimSize(2);
    Value beta = linearAttentionStepOf(nc, ops.beta, t, {b, width, 1, 1});
    vRow = nc.binary<MulOp>(beta, nc.binary<SubOp>(vRow, retrieved));
  }
  s = nc.binary<AddOp>(s, nc.binary<MulOp>(kColumn, vRow));
  ops.state = s;
  Value qStep =
      linearAttentionStepOf(nc, ops.q, t, {b, hkv, ops.qHeads / hkv, dk});
  return nc.reshape(numpyMatmul(nc, qStep, s), {b, 1, ops.qHeads * dv});
}

/// LinearAttention (opset 27): linear attention with a recurrent state
/// S [B, Hkv, dk, dv], as its function body computes it (in f32, cast to
/// the query's type at the end), the loop unrolled over the T steps:
///   linear:      S_t = S_{t-1} + k_t (x) v_t
///   gated:       S_t = exp(g_t) S_{t-1} + k_t (x) v_t
///   delta:       S_t = S_{t-1} + beta_t k_t (x) (v_t - S_{t-1}^T k_t)
///   gated_delta: the delta rule on exp(g_t) S_{t-1}
/// and o_t = scale * q_t^T S_t (scale defaults to 1 / sqrt(dk)); each
/// query head reads the state of its group's kv head. present_state is S_T.
LogicalResult linearAttentionOp(NodeContext &nc) {
  FailureOr<LinearRule> rule =
      nc.getChoice<LinearRule>("update_rule", "gated_delta",
                               {{"linear", LinearRule::Linear},
                                {"gated", LinearRule::Gated},
                                {"delta", LinearRule::Delta},
                                {"gated_delta", LinearRule::GatedDelta}});
  if (failed(rule))
    return failure();
  FailureOr<LinearAttentionOperands> ops = linearAttentionOperands(nc, *rule);
  if (failed(ops))
    return failure();
  SmallVector<Value> outputs;
  for (int64_t t = 0; t < ops->steps; ++t)
    outputs.push_back(linearAttentionStep(nc, *ops, t));
  if (llvm::is_contained(outputs, Value()))
    return failure();
  Type f32 = nc.b.getF32Type();
  Value out = outputs.front();
  if (outputs.size() > 1)
    out = ConcatOp::create(
        nc.b, nc.loc,
        RankedTensorType::get({ops->batch, ops->steps, ops->qHeads * ops->dv},
                              f32),
        outputs, nc.b.getI64IntegerAttr(1));
  double scale = nc.attr("scale") ? nc.getFloat("scale", 1.0f)
                                  : 1.0 / std::sqrt((double)ops->dk);
  out = nc.binary<MulOp>(out, nc.scalar(f32, scale));
  Type elt = nc.inputType(0).getElementType();
  return nc.setResults({nc.cast(out, elt), nc.cast(ops->state, elt)});
}

/// A FlexAttention modifier (score_mod, prob_mod) applied to `x`: its
/// graph attribute imported on x, or x without one; null after an error.
Value flexModifier(NodeContext &nc, StringRef name, Value x) {
  const onnx::AttributeProto *a = nc.attr(name);
  if (!a)
    return x;
  if (!a->has_g() || a->g().input_size() != 1 || a->g().output_size() != 1) {
    (void)nc.error(name + " must be a graph of one input and one output");
    return nullptr;
  }
  FailureOr<SmallVector<Value>> out = nc.importSubgraph(a->g(), x);
  if (failed(out))
    return nullptr;
  if (out->front().getType() != x.getType()) {
    (void)nc.error(name + " must keep its input's type");
    return nullptr;
  }
  return out->front();
}

/// FlexAttention (ai.onnx.preview, version 1): softmax((Q @ K^T) * scale)
/// @ V on [B, H, L, E] inputs, with score_mod applied to the scores and
/// prob_mod to the probabilities (graph attributes, imported on the whole
/// [B, Hq, L, S] tensor). Scores and probabilities are f32 (f64 for f64
/// inputs), as the function body computes them. With fewer K/V heads,
/// query head h reads K/V head h / (Hq / Hkv): the query heads of a group
/// are rows of one matmul ([B, Hkv, G * L, E]).
LogicalResult flexAttentionOp(NodeContext &nc) {
  Value q = nc.input(0), k = nc.input(1), v = nc.input(2);
  if (!q || !k || !v)
    return nc.error("expects Q, K and V");
  RankedTensorType qt = nc.typeOf(q), kt = nc.typeOf(k), vt = nc.typeOf(v);
  Type elt = qt.getElementType();
  if (!isa<FloatType>(elt) || kt.getElementType() != elt ||
      vt.getElementType() != elt || qt.getRank() != 4 || kt.getRank() != 4 ||
      vt.getRank() != 4 || !qt.hasStaticShape() || !kt.hasStaticShape() ||
      !vt.hasStaticShape())
    return nc.error("expects Q, K and V of rank 4, one floating-point type "
                    "and static shapes");
  int64_t b = qt.getDimSize(0), hq = qt.getDimSize(1), l = qt.getDimSize(2),
          e = qt.getDimSize(3);
  int64_t hkv = kt.getDimSize(1), s = kt.getDimSize(2), ev = vt.getDimSize(3);
  if (kt.getDimSize(0) != b || kt.getDimSize(3) != e ||
      vt.getShape().take_front(3) != kt.getShape().take_front(3))
    return nc.error("expects K [B, Hkv, S, E] and V [B, Hkv, S, Ev] for Q "
                    "[B, Hq, L, E]");
  if (hkv == 0 || hq % hkv)
    return nc.error("query heads (" + Twine(hq) +
                    ") must be a multiple of key/value heads (" + Twine(hkv) +
                    ")");
  int64_t group = hq / hkv;
  Type compute = elt.isF64() ? elt : nc.b.getF32Type();
  double scale = nc.attr("scale") ? nc.getFloat("scale", 1.0f)
                                  : 1.0 / std::sqrt((double)e);
  Value qRows = nc.reshape(nc.cast(q, compute), {b, hkv, group * l, e});
  Value kT = nc.transpose(nc.cast(k, compute), {0, 1, 3, 2});
  Value scores = nc.reshape(numpyMatmul(nc, qRows, kT), {b, hq, l, s});
  scores = flexModifier(nc, "score_mod",
                        nc.binary<MulOp>(scores, nc.scalar(compute, scale)));
  if (!scores)
    return failure();
  Value probs =
      flexModifier(nc, "prob_mod",
                   SoftmaxOp::create(nc.b, nc.loc, nc.typeOf(scores), scores,
                                     nc.b.getI64IntegerAttr(3)));
  if (!probs)
    return failure();
  Value y = numpyMatmul(nc, nc.reshape(probs, {b, hkv, group * l, s}),
                        nc.cast(v, compute));
  return nc.setResult(nc.cast(nc.reshape(y, {b, hq, l, ev}), elt));
}

} // namespace

void kiln::onnx_import::registerTransformerHandlers(HandlerTable &t) {
#define ONNX_TRANSFORMER_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}

void kiln::onnx_import::registerPreviewHandlers(HandlerTable &t) {
#define ONNX_PREVIEW_TRANSFORMER_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
