//===- ConvertAttentionToTiledLoops.cpp - Fused attention for the CPU -----===//
//
// The reference lowering of kiln.attention (kiln-decompose-composite-ops)
// materializes the [B, Hq, S, L] scores, computes every pair the mask then
// throws away, and runs the softmax as separate passes over that buffer.
// Here each kiln.attention the kernel handles becomes one loop nest on
// tensors, flash-attention style (online softmax), that visits only the
// key blocks its mask kind allows:
//
//   for each (batch, KV head, block of `lanes` query rows)   (scf.forall)
//     Qt = the block's queries, transposed: one vector over rows per feature
//     m = -inf, l = 0, acc[0 .. Dv) = 0       (per row: vectors over rows)
//     for key blocks kb in [first, end)        (scf.for; bounds from the
//                                               mask kind and kv_seqlen)
//       s[j] = scale * sum_d K[j, d] * Qt[d]   (broadcast key element x
//                                               query vector, one FMA each)
//       if the block crosses a mask edge: s[j] = -inf where not allowed
//       m' = max(m, max_j s[j]); p[j] = exp(s[j] - m')
//       l = l * exp(m - m') + sum_j p[j]
//       acc[d] = acc[d] * exp(m - m') + sum_j V[j, d] * p[j]
//     out[rows, :] = transpose(acc) / l        (0 where l = 0)
//
// Vectors run over query rows, so the softmax's row statistics are
// elementwise across keys (no horizontal reductions), and both products
// are broadcast-FMAs that read K and V in their stored layout: a key (or
// value) element is loaded once per block as a scalar and multiplies a
// whole vector of rows. Rows are the queries of one head, or, when a KV
// head's whole group of query heads times the queries fits in one block
// (decoding), all of them: the heads that share K and V fill the lanes
// instead of padding.
//
// Everything is unrolled over the key block, the head dimension and the
// value dimension at compile time, so the body is straight-line vector
// code; exp and tanh are expanded into upstream's polynomial
// approximations (LLVM would otherwise call libm once per lane).
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "KernelRewrites.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace kiln {
#define GEN_PASS_DEF_CONVERTATTENTIONTOTILEDLOOPS
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Head and value dimensions above this would unroll into too much code per
/// key block; such ops keep the reference lowering.
constexpr int64_t kMaxHeadDim = 256;

/// The static facts of one kiln.attention that its kernel is built from.
struct AttentionPlan {
  int64_t batch, kvHeads, group, queries, past, keys, headDim, valueDim;
  /// Query rows per block (the vector length) and keys per block.
  int64_t lanes, keyBlock;
  /// Query position p may attend keys [p - windowLeft, p + windowRight];
  /// -1 leaves that side unbounded (causal is right = 0).
  int64_t windowLeft, windowRight;
  double scale, softcap;
  /// Every (query head of the group, query) row of a KV head in one block;
  /// otherwise a block is `lanes` consecutive queries of one head.
  bool grouped;

  int64_t rows() const { return group * queries; }
  int64_t queryBlocks() const { return llvm::divideCeil(queries, lanes); }
  int64_t blocksPerKvHead() const {
    return grouped ? 1 : group * queryBlocks();
  }
  int64_t blocks() const { return batch * kvHeads * blocksPerKvHead(); }
  /// An upper bound of the multiply-adds, to decide on threads.
  int64_t macs() const {
    int64_t span = keys;
    if (windowLeft >= 0 && windowRight >= 0)
      span = std::min(span, windowLeft + windowRight + 1);
    return batch * kvHeads * rows() * span * (headDim + valueDim);
  }
};

bool isF32Tensor(Value v) {
  return !v || cast<RankedTensorType>(v.getType()).getElementType().isF32();
}

/// The plan of an attention op the kernel handles, or std::nullopt: f32,
/// a positional mask kind of none, causal or sliding_window, no mask
/// tensor and no scores result (those keep the reference lowering).
std::optional<AttentionPlan> planAttention(AttentionOp op, int64_t lanes,
                                           int64_t keyBlock) {
  AttentionPlan plan;
  switch (op.getMaskKind()) {
  case MaskKind::None:
    plan.windowLeft = plan.windowRight = -1;
    break;
  case MaskKind::Causal:
    plan.windowLeft = -1;
    plan.windowRight = 0;
    break;
  case MaskKind::SlidingWindow:
    plan.windowLeft = std::max<int64_t>(op.getWindowLeft(), -1);
    plan.windowRight = std::max<int64_t>(op.getWindowRight(), -1);
    break;
  default:
    return std::nullopt;
  }
  if (op.getScores() || op.getMask() || op.getGlobalIndices())
    return std::nullopt;
  if (!llvm::all_of(ValueRange{op.getQuery(), op.getKey(), op.getValue(),
                               op.getPastKey(), op.getPastValue()},
                    isF32Tensor))
    return std::nullopt;
  RankedTensorType q = op.getQuery().getType();
  RankedTensorType k = op.getPresentKey().getType();
  plan.batch = q.getDimSize(0);
  plan.kvHeads = k.getDimSize(1);
  plan.group = q.getDimSize(1) / plan.kvHeads;
  plan.queries = q.getDimSize(2);
  plan.headDim = q.getDimSize(3);
  plan.keys = k.getDimSize(2);
  plan.valueDim = op.getPresentValue().getType().getDimSize(3);
  plan.past = op.getPastKey() ? op.getPastKey().getType().getDimSize(2) : 0;
  plan.lanes = lanes;
  // A block never runs past the keys: the last one is shifted back instead
  // (see TiledAttentionBuilder::attend).
  plan.keyBlock = std::min(keyBlock, plan.keys);
  plan.scale = op.getScale().convertToDouble();
  plan.softcap = op.getSoftcap().convertToDouble();
  plan.grouped = plan.rows() <= lanes;
  // Decoding: as many lanes as rows (rounded up to a power of two). The
  // kernel issues one FMA per (key, feature) and vector of lanes whatever
  // its length, so padding lanes only make each FMA wider.
  if (plan.grouped)
    plan.lanes = llvm::PowerOf2Ceil(plan.rows());
  // A window wider than the positions it could exclude is no bound.
  if (plan.windowLeft >= plan.past + plan.queries)
    plan.windowLeft = -1;
  if (plan.windowRight >= plan.keys)
    plan.windowRight = -1;
  // Positions are compared as i32 vectors.
  int64_t reach = plan.past + 2 * plan.queries + 2 * plan.keys + keyBlock;
  if (q.getNumElements() == 0 || plan.keys == 0 ||
      plan.headDim > kMaxHeadDim || plan.valueDim > kMaxHeadDim ||
      reach > std::numeric_limits<int32_t>::max())
    return std::nullopt;
  return plan;
}

/// The query rows of one block, within the [group * queries] rows of its
/// KV head (query head g's query s is row g * queries + s).
struct BlockRows {
  Value first;         // row of lane 0
  OpFoldResult count;  // rows that are written; later lanes are padding
  Value minPos, maxPos; // positions of the written rows
  Value lanePos;       // vector<lanes x i32>: each lane's position
};

/// Key blocks [firstBlock, endBlock) hold every key a block's rows may
/// attend; keys at or past keyEnd (L, or kv_seqlen) are never valid.
struct KeyRange {
  Value firstBlock, endBlock, keyEnd;
};

/// The online softmax's running state, one vector over rows each.
struct SoftmaxState {
  Value max, sum;
  SmallVector<Value> acc; // valueDim of them

  SmallVector<Value> flatten() const {
    SmallVector<Value> all = {max, sum};
    llvm::append_range(all, acc);
    return all;
  }
};

/// Builds the loop nest of one attention op at `b`'s insertion point.
class TiledAttentionBuilder {
public:
  TiledAttentionBuilder(ImplicitLocOpBuilder &b, const AttentionPlan &plan,
                        Value queries, Value keys, Value values,
                        Value kvSeqlen)
      : b(b), plan(plan), queries(queries), keys(keys), values(values),
        kvSeqlen(kvSeqlen), f32(b.getF32Type()),
        laneType(VectorType::get({plan.lanes}, f32)) {}

  /// The output as [B, Hkv, group * queries, Dv].
  Value build(bool parallel);

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value splat(double v) {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(laneType, b.getF32FloatAttr(v)));
  }
  Value broadcast(Value scalar) {
    Type elt = scalar.getType();
    return vector::BroadcastOp::create(b, laneType.clone(elt), scalar);
  }
  Value toI32(Value indexValue) {
    return arith::IndexCastOp::create(b, b.getI32Type(), indexValue);
  }

  std::tuple<Value, SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>
  buildBlock(Value block, Value out);
  BlockRows blockRows(Value block);
  KeyRange keyRange(const BlockRows &rows, Value batch);
  Value attend(Value batch, Value kvHead, const BlockRows &rows);
  SmallVector<Value> transposedQueries(Value batch, Value kvHead, Value row);
  Value keyTile(Value source, Value batch, Value kvHead, Value firstKey);
  SmallVector<Value> scores(ArrayRef<Value> queriesT, Value keysTile);
  SmallVector<Value> maskAtEdges(ArrayRef<Value> scores, const BlockRows &rows,
                                 const KeyRange &range, Value blockStart,
                                 Value firstKey);
  SoftmaxState softmaxStep(const SoftmaxState &state, ArrayRef<Value> scores,
                           Value valuesTile);

  ImplicitLocOpBuilder &b;
  const AttentionPlan &plan;
  Value queries, keys, values, kvSeqlen;
  Type f32;
  VectorType laneType;
};

/// `values` combined pairwise (a tree, so that the combinations are
/// independent and pipeline).
Value combineTree(ArrayRef<Value> values,
                  llvm::function_ref<Value(Value, Value)> combine) {
  SmallVector<Value> level(values);
  while (level.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2)
      next.push_back(combine(level[i], level[i + 1]));
    if (level.size() % 2)
      next.push_back(level.back());
    level = std::move(next);
  }
  return level.front();
}

BlockRows TiledAttentionBuilder::blockRows(Value block) {
  BlockRows rows;
  SmallVector<int32_t> laneOffsets(plan.lanes);
  Value base;
  if (plan.grouped) {
    // Lane i is query i % queries of query head i / queries.
    for (int64_t i = 0; i < plan.lanes; ++i)
      laneOffsets[i] = i % plan.queries;
    rows.first = index(0);
    rows.count = b.getIndexAttr(plan.rows());
    base = rows.minPos = index(plan.past);
    rows.maxPos = index(plan.past + plan.queries - 1);
  } else {
    for (int64_t i = 0; i < plan.lanes; ++i)
      laneOffsets[i] = i;
    Value perHead = index(plan.queryBlocks());
    Value head = arith::DivUIOp::create(b, block, perHead);
    Value query = arith::MulIOp::create(
        b, arith::RemUIOp::create(b, block, perHead), index(plan.lanes));
    rows.first = arith::AddIOp::create(
        b, arith::MulIOp::create(b, head, index(plan.queries)), query);
    Value count = index(plan.lanes);
    if (plan.queries % plan.lanes == 0) {
      rows.count = b.getIndexAttr(plan.lanes);
    } else {
      count = arith::MinSIOp::create(
          b, count, arith::SubIOp::create(b, index(plan.queries), query));
      rows.count = count;
    }
    base = rows.minPos = arith::AddIOp::create(b, query, index(plan.past));
    rows.maxPos = arith::SubIOp::create(
        b, arith::AddIOp::create(b, rows.minPos, count), index(1));
  }
  auto offsetsType = VectorType::get({plan.lanes}, b.getI32Type());
  Value offsets = arith::ConstantOp::create(
      b, DenseElementsAttr::get(offsetsType, ArrayRef<int32_t>(laneOffsets)));
  rows.lanePos = arith::AddIOp::create(b, broadcast(toI32(base)), offsets);
  return rows;
}

KeyRange TiledAttentionBuilder::keyRange(const BlockRows &rows, Value batch) {
  KeyRange range;
  range.keyEnd = index(plan.keys);
  if (kvSeqlen) {
    Value length = tensor::ExtractOp::create(b, kvSeqlen, batch);
    length = arith::IndexCastOp::create(b, b.getIndexType(), length);
    range.keyEnd = arith::MinSIOp::create(b, range.keyEnd, length);
  }
  Value end = range.keyEnd;
  if (plan.windowRight >= 0)
    end = arith::MinSIOp::create(
        b, end,
        arith::AddIOp::create(b, rows.maxPos, index(plan.windowRight + 1)));
  Value begin = index(0);
  if (plan.windowLeft >= 0)
    begin = arith::MaxSIOp::create(
        b, begin,
        arith::SubIOp::create(b, rows.minPos, index(plan.windowLeft)));
  // An empty range (end <= begin) gives endBlock <= firstBlock, or one
  // block whose pairs are all masked.
  range.firstBlock = arith::DivSIOp::create(b, begin, index(plan.keyBlock));
  range.endBlock = arith::CeilDivSIOp::create(b, end, index(plan.keyBlock));
  return range;
}

/// Q[rows, :] read as one [lanes, D] tile (rows past the tensor read 0) and
/// transposed once, so that each feature d is a vector over the rows.
SmallVector<Value> TiledAttentionBuilder::transposedQueries(Value batch,
                                                            Value kvHead,
                                                            Value row) {
  auto tileType = VectorType::get({plan.lanes, plan.headDim}, f32);
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  Value tile = vector::TransferReadOp::create(
      b, tileType, queries, ValueRange{batch, kvHead, row, index(0)}, zero,
      AffineMap::getMinorIdentityMap(4, 2, b.getContext()),
      ArrayRef<bool>{false, true});
  Value transposed = vector::TransposeOp::create(b, tile, {1, 0});
  SmallVector<Value> features;
  for (int64_t d = 0; d < plan.headDim; ++d)
    features.push_back(vector::ExtractOp::create(b, transposed, d));
  return features;
}

/// Rows firstKey .. firstKey + keyBlock - 1 of `source`'s (batch, KV
/// head) as a [keyBlock, features] slice: the block's loads then have
/// constant indices, one base address per block.
Value TiledAttentionBuilder::keyTile(Value source, Value batch, Value kvHead,
                                     Value firstKey) {
  auto type = cast<RankedTensorType>(source.getType());
  auto tileType =
      RankedTensorType::get({plan.keyBlock, type.getDimSize(3)}, f32);
  SmallVector<OpFoldResult> offsets = {batch, kvHead, firstKey,
                                       b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                     b.getIndexAttr(plan.keyBlock),
                                     b.getIndexAttr(type.getDimSize(3))};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, tileType, source, offsets, sizes,
                                        strides);
}

/// scale * <q, k_j> (softcapped) for each key row j, as vectors over query
/// rows: every key element is one scalar load broadcast into an FMA.
SmallVector<Value> TiledAttentionBuilder::scores(ArrayRef<Value> queriesT,
                                                 Value keysTile) {
  SmallVector<Value> s(plan.keyBlock);
  // Feature-major, so that the block's scores are the accumulators of one
  // sweep over the features.
  for (int64_t d = 0; d < plan.headDim; ++d) {
    Value feature = index(d);
    for (int64_t j = 0; j < plan.keyBlock; ++j) {
      Value k = broadcast(tensor::ExtractOp::create(
          b, keysTile, ValueRange{index(j), feature}));
      s[j] = d == 0 ? (Value)arith::MulFOp::create(b, k, queriesT[d])
                    : (Value)vector::FMAOp::create(b, k, queriesT[d], s[j]);
    }
  }
  Value scale = splat(plan.scale);
  for (Value &x : s) {
    x = arith::MulFOp::create(b, x, scale);
    if (plan.softcap > 0) {
      Value cap = splat(plan.softcap);
      x = arith::MulFOp::create(
          b, math::TanhOp::create(b, arith::DivFOp::create(b, x, cap)), cap);
    }
  }
  return s;
}

/// The scores with the pairs the mask kind or kv_seqlen removes set to
/// -inf. Only blocks that cross an edge of the allowed region pay for it:
/// inside the region (the bulk of a long sequence) the block skips it.
SmallVector<Value> TiledAttentionBuilder::maskAtEdges(ArrayRef<Value> scores,
                                                      const BlockRows &rows,
                                                      const KeyRange &range,
                                                      Value blockStart,
                                                      Value firstKey) {
  auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) -> Value {
    return arith::CmpIOp::create(b, p, x, y);
  };
  // Inside when every key is valid and, for every written row, no key is
  // right of the window (the lowest row decides) or left of it (the
  // highest row decides). A shifted last block (firstKey < blockStart)
  // ends at the keys' end, past keyEnd's nominal block end: always an edge.
  Value endKey = arith::AddIOp::create(b, firstKey, index(plan.keyBlock));
  Value nominalEnd =
      arith::AddIOp::create(b, blockStart, index(plan.keyBlock));
  Value edge = cmp(arith::CmpIPredicate::sgt, nominalEnd, range.keyEnd);
  if (plan.windowRight >= 0) {
    Value lastInside =
        arith::AddIOp::create(b, rows.minPos, index(plan.windowRight + 1));
    edge = arith::OrIOp::create(
        b, edge, cmp(arith::CmpIPredicate::sgt, endKey, lastInside));
  }
  if (plan.windowLeft >= 0) {
    Value firstInside =
        arith::SubIOp::create(b, rows.maxPos, index(plan.windowLeft));
    edge = arith::OrIOp::create(
        b, edge, cmp(arith::CmpIPredicate::slt, firstKey, firstInside));
  }

  auto ifOp = scf::IfOp::create(b, ValueRange(scores).getTypes(), edge,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, scores);
  b.setInsertionPointToStart(ifOp.thenBlock());
  Value negInf = splat(-std::numeric_limits<double>::infinity());
  Value rightEdge, leftEdge;
  if (plan.windowRight >= 0)
    rightEdge = arith::AddIOp::create(
        b, rows.lanePos, broadcast(toI32(index(plan.windowRight))));
  if (plan.windowLeft >= 0)
    leftEdge = arith::SubIOp::create(
        b, rows.lanePos, broadcast(toI32(index(plan.windowLeft))));
  SmallVector<Value> masked;
  for (auto [j, x] : llvm::enumerate(scores)) {
    Value key = arith::AddIOp::create(b, firstKey, index(j));
    Value valid = cmp(arith::CmpIPredicate::slt, key, range.keyEnd);
    // Keys before blockStart belong to the previous block.
    if (plan.keys % plan.keyBlock != 0)
      valid = arith::AndIOp::create(
          b, valid, cmp(arith::CmpIPredicate::sge, key, blockStart));
    Value y = arith::SelectOp::create(b, valid, x, negInf);
    Value keyPos = broadcast(toI32(key));
    if (rightEdge)
      y = arith::SelectOp::create(
          b, cmp(arith::CmpIPredicate::sle, keyPos, rightEdge), y, negInf);
    if (leftEdge)
      y = arith::SelectOp::create(
          b, cmp(arith::CmpIPredicate::sge, keyPos, leftEdge), y, negInf);
    masked.push_back(y);
  }
  scf::YieldOp::create(b, masked);
  return SmallVector<Value>(ifOp.getResults());
}

/// One key block folded into the running max, sum and output of each row.
SoftmaxState TiledAttentionBuilder::softmaxStep(const SoftmaxState &state,
                                                ArrayRef<Value> scores,
                                                Value valuesTile) {
  auto max = [&](Value x, Value y) -> Value {
    return arith::MaxNumFOp::create(b, x, y);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddFOp::create(b, x, y);
  };
  SoftmaxState next;
  next.max = max(state.max, combineTree(scores, max));
  // A row with no key allowed so far keeps max -inf; shifting it by 0
  // instead keeps exp(-inf - -inf) = NaN out: its weights stay exp(-inf) = 0.
  Value noKey =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, next.max,
                            splat(-std::numeric_limits<double>::infinity()));
  Value shift = arith::SelectOp::create(b, noKey, splat(0), next.max);
  SmallVector<Value> probs;
  for (Value x : scores)
    probs.push_back(
        math::ExpOp::create(b, arith::SubFOp::create(b, x, shift)));
  Value rescale =
      math::ExpOp::create(b, arith::SubFOp::create(b, state.max, shift));
  next.sum = add(arith::MulFOp::create(b, state.sum, rescale),
                 combineTree(probs, add));
  // Value-major: each output feature accumulates the whole block in one
  // register while the weights stay in registers.
  for (int64_t d = 0; d < plan.valueDim; ++d) {
    Value feature = index(d);
    Value acc = arith::MulFOp::create(b, state.acc[d], rescale);
    for (int64_t j = 0; j < plan.keyBlock; ++j) {
      Value v = broadcast(tensor::ExtractOp::create(
          b, valuesTile, ValueRange{index(j), feature}));
      acc = vector::FMAOp::create(b, v, probs[j], acc);
    }
    next.acc.push_back(acc);
  }
  return next;
}

/// The normalized output rows of one block, as a [lanes, Dv] tile.
Value TiledAttentionBuilder::attend(Value batch, Value kvHead,
                                   const BlockRows &rows) {
  SmallVector<Value> queriesT = transposedQueries(batch, kvHead, rows.first);
  KeyRange range = keyRange(rows, batch);
  SoftmaxState init;
  init.max = splat(-std::numeric_limits<double>::infinity());
  init.sum = splat(0);
  init.acc.assign(plan.valueDim, init.sum);
  auto loop = scf::ForOp::create(b, range.firstBlock, range.endBlock,
                                 index(1), init.flatten());
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    ValueRange iter = loop.getRegionIterArgs();
    SoftmaxState state;
    state.max = iter[0];
    state.sum = iter[1];
    state.acc.assign(iter.begin() + 2, iter.end());
    // Block kb holds keys [kb * keyBlock, (kb + 1) * keyBlock); the last
    // one, when the blocks do not divide the keys, is read from
    // L - keyBlock so that it stays inside the tensor, and masks the keys
    // its predecessor already took.
    Value blockStart = arith::MulIOp::create(b, loop.getInductionVar(),
                                             index(plan.keyBlock));
    Value firstKey = blockStart;
    if (plan.keys % plan.keyBlock != 0)
      firstKey = arith::MinSIOp::create(b, blockStart,
                                        index(plan.keys - plan.keyBlock));
    SmallVector<Value> s =
        scores(queriesT, keyTile(keys, batch, kvHead, firstKey));
    s = maskAtEdges(s, rows, range, blockStart, firstKey);
    scf::YieldOp::create(
        b, softmaxStep(state, s, keyTile(values, batch, kvHead, firstKey))
               .flatten());
  }
  // Rows that attended no key have sum 0 and yield zeros.
  Value sum = loop.getResult(1);
  Value any = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum, splat(0));
  Value inverse = arith::SelectOp::create(
      b, any, arith::DivFOp::create(b, splat(1), sum), splat(0));
  auto tileType = VectorType::get({plan.valueDim, plan.lanes}, f32);
  Value tile = arith::ConstantOp::create(
      b, DenseElementsAttr::get(tileType, b.getF32FloatAttr(0)));
  for (int64_t d = 0; d < plan.valueDim; ++d)
    tile = vector::InsertOp::create(
        b, arith::MulFOp::create(b, loop.getResult(2 + d), inverse), tile, d);
  return vector::TransposeOp::create(b, tile, {1, 0});
}

/// Block `block` of the [B x Hkv x blocksPerKvHead] grid, written into its
/// rows of `out`: the written slice, its offsets and sizes.
std::tuple<Value, SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>
TiledAttentionBuilder::buildBlock(Value block, Value out) {
  Value perKvHead = index(plan.blocksPerKvHead());
  Value local = arith::RemUIOp::create(b, block, perKvHead);
  Value head = arith::DivUIOp::create(b, block, perKvHead);
  Value kvHead = arith::RemUIOp::create(b, head, index(plan.kvHeads));
  Value batch = arith::DivUIOp::create(b, head, index(plan.kvHeads));
  BlockRows rows = blockRows(local);
  Value tile = attend(batch, kvHead, rows);
  SmallVector<OpFoldResult> offsets = {batch, kvHead, rows.first,
                                       b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                     rows.count,
                                     b.getIndexAttr(plan.valueDim)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  Value slice = tensor::ExtractSliceOp::create(b, out, offsets, sizes, strides);
  Value zero = index(0);
  Value written =
      vector::TransferWriteOp::create(
          b, tile, slice, ValueRange{zero, zero, zero, zero},
          AffineMap::getMinorIdentityMap(4, 2, b.getContext()),
          ArrayRef<bool>{false, true})
          .getResult();
  return {written, offsets, sizes};
}

Value TiledAttentionBuilder::build(bool parallel) {
  auto outType = RankedTensorType::get(
      {plan.batch, plan.kvHeads, plan.rows(), plan.valueDim}, f32);
  Value init = tensor::EmptyOp::create(b, outType.getShape(), f32);
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  OpBuilder::InsertionGuard guard(b);
  if (parallel) {
    // Each block writes its own rows: threads share nothing but inputs.
    auto forall = scf::ForallOp::create(
        b, ArrayRef<OpFoldResult>{b.getIndexAttr(plan.blocks())},
        ValueRange{init}, std::nullopt);
    b.setInsertionPoint(forall.getTerminator());
    Value out = forall.getRegionIterArgs()[0];
    auto [written, offsets, sizes] =
        buildBlock(forall.getInductionVars()[0], out);
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, written, out, offsets, sizes,
                                          strides);
    return forall.getResult(0);
  }
  auto loop = scf::ForOp::create(b, index(0), index(plan.blocks()), index(1),
                                 ValueRange{init});
  b.setInsertionPointToStart(loop.getBody());
  Value out = loop.getRegionIterArgs()[0];
  auto [written, offsets, sizes] = buildBlock(loop.getInductionVar(), out);
  scf::YieldOp::create(b, tensor::InsertSliceOp::create(
                              b, written, out, offsets, sizes, strides)
                              .getResult());
  return loop.getResult(0);
}

/// Replaces `op` by the tiled kernel; the KV cache results are the
/// concatenations the reference lowering returns too. Returns the kernel's
/// outer loop, or null when the op is left to the reference lowering.
Operation *convertAttention(RewriterBase &rewriter, AttentionOp op,
                            int64_t lanes, int64_t keyBlock) {
  std::optional<AttentionPlan> plan = planAttention(op, lanes, keyBlock);
  if (!plan)
    return nullptr;
  rewriter.setInsertionPoint(op);
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  Value keys = op.getKey(), values = op.getValue();
  if (op.getPastKey()) {
    IntegerAttr axis = b.getI64IntegerAttr(2);
    keys = ConcatOp::create(b, op.getPresentKey().getType(),
                            ValueRange{op.getPastKey(), keys}, axis);
    values = ConcatOp::create(b, op.getPresentValue().getType(),
                              ValueRange{op.getPastValue(), values}, axis);
  }
  auto rowsType = RankedTensorType::get(
      {plan->batch, plan->kvHeads, plan->rows(), plan->headDim}, b.getF32Type());
  Value queries = reshapeTensor(b, b.getLoc(), op.getQuery(), rowsType);
  TiledAttentionBuilder kernel(b, *plan, queries, keys, values,
                               op.getKvSeqlen());
  bool parallel = plan->blocks() > 1 && plan->macs() >= kMinParallelMacs;
  Value out = kernel.build(parallel);
  Operation *loop = out.getDefiningOp();
  out = reshapeTensor(b, b.getLoc(), out, op.getOutput().getType());
  rewriter.replaceOp(op, ValueRange{out, keys, values});
  return loop;
}

struct ConvertAttentionToTiledLoopsPass
    : kiln::impl::ConvertAttentionToTiledLoopsBase<
          ConvertAttentionToTiledLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(checkBlockSizes(getOperation(), "query-block and key-block",
                               {queryBlock, keyBlock})))
      return signalPassFailure();
    if (failed(expandExpAndTanh(convertAll())))
      return signalPassFailure();
  }

  /// Converts every attention op it can; returns the kernels' outer loops.
  SmallVector<Operation *> convertAll() {
    IRRewriter rewriter(&getContext());
    SmallVector<Operation *> kernels;
    for (AttentionOp op : collectOps<AttentionOp>(getOperation()))
      if (Operation *loop = convertAttention(rewriter, op, queryBlock, keyBlock))
        kernels.push_back(loop);
    return kernels;
  }

  /// exp and tanh in the kernels as polynomials on vectors (upstream's
  /// approximations, within a few ulp); LLVM would otherwise call libm
  /// once per lane.
  LogicalResult expandExpAndTanh(ArrayRef<Operation *> kernels) {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          return name == math::ExpOp::getOperationName() ||
                 name == math::TanhOp::getOperationName();
        });
    FrozenRewritePatternSet frozen(std::move(patterns));
    for (Operation *kernel : kernels)
      if (failed(applyPatternsGreedily(kernel->getRegions().front(), frozen)))
        return failure();
    return success();
  }
};

} // namespace
