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
//     Qt[D, lanes] = the block's queries, transposed: a vector over rows
//                    per feature
//     m = -inf, l = 0, acc[Dv, lanes] = 0      (per row: vectors over rows)
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
// The key block is unrolled at compile time: its scores, weights and
// masks are `keyBlock` independent vectors that live in registers. The
// sweeps over the head and value dimensions are loops (unrolled by a
// small factor) over Qt and acc, which live in per-block buffers: the
// accumulators of a 64- or 128-wide head do not fit in the register file
// anyway, and unrolling them fully made attention most of a decoder's
// code, and of its compile time. exp and tanh are expanded into
// upstream's polynomial approximations (LLVM would otherwise call libm
// once per lane).
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "KernelRewrites.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnShapes.h"
#include "kiln/passes/KilnToLinalg/AttentionKeyRange.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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
/// Only the batch may be dynamic (ShapedType::kDynamic): the kernel loops
/// over it at run time.
struct AttentionPlan {
  int64_t batch, kvHeads, group, queries, past, keys, headDim, valueDim;
  /// The queries' positions start at query_start[b] (a generation step)
  /// instead of `past`.
  bool queryStart = false;
  /// Query rows per block (the vector length) and keys per block.
  int64_t lanes, keyBlock;
  /// Query position p may attend keys [p - windowLeft, p + windowRight];
  /// -1 leaves that side unbounded (causal is right = 0).
  int64_t windowLeft, windowRight;
  double scale, softcap;
  /// Every (query head of the group, query) row of a KV head in one block;
  /// otherwise a block is `lanes` consecutive queries of one head.
  bool grouped;
  /// hierarchical: the window, plus every pair whose key or query position
  /// is below `globalTokens` (still bounded by windowRight).
  bool hierarchical = false;
  int64_t globalTokens = 0;
  /// block_sparse: `layout` is the row-major [layoutBlocks x layoutBlocks]
  /// grid of allowed (query block, key block) cells of `sparseBlock`
  /// positions each; 0 when the kind is another.
  int64_t sparseBlock = 0, layoutBlocks = 0;
  SmallVector<bool> layout;

  int64_t rows() const { return group * queries; }
  AttentionWindow window() const {
    return {keyBlock, windowLeft, windowRight, hierarchical, globalTokens};
  }
  int64_t queryBlocks() const { return llvm::divideCeil(queries, lanes); }
  int64_t blocksPerKvHead() const {
    return grouped ? 1 : group * queryBlocks();
  }
  /// The blocks of one batch entry.
  int64_t blocksPerBatch() const { return kvHeads * blocksPerKvHead(); }
  /// An upper bound of the multiply-adds (of one batch entry when the batch
  /// is dynamic), to decide on threads.
  int64_t macs() const {
    int64_t span = keys;
    if (windowLeft >= 0 && windowRight >= 0)
      span = std::min(span, windowLeft + windowRight + 1 + globalTokens);
    int64_t entries = ShapedType::isDynamic(batch) ? 1 : batch;
    return entries * kvHeads * rows() * span * (headDim + valueDim);
  }
};

bool isF32Tensor(Value v) {
  return !v || cast<RankedTensorType>(v.getType()).getElementType().isF32();
}

/// Whether every block of the plan lies within one cell of the
/// block-sparse layout, so that a cell decides a whole block: query blocks
/// inside one layout row, key blocks inside one layout column, and no
/// shifted last key block.
bool blocksAlignWithLayout(const AttentionPlan &plan) {
  int64_t cell = plan.sparseBlock;
  if (cell % plan.keyBlock != 0 || plan.keys % plan.keyBlock != 0 ||
      plan.past + plan.queries > plan.keys)
    return false;
  if (plan.grouped) // one block holds every query position
    return plan.past / cell == (plan.past + plan.queries - 1) / cell;
  return cell % plan.lanes == 0 && plan.past % cell == 0;
}

/// The plan of an attention op the kernel handles, or std::nullopt: f32,
/// a positional mask kind (none, causal, sliding_window, hierarchical with
/// leading global tokens, block_sparse whose cells hold whole blocks), no
/// mask tensor and no scores result (those keep the reference lowering).
std::optional<AttentionPlan> planAttention(AttentionOp op, int64_t lanes,
                                           int64_t keyBlock) {
  AttentionPlan plan;
  std::optional<AttentionWindow> window = positionalWindow(op);
  if (!window)
    return std::nullopt;
  plan.windowLeft = window->windowLeft;
  plan.windowRight = window->windowRight;
  plan.hierarchical = window->hierarchical;
  plan.globalTokens = window->globalTokens;
  if (op.getMaskKind() == MaskKind::BlockSparse) {
    plan.sparseBlock = op.getBlockSize();
    std::optional<ArrayRef<bool>> layout = op.getBlockLayout();
    if (plan.sparseBlock <= 0 || !layout)
      return std::nullopt;
    plan.layout.assign(layout->begin(), layout->end());
  }
  // Global tokens given as a tensor of positions keep the reference
  // lowering (the kernel handles the leading num_global_tokens).
  if (op.getScores() || op.getMask() || op.getGlobalIndices())
    return std::nullopt;
  if (!llvm::all_of(ValueRange{op.getQuery(), op.getKey(), op.getValue(),
                               op.getPastKey(), op.getPastValue()},
                    isF32Tensor))
    return std::nullopt;
  // The plan is sized at compile time: only the batch may be dynamic (the
  // kernel loops over it); other dynamic sizes keep the reference lowering.
  auto isStaticPastBatch = [](Type t) {
    auto type = cast<RankedTensorType>(t);
    return llvm::all_of(type.getShape().drop_front(),
                        [](int64_t d) { return !ShapedType::isDynamic(d); });
  };
  if (!llvm::all_of(op->getOperandTypes(), isStaticPastBatch) ||
      !llvm::all_of(op->getResultTypes(), isStaticPastBatch))
    return std::nullopt;
  plan.queryStart = (bool)op.getQueryStart();
  // Block-sparse cells are aligned with the blocks from static positions.
  if (plan.queryStart && plan.sparseBlock)
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
  if (plan.sparseBlock) {
    plan.layoutBlocks = llvm::divideCeil(plan.keys, plan.sparseBlock);
    if ((int64_t)plan.layout.size() != plan.layoutBlocks * plan.layoutBlocks ||
        !blocksAlignWithLayout(plan))
      return std::nullopt;
  }
  // A window wider than the positions it could exclude is no bound (for
  // hierarchical, the global pairs need no left bound either).
  if (!plan.queryStart && plan.windowLeft >= plan.past + plan.queries)
    plan.windowLeft = -1;
  if (plan.windowRight >= plan.keys)
    plan.windowRight = -1;
  // Positions are compared as i32 vectors.
  // (With query_start, positions past the keys are masked by kv_seqlen
  // anyway; a generation step's are below the cache's length.)
  int64_t reach = plan.past + 2 * plan.queries + 2 * plan.keys + keyBlock;
  // (A dynamic batch may be 0 too: the kernel's loop then runs no block.)
  bool noQueries = llvm::any_of(q.getShape().drop_front(),
                                [](int64_t d) { return d == 0; });
  if (noQueries || plan.batch == 0 || plan.keys == 0 ||
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

/// The online softmax's running state: a vector over rows each for the
/// max and the sum, and the [valueDim, lanes] tensor of the outputs.
struct SoftmaxState {
  Value max, sum, acc;

  SmallVector<Value> flatten() const { return {max, sum, acc}; }
};

/// How far the loops over features are unrolled: a few features per
/// iteration keep the loop overhead small against the block's FMAs.
int64_t featureUnroll(int64_t features) {
  for (int64_t factor : {4, 2})
    if (features % factor == 0)
      return factor;
  return 1;
}

/// Builds the loop nest of one attention op at `b`'s insertion point.
class TiledAttentionBuilder {
public:
  TiledAttentionBuilder(ImplicitLocOpBuilder &b, const AttentionPlan &plan,
                        Value queries, Value keys, Value values,
                        Value kvSeqlen, Value queryStart)
      : b(b), plan(plan), queries(queries), keys(keys), values(values),
        kvSeqlen(kvSeqlen), queryStart(queryStart), f32(b.getF32Type()),
        laneType(VectorType::get({plan.lanes}, f32)) {}

  /// The output as [B, Hkv, group * queries, Dv].
  Value build(bool parallel);

  /// Reads the keys (values) through the block table of `gather`'s paged
  /// cache instead of its contiguous view; each key block must then lie
  /// in one cache block (see pagedSource).
  void readPaged(PagedKVGatherOp keyGather, PagedKVGatherOp valueGather) {
    pagedKeys = keyGather;
    pagedValues = valueGather;
  }

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
  BlockRows blockRows(Value block, Value batch);
  Value firstPosition(Value batch);
  Value batchSize();
  KeyRange keyRange(const BlockRows &rows, Value batch);
  void sparseKeyRange(KeyRange &range, const BlockRows &rows);
  Value keyBlockAt(const KeyRange &range, Value iteration);
  Value attend(Value batch, Value kvHead, const BlockRows &rows, Value out);
  SmallVector<Value>
  forEachFeature(int64_t features, ValueRange init,
                 function_ref<SmallVector<Value>(Value, ValueRange)> body);
  Value readLanes(Value matrix, Value feature);
  Value writeLanes(Value lanesVector, Value matrix, Value feature);
  Value transposedQueries(Value batch, Value kvHead, Value row);
  Value keyTile(Value source, Value batch, Value kvHead, Value firstKey);
  SmallVector<Value> scores(Value queriesT, Value keysTile);
  SmallVector<Value> maskAtEdges(ArrayRef<Value> scores, const BlockRows &rows,
                                 const KeyRange &range, Value blockStart,
                                 Value firstKey);
  SoftmaxState softmaxStep(const SoftmaxState &state, ArrayRef<Value> scores,
                           Value valuesTile);

  ImplicitLocOpBuilder &b;
  const AttentionPlan &plan;
  Value queries, keys, values, kvSeqlen, queryStart;
  PagedKVGatherOp pagedKeys, pagedValues;
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

/// The position of query 0 of batch entry `batch`.
Value TiledAttentionBuilder::firstPosition(Value batch) {
  if (!queryStart)
    return index(plan.past);
  Value start = tensor::ExtractOp::create(b, queryStart, batch);
  return arith::IndexCastOp::create(b, b.getIndexType(), start);
}

/// The batch size: static, or the queries' first dimension.
Value TiledAttentionBuilder::batchSize() {
  if (!ShapedType::isDynamic(plan.batch))
    return index(plan.batch);
  return tensor::DimOp::create(b, queries, 0);
}

BlockRows TiledAttentionBuilder::blockRows(Value block, Value batch) {
  BlockRows rows;
  Value start = firstPosition(batch);
  SmallVector<int32_t> laneOffsets(plan.lanes);
  Value base;
  if (plan.grouped) {
    // Lane i is query i % queries of query head i / queries.
    for (int64_t i = 0; i < plan.lanes; ++i)
      laneOffsets[i] = i % plan.queries;
    rows.first = index(0);
    rows.count = b.getIndexAttr(plan.rows());
    base = rows.minPos = start;
    rows.maxPos = arith::AddIOp::create(b, start, index(plan.queries - 1));
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
    base = rows.minPos = arith::AddIOp::create(b, query, start);
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
  Value keyEnd = index(plan.keys);
  if (kvSeqlen) {
    Value length = tensor::ExtractOp::create(b, kvSeqlen, batch);
    length = arith::IndexCastOp::create(b, b.getIndexType(), length);
    keyEnd = arith::MinSIOp::create(b, keyEnd, length);
  }
  if (plan.sparseBlock) {
    KeyRange range;
    range.keyEnd = keyEnd;
    sparseKeyRange(range, rows);
    return range;
  }
  return buildKeyRange(b, plan.window(), keyEnd, rows.minPos, rows.maxPos);
}

/// block_sparse: the allowed key blocks of each layout row, as a table
/// [layoutBlocks, most] of key block indices and a count per row, both
/// constants. Every block's rows lie in one layout row (the plan checks).
void TiledAttentionBuilder::sparseKeyRange(KeyRange &range,
                                           const BlockRows &rows) {
  int64_t rowsOfLayout = plan.layoutBlocks;
  SparseKeyTables tables =
      buildSparseKeyTables(plan.layout, rowsOfLayout, plan.sparseBlock,
                           plan.keyBlock, plan.keys / plan.keyBlock);
  int64_t most = tables.most;
  ArrayRef<int32_t> table = tables.table, counts = tables.counts;
  Type i32 = b.getI32Type();
  Value tableConst = arith::ConstantOp::create(
      b, DenseElementsAttr::get(
             RankedTensorType::get({rowsOfLayout, (int64_t)most}, i32),
             ArrayRef<int32_t>(table)));
  Value countConst = arith::ConstantOp::create(
      b, DenseElementsAttr::get(RankedTensorType::get({rowsOfLayout}, i32),
                                ArrayRef<int32_t>(counts)));
  range.layoutRow =
      arith::DivSIOp::create(b, rows.minPos, index(plan.sparseBlock));
  range.loopBegin = index(0);
  range.loopEnd = arith::IndexCastOp::create(
      b, b.getIndexType(),
      tensor::ExtractOp::create(b, countConst, range.layoutRow));
  range.layoutTable = tableConst;
}

/// The key block iteration `iteration` of the key loop visits.
Value TiledAttentionBuilder::keyBlockAt(const KeyRange &range,
                                        Value iteration) {
  if (range.layoutRow) {
    Value block = tensor::ExtractOp::create(
        b, range.layoutTable, ValueRange{range.layoutRow, iteration});
    return arith::IndexCastOp::create(b, b.getIndexType(), block);
  }
  return keyBlockOfIteration(b, range, iteration);
}

/// A loop over `features` (scf.for, unrolled by featureUnroll) threading
/// `init` through `body`, which gets each feature's index.
SmallVector<Value> TiledAttentionBuilder::forEachFeature(
    int64_t features, ValueRange init,
    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  int64_t unroll = featureUnroll(features);
  auto loop =
      scf::ForOp::create(b, index(0), index(features), index(unroll), init);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  SmallVector<Value> iter(loop.getRegionIterArgs());
  for (int64_t u = 0; u < unroll; ++u) {
    Value feature = loop.getInductionVar();
    if (u > 0)
      feature = arith::AddIOp::create(b, feature, index(u));
    iter = body(feature, iter);
  }
  scf::YieldOp::create(b, iter);
  return SmallVector<Value>(loop.getResults());
}

/// Row `feature` of a [features, lanes] tensor, as a vector over rows.
Value TiledAttentionBuilder::readLanes(Value matrix, Value feature) {
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  return vector::TransferReadOp::create(b, laneType, matrix,
                                        ValueRange{feature, index(0)}, zero,
                                        ArrayRef<bool>{true});
}

Value TiledAttentionBuilder::writeLanes(Value lanesVector, Value matrix,
                                        Value feature) {
  return vector::TransferWriteOp::create(b, lanesVector, matrix,
                                         ValueRange{feature, index(0)},
                                         ArrayRef<bool>{true})
      .getResult();
}

/// Q[rows, :] transposed into a [D, lanes] tensor, so that each feature d
/// is a vector over the rows (rows past the tensor read 0). Each column is
/// read once per block.
Value TiledAttentionBuilder::transposedQueries(Value batch, Value kvHead,
                                               Value row) {
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  auto columnMap = AffineMap::get(4, 0, b.getAffineDimExpr(2));
  Value init = tensor::EmptyOp::create(
      b, ArrayRef<int64_t>{plan.headDim, plan.lanes}, f32);
  return forEachFeature(
      plan.headDim, init, [&](Value feature, ValueRange iter) {
        Value column = vector::TransferReadOp::create(
            b, laneType, queries, ValueRange{batch, kvHead, row, feature},
            zero, columnMap, ArrayRef<bool>{false});
        return SmallVector<Value>{writeLanes(column, iter[0], feature)};
      })[0];
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
  // A paged cache: the block is one slice of the pool block the table
  // names (clamped into the pool), so nothing reads a contiguous view.
  PagedKVGatherOp paged = source == keys     ? pagedKeys
                          : source == values ? pagedValues
                                             : PagedKVGatherOp();
  if (paged) {
    Value pool = paged.getPool(), table = paged.getBlockTable();
    auto poolType = cast<RankedTensorType>(pool.getType());
    int64_t blockSize = poolType.getDimSize(2);
    Value column = arith::DivUIOp::create(b, firstKey, index(blockSize));
    Value slot = arith::RemUIOp::create(b, firstKey, index(blockSize));
    Value id = arith::IndexCastOp::create(
        b, b.getIndexType(),
        tensor::ExtractOp::create(b, table, ValueRange{batch, column}));
    Value blocks = getValueOrCreateConstantIndexOp(
        b, b.getLoc(), dimOf(b, b.getLoc(), pool, 0));
    id = arith::MaxSIOp::create(
        b, arith::MinSIOp::create(b, id,
                                  arith::SubIOp::create(b, blocks, index(1))),
        index(0));
    source = pool;
    offsets = {id, kvHead, slot, b.getIndexAttr(0)};
  }
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                     b.getIndexAttr(plan.keyBlock),
                                     b.getIndexAttr(type.getDimSize(3))};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, tileType, source, offsets, sizes,
                                        strides);
}

/// scale * <q, k_j> (softcapped) for each key row j, as vectors over query
/// rows: every key element is one scalar load broadcast into an FMA.
SmallVector<Value> TiledAttentionBuilder::scores(Value queriesT,
                                                 Value keysTile) {
  // Feature-major, so that the block's scores are the accumulators of one
  // sweep over the features.
  SmallVector<Value> zeros(plan.keyBlock, splat(0));
  SmallVector<Value> s = forEachFeature(
      plan.headDim, zeros, [&](Value feature, ValueRange partial) {
        Value query = readLanes(queriesT, feature);
        SmallVector<Value> next;
        for (int64_t j = 0; j < plan.keyBlock; ++j) {
          Value k = broadcast(tensor::ExtractOp::create(
              b, keysTile, ValueRange{index(j), feature}));
          next.push_back(vector::FMAOp::create(b, k, query, partial[j]));
        }
        return next;
      });
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
  // A block-sparse block lies in one layout cell, allowed whole: only
  // kv_seqlen can cut it (its window bounds are -1).
  Value edge = blockCrossesMaskEdge(b, plan.window(), range.keyEnd,
                                    rows.minPos, rows.maxPos, blockStart,
                                    firstKey);
  bool anchors = plan.hierarchical && plan.globalTokens > 0;
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
  // hierarchical: rows whose query is global attend left of the window.
  Value globalRows;
  if (leftEdge && anchors)
    globalRows = cmp(arith::CmpIPredicate::slt, rows.lanePos,
                     broadcast(toI32(index(plan.globalTokens))));
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
    if (leftEdge) {
      Value allowed = cmp(arith::CmpIPredicate::sge, keyPos, leftEdge);
      if (globalRows) {
        Value globalKey = broadcast(
            cmp(arith::CmpIPredicate::slt, key, index(plan.globalTokens)));
        allowed = arith::OrIOp::create(
            b, allowed, arith::OrIOp::create(b, globalKey, globalRows));
      }
      y = arith::SelectOp::create(b, allowed, y, negInf);
    }
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
  next.acc = forEachFeature(
      plan.valueDim, state.acc, [&](Value feature, ValueRange iter) {
        Value acc =
            arith::MulFOp::create(b, readLanes(iter[0], feature), rescale);
        for (int64_t j = 0; j < plan.keyBlock; ++j) {
          Value v = broadcast(tensor::ExtractOp::create(
              b, valuesTile, ValueRange{index(j), feature}));
          acc = vector::FMAOp::create(b, v, probs[j], acc);
        }
        return SmallVector<Value>{writeLanes(acc, iter[0], feature)};
      })[0];
  return next;
}

/// The block's normalized output rows written into `out`, the
/// [1, 1, rows, Dv] slice of the output they belong in.
Value TiledAttentionBuilder::attend(Value batch, Value kvHead,
                                   const BlockRows &rows, Value out) {
  Value queriesT = transposedQueries(batch, kvHead, rows.first);
  KeyRange range = keyRange(rows, batch);
  SoftmaxState init;
  init.max = splat(-std::numeric_limits<double>::infinity());
  init.sum = splat(0);
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0));
  init.acc = linalg::FillOp::create(
                 b, zero,
                 tensor::EmptyOp::create(
                     b, ArrayRef<int64_t>{plan.valueDim, plan.lanes}, f32)
                     .getResult())
                 .getResult(0);
  auto loop = scf::ForOp::create(b, range.loopBegin, range.loopEnd, index(1),
                                 init.flatten());
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    ValueRange iter = loop.getRegionIterArgs();
    SoftmaxState state{iter[0], iter[1], iter[2]};
    // Block kb holds keys [kb * keyBlock, (kb + 1) * keyBlock); the last
    // one, when the blocks do not divide the keys, is read from
    // L - keyBlock so that it stays inside the tensor, and masks the keys
    // its predecessor already took.
    Value blockStart =
        arith::MulIOp::create(b, keyBlockAt(range, loop.getInductionVar()),
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
  // Rows that attended no key have sum 0 and yield zeros. Each feature
  // is one column of the rows' output (padding lanes are not written).
  Value sum = loop.getResult(1);
  Value any = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum, splat(0));
  Value inverse = arith::SelectOp::create(
      b, any, arith::DivFOp::create(b, splat(1), sum), splat(0));
  Value acc = loop.getResult(2);
  auto columnMap = AffineMap::get(4, 0, b.getAffineDimExpr(2));
  return forEachFeature(
      plan.valueDim, out, [&](Value feature, ValueRange iter) {
        Value column =
            arith::MulFOp::create(b, readLanes(acc, feature), inverse);
        return SmallVector<Value>{
            vector::TransferWriteOp::create(
                b, column, iter[0],
                ValueRange{index(0), index(0), index(0), feature}, columnMap,
                ArrayRef<bool>{false})
                .getResult()};
      })[0];
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
  BlockRows rows = blockRows(local, batch);
  SmallVector<OpFoldResult> offsets = {batch, kvHead, rows.first,
                                       b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                     rows.count,
                                     b.getIndexAttr(plan.valueDim)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  Value slice = tensor::ExtractSliceOp::create(b, out, offsets, sizes, strides);
  return {attend(batch, kvHead, rows, slice), offsets, sizes};
}

Value TiledAttentionBuilder::build(bool parallel) {
  auto outType = RankedTensorType::get(
      {plan.batch, plan.kvHeads, plan.rows(), plan.valueDim}, f32);
  Value batch = batchSize();
  SmallVector<Value> dynamicSizes;
  if (ShapedType::isDynamic(plan.batch))
    dynamicSizes.push_back(batch);
  Value init = tensor::EmptyOp::create(b, outType, dynamicSizes);
  Value blocks =
      ShapedType::isDynamic(plan.batch)
          ? arith::MulIOp::create(b, batch, index(plan.blocksPerBatch()))
                .getResult()
          : index(plan.batch * plan.blocksPerBatch());
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  OpBuilder::InsertionGuard guard(b);
  if (parallel) {
    // Each block writes its own rows: threads share nothing but inputs.
    auto forall = scf::ForallOp::create(
        b, ArrayRef<OpFoldResult>{getAsOpFoldResult(blocks)},
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
  auto loop = scf::ForOp::create(b, index(0), blocks, index(1),
                                 ValueRange{init});
  b.setInsertionPointToStart(loop.getBody());
  Value out = loop.getRegionIterArgs()[0];
  auto [written, offsets, sizes] = buildBlock(loop.getInductionVar(), out);
  scf::YieldOp::create(b, tensor::InsertSliceOp::create(
                              b, written, out, offsets, sizes, strides)
                              .getResult());
  return loop.getResult(0);
}

/// The paged cache `keys` are the view of, when the kernel can read its
/// key blocks through the block table: each block of `keyBlock` keys must
/// lie inside one cache block.
PagedKVGatherOp pagedSource(Value keys, const AttentionPlan &plan) {
  auto gather = keys.getDefiningOp<PagedKVGatherOp>();
  if (!gather)
    return {};
  int64_t blockSize = gather.getPool().getType().getDimSize(2);
  if (blockSize % plan.keyBlock != 0 || plan.keys % plan.keyBlock != 0)
    return {};
  return gather;
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
  Value keys, values;
  std::tie(keys, values) = attendedKeysAndValues(b, op);
  auto rowsType = RankedTensorType::get(
      {plan->batch, plan->kvHeads, plan->rows(), plan->headDim}, b.getF32Type());
  // With a dynamic batch the reshapes take its size from the query.
  auto sizesWithBatch = [&](RankedTensorType type) {
    SmallVector<OpFoldResult> sizes;
    if (!ShapedType::isDynamic(plan->batch))
      return sizes;
    sizes.push_back(tensor::DimOp::create(b, op.getQuery(), 0).getResult());
    for (int64_t d : type.getShape().drop_front())
      sizes.push_back(b.getIndexAttr(d));
    return sizes;
  };
  Value queries = reshapeTensor(b, b.getLoc(), op.getQuery(), rowsType,
                                sizesWithBatch(rowsType));
  TiledAttentionBuilder kernel(b, *plan, queries, keys, values,
                               op.getKvSeqlen(), op.getQueryStart());
  kernel.readPaged(pagedSource(keys, *plan), pagedSource(values, *plan));
  bool manyBlocks = ShapedType::isDynamic(plan->batch) ||
                    plan->batch * plan->blocksPerBatch() > 1;
  bool parallel = manyBlocks && plan->macs() >= kMinParallelMacs;
  Value out = kernel.build(parallel);
  Operation *loop = out.getDefiningOp();
  RankedTensorType outType = op.getOutput().getType();
  out = reshapeTensor(b, b.getLoc(), out, outType, sizesWithBatch(outType));
  rewriter.replaceOp(op, ValueRange{out, keys, values});
  return loop;
}

struct ConvertAttentionToTiledLoopsPass
    : kiln::impl::ConvertAttentionToTiledLoopsBase<
          ConvertAttentionToTiledLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    // The sizes are checked before anything is rewritten.
    if (failed(checkBlockSizes(getOperation(), "query-block and key-block",
                               {queryBlock, keyBlock})) ||
        failed(expandExpAndTanh(convertAll())))
      signalPassFailure();
  }

  /// Converts every attention op it can; returns the kernels' outer loops.
  SmallVector<Operation *> convertAll() {
    IRRewriter rewriter(&getContext());
    SmallVector<Operation *> kernels;
    for (AttentionOp op : collectOps<AttentionOp>(getOperation()))
      if (Operation *loop = convertAttention(rewriter, op, queryBlock, keyBlock))
        kernels.push_back(loop);
    // The views of paged caches the kernels read through their tables
    // instead are never built.
    for (PagedKVGatherOp gather : collectOps<PagedKVGatherOp>(getOperation()))
      if (gather->use_empty())
        rewriter.eraseOp(gather);
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
