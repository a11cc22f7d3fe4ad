//===- IndexingToLinalg.cpp - Top-k, gathers, scatters, one-hot
//-------------===//
//
// Reference lowerings of the data-dependent indexing ops. Gathers and
// one-hot are elementwise generics over their result. Top-k ranks every
// element by counting the elements that beat it (ties go to the lower
// index), then picks rank r for output slot r: quadratic in the axis length,
// which suits routing over experts, not a top-k over a whole vocabulary.
// Scatters are scf.for nests over the updates that carry the result tensor,
// which bufferization turns into in-place stores.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kiln;

namespace {

Value constIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// The map (d0 .. d{rank-1}, dx) -> (d0 .. dx at `axis` .. d{rank-1}).
AffineMap axisReplacedMap(MLIRContext *ctx, int64_t rank, int64_t axis) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(getAffineDimExpr(d == axis ? rank : d, ctx));
  return AffineMap::get(rank + 1, 0, exprs, ctx);
}

AffineMap withoutLastLoop(MLIRContext *ctx, int64_t rank) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank + 1, 0, exprs, ctx);
}

SmallVector<Value> lowerTopK(TopKOp op, TopKOp::Adaptor adaptor,
                             ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  Value x = adaptor.getInput();
  auto inType = cast<RankedTensorType>(x.getType());
  int64_t rank = inType.getRank(), axis = op.getAxis();
  Type elt = inType.getElementType(), i64 = rewriter.getI64Type();
  bool largest = op.getLargest();

  // rank[p] = how many elements along the axis beat x[p].
  auto rankType = inType.clone(i64);
  Value zero = scalarConstant(rewriter, loc, i64, 0);
  Value rankInit =
      fillTensor(rewriter, loc, emptyLike(rewriter, loc, x, i64), zero);
  SmallVector<utils::IteratorType> it(rank, utils::IteratorType::parallel);
  it.push_back(utils::IteratorType::reduction);
  AffineMap self = withoutLastLoop(ctx, rank);
  AffineMap other = axisReplacedMap(ctx, rank, axis);
  Value ranks =
      linalg::GenericOp::create(
          rewriter, loc, rankType, ValueRange{x, x}, rankInit,
          ArrayRef<AffineMap>{self, other, self}, it,
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value mine = args[0], theirs = args[1];
            Value i = linalg::IndexOp::create(b, l, axis);
            Value j = linalg::IndexOp::create(b, l, rank);
            Value strictly = compareScalars(
                b, l, largest ? CompareDirection::GT : CompareDirection::LT,
                theirs, mine);
            Value equal =
                compareScalars(b, l, CompareDirection::EQ, theirs, mine);
            Value earlier =
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, j, i);
            Value beats = arith::OrIOp::create(
                b, l, strictly, arith::AndIOp::create(b, l, equal, earlier));
            Value one = arith::ExtUIOp::create(b, l, b.getI64Type(), beats);
            linalg::YieldOp::create(
                b, l, ValueRange{arith::AddIOp::create(b, l, args[2], one)});
          })
          .getResult(0);

  // Output slot r takes the element whose rank is r.
  auto valuesType = op.getValues().getType();
  auto indicesType = op.getIndices().getType();
  Value eltZero = scalarConstant(rewriter, loc, elt, 0);
  FailureOr<Value> vEmpty = emptyTensorFor(rewriter, loc, op, 0);
  if (failed(vEmpty))
    return {};
  Value vInit = fillTensor(rewriter, loc, *vEmpty, eltZero);
  Value i64Zero = scalarConstant(rewriter, loc, i64, 0);
  Value iInit = fillTensor(rewriter, loc,
                           *emptyTensorFor(rewriter, loc, op, 1), i64Zero);
  auto pick = linalg::GenericOp::create(
      rewriter, loc, TypeRange{valuesType, indicesType}, ValueRange{x, ranks},
      ValueRange{vInit, iInit}, ArrayRef<AffineMap>{other, other, self, self},
      it, [&](OpBuilder &b, Location l, ValueRange args) {
        Value slot = arith::IndexCastOp::create(
            b, l, b.getI64Type(), linalg::IndexOp::create(b, l, axis));
        Value i = arith::IndexCastOp::create(
            b, l, b.getI64Type(), linalg::IndexOp::create(b, l, rank));
        Value match = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                            args[1], slot);
        linalg::YieldOp::create(
            b, l,
            ValueRange{arith::SelectOp::create(b, l, match, args[0], args[2]),
                       arith::SelectOp::create(b, l, match, i, args[3])});
      });
  return llvm::to_vector_of<Value>(pick.getResults());
}

SmallVector<Value> lowerGatherElements(GatherElementsOp op,
                                       GatherElementsOp::Adaptor adaptor,
                                       ConversionPatternRewriter &rewriter) {
  RankedTensorType type = op.getType();
  int64_t axis = op.getAxis(), rank = type.getRank();
  Value data = adaptor.getData();
  OpFoldResult size = tensor::getMixedSize(rewriter, op.getLoc(), data, axis);
  Value result = buildElementwise(
      rewriter, op.getLoc(), type, adaptor.getIndices(),
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value idx = clampIndex(b, l, normalizeIndex(b, l, args[0], size), size);
        return (Value)tensor::ExtractOp::create(
            b, l, data, loopIndicesWithAxis(b, l, rank, axis, idx));
      });
  return {result};
}

SmallVector<Value> lowerOneHot(OneHotOp op, OneHotOp::Adaptor adaptor,
                               ConversionPatternRewriter &rewriter) {
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  RankedTensorType type = op.getType();
  int64_t axis = op.getAxis(), depth = op.getDepth(), rank = type.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      exprs.push_back(getAffineDimExpr(d, ctx));
  AffineMap idxMap = AffineMap::get(rank, 0, exprs, ctx);
  double on = op.getOnValue().convertToDouble();
  double off = op.getOffValue().convertToDouble();
  Value result = buildParallelGeneric(
      rewriter, loc, type, adaptor.getIndices(), {idxMap},
      [&](OpBuilder &b, Location l, ValueRange args) -> Value {
        Value inRange;
        Value idx = normalizeIndex(b, l, args[0], depth, &inRange);
        Value d = linalg::IndexOp::create(b, l, axis);
        Value hit = arith::AndIOp::create(
            b, l, inRange,
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, idx, d));
        Type elt = type.getElementType();
        return arith::SelectOp::create(b, l, hit, scalarConstant(b, l, elt, on),
                                       scalarConstant(b, l, elt, off));
      });
  return {result};
}

/// Reads the index tuple `indices[at..., :]` (q entries) and returns it as
/// coordinates into dimensions `first, first+1, ...` of `data`,
/// normalized and clamped; `valid` (if given) becomes whether every entry
/// was in range.
SmallVector<Value> indexTuple(OpBuilder &b, Location loc, Value indices,
                              ArrayRef<Value> at, int64_t q, Value data,
                              int64_t first, Value *valid = nullptr) {
  SmallVector<Value> coords;
  SmallVector<Value> slot(at.begin(), at.end());
  slot.push_back(Value());
  if (valid)
    *valid = arith::ConstantIntOp::create(b, loc, 1, 1);
  for (int64_t k = 0; k < q; ++k) {
    slot.back() = constIndex(b, loc, k);
    OpFoldResult size = tensor::getMixedSize(b, loc, data, first + k);
    Value inRange;
    Value idx =
        normalizeIndex(b, loc, tensor::ExtractOp::create(b, loc, indices, slot),
                       size, valid ? &inRange : nullptr);
    if (valid)
      *valid = arith::AndIOp::create(b, loc, *valid, inRange);
    coords.push_back(clampIndex(b, loc, idx, size));
  }
  return coords;
}

/// GatherND: each result element reads its index tuple, then the data.
SmallVector<Value> lowerGatherND(GatherNDOp op, GatherNDOp::Adaptor adaptor,
                                 ConversionPatternRewriter &rewriter) {
  RankedTensorType type = op.getType();
  auto dataType = op.getData().getType();
  auto idxType = op.getIndices().getType();
  int64_t b = op.getBatchDims(), q = idxType.getDimSize(idxType.getRank() - 1);
  int64_t tupleRank = idxType.getRank() - 1; // result dims from indices
  Value data = adaptor.getData(), indices = adaptor.getIndices();
  Value result = buildParallelGeneric(
      rewriter, op.getLoc(), type, {}, {},
      [&](OpBuilder &bd, Location l, ValueRange) -> Value {
        SmallVector<Value> at;
        for (int64_t d = 0; d < tupleRank; ++d)
          at.push_back(linalg::IndexOp::create(bd, l, d));
        SmallVector<Value> coords(at.begin(), at.begin() + b);
        coords.append(indexTuple(bd, l, indices, at, q, data, b));
        for (int64_t d = tupleRank; d < type.getRank(); ++d)
          coords.push_back(linalg::IndexOp::create(bd, l, d));
        return tensor::ExtractOp::create(bd, l, data, coords);
      });
  return {result};
}

/// `current` combined with `update` as the reduction says.
Value combineScatter(OpBuilder &b, Location loc, ScatterReduction r,
                     Value current, Value update) {
  using namespace arith;
  switch (r) {
  case ScatterReduction::None:
    return update;
  case ScatterReduction::Add:
    return buildFloatOrIntOp<AddFOp, AddIOp>(b, loc, current, update);
  case ScatterReduction::Mul:
    return buildFloatOrIntOp<MulFOp, MulIOp>(b, loc, current, update);
  case ScatterReduction::Max:
    return buildFloatOrIntOp<MaximumFOp, MaxSIOp>(b, loc, current, update);
  case ScatterReduction::Min:
    return buildFloatOrIntOp<MinimumFOp, MinSIOp>(b, loc, current, update);
  }
  llvm_unreachable("unknown scatter reduction");
}

/// Loops over `shape` carrying `init`; `body` gets the induction variables
/// and the carried tensor and returns its next value.
Value loopNest(
    OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, Value init,
    function_ref<Value(OpBuilder &, Location, ValueRange, Value)> body) {
  SmallVector<Value> lbs, ubs, steps;
  for (OpFoldResult n : sizes) {
    lbs.push_back(constIndex(b, loc, 0));
    ubs.push_back(getValueOrCreateConstantIndexOp(b, loc, n));
    steps.push_back(constIndex(b, loc, 1));
  }
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, ValueRange{init},
      [&](OpBuilder &nb, Location l, ValueRange ivs, ValueRange iter) {
        return scf::ValueVector{body(nb, l, ivs, iter[0])};
      });
  return nest.results.empty() ? init : nest.results[0];
}

/// Writes `update` combined with the element at `coords` when `valid`.
Value storeIf(OpBuilder &b, Location loc, Value valid, Value acc,
              ArrayRef<Value> coords, Value update, ScatterReduction r) {
  auto ifOp = scf::IfOp::create(
      b, loc, valid,
      [&](OpBuilder &tb, Location l) {
        Value current = tensor::ExtractOp::create(tb, l, acc, coords);
        Value next = combineScatter(tb, l, r, current, update);
        scf::YieldOp::create(
            tb, l,
            ValueRange{tensor::InsertOp::create(tb, l, next, acc, coords)});
      },
      [&](OpBuilder &eb, Location l) { scf::YieldOp::create(eb, l, acc); });
  return ifOp.getResult(0);
}

SmallVector<Value> lowerScatterElements(ScatterElementsOp op,
                                        ScatterElementsOp::Adaptor adaptor,
                                        ConversionPatternRewriter &rewriter) {
  int64_t axis = op.getAxis();
  Location loc = op.getLoc();
  OpFoldResult size = tensor::getMixedSize(rewriter, loc, adaptor.getData(), axis);
  Value indices = adaptor.getIndices(), updates = adaptor.getUpdates();
  ScatterReduction r = op.getReduction();
  Value result = loopNest(
      rewriter, loc, tensor::getMixedSizes(rewriter, loc, updates),
      adaptor.getData(),
      [&](OpBuilder &b, Location l, ValueRange ivs, Value acc) {
        Value valid;
        Value idx = normalizeIndex(
            b, l, tensor::ExtractOp::create(b, l, indices, ivs), size, &valid);
        SmallVector<Value> coords(ivs.begin(), ivs.end());
        coords[axis] = clampIndex(b, l, idx, size);
        Value update = tensor::ExtractOp::create(b, l, updates, ivs);
        return storeIf(b, l, valid, acc, coords, update, r);
      });
  return {result};
}

SmallVector<Value> lowerScatterND(ScatterNDOp op, ScatterNDOp::Adaptor adaptor,
                                  ConversionPatternRewriter &rewriter) {
  auto dataType = op.getData().getType();
  auto idxType = op.getIndices().getType();
  int64_t q = idxType.getDimSize(idxType.getRank() - 1);
  int64_t batchRank = idxType.getRank() - 1;
  Value indices = adaptor.getIndices(), updates = adaptor.getUpdates();
  ScatterReduction r = op.getReduction();
  Value result =
      loopNest(rewriter, op.getLoc(),
               tensor::getMixedSizes(rewriter, op.getLoc(), updates),
               adaptor.getData(),
               [&](OpBuilder &b, Location l, ValueRange ivs, Value acc) {
                 Value valid;
                 SmallVector<Value> at(ivs.begin(), ivs.begin() + batchRank);
                 SmallVector<Value> coords =
                     indexTuple(b, l, indices, at, q, adaptor.getData(), 0,
                                &valid);
                 coords.append(ivs.begin() + batchRank, ivs.end());
                 Value update = tensor::ExtractOp::create(b, l, updates, ivs);
                 return storeIf(b, l, valid, acc, coords, update, r);
               });
  return {result};
}

} // namespace

void kiln::populateIndexingLoweringPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerTopK, lowerGatherElements, lowerGatherND,
               lowerOneHot, lowerScatterElements, lowerScatterND);
}
