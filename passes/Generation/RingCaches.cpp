//===- RingCaches.cpp - The KV cache of a windowed attention -------------===//
//
// A ring cache's slots are not in position order, and the slot a step
// writes may hold a key the step's own earlier queries still need (a
// prompt longer than the window overwrites it). So the attention reads the
// cache as it was before the step, after the step's own keys, and the
// caches are written after it. Which slot holds which position follows
// from past_length alone, so the mask a prefill needs is computed from
// indices; a decode step needs none.
//
//===----------------------------------------------------------------------===//

#include "RingCaches.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln::generation {

std::optional<RingShape> ringFor(AttentionOp op, int64_t cacheLength) {
  MaskKind kind = op.getMaskKind();
  if (kind != MaskKind::SlidingWindow && kind != MaskKind::Hierarchical)
    return std::nullopt;
  // (A window of 0 keys back reads only the step's own key: no ring.)
  RingShape shape;
  shape.ring = op.getWindowLeft();
  if (kind == MaskKind::Hierarchical)
    shape.anchors = op.getNumGlobalTokens();
  if (shape.ring < 1 || shape.anchors < 0 || shape.slots() >= cacheLength)
    return std::nullopt;
  return shape;
}

namespace {

RankedTensorType withDim(RankedTensorType type, unsigned dim, int64_t size) {
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = size;
  return type.clone(shape);
}

/// `step` (the step's keys or values) followed along the sequence by
/// `cache`.
Value afterStep(OpBuilder &b, Location loc, Value step, Value cache) {
  auto stepType = cast<RankedTensorType>(step.getType());
  int64_t t = stepType.getDimSize(2);
  int64_t slots = cast<RankedTensorType>(cache.getType()).getDimSize(2);
  RankedTensorType type = withDim(
      stepType, 2, ShapedType::isDynamic(t) ? ShapedType::kDynamic : t + slots);
  return ConcatOp::create(b, loc, type, ValueRange{step, cache},
                          b.getI64IntegerAttr(2));
}

/// Integer arithmetic on i64 values, for the bodies below.
struct I64Math {
  OpBuilder &b;
  Location loc;
  Value c(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y);
  }
  Value le(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, x, y);
  }
  Value both(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value either(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value pick(Value cond, Value x, Value y) {
    return arith::SelectOp::create(b, loc, cond, x, y);
  }
  Value index(unsigned dim) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                      linalg::IndexOp::create(b, loc, dim));
  }
  /// x mod m in [0, m), for m > 0.
  Value mod(Value x, int64_t m) {
    Value r = arith::RemSIOp::create(b, loc, x, c(m));
    return arith::RemSIOp::create(b, loc, add(r, c(m)), c(m));
  }
};

/// One value per sequence, `[batch]` int64, from its past length.
Value perSequence(OpBuilder &b, Location loc, Value pastLength,
                  function_ref<Value(I64Math &, Value)> body) {
  auto type = cast<RankedTensorType>(pastLength.getType());
  SmallVector<Value> dynamic;
  if (type.isDynamicDim(0))
    dynamic.push_back(tensor::DimOp::create(b, loc, pastLength, 0));
  Value init = tensor::EmptyOp::create(b, loc, type, dynamic);
  AffineMap id = b.getMultiDimIdentityMap(1);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{pastLength}, ValueRange{init}, {id, id},
             {utils::IteratorType::parallel},
             [&](OpBuilder &nb, Location l, ValueRange args) {
               I64Math m{nb, l};
               linalg::YieldOp::create(nb, l, body(m, args[0]));
             })
      .getResult(0);
}

/// The prefill's mask `[batch, 1, seq, seq + slots]` (i1) over the step's
/// keys and then the cache's slots. Query `i` of sequence `b` is at `p =
/// past + i`; key `j < seq` at `past + j`. Anchor slot `t` holds position
/// `t` once written (`t < past`); ring slot `t` the latest position below
/// `past` congruent to it, written when it is not below the anchors. A
/// pair is kept when its key was written and the mask kind keeps it:
/// `q <= p`, and `p - q <= window` or either is an anchor.
Value prefillMask(OpBuilder &b, Location loc, Value pastLength, Value seq,
                  RingShape shape, int64_t window) {
  MLIRContext *ctx = b.getContext();
  int64_t batch = cast<RankedTensorType>(pastLength.getType()).getDimSize(0);
  SmallVector<Value> dynamic;
  if (ShapedType::isDynamic(batch))
    dynamic.push_back(tensor::DimOp::create(b, loc, pastLength, 0));
  Value slots = arith::ConstantIndexOp::create(b, loc, shape.slots());
  dynamic.push_back(seq);
  dynamic.push_back(arith::AddIOp::create(b, loc, seq, slots));
  auto type = RankedTensorType::get(
      {batch, 1, ShapedType::kDynamic, ShapedType::kDynamic}, b.getI1Type());
  Value init = tensor::EmptyOp::create(b, loc, type, dynamic);
  Value seq64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), seq);
  AffineMap perRow = AffineMap::get(4, 0, {getAffineDimExpr(0, ctx)}, ctx);
  SmallVector<utils::IteratorType> parallel(4, utils::IteratorType::parallel);
  auto body = [&](OpBuilder &nb, Location l, ValueRange args) {
    I64Math m{nb, l};
    Value past = args[0], anchors = m.c(shape.anchors);
    Value p = m.add(past, m.index(2)), j = m.index(3);
    Value t = m.sub(j, seq64); // the slot, for j >= seq
    Value last = m.sub(past, m.c(1));
    Value ringPosition = m.sub(last, m.mod(m.sub(last, t), shape.ring));
    Value isAnchor = m.lt(t, anchors);
    Value slotPosition = m.pick(isAnchor, t, ringPosition);
    Value slotWritten =
        m.pick(isAnchor, m.lt(t, past), m.le(anchors, ringPosition));
    Value isStep = m.lt(j, seq64);
    Value q = m.pick(isStep, m.add(past, j), slotPosition);
    Value written = m.either(isStep, slotWritten);
    Value near = m.le(m.sub(p, q), m.c(window));
    Value global = m.either(m.lt(q, anchors), m.lt(p, anchors));
    Value kept = m.both(m.both(written, m.le(q, p)), m.either(near, global));
    linalg::YieldOp::create(nb, l, kept);
  };
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{pastLength}, ValueRange{init},
             {perRow, AffineMap::getMultiDimIdentityMap(4, ctx)}, parallel,
             body)
      .getResult(0);
}

/// Attention of `query` over `keys` / `values` with only the explicit
/// `mask` and `lengths`: the positions are in them, not in a mask kind.
Value attendPlain(OpBuilder &b, AttentionOp op, RankedTensorType outType,
                  Value query, Value keys, Value values, Value mask,
                  Value lengths) {
  return AttentionOp::create(
             b, op.getLoc(), outType, keys.getType(), values.getType(), Type(),
             query, keys, values, mask, /*past_key=*/Value(),
             /*past_value=*/Value(), /*global_indices=*/Value(), lengths,
             /*query_start=*/Value(), op.getScaleAttr(), op.getSoftcapAttr(),
             ScoreStageAttr(),
             MaskKindAttr::get(b.getContext(), MaskKind::None),
             b.getI64IntegerAttr(-1), b.getI64IntegerAttr(-1),
             b.getI64IntegerAttr(0), b.getI64IntegerAttr(0),
             DenseBoolArrayAttr())
      .getOutput();
}

} // namespace

Value castToOnePosition(OpBuilder &b, Location loc, Value v) {
  return tensor::CastOp::create(
      b, loc, withDim(cast<RankedTensorType>(v.getType()), 2, 1), v);
}

Value branchOnDecode(OpBuilder &b, Location loc, Value seq,
                     RankedTensorType outType,
                     function_ref<Value(RankedTensorType)> decode,
                     function_ref<Value()> general) {
  if (!outType.isDynamicDim(2))
    return general();
  Value isDecode =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, seq,
                            arith::ConstantIndexOp::create(b, loc, 1));
  auto branch = scf::IfOp::create(b, loc, TypeRange{outType}, isDecode,
                                  /*withElseRegion=*/true);
  b.setInsertionPointToStart(&branch.getThenRegion().front());
  Value decoded = decode(withDim(outType, 2, 1));
  scf::YieldOp::create(
      b, loc, ValueRange{tensor::CastOp::create(b, loc, outType, decoded)});
  b.setInsertionPointToStart(&branch.getElseRegion().front());
  scf::YieldOp::create(b, loc, ValueRange{general()});
  b.setInsertionPointAfter(branch);
  return branch.getResult(0);
}

Value attendOverRing(OpBuilder &b, Location loc, AttentionOp op, Value keyCache,
                     Value valueCache, Value pastLength, Value seq,
                     RingShape shape) {
  RankedTensorType outType = op.getOutput().getType();
  int64_t window = op.getWindowLeft();
  auto prefill = [&]() {
    Value mask = prefillMask(b, loc, pastLength, seq, shape, window);
    Value keys = afterStep(b, loc, op.getKey(), keyCache);
    Value values = afterStep(b, loc, op.getValue(), valueCache);
    return attendPlain(b, op, outType, op.getQuery(), keys, values, mask,
                       Value());
  };
  // Decode: every slot written so far holds a key inside the window (or
  // an anchor), and they fill in order until the ring wraps, so the first
  // 1 + min(past, slots) keys are exactly the ones to read.
  auto decode = [&](RankedTensorType oneType) {
    Value lengths = perSequence(b, loc, pastLength, [&](I64Math &m, Value p) {
      Value slots = m.c(shape.slots());
      return m.add(m.c(1), m.pick(m.lt(p, slots), p, slots));
    });
    Value query = castToOnePosition(b, loc, op.getQuery());
    Value keys =
        afterStep(b, loc, castToOnePosition(b, loc, op.getKey()), keyCache);
    Value values =
        afterStep(b, loc, castToOnePosition(b, loc, op.getValue()), valueCache);
    return attendPlain(b, op, oneType, query, keys, values, Value(), lengths);
  };
  Value output = branchOnDecode(b, loc, seq, outType, decode, prefill);
  op.getOutput().replaceAllUsesWith(output);
  op.erase();
  return output;
}

Value writeRing(OpBuilder &b, Location loc, Value cache, Value update,
                Value pastLength, RingShape shape) {
  auto write = [&](Value into, Value positions, bool circular) -> Value {
    return KVCacheUpdateOp::create(b, loc, into.getType(), into, update,
                                   positions, b.getI64IntegerAttr(2),
                                   b.getBoolAttr(circular));
  };
  if (shape.anchors == 0)
    return write(cache, pastLength, /*circular=*/true);
  // The anchors are a linear cache of positions [0, G) (the update's later
  // positions fall past it and are not written); the ring a circular one
  // of the positions from G on, counted from G (so those below G, negative
  // there, are not written either).
  auto part = [&](int64_t offset, int64_t size) {
    SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0)), sizes,
        strides(4, b.getIndexAttr(1));
    for (int64_t d = 0; d < 4; ++d)
      sizes.push_back(tensor::getMixedSize(b, loc, cache, d));
    offsets[2] = b.getIndexAttr(offset);
    sizes[2] = b.getIndexAttr(size);
    return std::make_pair(offsets, sizes);
  };
  auto slice = [&](int64_t offset, int64_t size) -> Value {
    auto [offsets, sizes] = part(offset, size);
    return tensor::ExtractSliceOp::create(
        b, loc, cache, offsets, sizes,
        SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
  };
  auto insert = [&](Value piece, Value into, int64_t offset) -> Value {
    auto [offsets, sizes] =
        part(offset, cast<RankedTensorType>(piece.getType()).getDimSize(2));
    return tensor::InsertSliceOp::create(
        b, loc, piece, into, offsets, sizes,
        SmallVector<OpFoldResult>(4, b.getIndexAttr(1)));
  };
  Value anchors = write(slice(0, shape.anchors), pastLength, false);
  Value fromAnchors =
      perSequence(b, loc, pastLength, [&](I64Math &m, Value past) {
        return m.sub(past, m.c(shape.anchors));
      });
  Value ring = write(slice(shape.anchors, shape.ring), fromAnchors, true);
  return insert(ring, insert(anchors, cache, 0), shape.anchors);
}

Value ringTable(OpBuilder &b, Location loc, Value windowTable, RingShape shape,
                int64_t blockSize) {
  int64_t columns = (shape.slots() + blockSize - 1) / blockSize;
  auto type = cast<RankedTensorType>(windowTable.getType());
  if (type.getDimSize(1) == columns)
    return windowTable;
  SmallVector<OpFoldResult> offsets(2, b.getIndexAttr(0)),
      strides(2, b.getIndexAttr(1)),
      sizes{tensor::getMixedSize(b, loc, windowTable, 0),
            b.getIndexAttr(columns)};
  return tensor::ExtractSliceOp::create(
      b, loc,
      RankedTensorType::get({type.getDimSize(0), columns},
                            type.getElementType()),
      windowTable, offsets, sizes, strides);
}

Value readPagedRing(OpBuilder &b, Location loc, Value pool, Value table,
                    RingShape shape) {
  auto poolType = cast<RankedTensorType>(pool.getType());
  auto tableType = cast<RankedTensorType>(table.getType());
  int64_t batch = tableType.getDimSize(0);
  auto viewType =
      RankedTensorType::get({batch, poolType.getDimSize(1),
                             tableType.getDimSize(1) * poolType.getDimSize(2),
                             poolType.getDimSize(3)},
                            poolType.getElementType());
  Value view = PagedKVGatherOp::create(b, loc, viewType, pool, table);
  if (viewType.getDimSize(2) == shape.slots())
    return view;
  SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0)), sizes,
      strides(4, b.getIndexAttr(1));
  for (int64_t d = 0; d < 4; ++d)
    sizes.push_back(tensor::getMixedSize(b, loc, view, d));
  sizes[2] = b.getIndexAttr(shape.slots());
  return tensor::ExtractSliceOp::create(b, loc,
                                        withDim(viewType, 2, shape.slots()),
                                        view, offsets, sizes, strides);
}

Value writePagedRing(OpBuilder &b, Location loc, Value pool, Value table,
                     Value ring, Value pastLength) {
  Value zeros =
      perSequence(b, loc, pastLength, [](I64Math &m, Value) { return m.c(0); });
  return PagedKVCacheUpdateOp::create(b, loc, pool.getType(), pool, ring, table,
                                      zeros);
}

} // namespace kiln::generation
