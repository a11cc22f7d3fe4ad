//===- BoundedOutputsToLinalg.cpp - NonZero, Unique, NonMaxSuppression ----===//
//
// Reference lowerings of the ops whose result length only the data decides
// (kiln.nonzero, kiln.unique, kiln.non_max_suppression). Each is a
// sequential scf.for nest that carries its result buffers (of the bound the
// shapes give, zero-filled) and a running count, appending as it finds
// results: the count is what later code slices the buffers to.
// Bufferization turns the carried tensors into in-place stores. Unique
// compares items pairwise and NonMaxSuppression finds each next box by a
// scan over the class, so both are quadratic: small inputs (post-processing
// of detections, tokens), not a unique over millions of elements.
//
//===----------------------------------------------------------------------===//

#include "BoundedOutputsToLinalg.h"

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnBoundedOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kiln;

namespace {

Value constIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value toI64(OpBuilder &b, Location loc, Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
}

Value toIndex(OpBuilder &b, Location loc, Value i64) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), i64);
}

using LoopBody =
    function_ref<SmallVector<Value>(OpBuilder &, Location, Value, ValueRange)>;
using Branch = function_ref<SmallVector<Value>(OpBuilder &, Location)>;

/// scf.for i in [lb, ub) carrying `init`; `body` returns the next values.
SmallVector<Value> forLoop(OpBuilder &b, Location loc, Value lb, Value ub,
                           ValueRange init, LoopBody body) {
  auto loop = scf::ForOp::create(
      b, loc, lb, ub, constIndex(b, loc, 1), init,
      [&](OpBuilder &nb, Location l, Value iv, ValueRange iter) {
        scf::YieldOp::create(nb, l, body(nb, l, iv, iter));
      });
  return SmallVector<Value>(loop.getResults());
}

/// scf.if yielding what `then` or `otherwise` returns.
SmallVector<Value> ifElse(OpBuilder &b, Location loc, Value cond, Branch then,
                          Branch otherwise) {
  auto ifOp = scf::IfOp::create(
      b, loc, cond,
      [&](OpBuilder &tb, Location l) {
        scf::YieldOp::create(tb, l, then(tb, l));
      },
      [&](OpBuilder &eb, Location l) {
        scf::YieldOp::create(eb, l, otherwise(eb, l));
      });
  return SmallVector<Value>(ifOp.getResults());
}

/// Dimension `d` of `v` as an index (a constant when static).
Value dimOf(OpBuilder &b, Location loc, Value v, int64_t d) {
  return getValueOrCreateConstantIndexOp(b, loc,
                                         tensor::getMixedSize(b, loc, v, d));
}

/// A zero-filled i64 tensor of `type`'s shape, its dynamic dims `sizes`
/// (one per dynamic dim, in order).
Value zerosI64(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
               ValueRange sizes = {}) {
  auto type = RankedTensorType::get(shape, b.getI64Type());
  return fillTensor(b, loc, tensor::EmptyOp::create(b, loc, type, sizes),
                    arith::ConstantIntOp::create(b, loc, 0, 64));
}

/// [m] zeros for the items of `x` [outer, m, inner] (m may be dynamic).
Value zerosPerItem(OpBuilder &b, Location loc, Value x) {
  int64_t m = cast<RankedTensorType>(x.getType()).getDimSize(1);
  SmallVector<Value> sizes;
  if (ShapedType::isDynamic(m))
    sizes.push_back(dimOf(b, loc, x, 1));
  return zerosI64(b, loc, {m}, sizes);
}

/// The dynamic dims of `type`, read from `like` (of the same shape).
SmallVector<Value> dynamicSizes(OpBuilder &b, Location loc,
                                RankedTensorType type, Value like) {
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(dimOf(b, loc, like, d));
  return sizes;
}

//===----------------------------------------------------------------------===//
// NonZero
//===----------------------------------------------------------------------===//

SmallVector<Value> lowerNonZero(NonZeroOp op, NonZeroOp::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  Value input = adaptor.getInput();
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<Value> lbs, ubs, steps;
  Value elements = constIndex(rewriter, loc, 1);
  for (int64_t d = 0; d < type.getRank(); ++d) {
    lbs.push_back(constIndex(rewriter, loc, 0));
    ubs.push_back(getValueOrCreateConstantIndexOp(
        rewriter, loc, tensor::getMixedSize(rewriter, loc, input, d)));
    steps.push_back(constIndex(rewriter, loc, 1));
    elements = arith::MulIOp::create(rewriter, loc, elements, ubs.back());
  }
  // [rank, elements]: the bound, the run's element count when dynamic.
  RankedTensorType coordsType = op.getCoordinates().getType();
  SmallVector<Value> bound;
  if (coordsType.isDynamicDim(1))
    bound.push_back(elements);
  Value coords = fillTensor(
      rewriter, loc, tensor::EmptyOp::create(rewriter, loc, coordsType, bound),
      arith::ConstantIntOp::create(rewriter, loc, 0, 64));
  // Row-major order is the loop nest's order, so appending keeps ONNX's.
  scf::LoopNest nest = scf::buildLoopNest(
      rewriter, loc, lbs, ubs, steps,
      ValueRange{coords, constIndex(rewriter, loc, 0)},
      [&](OpBuilder &b, Location l, ValueRange ivs, ValueRange iter) {
        Value x = tensor::ExtractOp::create(b, l, input, ivs);
        Value zero = scalarConstant(b, l, type.getElementType(), 0);
        // NE is unordered: NaN counts as nonzero, as in ONNX.
        Value nonzero = compareScalars(b, l, CompareDirection::NE, x, zero);
        return scf::ValueVector(ifElse(
            b, l, nonzero,
            [&](OpBuilder &tb, Location tl) -> SmallVector<Value> {
              Value c = iter[0];
              for (auto [d, iv] : llvm::enumerate(ivs))
                c = tensor::InsertOp::create(
                    tb, tl, toI64(tb, tl, iv), c,
                    ValueRange{constIndex(tb, tl, d), iter[1]});
              return {c, arith::AddIOp::create(tb, tl, iter[1],
                                               constIndex(tb, tl, 1))};
            },
            [&](OpBuilder &, Location) -> SmallVector<Value> {
              return {iter[0], iter[1]};
            }));
      });
  return {nest.results[0], nest.results[1]};
}

//===----------------------------------------------------------------------===//
// Unique
//===----------------------------------------------------------------------===//

/// -1, 0 or 1 (i32) as item `i` of `x` [outer, m, inner] is
/// lexicographically less than, equal to or greater than item `j`: the
/// first element (row-major over outer, inner) where they differ decides.
Value compareItems(OpBuilder &b, Location loc, Value x, Value i, Value j) {
  auto type = cast<RankedTensorType>(x.getType());
  Value inner = dimOf(b, loc, x, 2);
  Value elements = arith::MulIOp::create(b, loc, dimOf(b, loc, x, 0), inner);
  bool isUnsigned = type.getElementType().isInteger(1);
  Value undecided = arith::ConstantIntOp::create(b, loc, 0, 32);
  SmallVector<Value> state = forLoop(
      b, loc, constIndex(b, loc, 0), elements, undecided,
      [&](OpBuilder &nb, Location l, Value e, ValueRange iter) {
        Value n = inner;
        Value o = arith::DivUIOp::create(nb, l, e, n);
        Value k = arith::RemUIOp::create(nb, l, e, n);
        Value a = tensor::ExtractOp::create(nb, l, x, ValueRange{o, i, k});
        Value c = tensor::ExtractOp::create(nb, l, x, ValueRange{o, j, k});
        Value lt =
            compareScalars(nb, l, CompareDirection::LT, a, c, isUnsigned);
        Value gt =
            compareScalars(nb, l, CompareDirection::GT, a, c, isUnsigned);
        Value here = arith::SelectOp::create(
            nb, l, lt, arith::ConstantIntOp::create(nb, l, -1, 32),
            arith::SelectOp::create(
                nb, l, gt, arith::ConstantIntOp::create(nb, l, 1, 32),
                arith::ConstantIntOp::create(nb, l, 0, 32)));
        Value open = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                           iter[0], undecided);
        return SmallVector<Value>{
            arith::SelectOp::create(nb, l, open, here, iter[0])};
      });
  return state[0];
}

Value isOrdering(OpBuilder &b, Location loc, Value order, int64_t which) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, order,
                               arith::ConstantIntOp::create(b, loc, which, 32));
}

/// The distinct items in order of first occurrence: {first, counts,
/// inverse, count}, where first[u] is where distinct item u first occurs.
SmallVector<Value> uniqueInOrder(OpBuilder &b, Location loc, Value x) {
  Value zeros = zerosPerItem(b, loc, x);
  return forLoop(
      b, loc, constIndex(b, loc, 0), dimOf(b, loc, x, 1),
      {zeros, zeros, zeros, constIndex(b, loc, 0)},
      [&](OpBuilder &nb, Location l, Value i, ValueRange it) {
        Value first = it[0], counts = it[1], inverse = it[2], count = it[3];
        // The first distinct item equal to item i, else `count` (new).
        Value pos = forLoop(
            nb, l, constIndex(nb, l, 0), count, count,
            [&](OpBuilder &ib, Location il, Value u, ValueRange found) {
              Value rep =
                  toIndex(ib, il, tensor::ExtractOp::create(ib, il, first, u));
              Value equal =
                  isOrdering(ib, il, compareItems(ib, il, x, rep, i), 0);
              Value unset = arith::CmpIOp::create(
                  ib, il, arith::CmpIPredicate::eq, found[0], count);
              Value take = arith::AndIOp::create(ib, il, equal, unset);
              return SmallVector<Value>{
                  arith::SelectOp::create(ib, il, take, u, found[0])};
            })[0];
        Value isNew =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, pos, count);
        // count <= i < m, so first[count] is in bounds even when unchanged.
        Value keep = tensor::ExtractOp::create(nb, l, first, count);
        first = tensor::InsertOp::create(
            nb, l, arith::SelectOp::create(nb, l, isNew, toI64(nb, l, i), keep),
            first, count);
        Value c = arith::AddIOp::create(
            nb, l, tensor::ExtractOp::create(nb, l, counts, pos),
            arith::ConstantIntOp::create(nb, l, 1, 64));
        counts = tensor::InsertOp::create(nb, l, c, counts, pos);
        inverse =
            tensor::InsertOp::create(nb, l, toI64(nb, l, pos), inverse, i);
        Value grown = arith::AddIOp::create(
            nb, l, count,
            arith::IndexCastOp::create(
                nb, l, nb.getIndexType(),
                arith::ExtUIOp::create(nb, l, nb.getI64Type(), isNew)));
        return SmallVector<Value>{first, counts, inverse, grown};
      });
}

/// Reorders {first, counts, inverse} of uniqueInOrder ascending: each
/// distinct item moves to its rank, the number of distinct items below it.
SmallVector<Value> sortUnique(OpBuilder &b, Location loc, Value x,
                              ArrayRef<Value> found) {
  Value first = found[0], counts = found[1], inverse = found[2],
        count = found[3];
  Value zeros = zerosPerItem(b, loc, x);
  SmallVector<Value> sorted = forLoop(
      b, loc, constIndex(b, loc, 0), count, {zeros, zeros, zeros},
      [&](OpBuilder &nb, Location l, Value u, ValueRange it) {
        Value fu = tensor::ExtractOp::create(nb, l, first, u);
        Value rank = forLoop(
            nb, l, constIndex(nb, l, 0), count, constIndex(nb, l, 0),
            [&](OpBuilder &ib, Location il, Value v, ValueRange r) {
              Value fv =
                  toIndex(ib, il, tensor::ExtractOp::create(ib, il, first, v));
              Value below = isOrdering(
                  ib, il, compareItems(ib, il, x, fv, toIndex(ib, il, fu)), -1);
              return SmallVector<Value>{arith::AddIOp::create(
                  ib, il, r[0],
                  arith::SelectOp::create(ib, il, below, constIndex(ib, il, 1),
                                          constIndex(ib, il, 0)))};
            })[0];
        Value cu = tensor::ExtractOp::create(nb, l, counts, u);
        return SmallVector<Value>{
            tensor::InsertOp::create(nb, l, fu, it[0], rank),
            tensor::InsertOp::create(nb, l, cu, it[1], rank),
            tensor::InsertOp::create(nb, l, toI64(nb, l, rank), it[2], u)};
      });
  // Item i's position was its order of first occurrence; now its rank.
  auto inverseType = cast<RankedTensorType>(inverse.getType());
  Value ranked = tensor::GenerateOp::create(
      b, loc, inverseType, dynamicSizes(b, loc, inverseType, inverse),
      [&](OpBuilder &gb, Location l, ValueRange ivs) {
        Value old =
            toIndex(gb, l, tensor::ExtractOp::create(gb, l, inverse, ivs));
        tensor::YieldOp::create(
            gb, l, tensor::ExtractOp::create(gb, l, sorted[2], old));
      });
  return {sorted[0], sorted[1], ranked, count};
}

SmallVector<Value> lowerUnique(UniqueOp op, UniqueOp::Adaptor adaptor,
                               ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  Value x = adaptor.getInput();
  SmallVector<Value> found = uniqueInOrder(rewriter, loc, x);
  if (op.getSorted())
    found = sortUnique(rewriter, loc, x, found);
  // Distinct item p is item first[p]; past the count first[p] is 0, which
  // reads item 0: in bounds, and sliced off after.
  Value first = found[0];
  RankedTensorType valuesType = op.getValues().getType();
  Value values = tensor::GenerateOp::create(
      rewriter, loc, valuesType, dynamicSizes(rewriter, loc, valuesType, x),
      [&](OpBuilder &gb, Location l, ValueRange ivs) {
        Value item =
            toIndex(gb, l, tensor::ExtractOp::create(gb, l, first, ivs[1]));
        tensor::YieldOp::create(
            gb, l,
            tensor::ExtractOp::create(gb, l, x,
                                      ValueRange{ivs[0], item, ivs[2]}));
      });
  return {values, first, found[2], found[1], found[3]};
}

//===----------------------------------------------------------------------===//
// NonMaxSuppression
//===----------------------------------------------------------------------===//

/// A box's extent along x and y as {xmin, xmax, ymin, ymax} in f32.
SmallVector<Value> boxExtent(OpBuilder &b, Location loc, Value boxes,
                             Value batch, Value box, bool centerPointBox) {
  SmallVector<Value> c;
  for (int64_t k = 0; k < 4; ++k) {
    Value v = tensor::ExtractOp::create(
        b, loc, boxes, ValueRange{batch, box, constIndex(b, loc, k)});
    c.push_back(castScalar(b, loc, v, b.getF32Type()));
  }
  if (centerPointBox) {
    // [x_center, y_center, width, height].
    Value half = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.5f));
    Value hw = arith::MulFOp::create(b, loc, c[2], half);
    Value hh = arith::MulFOp::create(b, loc, c[3], half);
    return {arith::SubFOp::create(b, loc, c[0], hw),
            arith::AddFOp::create(b, loc, c[0], hw),
            arith::SubFOp::create(b, loc, c[1], hh),
            arith::AddFOp::create(b, loc, c[1], hh)};
  }
  // [y1, x1, y2, x2], either corner first.
  return {arith::MinimumFOp::create(b, loc, c[1], c[3]),
          arith::MaximumFOp::create(b, loc, c[1], c[3]),
          arith::MinimumFOp::create(b, loc, c[0], c[2]),
          arith::MaximumFOp::create(b, loc, c[0], c[2])};
}

/// Whether box `i` suppresses box `j` (both of `batch`): intersection over
/// union above `threshold`, computed in f32 in onnxruntime's order; empty
/// boxes and disjoint ones never suppress.
Value suppresses(OpBuilder &b, Location loc, Value boxes, Value batch, Value i,
                 Value j, Value threshold, bool centerPointBox) {
  SmallVector<Value> p = boxExtent(b, loc, boxes, batch, i, centerPointBox);
  SmallVector<Value> q = boxExtent(b, loc, boxes, batch, j, centerPointBox);
  auto sub = [&](Value x, Value y) -> Value {
    return arith::SubFOp::create(b, loc, x, y);
  };
  auto mul = [&](Value x, Value y) -> Value {
    return arith::MulFOp::create(b, loc, x, y);
  };
  auto positive = [&](Value x) -> Value {
    return arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::OGT, x,
        arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f)));
  };
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value w = arith::MaximumFOp::create(
      b, loc,
      sub(arith::MinimumFOp::create(b, loc, p[1], q[1]),
          arith::MaximumFOp::create(b, loc, p[0], q[0])),
      zero);
  Value h = arith::MaximumFOp::create(
      b, loc,
      sub(arith::MinimumFOp::create(b, loc, p[3], q[3]),
          arith::MaximumFOp::create(b, loc, p[2], q[2])),
      zero);
  Value inter = mul(w, h);
  Value areaP = mul(sub(p[1], p[0]), sub(p[3], p[2]));
  Value areaQ = mul(sub(q[1], q[0]), sub(q[3], q[2]));
  Value uni = sub(arith::AddFOp::create(b, loc, areaP, areaQ), inter);
  Value iou = arith::DivFOp::create(b, loc, inter, uni);
  Value valid = arith::AndIOp::create(
      b, loc, arith::AndIOp::create(b, loc, positive(inter), positive(areaP)),
      arith::AndIOp::create(b, loc, positive(areaQ), positive(uni)));
  return arith::AndIOp::create(
      b, loc, valid,
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, iou, threshold));
}

/// The next box of (batch, cls) in visiting order after the one of score
/// `prevScore` and index `nextIndex - 1`: {found, score, index}. Visiting
/// order is descending score, ties by ascending index, scores above the
/// threshold only.
SmallVector<Value> nextCandidate(OpBuilder &b, Location loc, Value scores,
                                 Value batch, Value cls, Value threshold,
                                 Value prevScore, Value nextIndex) {
  Value n = dimOf(b, loc, scores, 2);
  Value none = arith::ConstantIntOp::create(b, loc, 0, 1);
  return forLoop(
      b, loc, constIndex(b, loc, 0), n,
      {none, prevScore, constIndex(b, loc, 0)},
      [&](OpBuilder &nb, Location l, Value i, ValueRange best) {
        Value s = castScalar(
            nb, l,
            tensor::ExtractOp::create(nb, l, scores, ValueRange{batch, cls, i}),
            nb.getF32Type());
        auto fcmp = [&](arith::CmpFPredicate p, Value x, Value y) -> Value {
          return arith::CmpFOp::create(nb, l, p, x, y);
        };
        Value after = arith::OrIOp::create(
            nb, l, fcmp(arith::CmpFPredicate::OLT, s, prevScore),
            arith::AndIOp::create(
                nb, l, fcmp(arith::CmpFPredicate::OEQ, s, prevScore),
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::uge, i,
                                      nextIndex)));
        Value eligible = arith::AndIOp::create(
            nb, l, after, fcmp(arith::CmpFPredicate::OGT, s, threshold));
        // Strictly greater: among equal scores the lower index stays.
        Value better = arith::OrIOp::create(
            nb, l,
            arith::XOrIOp::create(nb, l, best[0],
                                  arith::ConstantIntOp::create(nb, l, 1, 1)),
            fcmp(arith::CmpFPredicate::OGT, s, best[1]));
        Value take = arith::AndIOp::create(nb, l, eligible, better);
        return SmallVector<Value>{
            arith::OrIOp::create(nb, l, best[0], eligible),
            arith::SelectOp::create(nb, l, take, s, best[1]),
            arith::SelectOp::create(nb, l, take, i, best[2])};
      });
}

SmallVector<Value> lowerNonMaxSuppression(NonMaxSuppressionOp op,
                                          NonMaxSuppressionOp::Adaptor adaptor,
                                          ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  Value boxes = adaptor.getBoxes(), scores = adaptor.getScores();
  Value batches = dimOf(rewriter, loc, scores, 0),
        classes = dimOf(rewriter, loc, scores, 1),
        n = dimOf(rewriter, loc, scores, 2);
  bool center = op.getCenterPointBox();
  Value maxOut = adaptor.getMaxOutputBoxesPerClass();
  // [batches * classes * n, 3], the bound the run's sizes give when dynamic.
  RankedTensorType selectedType = op.getSelected().getType();
  SmallVector<Value> bound;
  if (selectedType.isDynamicDim(0))
    bound.push_back(arith::MulIOp::create(
        rewriter, loc, arith::MulIOp::create(rewriter, loc, batches, classes),
        n));
  Value selected = zerosI64(rewriter, loc, selectedType.getShape(), bound);
  Value zero = constIndex(rewriter, loc, 0), one = constIndex(rewriter, loc, 1);
  scf::LoopNest nest = scf::buildLoopNest(
      rewriter, loc, {zero, zero}, {batches, classes}, {one, one},
      ValueRange{selected, zero},
      [&](OpBuilder &b, Location l, ValueRange bc, ValueRange acc) {
        Value start = acc[1];
        Value inf = arith::ConstantOp::create(
            b, l, b.getF32FloatAttr(std::numeric_limits<float>::infinity()));
        // At most n candidates; a step that finds none changes nothing.
        SmallVector<Value> r = forLoop(
            b, l, constIndex(b, l, 0), n,
            {acc[0], acc[1], inf, constIndex(b, l, 0)},
            [&](OpBuilder &sb, Location sl, Value, ValueRange it) {
              SmallVector<Value> cand =
                  nextCandidate(sb, sl, scores, bc[0], bc[1],
                                adaptor.getScoreThreshold(), it[2], it[3]);
              Value room = arith::CmpIOp::create(
                  sb, sl, arith::CmpIPredicate::slt,
                  arith::SubIOp::create(sb, sl, it[1], start), maxOut);
              Value keep = forLoop(
                  sb, sl, start, it[1], cand[0],
                  [&](OpBuilder &kb, Location kl, Value j, ValueRange k) {
                    Value other =
                        toIndex(kb, kl,
                                tensor::ExtractOp::create(
                                    kb, kl, it[0],
                                    ValueRange{j, constIndex(kb, kl, 2)}));
                    Value hit = suppresses(kb, kl, boxes, bc[0], cand[2], other,
                                           adaptor.getIouThreshold(), center);
                    Value notHit = arith::XOrIOp::create(
                        kb, kl, hit,
                        arith::ConstantIntOp::create(kb, kl, 1, 1));
                    return SmallVector<Value>{
                        arith::AndIOp::create(kb, kl, k[0], notHit)};
                  })[0];
              keep = arith::AndIOp::create(sb, sl, keep, room);
              SmallVector<Value> out = ifElse(
                  sb, sl, keep,
                  [&](OpBuilder &tb, Location tl) -> SmallVector<Value> {
                    Value s = it[0];
                    Value row[3] = {bc[0], bc[1], cand[2]};
                    for (int64_t d = 0; d < 3; ++d)
                      s = tensor::InsertOp::create(
                          tb, tl, toI64(tb, tl, row[d]), s,
                          ValueRange{it[1], constIndex(tb, tl, d)});
                    return {s, arith::AddIOp::create(tb, tl, it[1],
                                                     constIndex(tb, tl, 1))};
                  },
                  [&](OpBuilder &, Location) -> SmallVector<Value> {
                    return {it[0], it[1]};
                  });
              Value nextIndex =
                  arith::AddIOp::create(sb, sl, cand[2], constIndex(sb, sl, 1));
              return SmallVector<Value>{
                  out[0], out[1],
                  arith::SelectOp::create(sb, sl, cand[0], cand[1], it[2]),
                  arith::SelectOp::create(sb, sl, cand[0], nextIndex, it[3])};
            });
        return scf::ValueVector{r[0], r[1]};
      });
  return {nest.results[0], nest.results[1]};
}

} // namespace

void kiln::populateBoundedOutputLoweringPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerNonZero, lowerUnique, lowerNonMaxSuppression);
}
