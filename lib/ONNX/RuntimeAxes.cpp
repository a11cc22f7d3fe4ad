//===- RuntimeAxes.cpp - Axes that only the run knows ---------------------===//
//
// See RuntimeAxes.h. The switch's key is the sum of 1 << axis over the
// axes: a set of distinct axes has its own key, a repeated axis carries
// into fewer set bits than axes (no case has that key), and an axis out of
// range adds 1 << rank (above every case).
//
//===----------------------------------------------------------------------===//

#include "RuntimeAxes.h"
#include "ShapeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/bit.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

/// More cases than this would make the program large for little use: such
/// axes must be constants.
static constexpr int64_t kMaxAxesCases = 64;

namespace {

/// The elements of input `i` (a scalar or a 1-D tensor of static length) as
/// index values; failure after an error naming the input.
FailureOr<SmallVector<Value>> axisValues(NodeContext &nc, size_t i) {
  Value v = nc.input(i);
  RankedTensorType type = nc.typeOf(v);
  if (type.getRank() > 1 || !type.hasStaticShape() ||
      !isa<IntegerType>(type.getElementType()))
    return nc.error("axes (input " + Twine(i) +
                    ") must be an integer scalar or a 1-D integer tensor of "
                    "static length");
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  SmallVector<OpFoldResult> elements;
  if (std::optional<ShapeElements> known = shapeElements(v)) {
    elements = *known;
  } else {
    for (int64_t k = 0; k < type.getNumElements(); ++k) {
      SmallVector<Value> index;
      if (type.getRank() == 1)
        index.push_back(arith::ConstantIndexOp::create(b, loc, k));
      elements.push_back(tensor::ExtractOp::create(b, loc, v, index).getResult());
    }
  }
  SmallVector<Value> values;
  for (OpFoldResult e : elements) {
    if (auto a = dyn_cast<Attribute>(e)) {
      values.push_back(arith::ConstantIndexOp::create(
          b, loc, cast<IntegerAttr>(a).getValue().getSExtValue()));
      continue;
    }
    values.push_back(
        arith::IndexCastOp::create(b, loc, b.getIndexType(), cast<Value>(e)));
  }
  return values;
}

/// The switch key of `axes` for a rank-`rank` tensor (see the file comment).
Value axesKey(OpBuilder &b, Location loc, ArrayRef<Value> axes, int64_t rank) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value r = arith::ConstantIndexOp::create(b, loc, rank);
  Value key = zero;
  for (Value a : axes) {
    Value negative =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, a, zero);
    Value axis = arith::SelectOp::create(
        b, loc, negative, arith::AddIOp::create(b, loc, a, r), a);
    Value inRange = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, axis, zero),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, axis, r));
    Value shift = arith::SelectOp::create(b, loc, inRange, axis, r);
    key = arith::AddIOp::create(b, loc, key,
                                arith::ShLIOp::create(b, loc, one, shift));
  }
  return key;
}

/// What the default case yields in place of a result of `type`: NaN or 0,
/// with every dynamic dim 0.
Value invalidResult(OpBuilder &b, Location loc, RankedTensorType type) {
  Type elt = type.getElementType();
  TypedAttr fill;
  if (auto f = dyn_cast<FloatType>(elt))
    fill = b.getFloatAttr(f, APFloat::getNaN(f.getFloatSemantics()));
  else
    fill = b.getIntegerAttr(elt, 0);
  Value element = arith::ConstantOp::create(b, loc, fill);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  SmallVector<Value> sizes(type.getNumDynamicDims(), zero);
  return tensor::SplatOp::create(b, loc, element, type, sizes);
}

/// The type every case's result `j` casts to: the dims the cases agree on,
/// dynamic where they differ; null when they differ in rank or element type.
RankedTensorType commonType(ArrayRef<SmallVector<Value>> caseResults,
                            size_t j) {
  auto first = cast<RankedTensorType>(caseResults.front()[j].getType());
  SmallVector<int64_t> shape(first.getShape());
  for (const SmallVector<Value> &results : caseResults) {
    auto t = cast<RankedTensorType>(results[j].getType());
    if (t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return nullptr;
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (t.getDimSize(d) != shape[d])
        shape[d] = ShapedType::kDynamic;
  }
  return first.clone(shape);
}

} // namespace

FailureOr<SmallVector<Value>>
kiln::onnx_import::dispatchOnAxes(NodeContext &nc, size_t i, int64_t rank,
                                  AxesLowering lower) {
  FailureOr<SmallVector<Value>> axes = axisValues(nc, i);
  if (failed(axes))
    return failure();
  int64_t k = axes->size();
  if (k > rank)
    return nc.error("axes (input " + Twine(i) + ") has " + Twine(k) +
                    " entries for a tensor of rank " + Twine(rank));
  // The sets of k axes, in increasing order of their keys.
  SmallVector<uint64_t> masks;
  if (rank < 20)
    for (uint64_t mask = 0; mask < (uint64_t(1) << rank); ++mask)
      if (llvm::popcount(mask) == k)
        masks.push_back(mask);
  if (rank >= 20 || (int64_t)masks.size() > kMaxAxesCases)
    return nc.error("axes (input " + Twine(i) +
                    ") given at run time can take too many values (" +
                    Twine(k) + " axes of rank " + Twine(rank) +
                    "); it must be a constant");

  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  Value key = axesKey(b, loc, *axes, rank);
  // Each case is built in a region of a scratch switch, then moved to the
  // switch whose result types the cases decide.
  auto scratch = scf::IndexSwitchOp::create(b, loc, TypeRange{}, key,
                                            ArrayRef<int64_t>{}, masks.size());
  SmallVector<int64_t> cases;
  SmallVector<Region *> caseRegions;
  SmallVector<SmallVector<Value>> caseResults;
  for (auto [c, mask] : llvm::enumerate(masks)) {
    SmallVector<int64_t> set;
    for (int64_t d = 0; d < rank; ++d)
      if (mask & (uint64_t(1) << d))
        set.push_back(d);
    Region &region = scratch.getCaseRegions()[c];
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&region.emplaceBlock());
    std::optional<SmallVector<Value>> results = lower(set);
    if (!results)
      continue;
    if (llvm::is_contained(*results, Value())) {
      scratch.erase();
      return failure();
    }
    cases.push_back(mask);
    caseRegions.push_back(&region);
    caseResults.push_back(*results);
  }
  if (cases.empty()) {
    scratch.erase();
    return nc.error("no value of axes (input " + Twine(i) +
                    ") is valid for this node");
  }
  SmallVector<Type> types;
  for (size_t j = 0; j < caseResults.front().size(); ++j) {
    RankedTensorType t = commonType(caseResults, j);
    if (!t) {
      scratch.erase();
      return nc.error("the results for different axes differ in rank");
    }
    types.push_back(t);
  }
  auto dispatch = scf::IndexSwitchOp::create(b, loc, types, key, cases,
                                             cases.size());
  for (auto [c, region] : llvm::enumerate(caseRegions)) {
    dispatch.getCaseRegions()[c].takeBody(*region);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(&dispatch.getCaseRegions()[c].front());
    SmallVector<Value> yielded;
    for (auto [v, t] : llvm::zip(caseResults[c], types))
      yielded.push_back(v.getType() == t
                            ? v
                            : tensor::CastOp::create(b, loc, t, v).getResult());
    scf::YieldOp::create(b, loc, yielded);
  }
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&dispatch.getDefaultRegion().emplaceBlock());
    SmallVector<Value> yielded;
    for (Type t : types)
      yielded.push_back(invalidResult(b, loc, cast<RankedTensorType>(t)));
    scf::YieldOp::create(b, loc, yielded);
  }
  scratch.erase();
  return SmallVector<Value>(dispatch.getResults());
}
