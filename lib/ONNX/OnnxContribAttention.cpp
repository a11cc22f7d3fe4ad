//===- OnnxContribAttention.cpp - onnxruntime GroupQueryAttention ---------===//
//
// com.microsoft GroupQueryAttention as kiln.rope + kiln.attention, with the
// semantics of onnxruntime's documentation and CPU kernel:
//
//  - query [B, S, Hq*D] and key/value [B, S, Hkv*D], or one packed QKV
//    [B, S, (Hq + 2 Hkv) * D] when key and value are absent;
//  - batch entry b holds seqlens_k[b] + 1 tokens after this step; without a
//    past (a first prompt) its queries sit at positions 0..S-1 and only its
//    first seqlens_k[b] + 1 keys count (right padding); with a past
//    [B, Hkv, P, D] its S new tokens sit at positions
//    seqlens_k[b] + 1 - S + s and are written there into the present cache,
//    whose length is max(P, total_sequence_length) (P when past and present
//    share one buffer, P + S for a growing cache);
//  - the mask is causal, with local_window_size W keeping the W most recent
//    keys (key j attends when p - W < j <= p); causal = 0 keeps them all;
//  - scores are scaled (scale, default 1/sqrt(D)), soft-capped, then the
//    optional attention_bias is added;
//  - do_rotary rotates Q and K by the cos/sin caches [max_len, R/2] at each
//    token's position (R < D rotates the first R features), interleaved
//    with rotary_interleaved.
//
// A first prompt becomes one kiln.attention with kv_seqlen = seqlens_k + 1
// and the causal or sliding-window mask kind. With a past, the positions
// depend on seqlens_k at run time: the new keys go into the cache with
// kiln.kv_cache_update and a boolean mask computed from the positions
// (never a stored tensor) says which keys each query sees; when seqlens_k is
// a constant that fills every cache, kiln.attention's own past/present and
// mask kinds are used instead. Quantized caches, smooth_softmax, head_sink,
// position_ids, q/k norms, sliding_window_cache and output_qk are refused by
// name.
//
//===----------------------------------------------------------------------===//

#include "OnnxContrib.h"

#include "mlir/IR/Matchers.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// The value of a constant integer input, if it is one.
std::optional<SmallVector<int64_t>> knownInts(NodeContext &nc, size_t i) {
  Value v = nc.input(i);
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) ||
      !isa<IntegerType>(attr.getElementType()))
    return std::nullopt;
  SmallVector<int64_t> out;
  for (APInt x : attr.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

/// Refuses inputs and attributes Kiln does not import, naming them.
LogicalResult checkGqaUnsupported(NodeContext &nc) {
  static const std::pair<size_t, const char *> inputs[] = {
      {9, "position_ids"}, {11, "head_sink"},      {12, "k_scale"},
      {13, "v_scale"},     {14, "q_norm_weight"}, {15, "k_norm_weight"}};
  for (auto [i, name] : inputs)
    if (nc.input(i))
      return nc.error(Twine("input ") + Twine(i) + " (" + name +
                      ") is not supported by Kiln");
  for (size_t i = 16; i < nc.numInputs(); ++i)
    if (nc.input(i))
      return nc.error("input " + Twine(i) + " is not supported by Kiln");
  for (const char *attr : {"smooth_softmax", "sliding_window_cache"})
    if (int64_t v = nc.getInt(attr, 0))
      return nc.unsupported(attr, Twine(v));
  if (int64_t v = nc.getInt("qk_output", 0))
    return nc.unsupported("qk_output", Twine(v));
  if (nc.hasOutput(3))
    return nc.error("output 3 (output_qk) is not supported by Kiln");
  for (const char *attr : {"k_quant_type", "v_quant_type"}) {
    std::string q = nc.getString(attr, "NONE");
    if (q != "NONE")
      return nc.unsupported(attr, "'" + q + "' (quantized KV cache)");
  }
  int64_t causal = nc.getInt("causal", 1);
  if (causal != 0 && causal != 1)
    return nc.unsupported("causal", Twine(causal));
  if (!causal && nc.getInt("local_window_size", -1) > 0)
    return nc.error("local_window_size needs causal = 1");
  return success();
}

/// What the steps of GroupQueryAttention share.
struct Gqa {
  int64_t hq = 0, hkv = 0, b = 0, s = 0, d = 0;
  /// The past length (0 without past_key) and the present length M.
  int64_t past = 0, present = 0;
  Type elt;
  /// Q, K and V as [B, heads, S, D].
  Value q, k, v;
  Value pastK, pastV, seqlens, bias;
  /// Where the new tokens go in the cache (with a past).
  Value writePos;

  RankedTensorType ty(ArrayRef<int64_t> shape) const {
    return RankedTensorType::get(shape, elt);
  }
};

/// The heads and head size, and Q, K and V split into heads (from three
/// inputs or one packed QKV).
LogicalResult gqaHeads(NodeContext &nc, Gqa &g) {
  int64_t &hq = g.hq, &hkv = g.hkv;
  if (failed(nc.headCounts("num_heads", "kv_num_heads", hq, hkv)))
    return failure();
  Value query = nc.input(0), key = nc.input(1), value = nc.input(2);
  if (!query || nc.typeOf(query).getRank() != 3 ||
      !isa<FloatType>(nc.typeOf(query).getElementType()))
    return nc.error("query must be a floating-point [batch, sequence, "
                    "hidden] tensor");
  if ((bool)key != (bool)value)
    return nc.error("key and value come together (both absent for packed "
                    "QKV)");
  RankedTensorType qt = nc.typeOf(query);
  Type elt = g.elt = qt.getElementType();
  int64_t &b = g.b, &s = g.s, &d = g.d;
  b = qt.getDimSize(0);
  s = qt.getDimSize(1);
  int64_t hidden = qt.getDimSize(2);
  if (!key) {
    // Packed QKV: [B, S, (Hq + 2 Hkv) * D].
    if (hidden % (hq + 2 * hkv))
      return nc.error("packed QKV hidden size " + Twine(hidden) +
                      " is not (num_heads + 2 * kv_num_heads) * head_size");
    d = hidden / (hq + 2 * hkv);
    auto part = [&](int64_t start, int64_t size) -> Value {
      return SliceOp::create(nc.b, nc.loc, qt.clone({b, s, size}), query,
                             nc.b.getDenseI64ArrayAttr({0, 0, start}),
                             nc.b.getDenseI64ArrayAttr({1, 1, 1}));
    };
    key = part(hq * d, hkv * d);
    value = part((hq + hkv) * d, hkv * d);
    query = part(0, hq * d);
  } else {
    if (hidden % hq)
      return nc.error("query hidden size " + Twine(hidden) +
                      " is not a multiple of num_heads");
    d = hidden / hq;
    for (Value v : {key, value}) {
      RankedTensorType t = nc.typeOf(v);
      if (t.getRank() != 3 || t.getDimSize(0) != b || t.getDimSize(1) != s ||
          t.getDimSize(2) != hkv * d || t.getElementType() != elt)
        return nc.error("key and value must be [" + Twine(b) + ", " +
                        Twine(s) + ", " + Twine(hkv * d) +
                        "] of the query's type");
    }
  }
  g.q = nc.splitHeads(query, hq);
  g.k = nc.splitHeads(key, hkv);
  g.v = nc.splitHeads(value, hkv);
  return success();
}

/// The past key and value, seqlens_k, the present length M and where the
/// new tokens are written.
LogicalResult gqaPastAndLengths(NodeContext &nc, Gqa &g) {
  // Past, lengths and the present length M.
  int64_t b = g.b, s = g.s, hkv = g.hkv, d = g.d;
  Type elt = g.elt;
  Value pastK = g.pastK = nc.input(3), pastV = g.pastV = nc.input(4);
  if ((bool)pastK != (bool)pastV)
    return nc.error("past_key and past_value come together");
  int64_t &past = g.past;
  if (pastK) {
    SmallVector<int64_t> want = {b, hkv, -1, d};
    for (Value p : {pastK, pastV}) {
      RankedTensorType t = nc.typeOf(p);
      if (t.getRank() != 4 || t.getDimSize(0) != b || t.getDimSize(1) != hkv ||
          t.getDimSize(3) != d || t.getElementType() != elt ||
          t.getDimSize(2) != nc.typeOf(pastK).getDimSize(2))
        return nc.error("past_key and past_value must be [" + Twine(b) +
                        ", " + Twine(hkv) + ", past, " + Twine(d) +
                        "] of the query's type");
    }
    past = nc.typeOf(pastK).getDimSize(2);
  }
  Value &seqlens = g.seqlens;
  seqlens = nc.input(5);
  if (!seqlens || !isa<IntegerType>(nc.typeOf(seqlens).getElementType()) ||
      nc.typeOf(seqlens).getNumElements() != b)
    return nc.error("seqlens_k must hold one integer per batch entry (" +
                    Twine(b) + ")");
  seqlens = nc.reshape(nc.cast(seqlens, nc.b.getI64Type()), {b});
  std::optional<SmallVector<int64_t>> total = knownInts(nc, 6);
  if (total && total->size() != 1)
    return nc.error("total_sequence_length must hold one value");
  int64_t &present = g.present;
  present = past ? past + s : s;
  if (total) {
    int64_t t = (*total)[0];
    if (!past && t != s)
      return nc.error("total_sequence_length (" + Twine(t) +
                      ") differs from the sequence length (" + Twine(s) +
                      ") without past_key: Kiln imports a first prompt or a "
                      "step with a past");
    if (past)
      present = std::max(past, t);
    if (t < s)
      return nc.error("total_sequence_length (" + Twine(t) +
                      ") is shorter than the sequence length (" + Twine(s) +
                      ")");
  }

  // Where the new tokens go: position seqlens_k + 1 - S + s with a past.
  g.writePos =
      past ? nc.binary<AddOp>(seqlens, nc.i64Constant({1 - s}, {})) : Value();
  return success();
}

/// Rotary embedding of Q and K at the tokens' positions.
LogicalResult gqaRotary(NodeContext &nc, Gqa &g) {
  // Rotary embedding of Q and K at the tokens' positions.
  int64_t b = g.b, s = g.s, d = g.d;
  Type elt = g.elt;
  if (nc.getInt("do_rotary", 0)) {
    Value cos = nc.input(7), sin = nc.input(8);
    if (!cos || !sin)
      return nc.error("do_rotary needs cos_cache and sin_cache");
    RankedTensorType ct = nc.typeOf(cos);
    if (ct.getRank() != 2 || nc.typeOf(sin).getShape() != ct.getShape())
      return nc.error("cos_cache and sin_cache must both be [max_length, "
                      "rotary_dim / 2]");
    int64_t rot = 2 * ct.getDimSize(1);
    if (rot <= 0 || rot > d)
      return nc.error("cos_cache's " + Twine(ct.getDimSize(1)) +
                      " columns rotate more than head_size " + Twine(d) +
                      " features");
    SmallVector<int64_t> steps;
    for (int64_t i = 0; i < s; ++i)
      steps.push_back(i);
    Value positions = nc.i64Constant(steps, {1, s});
    if (g.past)
      positions = nc.binary<AddOp>(nc.reshape(g.writePos, {b, 1}), positions);
    else
      positions = BroadcastOp::create(
          nc.b, nc.loc, RankedTensorType::get({b, s}, nc.b.getI64Type()),
          positions);
    bool interleaved = nc.getInt("rotary_interleaved", 0) != 0;
    auto rope = [&](Value x) -> Value {
      return RopeOp::create(nc.b, nc.loc, nc.typeOf(x), x, nc.cast(cos, elt),
                            nc.cast(sin, elt), positions,
                            nc.b.getBoolAttr(interleaved),
                            nc.b.getI64IntegerAttr(rot == d ? 0 : rot));
    };
    g.q = rope(g.q);
    g.k = rope(g.k);
  } else if (nc.input(7) || nc.input(8)) {
    return nc.error("cos_cache and sin_cache need do_rotary = 1");
  }
  return success();
}

/// The optional attention_bias, checked against the present length.
LogicalResult gqaBias(NodeContext &nc, Gqa &g) {
  Value bias = g.bias = nc.input(10);
  if (bias) {
    int64_t b = g.b, s = g.s, present = g.present;
    RankedTensorType bt = nc.typeOf(bias);
    if (bt.getRank() != 4 || bt.getElementType() != g.elt ||
        (bt.getDimSize(0) != 1 && bt.getDimSize(0) != b) ||
        (bt.getDimSize(1) != 1 && bt.getDimSize(1) != g.hq) ||
        bt.getDimSize(2) != s || bt.getDimSize(3) != present)
      return nc.error("attention_bias must be [batch or 1, num_heads or 1, " +
                      Twine(s) + ", " + Twine(present) +
                      "] (the present length) of the query's type");
  }
  return success();
}

/// Attention over the updated cache with an explicit mask, for a past that
/// batch entries fill to different lengths: the cache, grown to M if it is
/// shorter, receives the new keys and values at seqlens_k + 1 - S.
Value gqaRaggedPast(NodeContext &nc, Gqa &g, bool causal, int64_t window,
                    llvm::function_ref<AttentionOp(Value, Value, Value)> attend,
                    Value &presentK, Value &presentV) {
  int64_t b = g.b, s = g.s, hkv = g.hkv, d = g.d, past = g.past,
          present = g.present;
  Type elt = g.elt;
  Value seqlens = g.seqlens, writePos = g.writePos, bias = g.bias;
  auto ty = [&](ArrayRef<int64_t> shape) { return g.ty(shape); };
  // The cache, grown to M if it is shorter, receives the new keys and
  // values at seqlens_k + 1 - S.
  auto update = [&](Value cache, Value x) -> Value {
    if (present > past) {
      Value zeros = nc.constant(DenseElementsAttr::get(
          ty({b, hkv, present - past, d}), nc.b.getZeroAttr(elt)));
      cache =
          ConcatOp::create(nc.b, nc.loc, ty({b, hkv, present, d}),
                           ValueRange{cache, zeros}, nc.b.getI64IntegerAttr(2));
    }
    return KVCacheUpdateOp::create(nc.b, nc.loc, nc.typeOf(cache), cache, x,
                                   writePos, nc.b.getI64IntegerAttr(2),
                                   nc.b.getBoolAttr(false));
  };
  presentK = update(g.pastK, g.k);
  presentV = update(g.pastV, g.v);
  // Query s of batch b sits at p = writePos[b] + s; key j is kept when
  // j <= p (and p - W < j with a window), or j <= seqlens_k[b] when not
  // causal.
  SmallVector<int64_t> rows, cols;
  for (int64_t i = 0; i < s; ++i)
    rows.push_back(i);
  for (int64_t j = 0; j < present; ++j)
    cols.push_back(j);
  Value p = nc.binary<AddOp>(nc.reshape(writePos, {b, 1, 1, 1}),
                             nc.i64Constant(rows, {1, 1, s, 1}));
  Value j = nc.i64Constant(cols, {1, 1, 1, present});
  Value allowed;
  if (!causal) {
    allowed =
        nc.compare(CompareDirection::LE, j, nc.reshape(seqlens, {b, 1, 1, 1}));
    allowed = BroadcastOp::create(
        nc.b, nc.loc,
        RankedTensorType::get({b, 1, s, present}, nc.b.getI1Type()), allowed);
  } else {
    allowed = nc.compare(CompareDirection::LE, j, p);
    if (window > 0)
      allowed = nc.binary<AndOp>(
          allowed,
          nc.compare(CompareDirection::GT, j,
                     nc.binary<SubOp>(p, nc.i64Constant({window}, {}))));
  }
  Value mask = allowed;
  if (bias) {
    Value ninf = nc.scalar(elt, -std::numeric_limits<double>::infinity());
    RankedTensorType mt = nc.broadcastType(allowed, bias, nc.typeOf(bias));
    mask = SelectOp::create(nc.b, nc.loc, mt, allowed, bias, ninf);
  }
  return attend(presentK, presentV, mask).getOutput();
}

/// GroupQueryAttention; see the file comment.
LogicalResult groupQueryAttentionOp(NodeContext &nc) {
  Gqa g;
  if (failed(checkGqaUnsupported(nc)) || failed(gqaHeads(nc, g)) ||
      failed(gqaPastAndLengths(nc, g)) || failed(gqaRotary(nc, g)))
    return failure();
  int64_t b = g.b, s = g.s, hq = g.hq, hkv = g.hkv, d = g.d;
  float scale = nc.getFloat("scale", 0.0f);
  if (scale == 0.0f)
    scale = 1.0f / std::sqrt((float)d);
  float softcap = nc.getFloat("softcap", 0.0f);
  if (softcap < 0)
    return nc.unsupported("softcap", std::to_string(softcap));
  bool causal = nc.getInt("causal", 1) != 0;
  int64_t window = nc.getInt("local_window_size", -1);
  if (failed(gqaBias(nc, g)))
    return failure();

  // A first prompt, or a past that every batch entry fills (known only when
  // seqlens_k is a constant): kiln.attention's own cache and mask kinds.
  bool uniform = !g.past;
  if (g.past && g.present == g.past + s)
    if (std::optional<SmallVector<int64_t>> lens = knownInts(nc, 5))
      uniform =
          llvm::all_of(*lens, [&](int64_t l) { return l + 1 == g.present; });
  auto attention = [&](Value key4, Value value4, Value mask, Value pk,
                       Value pv, Value lens, MaskKind kind, int64_t left) {
    int64_t len = nc.typeOf(key4).getDimSize(2) +
                  (pk ? nc.typeOf(pk).getDimSize(2) : 0);
    return AttentionOp::create(
        nc.b, nc.loc, g.ty({b, hq, s, d}), g.ty({b, hkv, len, d}),
        g.ty({b, hkv, len, d}), Type(), g.q, key4, value4, mask, pk, pv,
        /*global_indices=*/Value(), lens, /*query_start=*/Value(),
        nc.b.getF32FloatAttr(scale),
        nc.b.getF32FloatAttr(softcap), ScoreStageAttr(),
        MaskKindAttr::get(nc.b.getContext(), kind),
        nc.b.getI64IntegerAttr(left), nc.b.getI64IntegerAttr(left < 0 ? -1 : 0),
        nc.b.getI64IntegerAttr(0), nc.b.getI64IntegerAttr(0),
        DenseBoolArrayAttr());
  };
  Value out, presentK, presentV;
  if (uniform) {
    MaskKind kind = !causal ? MaskKind::None
                    : window > 0 ? MaskKind::SlidingWindow
                                 : MaskKind::Causal;
    // The valid lengths matter for a right-padded first prompt.
    Value lens =
        g.past ? Value() : nc.binary<AddOp>(g.seqlens, nc.i64Constant({1}, {}));
    auto op = attention(g.k, g.v, g.bias, g.pastK, g.pastV, lens, kind,
                        kind == MaskKind::SlidingWindow ? window - 1 : -1);
    out = op.getOutput();
    presentK = op.getPresentKey();
    presentV = op.getPresentValue();
  } else {
    out = gqaRaggedPast(
        nc, g, causal, window,
        [&](Value key4, Value value4, Value mask) {
          return attention(key4, value4, mask, Value(), Value(), Value(),
                           MaskKind::None, -1);
        },
        presentK, presentV);
  }
  // [B, Hq, S, D] -> [B, S, Hq * D].
  return nc.setResults(
      {nc.reshape(nc.transpose(out, {0, 2, 1, 3}), {b, s, hq * d}), presentK,
       presentV});
}

} // namespace

void kiln::onnx_import::registerContribAttentionHandlers(HandlerTable &t) {
#define MS_CONTRIB_ATTENTION_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
