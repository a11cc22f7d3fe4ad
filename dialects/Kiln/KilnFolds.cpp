//===- KilnFolds.cpp - Constant folding for Kiln ops ----------------------===//
//
// Exported graphs compute shapes at run time (Shape -> Gather -> Concat ->
// Reshape). With static shapes those subgraphs are constants, and folding
// them is what lets the importer read a Reshape's target shape. Folding is
// limited to small tensors: weights are never copied through here.
//
//===----------------------------------------------------------------------===//

#include "kiln/dialects/Kiln/KilnEvaluate.h"
#include "kiln/dialects/Kiln/KilnOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APSInt.h"

#include <cmath>

using namespace mlir;
using namespace kiln;

/// Tensors larger than this are not folded (a fold copies every element).
static constexpr int64_t kMaxFoldElements = 1 << 14;

static DenseElementsAttr smallConstant(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kMaxFoldElements)
    return nullptr;
  return dense;
}

template <typename IntFn, typename FloatFn>
static Attribute foldBinary(Attribute lhsAttr, Attribute rhsAttr,
                            RankedTensorType type, IntFn intFn,
                            FloatFn floatFn) {
  DenseElementsAttr lhs = smallConstant(lhsAttr), rhs = smallConstant(rhsAttr);
  if (!lhs || !rhs || !type.hasStaticShape())
    return {};
  ArrayRef<int64_t> out = type.getShape();
  ArrayRef<int64_t> ls = lhs.getType().getShape(),
                    rs = rhs.getType().getShape();
  int64_t n = type.getNumElements();
  if (isa<IntegerType>(type.getElementType())) {
    auto lv = llvm::to_vector(lhs.getValues<APInt>());
    auto rv = llvm::to_vector(rhs.getValues<APInt>());
    SmallVector<APInt> result;
    for (int64_t i = 0; i < n; ++i) {
      std::optional<APInt> v = intFn(lv[broadcastSource(i, out, ls)],
                                     rv[broadcastSource(i, out, rs)]);
      if (!v)
        return {};
      result.push_back(*v);
    }
    return DenseElementsAttr::get(type, result);
  }
  if (isa<FloatType>(type.getElementType())) {
    auto lv = llvm::to_vector(lhs.getValues<APFloat>());
    auto rv = llvm::to_vector(rhs.getValues<APFloat>());
    SmallVector<APFloat> result;
    for (int64_t i = 0; i < n; ++i)
      result.push_back(floatFn(lv[broadcastSource(i, out, ls)],
                               rv[broadcastSource(i, out, rs)]));
    return DenseElementsAttr::get(type, result);
  }
  return {};
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a + b;
      },
      [](const APFloat &a, const APFloat &b) { return a + b; });
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a - b;
      },
      [](const APFloat &a, const APFloat &b) { return a - b; });
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a * b;
      },
      [](const APFloat &a, const APFloat &b) { return a * b; });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        if (b.isZero() || (a.isMinSignedValue() && b.isAllOnes()))
          return std::nullopt; // leave undefined behaviour to run time
        return a.sdiv(b);
      },
      [](const APFloat &a, const APFloat &b) { return a / b; });
}

/// Float powers of constants: GPT-2 divides its scores by
/// `torch.full([], head_dim ** 0.5)`, which exports as 0 + pow(d, 0.5), and
/// the attention matcher needs the scale as a constant. Integer powers stay
/// for run time.
OpFoldResult PowOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](const APInt &, const APInt &) -> std::optional<APInt> {
        return std::nullopt;
      },
      [](const APFloat &a, const APFloat &b) {
        // f32, f16 and bf16 values are exact in a double; the result is
        // rounded once, back to the operands' type.
        APFloat result(std::pow(a.convertToDouble(), b.convertToDouble()));
        bool lost = false;
        result.convert(a.getSemantics(), APFloat::rmNearestTiesToEven, &lost);
        return result;
      });
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  DenseElementsAttr in = smallConstant(adaptor.getInput());
  if (!in)
    return {};
  Type from = in.getElementType(), to = getType().getElementType();
  auto toInt = dyn_cast<IntegerType>(to);
  auto fromInt = dyn_cast<IntegerType>(from);
  if (fromInt && toInt) {
    bool isBool = fromInt.getWidth() == 1;
    return in.mapValues(to, [&](const APInt &v) {
      if (toInt.getWidth() == 1)
        return APInt(1, !v.isZero());
      return isBool || getIsUnsigned() ? v.zextOrTrunc(toInt.getWidth())
                                       : v.sextOrTrunc(toInt.getWidth());
    });
  }
  // (e8m0 rounds up, as ONNX's Cast does by default, not to nearest: the
  // CPU lowering computes it.)
  if (fromInt && isa<FloatType>(to) && !isa<Float8E8M0FNUType>(to)) {
    auto floatType = cast<FloatType>(to);
    bool isBool = fromInt.getWidth() == 1;
    SmallVector<APFloat> values;
    for (APInt v : in.getValues<APInt>()) {
      APFloat f(floatType.getFloatSemantics());
      f.convertFromAPInt(v, /*isSigned=*/!isBool && !getIsUnsigned(),
                         APFloat::rmNearestTiesToEven);
      values.push_back(f);
    }
    return DenseElementsAttr::get(getType(), values);
  }
  // To bool: nonzero (NaN included) is true.
  if (isa<FloatType>(from) && toInt && toInt.getWidth() == 1) {
    SmallVector<bool> values;
    for (APFloat f : in.getValues<APFloat>())
      values.push_back(!f.isZero());
    return DenseElementsAttr::get(getType(), values);
  }
  if (isa<FloatType>(from) && toInt && toInt.getWidth() > 1) {
    SmallVector<APInt> values;
    for (APFloat f : in.getValues<APFloat>()) {
      APSInt i(toInt.getWidth(), /*isUnsigned=*/false);
      bool exact;
      if (f.isNaN() || f.isInfinity())
        return {};
      // Out-of-range conversions are poison at run time: leave them there.
      if (f.convertToInteger(i, APFloat::rmTowardZero, &exact) &
          APFloat::opInvalidOp)
        return {};
      values.push_back(i);
    }
    return DenseElementsAttr::get(getType(), values);
  }
  return {};
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (DenseElementsAttr in = smallConstant(adaptor.getInput()))
    return in.reshape(getType());
  return {};
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  SmallVector<DenseElementsAttr> inputs =
      llvm::map_to_vector(adaptor.getInputs(), smallConstant);
  if (llvm::is_contained(inputs, DenseElementsAttr()))
    return {};
  ArrayRef<int64_t> out = getType().getShape();
  int64_t axis = getAxis();
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= out[d];
  SmallVector<Attribute> values;
  SmallVector<SmallVector<Attribute>> inputValues;
  for (DenseElementsAttr d : inputs)
    inputValues.push_back(llvm::to_vector(d.getValues<Attribute>()));
  for (int64_t o = 0; o < outer; ++o) {
    for (auto [d, vals] : llvm::zip(inputs, inputValues)) {
      int64_t chunk = d.getNumElements() / std::max<int64_t>(outer, 1);
      for (int64_t i = 0; i < chunk; ++i)
        values.push_back(vals[o * chunk + i]);
    }
  }
  return DenseElementsAttr::get(getType(), values);
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() &&
      llvm::all_of(getStarts(), [](int64_t s) { return s == 0; }) &&
      llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  DenseElementsAttr in = smallConstant(adaptor.getInput());
  if (!in)
    return {};
  ArrayRef<int64_t> out = getType().getShape();
  SmallVector<int64_t> inStrides = rowMajorStrides(in.getType().getShape());
  SmallVector<int64_t> outStrides = rowMajorStrides(out);
  auto vals = llvm::to_vector(in.getValues<Attribute>());
  SmallVector<Attribute> result;
  for (int64_t i = 0, n = getType().getNumElements(); i < n; ++i) {
    int64_t src = 0;
    for (size_t d = 0; d < out.size(); ++d) {
      int64_t idx = (i / outStrides[d]) % out[d];
      src += (getStarts()[d] + idx * getSteps()[d]) * inStrides[d];
    }
    result.push_back(vals[src]);
  }
  return DenseElementsAttr::get(getType(), result);
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr data = smallConstant(adaptor.getData());
  DenseElementsAttr indices = smallConstant(adaptor.getIndices());
  if (!data || !indices)
    return {};
  ArrayRef<int64_t> ds = data.getType().getShape();
  int64_t axis = getAxis();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= ds[d];
  for (size_t d = axis + 1; d < ds.size(); ++d)
    inner *= ds[d];
  int64_t axisSize = ds[axis];
  auto vals = llvm::to_vector(data.getValues<Attribute>());
  SmallVector<int64_t> idx;
  for (APInt v : indices.getValues<APInt>()) {
    int64_t i = v.getSExtValue();
    if (i < 0)
      i += axisSize;
    if (i < 0 || i >= axisSize)
      return {}; // out of range: leave the run-time clamp to decide
    idx.push_back(i);
  }
  SmallVector<Attribute> result;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : idx)
      for (int64_t k = 0; k < inner; ++k)
        result.push_back(vals[(o * axisSize + i) * inner + k]);
  return DenseElementsAttr::get(getType(), result);
}

OpFoldResult RemOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getLhs(), adaptor.getRhs(), getType(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        if (b.isZero() || (a.isMinSignedValue() && b.isAllOnes()))
          return std::nullopt;
        return a.srem(b);
      },
      [](const APFloat &a, const APFloat &b) {
        APFloat r = a;
        r.mod(b);
        return r;
      });
}

/// i1 orders as unsigned (false < true), wider integers as signed.
static bool intLess(const APInt &a, const APInt &b) {
  return a.getBitWidth() == 1 ? a.ult(b) : a.slt(b);
}

/// max (IsMax) or min: intLess for integers, llvm::maximum/minimum (which
/// propagate NaN) for floats.
template <bool IsMax>
static OpFoldResult foldExtreme(Attribute lhs, Attribute rhs,
                                RankedTensorType type) {
  return foldBinary(
      lhs, rhs, type,
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return (IsMax ? intLess(a, b) : intLess(b, a)) ? b : a;
      },
      [](const APFloat &a, const APFloat &b) {
        return IsMax ? llvm::maximum(a, b) : llvm::minimum(a, b);
      });
}

OpFoldResult MaxOp::fold(FoldAdaptor adaptor) {
  return foldExtreme<true>(adaptor.getLhs(), adaptor.getRhs(), getType());
}

OpFoldResult MinOp::fold(FoldAdaptor adaptor) {
  return foldExtreme<false>(adaptor.getLhs(), adaptor.getRhs(), getType());
}

template <typename Fn>
static OpFoldResult foldBitwise(Attribute lhs, Attribute rhs,
                                RankedTensorType type, Fn fn) {
  return foldBinary(
      lhs, rhs, type,
      [&](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return fn(a, b);
      },
      [](const APFloat &a, const APFloat &) { return a; });
}

OpFoldResult AndOp::fold(FoldAdaptor adaptor) {
  return foldBitwise(adaptor.getLhs(), adaptor.getRhs(), getType(),
                     [](const APInt &a, const APInt &b) { return a & b; });
}
OpFoldResult OrOp::fold(FoldAdaptor adaptor) {
  return foldBitwise(adaptor.getLhs(), adaptor.getRhs(), getType(),
                     [](const APInt &a, const APInt &b) { return a | b; });
}
OpFoldResult XorOp::fold(FoldAdaptor adaptor) {
  return foldBitwise(adaptor.getLhs(), adaptor.getRhs(), getType(),
                     [](const APInt &a, const APInt &b) { return a ^ b; });
}

OpFoldResult NotOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr in = smallConstant(adaptor.getInput());
  if (!in)
    return {};
  return in.mapValues(in.getElementType(), [](const APInt &v) { return ~v; });
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr in = smallConstant(adaptor.getInput());
  if (!in)
    return {};
  if (isa<FloatType>(in.getElementType()))
    return in.mapValues(in.getElementType(),
                        [](const APFloat &v) { return (-v).bitcastToAPInt(); });
  return in.mapValues(in.getElementType(), [](const APInt &v) { return -v; });
}

OpFoldResult CompareOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr lhs = smallConstant(adaptor.getLhs());
  DenseElementsAttr rhs = smallConstant(adaptor.getRhs());
  if (!lhs || !rhs)
    return {};
  RankedTensorType type = getType();
  ArrayRef<int64_t> out = type.getShape();
  ArrayRef<int64_t> ls = lhs.getType().getShape(),
                    rs = rhs.getType().getShape();
  CompareDirection dir = getDirection();
  SmallVector<bool> result;
  int64_t n = type.getNumElements();
  if (isa<FloatType>(lhs.getElementType())) {
    auto lv = llvm::to_vector(lhs.getValues<APFloat>());
    auto rv = llvm::to_vector(rhs.getValues<APFloat>());
    for (int64_t i = 0; i < n; ++i) {
      APFloat::cmpResult c = lv[broadcastSource(i, out, ls)].compare(
          rv[broadcastSource(i, out, rs)]);
      std::optional<int> order;
      if (c == APFloat::cmpLessThan)
        order = -1;
      else if (c == APFloat::cmpEqual)
        order = 0;
      else if (c == APFloat::cmpGreaterThan)
        order = 1;
      result.push_back(compareHolds(dir, order));
    }
  } else {
    auto lv = llvm::to_vector(lhs.getValues<APInt>());
    auto rv = llvm::to_vector(rhs.getValues<APInt>());
    for (int64_t i = 0; i < n; ++i) {
      const APInt &a = lv[broadcastSource(i, out, ls)];
      const APInt &b = rv[broadcastSource(i, out, rs)];
      result.push_back(
          compareHolds(dir, a == b ? 0 : (intLess(a, b) ? -1 : 1)));
    }
  }
  return DenseElementsAttr::get(type, result);
}

OpFoldResult SelectOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr cond = smallConstant(adaptor.getCondition());
  DenseElementsAttr a = smallConstant(adaptor.getTrueValue());
  DenseElementsAttr b = smallConstant(adaptor.getFalseValue());
  if (!cond || !a || !b)
    return {};
  RankedTensorType type = getType();
  ArrayRef<int64_t> out = type.getShape();
  auto cv = llvm::to_vector(cond.getValues<bool>());
  auto av = llvm::to_vector(a.getValues<Attribute>());
  auto bv = llvm::to_vector(b.getValues<Attribute>());
  SmallVector<Attribute> result;
  for (int64_t i = 0, n = type.getNumElements(); i < n; ++i)
    result.push_back(cv[broadcastSource(i, out, cond.getType().getShape())]
                         ? av[broadcastSource(i, out, a.getType().getShape())]
                         : bv[broadcastSource(i, out, b.getType().getShape())]);
  return DenseElementsAttr::get(type, result);
}

/// The constant of `type` whose element i is `in`'s element sourceOf(i),
/// as the data-movement ops fold; a splat stays a splat.
static DenseElementsAttr
gatherConstant(DenseElementsAttr in, RankedTensorType type,
               llvm::function_ref<int64_t(int64_t)> sourceOf) {
  if (in.isSplat())
    return DenseElementsAttr::get(type, in.getSplatValue<Attribute>());
  auto vals = llvm::to_vector(in.getValues<Attribute>());
  SmallVector<Attribute> result;
  for (int64_t i = 0, n = type.getNumElements(); i < n; ++i)
    result.push_back(vals[sourceOf(i)]);
  return DenseElementsAttr::get(type, result);
}

OpFoldResult BroadcastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  DenseElementsAttr in = smallConstant(adaptor.getInput());
  // A splat folds at any size; anything else only up to kMaxFoldElements.
  if (!in || (!in.isSplat() && getType().getNumElements() > kMaxFoldElements))
    return {};
  return gatherConstant(in, getType(), [&](int64_t i) {
    return broadcastSource(i, getType().getShape(), in.getType().getShape());
  });
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  if (llvm::equal(getPermutation(), llvm::seq<int64_t>(0, getType().getRank())))
    return getInput();
  DenseElementsAttr in = smallConstant(adaptor.getInput());
  if (!in)
    return {};
  ArrayRef<int64_t> perm = getPermutation();
  SmallVector<int64_t> inStrides = rowMajorStrides(in.getType().getShape());
  SmallVector<int64_t> outStrides = rowMajorStrides(getType().getShape());
  return gatherConstant(in, getType(), [&](int64_t i) {
    int64_t src = 0;
    for (size_t d = 0; d < perm.size(); ++d)
      src +=
          ((i / outStrides[d]) % getType().getDimSize(d)) * inStrides[perm[d]];
    return src;
  });
}

/// Combines the elements of `in` that land in each of the `slots` result
/// elements (slotOf maps an element to its slot) with `combine`.
template <typename T, typename Fn, typename SlotFn>
static DenseElementsAttr
accumulateSlots(DenseElementsAttr in, RankedTensorType resultType,
                int64_t slots, SlotFn slotOf, Fn combine) {
  SmallVector<std::optional<T>> acc(slots);
  int64_t i = 0;
  for (T v : in.getValues<T>()) {
    std::optional<T> &a = acc[slotOf(i++)];
    a = a ? combine(*a, v) : v;
  }
  SmallVector<T> values;
  for (auto &a : acc)
    values.push_back(*a);
  return DenseElementsAttr::get(resultType, values);
}

/// Folds a reduction of a small constant. `combine` folds one element into
/// an accumulator that starts as the first element reduced into each slot.
template <typename IntFn, typename FloatFn>
static OpFoldResult foldReduce(Attribute inputAttr, ArrayRef<int64_t> axes,
                               RankedTensorType resultType, IntFn intFn,
                               FloatFn floatFn) {
  DenseElementsAttr in = smallConstant(inputAttr);
  if (!in)
    return {};
  ArrayRef<int64_t> shape = in.getType().getShape();
  SmallVector<int64_t> strides = rowMajorStrides(shape);
  // Row-major strides of the reduced shape, over the kept dimensions.
  SmallVector<int64_t> keptStride(shape.size(), 0);
  int64_t stride = 1;
  for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d)
    if (!llvm::is_contained(axes, d)) {
      keptStride[d] = stride;
      stride *= shape[d];
    }
  auto slotOf = [&](int64_t flat) {
    int64_t slot = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      slot += ((flat / strides[d]) % shape[d]) * keptStride[d];
    return slot;
  };
  int64_t n = in.getNumElements(), slots = resultType.getNumElements();
  if (n == 0)
    return {};
  if (isa<IntegerType>(in.getElementType()))
    return accumulateSlots<APInt>(in, resultType, slots, slotOf, intFn);
  return accumulateSlots<APFloat>(in, resultType, slots, slotOf, floatFn);
}

OpFoldResult ReduceSumOp::fold(FoldAdaptor adaptor) {
  return foldReduce(
      adaptor.getInput(), getAxes(), getType(),
      [](const APInt &a, const APInt &b) { return a + b; },
      [](const APFloat &a, const APFloat &b) { return a + b; });
}
OpFoldResult ReduceProdOp::fold(FoldAdaptor adaptor) {
  return foldReduce(
      adaptor.getInput(), getAxes(), getType(),
      [](const APInt &a, const APInt &b) { return a * b; },
      [](const APFloat &a, const APFloat &b) { return a * b; });
}
OpFoldResult ReduceMaxOp::fold(FoldAdaptor adaptor) {
  return foldReduce(
      adaptor.getInput(), getAxes(), getType(),
      [](const APInt &a, const APInt &b) { return intLess(a, b) ? b : a; },
      [](const APFloat &a, const APFloat &b) { return llvm::maximum(a, b); });
}
OpFoldResult ReduceMinOp::fold(FoldAdaptor adaptor) {
  return foldReduce(
      adaptor.getInput(), getAxes(), getType(),
      [](const APInt &a, const APInt &b) { return intLess(b, a) ? b : a; },
      [](const APFloat &a, const APFloat &b) { return llvm::minimum(a, b); });
}
// Means are decomposed before lowering; their constants fold after that.
OpFoldResult ReduceMeanOp::fold(FoldAdaptor) { return {}; }
