//===- OnnxTransformerOps.cpp - Attention and RMSNormalization ------------===//

#include "NodeContext.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// [B, S, H*D] -> [B, H, S, D].
Value splitHeads(NodeContext &nc, Value x, int64_t heads) {
  RankedTensorType t = nc.typeOf(x);
  int64_t b = t.getDimSize(0), s = t.getDimSize(1), hd = t.getDimSize(2);
  Value r = nc.reshape(x, {b, s, heads, hd / heads});
  return nc.transpose(r, {0, 2, 1, 3});
}

/// ONNX Attention (opsets 23 and 24) as kiln.attention.
LogicalResult attentionOp(NodeContext &nc) {
  Value q = nc.input(0), k = nc.input(1), v = nc.input(2);
  if (!q || !k || !v)
    return nc.error("expects Q, K and V");
  if (nc.input(6))
    return nc.error("the nonpad_kv_seqlen input is not supported by Kiln");
  if (nc.hasOutput(3))
    return nc.unsupported("qk_matmul_output (output 3) with "
                          "qk_matmul_output_mode",
                          Twine(nc.getInt("qk_matmul_output_mode", 0)));
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
    q = splitHeads(nc, q, hq);
    k = splitHeads(nc, k, hkv);
    v = splitHeads(nc, v, hkv);
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
  auto ty = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, elt);
  };
  auto op = AttentionOp::create(
      nc.b, nc.loc, ty({b, hq, s, dv}), ty({b, hkv, total, d}),
      ty({b, hkv, total, dv}), /*scores=*/Type(), q, k, v, mask, pastK,
      pastV, /*global_indices=*/Value(), /*kv_seqlen=*/Value(),
      nc.b.getF32FloatAttr(scale), nc.b.getF32FloatAttr(softcap),
      /*score_stage=*/ScoreStageAttr(),
      MaskKindAttr::get(nc.b.getContext(), kind),
      nc.b.getI64IntegerAttr(-1), nc.b.getI64IntegerAttr(-1),
      nc.b.getI64IntegerAttr(0), nc.b.getI64IntegerAttr(0),
      DenseBoolArrayAttr());
  Value y = op.getOutput();
  if (packed) // [B, H, S, Dv] -> [B, S, H*Dv]
    y = nc.reshape(nc.transpose(y, {0, 2, 1, 3}), {b, s, hq * dv});
  nc.setOutput(0, y);
  nc.setOutput(1, op.getPresentKey());
  nc.setOutput(2, op.getPresentValue());
  return success();
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
  nc.setOutput(0, nc.cast(y, t.getElementType()));
  return success();
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
    x = splitHeads(nc, x, heads);
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
  nc.setOutput(0, r);
  return success();
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
  nc.setOutput(0, KVCacheUpdateOp::create(
                      nc.b, nc.loc, t, cache, update, positions,
                      nc.b.getI64IntegerAttr(*axis),
                      nc.b.getBoolAttr(mode == "circular")));
  return success();
}

} // namespace

void kiln::onnx_import::registerTransformerHandlers(HandlerTable &t) {
  t["Attention"] = attentionOp;
  t["RMSNormalization"] = rmsNormOp;
  t["RotaryEmbedding"] = rotaryEmbeddingOp;
  t["TensorScatter"] = tensorScatterOp;
}
