//===- TransformerToLinalg.cpp - Attention masks and RoPE to linalg
//---------===//
//
// Transformer ops whose meaning depends on positions: the mask and RoPE
// lower to one elementwise linalg.generic that computes positions with
// linalg.index; a KV cache update to slices inserted per batch entry.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace kiln;

namespace {

/// The positional mask, evaluated from linalg.index inside one elementwise
/// generic (no [queries, keys] mask tensor exists).
SmallVector<Value> lowerAttentionMask(AttentionMaskOp op,
                                      AttentionMaskOp::Adaptor adaptor,
                                      ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  int64_t rank = type.getRank(), keys = type.getDimSize(rank - 1);
  MaskKind kind = op.getMaskKind();
  int64_t offset = op.getQueryOffset();
  int64_t left = op.getWindowLeft(), right = op.getWindowRight();
  int64_t numGlobal = op.getNumGlobalTokens(), bs = op.getBlockSize();
  Value flags = adaptor.getGlobalFlags();
  Value lengths = adaptor.getKvSeqlen();
  Value starts = adaptor.getQueryStart();
  Value layout;
  int64_t blocks = 0;
  if (kind == MaskKind::BlockSparse) {
    // The layout is a constant grid over the keys' blocks.
    if (ShapedType::isDynamic(keys)) {
      op.emitOpError("block-sparse mask needs a static number of keys to "
                     "lay out its blocks");
      return {};
    }
    blocks = (keys + bs - 1) / bs;
    auto layoutType =
        RankedTensorType::get({blocks * blocks}, rewriter.getI1Type());
    layout = arith::ConstantOp::create(
        rewriter, loc, layoutType,
        DenseElementsAttr::get(layoutType, *op.getBlockLayout()));
  }
  Value result = buildElementwise(
      rewriter, loc, type, adaptor.getInput(),
      [&](OpBuilder &b, Location l, ValueRange args) {
        auto idx = [&](int64_t v) -> Value {
          return arith::ConstantIndexOp::create(b, l, v);
        };
        auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) -> Value {
          return arith::CmpIOp::create(b, l, p, x, y);
        };
        auto both = [&](Value x, Value y) -> Value {
          return arith::AndIOp::create(b, l, x, y);
        };
        auto either = [&](Value x, Value y) -> Value {
          return arith::OrIOp::create(b, l, x, y);
        };
        Value i = linalg::IndexOp::create(b, l, rank - 2);
        Value j = linalg::IndexOp::create(b, l, rank - 1);
        Value p = arith::AddIOp::create(b, l, i, idx(offset));
        if (starts) {
          Value start = tensor::ExtractOp::create(
              b, l, starts, ValueRange{linalg::IndexOp::create(b, l, 0)});
          p = arith::AddIOp::create(
              b, l, i,
              arith::IndexCastOp::create(b, l, b.getIndexType(), start));
        }
        Value yes = arith::ConstantIntOp::create(b, l, 1, 1);
        // j <= p + right and j >= p - left, each only when bounded.
        auto window = [&]() {
          Value ok = yes;
          if (right >= 0)
            ok = both(ok, cmp(arith::CmpIPredicate::sle, j,
                              arith::AddIOp::create(b, l, p, idx(right))));
          if (left >= 0)
            ok = both(ok, cmp(arith::CmpIPredicate::sge,
                              arith::AddIOp::create(b, l, j, idx(left)), p));
          return ok;
        };
        auto isGlobal = [&](Value x) {
          Value g = cmp(arith::CmpIPredicate::slt, x, idx(numGlobal));
          if (flags)
            g = either(g, tensor::ExtractOp::create(b, l, flags, x));
          return g;
        };
        Value allowed;
        switch (kind) {
        case MaskKind::None:
          allowed = yes;
          break;
        case MaskKind::Causal:
          allowed = cmp(arith::CmpIPredicate::sle, j, p);
          break;
        case MaskKind::SlidingWindow:
          allowed = window();
          break;
        case MaskKind::Hierarchical: {
          Value global = either(isGlobal(j), isGlobal(p));
          if (right >= 0)
            global =
                both(global, cmp(arith::CmpIPredicate::sle, j,
                                 arith::AddIOp::create(b, l, p, idx(right))));
          allowed = either(window(), global);
          break;
        }
        case MaskKind::BlockSparse: {
          Value qb = arith::DivUIOp::create(b, l, p, idx(bs));
          Value kb = arith::DivUIOp::create(b, l, j, idx(bs));
          // Queries past the layout (p beyond the keys) see no block.
          Value inside = cmp(arith::CmpIPredicate::slt, qb, idx(blocks));
          Value safeQb = arith::SelectOp::create(b, l, inside, qb, idx(0));
          Value at = arith::AddIOp::create(
              b, l, arith::MulIOp::create(b, l, safeQb, idx(blocks)), kb);
          allowed = both(inside, tensor::ExtractOp::create(b, l, layout, at));
          break;
        }
        }
        // Keys at or past the batch entry's valid length: j < kv_seqlen[b].
        if (lengths) {
          Value batch = linalg::IndexOp::create(b, l, 0);
          Value len = tensor::ExtractOp::create(b, l, lengths, batch);
          len = arith::IndexCastOp::create(b, l, b.getIndexType(), len);
          allowed = both(allowed, cmp(arith::CmpIPredicate::slt, j, len));
        }
        Value negInf = arith::ConstantOp::create(
            b, l, type.getElementType(),
            b.getFloatAttr(type.getElementType(),
                           -std::numeric_limits<double>::infinity()));
        return (Value)arith::SelectOp::create(b, l, allowed, args[0], negInf);
      });
  return {result};
}

/// RoPE as one elementwise generic over the output: each feature reads its
/// pair partner and the cos/sin entry of its position with tensor.extract.
SmallVector<Value> lowerRope(RopeOp op, RopeOp::Adaptor adaptor,
                             ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  int64_t rotated = op.getRotatedFeatures(), half = rotated / 2;
  bool interleaved = op.getInterleaved();
  Value x = adaptor.getInput(), cos = adaptor.getCos(), sin = adaptor.getSin();
  Value positions = adaptor.getPositions();
  int64_t cacheRank = cast<RankedTensorType>(cos.getType()).getRank();
  // The positions table's length, for clamping positions into it.
  OpFoldResult table;
  if (positions)
    table = dimOf(rewriter, loc, cos, 0);
  Value result = buildElementwise(
      rewriter, loc, type, x, [&](OpBuilder &b, Location l, ValueRange args) {
        auto idx = [&](int64_t v) -> Value {
          return arith::ConstantIndexOp::create(b, l, v);
        };
        Value bi = linalg::IndexOp::create(b, l, 0);
        Value hi = linalg::IndexOp::create(b, l, 1);
        Value si = linalg::IndexOp::create(b, l, 2);
        Value d = linalg::IndexOp::create(b, l, 3);
        Value inRotation = arith::CmpIOp::create(
            b, l, arith::CmpIPredicate::ult, d, idx(rotated));
        // Features past the rotation read pair 0 so every index stays in
        // bounds; the final select discards that value.
        Value dr = arith::SelectOp::create(b, l, inRotation, d, idx(0));
        Value pair, first, partner;
        if (interleaved) {
          pair = arith::DivUIOp::create(b, l, dr, idx(2));
          first = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::eq,
              arith::RemUIOp::create(b, l, dr, idx(2)), idx(0));
          partner = arith::SelectOp::create(
              b, l, first, arith::AddIOp::create(b, l, dr, idx(1)),
              arith::SubIOp::create(b, l, dr, idx(1)));
        } else {
          first = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, dr,
                                        idx(half));
          pair = arith::SelectOp::create(
              b, l, first, dr, arith::SubIOp::create(b, l, dr, idx(half)));
          partner = arith::SelectOp::create(
              b, l, first, arith::AddIOp::create(b, l, dr, idx(half)),
              arith::SubIOp::create(b, l, dr, idx(half)));
        }
        SmallVector<Value> at;
        if (positions) {
          // A position past the table clamps, so a bad id cannot read
          // outside it.
          Value p =
              tensor::ExtractOp::create(b, l, positions, ValueRange{bi, si});
          Value pi = arith::IndexCastOp::create(b, l, b.getIndexType(), p);
          at = {clampIndex(b, l, pi, table), pair};
        } else if (cacheRank == 2) {
          at = {si, pair};
        } else {
          at = {bi, si, pair};
        }
        Value c = tensor::ExtractOp::create(b, l, cos, at);
        Value sn = tensor::ExtractOp::create(b, l, sin, at);
        Value other =
            tensor::ExtractOp::create(b, l, x, ValueRange{bi, hi, si, partner});
        Value self = args[0];
        // first: c*x1 - s*x2 (self is x1); second: s*x1 + c*x2 (self is x2).
        Value cSelf = arith::MulFOp::create(b, l, c, self);
        Value sOther = arith::MulFOp::create(b, l, sn, other);
        Value rotatedValue = arith::SelectOp::create(
            b, l, first, arith::SubFOp::create(b, l, cSelf, sOther),
            arith::AddFOp::create(b, l, sOther, cSelf));
        return (Value)arith::SelectOp::create(b, l, inRotation, rotatedValue,
                                              self);
      });
  return {result};
}

/// A linear cache: one insert_slice per batch entry, of the update's
/// positions that land inside the cache, in a loop over the batch whose
/// iteration value starts as the cache. Bufferized, the loop writes into
/// the cache's own buffer (a generation step's cache input), touching only
/// the new positions.
Value insertUpdatesPerBatch(KVCacheUpdateOp op, KVCacheUpdateOp::Adaptor adaptor,
                            OpBuilder &b) {
  Location loc = op.getLoc();
  Value cache = adaptor.getCache(), update = adaptor.getUpdate();
  Value positions = adaptor.getPositions();
  int64_t axis = op.getAxis(), rank = op.getType().getRank();
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value zero = idx(0), one = idx(1);
  Value batch = getValueOrCreateConstantIndexOp(b, loc, dimOf(b, loc, cache, 0));
  Value capacity =
      getValueOrCreateConstantIndexOp(b, loc, dimOf(b, loc, cache, axis));
  Value count =
      getValueOrCreateConstantIndexOp(b, loc, dimOf(b, loc, update, axis));
  auto loop = scf::ForOp::create(
      b, loc, zero, batch, one, ValueRange{cache},
      [&](OpBuilder &lb, Location l, Value bi, ValueRange acc) {
        Value start = arith::IndexCastOp::create(
            lb, l, lb.getIndexType(),
            tensor::ExtractOp::create(lb, l, positions, ValueRange{bi}));
        // [lo, hi): the cache positions written; update position lo - start
        // lands on lo.
        Value lo = arith::MaxSIOp::create(lb, l, start, zero);
        Value end = arith::AddIOp::create(lb, l, start, count);
        Value hi = arith::MinSIOp::create(lb, l, end, capacity);
        Value written = arith::MaxSIOp::create(
            lb, l, arith::SubIOp::create(lb, l, hi, lo), zero);
        lo = arith::MinSIOp::create(lb, l, lo, capacity);
        // In bounds even when nothing is written (a start past the cache).
        Value from = arith::MinSIOp::create(
            lb, l,
            arith::MaxSIOp::create(lb, l,
                                   arith::SubIOp::create(lb, l, lo, start),
                                   zero),
            count);
        SmallVector<OpFoldResult> source(rank, lb.getIndexAttr(0)),
            target(rank, lb.getIndexAttr(0)), sizes, strides(rank, lb.getIndexAttr(1));
        for (int64_t d = 0; d < rank; ++d)
          sizes.push_back(dimOf(lb, l, update, d));
        source[0] = target[0] = bi;
        sizes[0] = lb.getIndexAttr(1);
        source[axis] = from;
        target[axis] = lo;
        sizes[axis] = written;
        Value piece = tensor::ExtractSliceOp::create(lb, l, update, source,
                                                     sizes, strides);
        Value next = tensor::InsertSliceOp::create(lb, l, piece, acc[0],
                                                   target, sizes, strides);
        scf::YieldOp::create(lb, l, next);
      });
  return loop.getResult(0);
}

/// The updated cache. A circular one is one elementwise generic over the
/// cache: each position works out which update element (if any) lands on
/// it. Ring slot `j` holds the latest update position `p` congruent to it
/// (`p = last - ((last - j) mod R)`, `last` the update's final position),
/// so an update longer than the ring keeps its last `R` positions, and
/// negative positions are not written.
SmallVector<Value> lowerKVCacheUpdate(KVCacheUpdateOp op,
                                      KVCacheUpdateOp::Adaptor adaptor,
                                      ConversionPatternRewriter &rewriter) {
  if (!op.getCircular())
    return {insertUpdatesPerBatch(op, adaptor, rewriter)};
  RankedTensorType type = op.getType();
  int64_t axis = op.getAxis(), rank = type.getRank();
  // The cache's positions and the update's (tensor.dim when dynamic).
  OpFoldResult capacity = dimOf(rewriter, op.getLoc(), adaptor.getCache(), axis);
  OpFoldResult count = dimOf(rewriter, op.getLoc(), adaptor.getUpdate(), axis);
  Value update = adaptor.getUpdate(), positions = adaptor.getPositions();
  Value result = buildElementwise(
      rewriter, op.getLoc(), type, adaptor.getCache(),
      [&](OpBuilder &b, Location l, ValueRange args) {
        auto idx = [&](OpFoldResult v) -> Value {
          return getValueOrCreateConstantIndexOp(b, l, v);
        };
        auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) -> Value {
          return arith::CmpIOp::create(b, l, p, x, y);
        };
        Value zero = idx(b.getIndexAttr(0));
        Value batch = linalg::IndexOp::create(b, l, 0);
        Value j = linalg::IndexOp::create(b, l, axis);
        Value start = arith::IndexCastOp::create(
            b, l, b.getIndexType(),
            tensor::ExtractOp::create(b, l, positions, ValueRange{batch}));
        Value last = arith::SubIOp::create(
            b, l, arith::AddIOp::create(b, l, start, idx(count)),
            idx(b.getIndexAttr(1)));
        // The latest position p congruent to j mod M.
        Value ring = idx(capacity);
        Value back = arith::RemSIOp::create(
            b, l,
            arith::AddIOp::create(
                b, l,
                arith::RemSIOp::create(
                    b, l, arith::SubIOp::create(b, l, last, j), ring),
                ring),
            ring);
        Value p = arith::SubIOp::create(b, l, last, back);
        Value s = arith::SubIOp::create(b, l, p, start);
        Value hit =
            arith::AndIOp::create(b, l, cmp(arith::CmpIPredicate::sge, s, zero),
                                  cmp(arith::CmpIPredicate::sge, p, zero));
        Value safe = arith::SelectOp::create(b, l, hit, s, zero);
        Value fresh = tensor::ExtractOp::create(
            b, l, update, loopIndicesWithAxis(b, l, rank, axis, safe));
        return (Value)arith::SelectOp::create(b, l, hit, fresh, args[0]);
      });
  return {result};
}

/// Whether block id `block` (i64) names a pool block, and the id clamped
/// into the pool as an index (so that no read or write leaves it).
std::pair<Value, Value> poolBlock(OpBuilder &b, Location loc, Value block,
                                  OpFoldResult blocks) {
  Value zero = arith::ConstantIntOp::create(b, loc, 0, 64);
  Value count = arith::IndexCastOp::create(
      b, loc, b.getI64Type(), getValueOrCreateConstantIndexOp(b, loc, blocks));
  Value valid = arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, block, zero),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, block, count));
  Value safe = arith::SelectOp::create(b, loc, valid, block, zero);
  return {valid, arith::IndexCastOp::create(b, loc, b.getIndexType(), safe)};
}

/// Where position `position` (index) of sequence `sequence` lives in the
/// pool: its block (clamped into the pool), the slot in that block, and
/// whether the sequence's table names a block of the pool there.
struct PoolSlot {
  Value valid, block, slot;
};
PoolSlot locateInPool(OpBuilder &b, Location loc, Value table, Value sequence,
                      Value position, int64_t blockSize, OpFoldResult blocks) {
  Value size = arith::ConstantIndexOp::create(b, loc, blockSize);
  Value column = arith::DivUIOp::create(b, loc, position, size);
  Value slot = arith::RemUIOp::create(b, loc, position, size);
  Value id =
      tensor::ExtractOp::create(b, loc, table, ValueRange{sequence, column});
  auto [valid, block] = poolBlock(b, loc, id, blocks);
  return {valid, block, slot};
}

/// One insert_slice per (sequence, position) of the update, in one loop
/// over batch * seq whose iteration value starts as the pool: position s
/// of sequence b goes to its block's slot, or nowhere (an empty slice)
/// when the position or the block id is out of range. Bufferized, the
/// loop writes into the pool's own buffer, touching only the new slots.
SmallVector<Value> lowerPagedKVCacheUpdate(PagedKVCacheUpdateOp op,
                                           PagedKVCacheUpdateOp::Adaptor adaptor,
                                           ConversionPatternRewriter &b) {
  Location loc = op.getLoc();
  Value pool = adaptor.getPool(), update = adaptor.getUpdate();
  Value table = adaptor.getBlockTable(), positions = adaptor.getPositions();
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto size = [&](Value v, int64_t d) {
    return getValueOrCreateConstantIndexOp(b, loc, dimOf(b, loc, v, d));
  };
  int64_t blockSize = op.getPool().getType().getDimSize(2);
  OpFoldResult blocks = dimOf(b, loc, pool, 0);
  Value batch = size(update, 0), seq = size(update, 2);
  Value columns = size(table, 1);
  Value capacity = arith::MulIOp::create(b, loc, columns, idx(blockSize));
  Value total = arith::MulIOp::create(b, loc, batch, seq);
  auto loop = scf::ForOp::create(
      b, loc, idx(0), total, idx(1), ValueRange{pool},
      [&](OpBuilder &lb, Location l, Value i, ValueRange acc) {
        Value bi = arith::DivUIOp::create(lb, l, i, seq);
        Value si = arith::RemUIOp::create(lb, l, i, seq);
        Value start = arith::IndexCastOp::create(
            lb, l, lb.getIndexType(),
            tensor::ExtractOp::create(lb, l, positions, ValueRange{bi}));
        Value p = arith::AddIOp::create(lb, l, start, si);
        Value zero = arith::ConstantIndexOp::create(lb, l, 0);
        Value inCache = arith::AndIOp::create(
            lb, l,
            arith::CmpIOp::create(lb, l, arith::CmpIPredicate::sge, p, zero),
            arith::CmpIOp::create(lb, l, arith::CmpIPredicate::slt, p,
                                  capacity));
        Value safeP = arith::SelectOp::create(lb, l, inCache, p, zero);
        PoolSlot at =
            locateInPool(lb, l, table, bi, safeP, blockSize, blocks);
        Value written = arith::SelectOp::create(
            lb, l, arith::AndIOp::create(lb, l, inCache, at.valid),
            arith::ConstantIndexOp::create(lb, l, 1), zero);
        SmallVector<OpFoldResult> strides(4, lb.getIndexAttr(1));
        SmallVector<OpFoldResult> sizes = {lb.getIndexAttr(1),
                                           dimOf(lb, l, update, 1), written,
                                           dimOf(lb, l, update, 3)};
        SmallVector<OpFoldResult> source = {bi, lb.getIndexAttr(0), si,
                                            lb.getIndexAttr(0)};
        SmallVector<OpFoldResult> target = {at.block, lb.getIndexAttr(0),
                                            at.slot, lb.getIndexAttr(0)};
        Value piece = tensor::ExtractSliceOp::create(lb, l, update, source,
                                                     sizes, strides);
        Value next = tensor::InsertSliceOp::create(lb, l, piece, acc[0],
                                                   target, sizes, strides);
        scf::YieldOp::create(lb, l, next);
      });
  return {loop.getResult(0)};
}

/// The contiguous view, one elementwise generic: each element reads its
/// sequence's table entry for its position's block (zeros for an entry
/// outside the pool).
SmallVector<Value> lowerPagedKVGather(PagedKVGatherOp op,
                                      PagedKVGatherOp::Adaptor adaptor,
                                      ConversionPatternRewriter &b) {
  Location loc = op.getLoc();
  RankedTensorType type = op.getType();
  Value pool = adaptor.getPool(), table = adaptor.getBlockTable();
  int64_t blockSize = op.getPool().getType().getDimSize(2);
  ReifiedRankedShapedTypeDims shapes;
  if (failed(op.reifyResultShapes(b, shapes)))
    return {};
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamic.push_back(getValueOrCreateConstantIndexOp(b, loc, shapes[0][d]));
  Value init = tensor::EmptyOp::create(b, loc, type, dynamic);
  OpFoldResult blocks = dimOf(b, loc, pool, 0);
  Value blocksValue = getValueOrCreateConstantIndexOp(b, loc, blocks);
  Value result = buildParallelGeneric(
      b, loc, type, ValueRange{}, {},
      [&](OpBuilder &nb, Location l, ValueRange) {
        Value bi = linalg::IndexOp::create(nb, l, 0);
        Value h = linalg::IndexOp::create(nb, l, 1);
        Value j = linalg::IndexOp::create(nb, l, 2);
        Value d = linalg::IndexOp::create(nb, l, 3);
        PoolSlot at = locateInPool(nb, l, table, bi, j, blockSize, blocksValue);
        Value v = tensor::ExtractOp::create(
            nb, l, pool, ValueRange{at.block, h, at.slot, d});
        Value zero = scalarConstant(nb, l, type.getElementType(), 0);
        return (Value)arith::SelectOp::create(nb, l, at.valid, v, zero);
      },
      init);
  return {result};
}

} // namespace

void kiln::populateTransformerLoweringPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerAttentionMask, lowerRope, lowerKVCacheUpdate,
               lowerPagedKVCacheUpdate, lowerPagedKVGather);
}
