//===- KilnTransformerOps.cpp - Verifiers of attention, norms, rotary -----===//

#include "kiln/dialects/Kiln/KilnOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace kiln;

/// Checks the mask attributes against a key length `keys`.
/// An optional per-batch operand `v` (kv_seqlen, query_start) holds one
/// `what` per batch entry: it is [batch].
static LogicalResult verifyPerBatch(Operation *op, Value v, StringRef name,
                                    StringRef what, int64_t batch) {
  if (!v)
    return success();
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getRank() == 1 && type.getDimSize(0) == batch)
    return success();
  return op->emitOpError() << name << " must hold one " << what
                           << " per batch entry, [" << batch << "], got "
                           << shapeString(type.getShape());
}

static LogicalResult verifyMaskAttributes(Operation *op, MaskKind kind,
                                          int64_t windowLeft,
                                          int64_t windowRight,
                                          int64_t numGlobal, int64_t blockSize,
                                          std::optional<ArrayRef<bool>> layout,
                                          bool hasGlobalList, int64_t keys) {
  if (numGlobal < 0)
    return op->emitOpError("num_global_tokens must not be negative");
  if (kind == MaskKind::Hierarchical && numGlobal == 0 && !hasGlobalList)
    return op->emitOpError("a hierarchical mask needs global tokens: set "
                           "num_global_tokens or pass global indices");
  if (kind != MaskKind::Hierarchical && (numGlobal != 0 || hasGlobalList))
    return op->emitOpError("global tokens only apply to the hierarchical "
                           "mask kind");
  if (kind == MaskKind::BlockSparse) {
    if (blockSize <= 0)
      return op->emitOpError("a block_sparse mask needs a positive block_size");
    if (!layout)
      return op->emitOpError("a block_sparse mask needs a block_layout");
    int64_t n = (keys + blockSize - 1) / blockSize;
    if ((int64_t)layout->size() != n * n)
      return op->emitOpError("block_layout has ")
             << layout->size() << " entries but " << keys
             << " keys in blocks of " << blockSize << " need " << n << "x"
             << n << " = " << n * n;
  } else if (layout || blockSize != 0) {
    return op->emitOpError("block_size and block_layout only apply to the "
                           "block_sparse mask kind");
  }
  bool windowed =
      kind == MaskKind::SlidingWindow || kind == MaskKind::Hierarchical;
  if (!windowed && (windowLeft != -1 || windowRight != -1))
    return op->emitOpError("window_left and window_right only apply to the "
                           "sliding_window and hierarchical mask kinds");
  if (windowLeft < -1 || windowRight < -1)
    return op->emitOpError("window sizes must be -1 (unbounded) or more");
  return success();
}

LogicalResult AttentionOp::verify() {
  auto q = getQuery().getType(), k = getKey().getType(),
       v = getValue().getType();
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOpError("query, key and value must be [batch, heads, "
                       "sequence, head_size] tensors");
  int64_t b = q.getDimSize(0), hq = q.getDimSize(1), s = q.getDimSize(2),
          d = q.getDimSize(3);
  int64_t hkv = k.getDimSize(1), t = k.getDimSize(2), dv = v.getDimSize(3);
  if (k.getDimSize(0) != b || v.getDimSize(0) != b)
    return emitOpError("query, key and value disagree on the batch size");
  if (v.getDimSize(1) != hkv || v.getDimSize(2) != t)
    return emitOpError("key ")
           << shapeString(k.getShape()) << " and value "
           << shapeString(v.getShape())
           << " must agree on heads and sequence length";
  if (k.getDimSize(3) != d)
    return emitOpError("query head size ")
           << d << " differs from key head size " << k.getDimSize(3);
  if (hkv == 0 || hq % hkv != 0)
    return emitOpError("query heads (")
           << hq << ") must be a multiple of key/value heads (" << hkv << ")";
  Type elt = q.getElementType();
  if (k.getElementType() != elt || v.getElementType() != elt)
    return emitOpError("query, key and value must share one element type");
  int64_t past = 0;
  if ((bool)getPastKey() != (bool)getPastValue())
    return emitOpError("past_key and past_value come together");
  if (getPastKey()) {
    auto pk = getPastKey().getType(), pv = getPastValue().getType();
    past = pk.getRank() == 4 ? pk.getDimSize(2) : -1;
    SmallVector<int64_t> ek = {b, hkv, past, d}, ev = {b, hkv, past, dv};
    if (pk.getShape() != ArrayRef<int64_t>(ek) ||
        pv.getShape() != ArrayRef<int64_t>(ev))
      return emitOpError("past_key/past_value must be [")
             << b << ", " << hkv << ", P, " << d << "] and [" << b << ", "
             << hkv << ", P, " << dv << "], got "
             << shapeString(pk.getShape()) << " and "
             << shapeString(pv.getShape());
    if (pk.getElementType() != elt || pv.getElementType() != elt)
      return emitOpError("the KV cache must have the query's element type");
  }
  // The cache and the new keys together: dynamic when either is.
  int64_t total = ShapedType::isDynamic(past) || ShapedType::isDynamic(t)
                      ? ShapedType::kDynamic
                      : past + t;
  SmallVector<int64_t> eo = {b, hq, s, dv}, epk = {b, hkv, total, d},
                       epv = {b, hkv, total, dv};
  if (getOutput().getType().getShape() != ArrayRef<int64_t>(eo))
    return emitOpError("output must be ") << shapeString(eo);
  if (getPresentKey().getType().getShape() != ArrayRef<int64_t>(epk) ||
      getPresentValue().getType().getShape() != ArrayRef<int64_t>(epv))
    return emitOpError("present_key/present_value must be ")
           << shapeString(epk) << " and " << shapeString(epv);
  if (getOutput().getType().getElementType() != elt ||
      getPresentKey().getType().getElementType() != elt ||
      getPresentValue().getType().getElementType() != elt)
    return emitOpError("results must have the query's element type");
  if (getMask()) {
    auto m = cast<RankedTensorType>(getMask().getType());
    if (!m.getElementType().isInteger(1) && m.getElementType() != elt)
      return emitOpError("mask must be i1 or the query's element type, got ")
             << m.getElementType();
    SmallVector<int64_t> full = {b, hq, s, total};
    FailureOr<SmallVector<int64_t>> bc = broadcastShapes({m.getShape(), full});
    if (m.getRank() > 4 || failed(bc) || ArrayRef<int64_t>(*bc) != ArrayRef<int64_t>(full))
      return emitOpError("mask shape ")
             << shapeString(m.getShape()) << " does not broadcast to "
             << shapeString(full);
  }
  if (getSoftcap().convertToDouble() < 0)
    return emitOpError("softcap must not be negative");
  if (failed(verifyPerBatch(*this, getKvSeqlen(), "kv_seqlen", "length", b)) ||
      failed(
          verifyPerBatch(*this, getQueryStart(), "query_start", "position", b)))
    return failure();
  if (getQueryStart()) {
    if (getPastKey())
      return emitOpError("query_start and past_key exclude each other: with "
                         "query_start the keys are the whole cache");
  }
  if ((bool)getScores() != getScoreStage().has_value())
    return emitOpError(getScores() ? "a scores result needs a score_stage"
                                   : "score_stage needs a scores result");
  if (getScores()) {
    RankedTensorType st = getScores().getType();
    SmallVector<int64_t> es = {b, hq, s, total};
    if (st.getShape() != ArrayRef<int64_t>(es) || st.getElementType() != elt)
      return emitOpError("scores must be ")
             << shapeString(es) << " of the query's element type, got "
             << st;
  }
  return verifyMaskAttributes(*this, getMaskKind(), getWindowLeft(),
                              getWindowRight(), getNumGlobalTokens(),
                              getBlockSize(), getBlockLayout(),
                              (bool)getGlobalIndices(), total);
}

LogicalResult AttentionMaskOp::verify() {
  RankedTensorType t = getType();
  if (t.getRank() < 2)
    return emitOpError("input must have rank 2 or more ([..., queries, keys])");
  int64_t queries = t.getDimSize(t.getRank() - 2);
  int64_t keys = t.getDimSize(t.getRank() - 1);
  if ((int64_t)getQueryOffset() < 0)
    return emitOpError("query_offset must not be negative");
  std::pair<Value, StringRef> perBatch[] = {{getKvSeqlen(), "kv_seqlen"},
                                            {getQueryStart(), "query_start"}};
  for (auto [operand, name] : perBatch)
    if (operand && t.getRank() < 3)
      return emitOpError()
             << name << " needs a batch dimension: input must have rank 3 "
             << "or more ([batch, ..., queries, keys])";
  int64_t batch = t.getDimSize(0);
  if (failed(
          verifyPerBatch(*this, getKvSeqlen(), "kv_seqlen", "length", batch)) ||
      failed(verifyPerBatch(*this, getQueryStart(), "query_start", "position",
                            batch)))
    return failure();
  if (getQueryStart()) {
    if (getQueryOffset() != 0)
      return emitOpError("query_offset must be 0 with query_start, which "
                         "gives the positions instead");
  }
  if (getGlobalFlags()) {
    int64_t need = std::max<int64_t>(keys, (int64_t)getQueryOffset() + queries);
    auto flags = getGlobalFlags().getType();
    if (flags.getRank() != 1 || flags.getDimSize(0) < need)
      return emitOpError("global_flags must be a vector of at least ")
             << need << " positions";
  }
  return verifyMaskAttributes(*this, getMaskKind(), getWindowLeft(),
                              getWindowRight(), getNumGlobalTokens(),
                              getBlockSize(), getBlockLayout(),
                              (bool)getGlobalFlags(), keys);
}

LogicalResult RmsNormOp::verify() {
  int64_t rank = getType().getRank();
  int64_t axis = getAxis();
  if (axis < -rank || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for rank " << rank;
  if (getInput().getType() != getType())
    return emitOpError("result type must equal the input type");
  ArrayRef<int64_t> normalized =
      getType().getShape().drop_front(getNormalizedAxis());
  auto st = getScale().getType();
  FailureOr<SmallVector<int64_t>> bc =
      broadcastShapes({st.getShape(), normalized});
  if (failed(bc) || ArrayRef<int64_t>(*bc) != normalized)
    return emitOpError("scale shape ")
           << shapeString(st.getShape())
           << " does not broadcast to the normalized dimensions "
           << shapeString(normalized);
  if (st.getElementType() != getType().getElementType())
    return emitOpError("scale must have the input's element type");
  if (getEpsilon().convertToDouble() < 0)
    return emitOpError("epsilon must not be negative");
  return success();
}

LogicalResult RopeOp::verify() {
  RankedTensorType x = getInput().getType();
  if (failed(verifyDims(*this, "input", x,
                        {"batch", "heads", "sequence", "head_size"})))
    return failure();
  int64_t b = x.getDimSize(0), s = x.getDimSize(2), d = x.getDimSize(3);
  int64_t r = getRotaryDim();
  if (r < 0 || r > d || r % 2)
    return emitOpError("rotary_dim ")
           << r << " must be even and at most the head size " << d
           << " (0 means all of it)";
  int64_t rotated = getRotatedFeatures();
  if (rotated % 2)
    return emitOpError("the head size ") << d << " must be even";
  auto cos = getCos().getType(), sin = getSin().getType();
  if (cos != sin)
    return emitOpError("cos and sin caches must have the same type");
  if (cos.getElementType() != x.getElementType())
    return emitOpError("caches must have the input's element type");
  if (cos.getRank() != 2 && cos.getRank() != 3)
    return emitOpError("caches must have rank 2 or 3, got ") << cos.getRank();
  if (cos.getDimSize(cos.getRank() - 1) != rotated / 2)
    return emitOpError("caches must have rotary_dim / 2 = ")
           << rotated / 2 << " entries per position, got "
           << cos.getDimSize(cos.getRank() - 1);
  if (getPositions()) {
    auto pos = cast<RankedTensorType>(getPositions().getType());
    SmallVector<int64_t> expected = {b, s};
    if (pos.getShape() != ArrayRef<int64_t>(expected))
      return emitOpError("positions must be [")
             << b << ", " << s << "], got " << shapeString(pos.getShape());
    if (cos.getRank() != 2)
      return emitOpError("with positions, caches are [max_position, "
                         "rotary_dim / 2] tables");
    return success();
  }
  bool ok = (cos.getRank() == 2 && cos.getDimSize(0) == s) ||
            (cos.getRank() == 3 && cos.getDimSize(0) == b &&
             cos.getDimSize(1) == s);
  if (!ok)
    return emitOpError("without positions, caches must be [")
           << s << ", " << rotated / 2 << "] or [" << b << ", " << s << ", "
           << rotated / 2 << "], got " << shapeString(cos.getShape());
  return success();
}

LogicalResult KVCacheUpdateOp::verify() {
  auto cache = getCache().getType(), update = getUpdate().getType();
  int64_t rank = cache.getRank(), axis = getAxis();
  if (rank < 2 || axis < 1 || axis >= rank)
    return emitOpError("axis ")
           << axis << " must name a non-batch dimension of the rank-" << rank
           << " cache";
  if (update.getRank() != rank ||
      update.getElementType() != cache.getElementType())
    return emitOpError("update must have the cache's rank and element type");
  for (int64_t d = 0; d < rank; ++d) {
    // (A ring keeps the last positions of a longer update.)
    if (d == axis ? !getCircular() && update.getDimSize(d) > cache.getDimSize(d)
                  : update.getDimSize(d) != cache.getDimSize(d))
      return emitOpError("update shape ")
             << shapeString(update.getShape())
             << " does not fit the cache shape "
             << shapeString(cache.getShape()) << " along axis " << axis;
  }
  auto pos = getPositions().getType();
  if (pos.getRank() != 1 || pos.getDimSize(0) != cache.getDimSize(0))
    return emitOpError("positions must be [") << cache.getDimSize(0)
                                              << "], one per batch entry";
  return success();
}

/// Whether static sizes `a` and `b` may be equal (either is dynamic).
static bool compatibleSize(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// A size for a message: "?" when dynamic.
static std::string sizeText(int64_t size) {
  return ShapedType::isDynamic(size) ? "?" : std::to_string(size);
}

/// A shape for a message: [4,2,?,8].
static std::string shapeText(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    text += (i ? "," : "") + sizeText(d);
  return text + "]";
}

/// The checks a paged cache's pool and block table share.
static LogicalResult verifyPool(Operation *op, RankedTensorType pool,
                                RankedTensorType table) {
  if (pool.getRank() != 4)
    return op->emitOpError("pool must be [blocks, kv_heads, block_size, "
                           "head_size], got rank ")
           << pool.getRank();
  if (pool.isDynamicDim(2) || pool.getDimSize(2) < 1)
    return op->emitOpError("pool's block size must be static and positive, "
                           "got ")
           << shapeText(pool.getShape());
  if (table.getRank() != 2)
    return op->emitOpError("block_table must be [batch, blocks per "
                           "sequence], got rank ")
           << table.getRank();
  return success();
}

LogicalResult PagedKVCacheUpdateOp::verify() {
  auto pool = getPool().getType(), update = getUpdate().getType();
  auto table = getBlockTable().getType(), pos = getPositions().getType();
  if (failed(verifyPool(*this, pool, table)))
    return failure();
  if (update.getRank() != 4 ||
      update.getElementType() != pool.getElementType())
    return emitOpError("update must be [batch, kv_heads, seq, head_size] "
                       "of the pool's element type");
  if (!compatibleSize(update.getDimSize(1), pool.getDimSize(1)) ||
      !compatibleSize(update.getDimSize(3), pool.getDimSize(3)))
    return emitOpError("update shape ")
           << shapeText(update.getShape())
           << " does not match the pool's kv_heads and head_size "
           << shapeText(pool.getShape());
  if (!compatibleSize(table.getDimSize(0), update.getDimSize(0)))
    return emitOpError("block_table has ")
           << sizeText(table.getDimSize(0)) << " rows for a batch of "
           << sizeText(update.getDimSize(0));
  if (pos.getRank() != 1 ||
      !compatibleSize(pos.getDimSize(0), update.getDimSize(0)))
    return emitOpError("positions must be [")
           << sizeText(update.getDimSize(0)) << "], one per batch entry";
  return success();
}

LogicalResult PagedKVGatherOp::verify() {
  auto pool = getPool().getType(), table = getBlockTable().getType();
  auto result = getType();
  if (failed(verifyPool(*this, pool, table)))
    return failure();
  int64_t columns = table.getDimSize(1);
  int64_t positions = ShapedType::isDynamic(columns)
                          ? ShapedType::kDynamic
                          : columns * pool.getDimSize(2);
  if (result.getRank() != 4 ||
      result.getElementType() != pool.getElementType() ||
      !compatibleSize(result.getDimSize(0), table.getDimSize(0)) ||
      !compatibleSize(result.getDimSize(1), pool.getDimSize(1)) ||
      !compatibleSize(result.getDimSize(2), positions) ||
      !compatibleSize(result.getDimSize(3), pool.getDimSize(3)))
    return emitOpError("result must be [batch, kv_heads, blocks per "
                       "sequence * block_size, head_size] = [")
           << sizeText(table.getDimSize(0)) << ", "
           << sizeText(pool.getDimSize(1)) << ", " << sizeText(positions)
           << ", " << sizeText(pool.getDimSize(3)) << "] (? for dynamic),"
           << " got " << shapeText(result.getShape());
  return success();
}

LogicalResult SwiGLUOp::verify() {
  auto in = getInput().getType();
  if (in.getRank() < 1 || in.getDimSize(in.getRank() - 1) % 2)
    return emitOpError("the last dimension must be even");
  SmallVector<int64_t> shape(in.getShape());
  shape.back() /= 2;
  if (getType().getShape() != ArrayRef<int64_t>(shape) ||
      getType().getElementType() != in.getElementType())
    return emitOpError("result must be ") << shapeString(shape)
                                          << " of the input's element type";
  return success();
}
