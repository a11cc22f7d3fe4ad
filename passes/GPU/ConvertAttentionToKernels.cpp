//===- ConvertAttentionToKernels.cpp - Flash attention on the GPU ---------===//
//
// Kiln's attention kernel generator for the CUDA target. The reference
// lowering of kiln.attention materializes the [B, Hq, S, L] scores and
// runs one thread per output element; here each kiln.attention the kernel
// covers becomes one gpu.launch in the FlashAttention style (online
// softmax over key tiles, nothing of size S x L anywhere):
//
//   prefill: a block of 128 threads per (32 query rows, query head, batch)
//     Qs[32][D]  = the block's queries                      (shared memory)
//     per thread: row r = tid / 4, quarter c = tid % 4
//     m = -inf, l = 0, acc[Dv / 4] = 0                      (registers)
//     for key tiles kt in [first, end)      (bounds from the mask kind)
//       Ks[KT][D], Vs[KT][Dv] = the tile's keys and values  (shared memory)
//       s[i] = scale * <Qs[r], Ks[c + 4 i]>                 (KT / 4 scores)
//       if the tile crosses a mask edge: s[i] = -inf where not allowed
//       m' = max(m, max over the row's 4 threads)           (gpu.shuffle)
//       p[i] = exp(s[i] - m'); l = l exp(m - m') + sum over the row
//       Ps[r][c + 4 i] = p[i]
//       acc[i] = acc[i] exp(m - m') + sum_j Ps[r][j] Vs[j][c + 4 i]
//     out[row, c + 4 i] = acc[i] / l                        (0 if l = 0)
//
//   decode: a block of 4 warps per (query, query head, batch); per key
//     tile of 16, warp w takes keys 4w .. 4w + 3 and its lanes split the
//     features (scores reduced by gpu.shuffle xor over the warp); each
//     warp runs the online softmax over its keys, then the warps' (m, l,
//     acc) are combined through shared memory.
//
// The math is plain f32 FMAs per thread (16-bit inputs are widened as they
// are loaded, the output rounded back); the key-tile bounds and the edge
// test are AttentionKeyRange.h's, shared with the CPU kernel. Inputs reach
// the launch through bufferization.to_buffer (this runs on tensors, before
// the decomposition would expand the op), the output is a memref.alloc
// that the workspace planner places.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

#include "IndexArithmetic.h"
#include "KernelBuffers.h"

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/AttentionKeyRange.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace kiln {
#define GEN_PASS_DEF_CONVERTATTENTIONTOKERNELS
#include "kiln/passes/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// Prefill: query rows per block, threads per row, threads per block.
constexpr int64_t kRows = 32, kThreadsPerRow = 4, kThreads = 128;
/// Decode: warps per block, keys per warp and tile.
constexpr int64_t kWarps = 4, kKeysPerWarp = 4, kWarpSize = 32;
/// Static shared memory a kernel may have.
constexpr int64_t kMaxSharedBytes = 48 * 1024;
/// Above this the accumulators (valueDim / 4 per prefill thread) and the
/// query row (decode) would not stay in registers.
constexpr int64_t kMaxHeadDim = 128;

/// The static facts of one kiln.attention that its kernel is built from.
struct GpuAttentionPlan {
  AttentionWindow window; // keyBlock: keys per tile
  int64_t batch, heads, kvHeads, group, queries, past, keys, headDim, valueDim;
  double scale, softcap;
  bool decode;
  /// block_sparse: the row-major [layoutBlocks x layoutBlocks] grid of
  /// allowed cells of `sparseBlock` positions; 0 for the other kinds.
  int64_t sparseBlock = 0, layoutBlocks = 0;
  SmallVector<bool> layout;
};

/// Shared memory of the prefill kernel with key tiles of `tile` keys:
/// Qs [32][D + 1], Ks [tile][D + 1], Vs [tile][Dv], Ps [32][tile + 1] (f32;
/// the rows read across threads are padded by one word against bank
/// conflicts).
int64_t prefillSharedBytes(int64_t headDim, int64_t valueDim, int64_t tile) {
  return 4 * (kRows * (headDim + 1) + tile * (headDim + 1) + tile * valueDim +
              kRows * (tile + 1));
}

/// block_sparse: whether a layout cell decides a whole tile (key tiles
/// inside one layout column, each block's query rows inside one layout
/// row), so that the kernel visits only the allowed tiles and never masks
/// by the layout.
bool sparseCellsHoldWholeTiles(GpuAttentionPlan &plan) {
  int64_t cell = plan.sparseBlock;
  plan.layoutBlocks = llvm::divideCeil(plan.keys, cell);
  if ((int64_t)plan.layout.size() != plan.layoutBlocks * plan.layoutBlocks ||
      cell % plan.window.keyBlock != 0 ||
      plan.past + plan.queries > plan.keys)
    return false;
  return plan.decode || (cell % kRows == 0 && plan.past % kRows == 0);
}

/// Whether the optional tensor `v` is absent or has element type `type`.
bool hasElementType(Value v, Type type) {
  return !v || cast<RankedTensorType>(v.getType()).getElementType() == type;
}

/// The plan of an attention op the kernels cover, or std::nullopt (the op
/// keeps the reference lowering): f32, f16 or bf16, mask kind none / causal /
/// sliding_window / hierarchical with leading global tokens / block_sparse
/// with cells of whole tiles, no mask
/// tensor, no global indices, no scores result, head and value dimensions
/// at most 128 (value dimension a multiple of 4).
std::optional<GpuAttentionPlan> planAttention(AttentionOp op,
                                              int64_t decodeMaxQueries) {
  GpuAttentionPlan plan;
  std::optional<AttentionWindow> window = positionalWindow(op);
  if (!window)
    return std::nullopt;
  plan.window = *window;
  AttentionWindow &w = plan.window;
  if (op.getMaskKind() == MaskKind::BlockSparse) {
    std::optional<ArrayRef<bool>> layout = op.getBlockLayout();
    if (op.getBlockSize() <= 0 || !layout)
      return std::nullopt;
    plan.sparseBlock = op.getBlockSize();
    plan.layout.assign(layout->begin(), layout->end());
  }
  if (op.getScores() || op.getMask() || op.getGlobalIndices() ||
      op.getQueryStart())
    return std::nullopt;
  // f32, f16 or bf16 (the math is f32 either way), the same for every input.
  Type type = op.getQuery().getType().getElementType();
  if (!(type.isF32() || type.isF16() || type.isBF16()) ||
      !llvm::all_of(ValueRange{op.getKey(), op.getValue(), op.getPastKey(),
                               op.getPastValue()},
                    [&](Value v) { return hasElementType(v, type); }))
    return std::nullopt;
  RankedTensorType q = op.getQuery().getType();
  RankedTensorType k = op.getPresentKey().getType();
  RankedTensorType v = op.getPresentValue().getType();
  if (!q.hasStaticShape() || !k.hasStaticShape() || !v.hasStaticShape())
    return std::nullopt;
  plan.batch = q.getDimSize(0);
  plan.heads = q.getDimSize(1);
  plan.kvHeads = k.getDimSize(1);
  plan.group = plan.heads / plan.kvHeads;
  plan.queries = q.getDimSize(2);
  plan.headDim = q.getDimSize(3);
  plan.keys = k.getDimSize(2);
  plan.valueDim = v.getDimSize(3);
  plan.past = op.getPastKey() ? op.getPastKey().getType().getDimSize(2) : 0;
  plan.scale = op.getScale().convertToDouble();
  plan.softcap = op.getSoftcap().convertToDouble();
  if (q.getNumElements() == 0 || plan.keys == 0 || plan.valueDim == 0 ||
      plan.headDim > kMaxHeadDim || plan.valueDim > kMaxHeadDim ||
      plan.valueDim % kThreadsPerRow != 0)
    return std::nullopt;
  // A window wider than the positions it could exclude is no bound.
  if (w.windowLeft >= plan.past + plan.queries)
    w.windowLeft = -1;
  if (w.windowRight >= plan.keys)
    w.windowRight = -1;
  plan.decode = plan.queries <= decodeMaxQueries &&
                plan.headDim % kWarpSize == 0 &&
                plan.valueDim % kWarpSize == 0;
  if (plan.decode) {
    w.keyBlock = kWarps * kKeysPerWarp;
  } else {
    w.keyBlock = 32;
    if (prefillSharedBytes(plan.headDim, plan.valueDim, 32) > kMaxSharedBytes)
      w.keyBlock = 16;
  }
  if (plan.sparseBlock && !sparseCellsHoldWholeTiles(plan))
    return std::nullopt;
  return plan;
}

/// The memrefs a kernel reads and writes (kvSeqlen and the sparse tables
/// may be null).
struct KernelOperands {
  Value queries, keys, values, kvSeqlen, out;
  Value sparseTable, sparseCounts; // block_sparse: [rows, most], [rows] i32
};

/// What both kernels build from: index and float helpers, the inputs as
/// memrefs, the mask test of one pair, the online softmax's reductions.
class AttentionKernelBase : protected IndexArithmetic {
public:
  AttentionKernelBase(ImplicitLocOpBuilder &b, const GpuAttentionPlan &plan,
                      const KernelOperands &operands)
      : IndexArithmetic(b), b(b), plan(plan), queries(operands.queries),
        keys(operands.keys), values(operands.values),
        kvSeqlen(operands.kvSeqlen), out(operands.out),
        sparseTable(operands.sparseTable), sparseCounts(operands.sparseCounts),
        f32(b.getF32Type()) {}

protected:
  Value cst(double v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  }
  Value negInf() { return cst(-std::numeric_limits<double>::infinity()); }
  Value minIndex(Value x, Value y) { return arith::MinSIOp::create(b, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, x, y); }
  Value fma(Value x, Value y, Value z) {
    return math::FmaOp::create(b, x, y, z);
  }
  Value fmax(Value x, Value y) { return arith::MaximumFOp::create(b, x, y); }
  Value load(Value memref, ValueRange indices) {
    return memref::LoadOp::create(b, memref, indices);
  }
  void store(Value value, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, value, memref, indices);
  }
  /// An element of Q, K or V, as f32 (16-bit inputs are widened: the math
  /// is f32 whatever the input type).
  Value loadInput(Value memref, ValueRange indices) {
    Value x = load(memref, indices);
    return x.getType().isF32() ? x : arith::ExtFOp::create(b, f32, x);
  }
  /// An f32 result stored into the output (rounded to its type).
  void storeOutput(Value x, ValueRange indices) {
    Type type = cast<MemRefType>(out.getType()).getElementType();
    if (!type.isF32())
      x = arith::TruncFOp::create(b, type, x);
    store(x, out, indices);
  }
  /// Row `key` of a K or V tensor, clamped into the keys (a clamped key
  /// is always masked: it is at or past keyEnd).
  Value clampKey(Value key) { return minIndex(key, idx(plan.keys - 1)); }

  /// L, or min(L, kv_seqlen[batch]).
  Value keyEnd(Value batch) {
    Value end = idx(plan.keys);
    if (!kvSeqlen)
      return end;
    Value length = arith::IndexCastOp::create(b, b.getIndexType(),
                                              load(kvSeqlen, batch));
    return minIndex(end, length);
  }

  /// The key tiles the rows at positions [minPos, maxPos] visit: the mask
  /// kind's window (AttentionKeyRange.h), or for block_sparse the allowed
  /// tiles of their layout row, listed in the constant tables.
  KeyRange keyRange(Value end, Value minPos, Value maxPos) {
    if (!plan.sparseBlock)
      return buildKeyRange(b, plan.window, end, minPos, maxPos);
    KeyRange range;
    range.keyEnd = end;
    range.layoutRow = arith::DivSIOp::create(b, minPos, idx(plan.sparseBlock));
    range.loopBegin = idx(0);
    range.loopEnd = arith::IndexCastOp::create(
        b, b.getIndexType(), load(sparseCounts, range.layoutRow));
    range.layoutTable = sparseTable;
    return range;
  }

  /// The online-softmax loop over the key tiles that rows at positions
  /// [minPos, maxPos] visit (keyRange, keys before `end`), carrying the
  /// running max, the running sum and `accumulators` partial outputs; an
  /// iteration yields what `tileStep(k0, carried)` makes of them, k0 the
  /// tile's first key.
  scf::ForOp keyTileLoop(
      Value end, Value minPos, Value maxPos, int64_t accumulators,
      function_ref<SmallVector<Value>(Value k0, ValueRange carried)> tileStep) {
    KeyRange range = keyRange(end, minPos, maxPos);
    SmallVector<Value> init = {negInf(), cst(0)};
    init.append(accumulators, cst(0));
    auto loop =
        scf::ForOp::create(b, range.loopBegin, range.loopEnd, idx(1), init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = tileStart(range, loop.getInductionVar());
    scf::YieldOp::create(b, tileStep(k0, loop.getRegionIterArgs()));
    return loop;
  }

  /// A loop of `n` steps carrying `init`: step t adds scalar(t) *
  /// operand(t, i) to carried value i (a row of a small matrix product).
  scf::ForOp fmaLoop(int64_t n, ValueRange init,
                     function_ref<Value(Value t)> scalar,
                     function_ref<Value(Value t, int64_t i)> operand) {
    auto loop = scf::ForOp::create(b, idx(0), idx(n), idx(1), init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = loop.getInductionVar();
    Value x = scalar(t);
    SmallVector<Value> next;
    for (auto [i, carried] : llvm::enumerate(loop.getRegionIterArgs()))
      next.push_back(fma(x, operand(t, i), carried));
    scf::YieldOp::create(b, next);
    return loop;
  }

  /// The first key of the tile that iteration `iteration` visits.
  Value tileStart(const KeyRange &range, Value iteration) {
    Value tile;
    if (range.layoutRow)
      tile = arith::IndexCastOp::create(
          b, b.getIndexType(),
          load(range.layoutTable, {range.layoutRow, iteration}));
    else
      tile = keyBlockOfIteration(b, range, iteration);
    return mul(tile, plan.window.keyBlock);
  }

  /// `x` combined over the lanes `lane ^ offset` for each offset
  /// (a butterfly: every lane ends with the result).
  Value butterfly(Value x, ArrayRef<int32_t> offsets, bool isMax) {
    for (int32_t offset : offsets) {
      Value other = gpu::ShuffleOp::create(b, x, offset, kWarpSize,
                                           gpu::ShuffleMode::XOR)
                        .getShuffleResult();
      x = isMax ? fmax(x, other) : fadd(x, other);
    }
    return x;
  }

  /// scale * x, softcapped.
  Value scaleScore(Value x) {
    x = fmul(x, cst(plan.scale));
    if (plan.softcap > 0) {
      Value cap = cst(plan.softcap);
      x = fmul(math::TanhOp::create(b, arith::DivFOp::create(b, x, cap)), cap);
    }
    return x;
  }

  /// Whether the query at `pos` may attend `key` (kiln.attention_mask's
  /// rule for the window kinds, and keys past keyEnd removed).
  Value pairAllowed(Value pos, Value key, Value end) {
    const AttentionWindow &w = plan.window;
    Value allowed = cmp(arith::CmpIPredicate::slt, key, end);
    if (w.windowRight >= 0)
      allowed = arith::AndIOp::create(
          b, allowed,
          cmp(arith::CmpIPredicate::sle, key, add(pos, w.windowRight)));
    if (w.windowLeft >= 0) {
      Value left = cmp(arith::CmpIPredicate::sge, key,
                       arith::SubIOp::create(b, pos, idx(w.windowLeft)));
      if (w.hasAnchors()) {
        Value global = idx(w.globalTokens);
        left = arith::OrIOp::create(
            b, left,
            arith::OrIOp::create(b, cmp(arith::CmpIPredicate::slt, key, global),
                                 cmp(arith::CmpIPredicate::slt, pos, global)));
      }
      allowed = arith::AndIOp::create(b, allowed, left);
    }
    return allowed;
  }

  /// The scores with the pairs the mask removes set to -inf, computed only
  /// when `edge` (the tile crosses an edge of the allowed region).
  SmallVector<Value> maskAtEdges(Value edge, ArrayRef<Value> scores,
                                 ArrayRef<Value> keysOfScores, Value pos,
                                 Value end) {
    SmallVector<Type> types(scores.size(), f32);
    auto ifOp = scf::IfOp::create(b, types, edge, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, scores);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value minusInf = negInf();
    SmallVector<Value> masked;
    for (auto [s, key] : llvm::zip(scores, keysOfScores))
      masked.push_back(arith::SelectOp::create(
          b, pairAllowed(pos, key, end), s, minusInf));
    scf::YieldOp::create(b, masked);
    return SmallVector<Value>(ifOp.getResults());
  }

  /// The shift of the exponentials for running max `max`: the max, or 0
  /// while no key is allowed (keeps exp(-inf - -inf) = NaN out).
  Value softmaxShift(Value max) {
    Value none =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, max, negInf());
    return arith::SelectOp::create(b, none, cst(0), max);
  }

  Value exp(Value x) { return math::ExpOp::create(b, x); }

  /// `body(i)` for i = first, first + step, ... below `end` (an scf.for).
  void forStrided(Value first, int64_t end, int64_t step,
                  function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, first, idx(end), idx(step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }

  ImplicitLocOpBuilder &b;
  const GpuAttentionPlan &plan;
  Value queries, keys, values, kvSeqlen, out, sparseTable, sparseCounts;
  Type f32;
};

/// The prefill kernel's body, for the block at (qBlock, head, batch).
class PrefillKernelBuilder : AttentionKernelBase {
public:
  PrefillKernelBuilder(ImplicitLocOpBuilder &b, const GpuAttentionPlan &plan,
                       const KernelOperands &operands, ValueRange shared)
      : AttentionKernelBase(b, plan, operands), qs(shared[0]), ks(shared[1]), vs(shared[2]), ps(shared[3]) {}

  void build(Value tid, Value qBlock, Value head, Value batch);

private:
  int64_t tile() const { return plan.window.keyBlock; }
  int64_t scoresPerThread() const { return tile() / kThreadsPerRow; }
  int64_t accPerThread() const { return plan.valueDim / kThreadsPerRow; }
  void stageTile(Value src, Value dst, int64_t features, Value k0);
  SmallVector<Value> scores(Value k0);
  SmallVector<Value> step(ValueRange state, Value k0, Value edge);

  Value qs, ks, vs, ps;
  Value tid, r, c, batch, head, kvHead, pos, end;
};

/// Keys (or values) k0 .. k0 + tile - 1 of this block's KV head into `dst`,
/// spread over the threads (consecutive threads, consecutive features).
void PrefillKernelBuilder::stageTile(Value src, Value dst, int64_t features,
                                     Value k0) {
  forStrided(tid, tile() * features, kThreads, [&](Value e) {
    Value j = div(e, features), d = rem(e, features);
    store(loadInput(src, {batch, kvHead, clampKey(add(k0, j)), d}), dst,
          {j, d});
  });
}

/// This thread's scores of the tile (keys c + 4 i), unscaled: one sweep
/// over the features reading the query from Qs and the keys from Ks.
SmallVector<Value> PrefillKernelBuilder::scores(Value k0) {
  SmallVector<Value> init(scoresPerThread(), cst(0));
  scf::ForOp loop = fmaLoop(
      plan.headDim, init,
      [&](Value d) {
        return load(qs, {r, d});
      },
      [&](Value d, int64_t i) {
        return load(ks, {add(c, i * kThreadsPerRow), d});
      });
  return SmallVector<Value>(loop.getResults());
}

/// One key tile folded into the running (max, sum, acc...) `state`.
SmallVector<Value> PrefillKernelBuilder::step(ValueRange state, Value k0,
                                              Value edge) {
  SmallVector<Value> s = scores(k0), keyOf;
  for (int64_t i = 0; i < scoresPerThread(); ++i) {
    s[i] = scaleScore(s[i]);
    keyOf.push_back(add(k0, add(c, i * kThreadsPerRow)));
  }
  s = maskAtEdges(edge, s, keyOf, pos, end);

  // The row's statistics over its 4 threads (lanes 4r .. 4r + 3).
  Value tileMax = s[0];
  for (Value x : ArrayRef<Value>(s).drop_front())
    tileMax = fmax(tileMax, x);
  Value max = fmax(state[0], butterfly(tileMax, {1, 2}, /*isMax=*/true));
  Value shift = softmaxShift(max);
  Value rescale = exp(arith::SubFOp::create(b, state[0], shift));
  Value tileSum = cst(0);
  for (int64_t i = 0; i < scoresPerThread(); ++i) {
    Value p = exp(arith::SubFOp::create(b, s[i], shift));
    tileSum = fadd(tileSum, p);
    store(p, ps, {r, add(c, i * kThreadsPerRow)});
  }
  Value sum = fadd(fmul(state[1], rescale),
                   butterfly(tileSum, {1, 2}, /*isMax=*/false));
  // Every thread's weights are in Ps before the rows are read whole.
  gpu::BarrierOp::create(b);

  SmallVector<Value> acc;
  for (Value a : state.drop_front(2))
    acc.push_back(fmul(a, rescale));
  scf::ForOp loop = fmaLoop(
      tile(), acc,
      [&](Value j) {
        return load(ps, {r, j});
      },
      [&](Value j, int64_t i) {
        return load(vs, {j, add(c, i * kThreadsPerRow)});
      });
  SmallVector<Value> next = {max, sum};
  llvm::append_range(next, loop.getResults());
  return next;
}

void PrefillKernelBuilder::build(Value tid, Value qBlock, Value head,
                                 Value batch) {
  this->tid = tid;
  this->batch = batch;
  this->head = head;
  r = div(tid, kThreadsPerRow);
  c = rem(tid, kThreadsPerRow);
  kvHead = div(head, plan.group);
  Value row0 = mul(qBlock, kRows);
  Value query = add(row0, r);
  pos = add(query, plan.past);
  Value minPos = add(row0, plan.past);
  Value maxPos =
      add(minIndex(add(row0, kRows - 1), idx(plan.queries - 1)), plan.past);
  // The block's queries (rows past the queries repeat the last one; their
  // outputs are not written).
  forStrided(tid, kRows * plan.headDim, kThreads, [&](Value e) {
    Value row = div(e, plan.headDim), d = rem(e, plan.headDim);
    Value source = minIndex(add(row0, row), idx(plan.queries - 1));
    store(loadInput(queries, {batch, head, source, d}), qs, {row, d});
  });
  end = keyEnd(batch);
  scf::ForOp loop = keyTileLoop(
      end, minPos, maxPos, accPerThread(), [&](Value k0, ValueRange carried) {
        // The previous tile is read by every thread before it is
        // overwritten (and, on the first, the queries are in Qs).
        gpu::BarrierOp::create(b);
        stageTile(keys, ks, plan.headDim, k0);
        stageTile(values, vs, plan.valueDim, k0);
        gpu::BarrierOp::create(b);
        Value edge =
            blockCrossesMaskEdge(b, plan.window, end, minPos, maxPos, k0, k0);
        return step(carried, k0, edge);
      });

  // Rows that attended no key have sum 0 and write zeros.
  Value sum = loop.getResult(1);
  Value any = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum, cst(0));
  Value inverse = arith::SelectOp::create(
      b, any, arith::DivFOp::create(b, cst(1), sum), cst(0));
  auto write = scf::IfOp::create(
      b, cmp(arith::CmpIPredicate::slt, query, idx(plan.queries)),
      /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(write.thenBlock());
  for (int64_t i = 0; i < accPerThread(); ++i)
    storeOutput(fmul(loop.getResult(2 + i), inverse),
                {batch, head, query, add(c, i * kThreadsPerRow)});
}

/// The decode kernel's body, for the block at (query, head, batch).
class DecodeKernelBuilder : AttentionKernelBase {
public:
  DecodeKernelBuilder(ImplicitLocOpBuilder &b, const GpuAttentionPlan &plan,
                       const KernelOperands &operands, ValueRange shared)
      : AttentionKernelBase(b, plan, operands), maxes(shared[0]), sums(shared[1]), accs(shared[2]) {}

  void build(Value tid, Value query, Value head, Value batch);

private:
  int64_t qPerLane() const { return plan.headDim / kWarpSize; }
  int64_t accPerLane() const { return plan.valueDim / kWarpSize; }
  Value feature(int64_t i) { return add(lane, i * kWarpSize); }
  SmallVector<Value> step(ValueRange state, ArrayRef<Value> q, Value k0);
  void combine(Value tid, Value query, Value head, Value batch,
               ValueRange state);

  Value maxes, sums, accs;
  Value warp, lane, batch, kvHead, pos, end;
};

/// One key tile (this warp's kKeysPerWarp keys of it) folded into the
/// warp's running (max, sum, acc...) `state`.
SmallVector<Value> DecodeKernelBuilder::step(ValueRange state,
                                             ArrayRef<Value> q, Value k0) {
  SmallVector<Value> s, keyOf, rows;
  for (int64_t u = 0; u < kKeysPerWarp; ++u) {
    Value key = add(add(k0, mul(warp, kKeysPerWarp)), u);
    keyOf.push_back(key);
    rows.push_back(clampKey(key));
    Value partial = cst(0);
    for (int64_t i = 0; i < qPerLane(); ++i)
      partial =
          fma(q[i], loadInput(keys, {batch, kvHead, rows[u], feature(i)}),
              partial);
    s.push_back(scaleScore(
        butterfly(partial, {16, 8, 4, 2, 1}, /*isMax=*/false)));
  }
  Value edge = blockCrossesMaskEdge(b, plan.window, end, pos, pos, k0, k0);
  s = maskAtEdges(edge, s, keyOf, pos, end);

  Value max = state[0];
  for (Value x : s)
    max = fmax(max, x);
  Value shift = softmaxShift(max);
  Value rescale = exp(arith::SubFOp::create(b, state[0], shift));
  Value sum = fmul(state[1], rescale);
  SmallVector<Value> acc;
  for (Value a : state.drop_front(2))
    acc.push_back(fmul(a, rescale));
  for (int64_t u = 0; u < kKeysPerWarp; ++u) {
    Value p = exp(arith::SubFOp::create(b, s[u], shift));
    sum = fadd(sum, p);
    for (int64_t i = 0; i < accPerLane(); ++i)
      acc[i] = fma(p,
                   loadInput(values, {batch, kvHead, rows[u], feature(i)}),
                   acc[i]);
  }
  SmallVector<Value> next = {max, sum};
  llvm::append_range(next, acc);
  return next;
}

/// The warps' partial results combined through shared memory:
/// out[d] = sum_w acc_w[d] e^(m_w - M) / sum_w l_w e^(m_w - M).
void DecodeKernelBuilder::combine(Value tid, Value query, Value head,
                                  Value batch, ValueRange state) {
  {
    auto first = scf::IfOp::create(
        b, cmp(arith::CmpIPredicate::eq, lane, idx(0)), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(first.thenBlock());
    store(state[0], maxes, warp);
    store(state[1], sums, warp);
  }
  for (int64_t i = 0; i < accPerLane(); ++i)
    store(state[2 + i], accs, {warp, feature(i)});
  gpu::BarrierOp::create(b);
  forStrided(tid, plan.valueDim, kWarps * kWarpSize, [&](Value d) {
    SmallVector<Value> m;
    Value max = negInf();
    for (int64_t w = 0; w < kWarps; ++w) {
      m.push_back(load(maxes, idx(w)));
      max = fmax(max, m.back());
    }
    Value shift = softmaxShift(max);
    Value sum = cst(0), acc = cst(0);
    for (int64_t w = 0; w < kWarps; ++w) {
      Value weight = exp(arith::SubFOp::create(b, m[w], shift));
      sum = fma(load(sums, idx(w)), weight, sum);
      acc = fma(load(accs, {idx(w), d}), weight, acc);
    }
    Value any =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum, cst(0));
    Value result = arith::SelectOp::create(
        b, any, arith::DivFOp::create(b, acc, sum), cst(0));
    storeOutput(result, {batch, head, query, d});
  });
}

void DecodeKernelBuilder::build(Value tid, Value query, Value head,
                                Value batch) {
  this->batch = batch;
  warp = div(tid, kWarpSize);
  lane = rem(tid, kWarpSize);
  kvHead = div(head, plan.group);
  pos = add(query, plan.past);
  SmallVector<Value> q;
  for (int64_t i = 0; i < qPerLane(); ++i)
    q.push_back(loadInput(queries, {batch, head, query, feature(i)}));
  end = keyEnd(batch);
  scf::ForOp loop = keyTileLoop(
      end, pos, pos, accPerLane(),
      [&](Value k0, ValueRange carried) { return step(carried, q, k0); });
  combine(tid, query, head, batch, loop.getResults());
}

/// block_sparse: the allowed key tiles per layout row ([rows, most]) and
/// their counts ([rows]), as i32 tensor constants.
std::pair<Value, Value> sparseTables(ImplicitLocOpBuilder &b,
                                     const GpuAttentionPlan &plan) {
  int64_t tile = plan.window.keyBlock, rows = plan.layoutBlocks;
  SparseKeyTables tables =
      buildSparseKeyTables(plan.layout, rows, plan.sparseBlock, tile,
                           llvm::divideCeil(plan.keys, tile));
  Type i32 = b.getI32Type();
  Value table = arith::ConstantOp::create(
      b, DenseElementsAttr::get(RankedTensorType::get({rows, tables.most}, i32),
                                ArrayRef<int32_t>(tables.table)));
  Value counts = arith::ConstantOp::create(
      b, DenseElementsAttr::get(RankedTensorType::get({rows}, i32),
                                ArrayRef<int32_t>(tables.counts)));
  return {table, counts};
}

MemRefType sharedType(MLIRContext *ctx, ArrayRef<int64_t> shape) {
  return MemRefType::get(
      shape, Float32Type::get(ctx), MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
}

/// Replaces `op` by the kernel of `plan`: inputs as read-only buffers, the
/// output a new buffer; the KV cache results are the concatenations the
/// reference lowering returns too.
void convertAttention(RewriterBase &rewriter, AttentionOp op,
                      const GpuAttentionPlan &plan) {
  rewriter.setInsertionPoint(op);
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  MLIRContext *ctx = b.getContext();
  Value keys, values;
  std::tie(keys, values) = attendedKeysAndValues(b, op);
  auto buffer = [&](Value tensor) { return readOnlyBuffer(b, tensor); };
  KernelOperands operands;
  operands.queries = buffer(op.getQuery());
  operands.keys = buffer(keys);
  operands.values = buffer(values);
  operands.kvSeqlen = buffer(op.getKvSeqlen());
  if (plan.sparseBlock) {
    auto [table, counts] = sparseTables(b, plan);
    operands.sparseTable = buffer(table);
    operands.sparseCounts = buffer(counts);
  }
  RankedTensorType outType = op.getOutput().getType();
  operands.out = memref::AllocOp::create(
      b, MemRefType::get(outType.getShape(), outType.getElementType()));

  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  SmallVector<Type> shared;
  Value gridX;
  int64_t tile = plan.window.keyBlock;
  if (plan.decode) {
    gridX = index(plan.queries);
    shared = {sharedType(ctx, {kWarps}), sharedType(ctx, {kWarps}),
              sharedType(ctx, {kWarps, plan.valueDim})};
  } else {
    gridX = index(llvm::divideCeil(plan.queries, kRows));
    shared = {sharedType(ctx, {kRows, plan.headDim + 1}),
              sharedType(ctx, {tile, plan.headDim + 1}),
              sharedType(ctx, {tile, plan.valueDim}),
              sharedType(ctx, {kRows, tile + 1})};
  }
  Value one = index(1);
  auto launch = gpu::LaunchOp::create(
      b, gridX, index(plan.heads), index(plan.batch), index(kThreads), one,
      one, /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      ValueRange{}, shared);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    ValueRange smem = launch.getWorkgroupAttributions();
    gpu::KernelDim3 block = launch.getBlockIds();
    Value tid = launch.getThreadIds().x;
    if (plan.decode)
      DecodeKernelBuilder(b, plan, operands, smem)
          .build(tid, block.x, block.y, block.z);
    else
      PrefillKernelBuilder(b, plan, operands, smem)
          .build(tid, block.x, block.y, block.z);
    gpu::TerminatorOp::create(b);
  }
  Value result = bufferization::ToTensorOp::create(
      b, outType, operands.out, /*restrict=*/true, /*writable=*/true);
  rewriter.replaceOp(op, ValueRange{result, keys, values});
}

struct ConvertAttentionToKernelsPass
    : kiln::impl::ConvertAttentionToKernelsBase<ConvertAttentionToKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (decodeMaxQueries < 0) {
      getOperation().emitError(
          "kiln-gpu-convert-attention-to-kernels: decode-max-queries must "
          "be at least 0, found ")
          << static_cast<int64_t>(decodeMaxQueries);
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (AttentionOp op : ops)
      if (std::optional<GpuAttentionPlan> plan =
              planAttention(op, decodeMaxQueries))
        convertAttention(rewriter, op, *plan);
  }
};

} // namespace
