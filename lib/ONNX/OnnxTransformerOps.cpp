//===- OnnxTransformerOps.cpp - Attention and RMSNormalization ------------===//

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

} // namespace

void kiln::onnx_import::registerTransformerHandlers(HandlerTable &t) {
#define ONNX_TRANSFORMER_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
