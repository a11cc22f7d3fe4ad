//===- OnnxShapeOps.cpp - Shape, indexing and constant ONNX operators -----===//
//
// With static shapes, shape-valued inputs (Reshape's shape, Slice's
// starts, ...) fold to constants, and Shape, Size, Range and
// ConstantOfShape become constants outright. With symbolic dimensions they
// may hold run-time elements (ShapeArithmetic.h); each consumer below then
// takes its sizes from SymbolicDims and builds tensors of dynamic size.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"
#include "RuntimeAxes.h"
#include "RuntimeParameters.h"
#include "ShapeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// An integer list that newer opsets pass as the constant input `i` and
/// older ones as the attribute `name`; nothing when the node has neither.
FailureOr<std::optional<SmallVector<int64_t>>>
intsFromInputOrAttr(NodeContext &nc, size_t i, StringRef name) {
  if (!nc.input(i))
    return nc.getInts(name);
  FailureOr<SmallVector<int64_t>> ints = nc.constantInts(i, name);
  if (failed(ints))
    return failure();
  return std::optional<SmallVector<int64_t>>(*ints);
}

LogicalResult transposeOp(NodeContext &nc, Value x) {
  int64_t rank = nc.typeOf(x).getRank();
  SmallVector<int64_t> perm;
  if (std::optional<SmallVector<int64_t>> p = nc.getInts("perm")) {
    perm = *p;
    if ((int64_t)perm.size() != rank)
      return nc.error("perm has " + Twine(perm.size()) +
                      " entries for an input of rank " + Twine(rank));
    for (int64_t &p : perm) {
      FailureOr<int64_t> n = nc.normalizeAxis(p, rank, "perm entry");
      if (failed(n))
        return failure();
      p = *n;
    }
  } else {
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  }
  SmallVector<int64_t> sorted(perm);
  llvm::sort(sorted);
  for (int64_t d = 0; d < rank; ++d)
    if (sorted[d] != d)
      return nc.error("perm is not a permutation");
  return nc.setResult(nc.transpose(x, perm));
}

/// Whether a consumer of shape input `i` must take the symbolic path: the
/// data has dynamic dims, or the shape holds values only a run knows (a
/// graph input, computed from one, or run-time elements: ONNX lets
/// Reshape's shape, Expand's, ... be any of them).
bool needsSymbolicPath(NodeContext &nc, Value x, size_t i) {
  return nc.symbolicDims &&
         ((x && !nc.typeOf(x).hasStaticShape()) || isRuntimeInput(nc, i));
}

SymbolicSize product(ArrayRef<SymbolicSize> sizes) {
  SymbolicSize p = SymbolicSize::constant(1);
  for (const SymbolicSize &s : sizes)
    p = p * s;
  return p;
}

/// Reshape's sizes computed at run time from `elements`: 0 copies the
/// input's size (unless `allowZero`), -1 takes what the others leave.
SmallVector<SymbolicSize> runtimeReshapeSizes(NodeContext &nc,
                                              ArrayRef<SymbolicSize> in,
                                              const ShapeElements &elements,
                                              bool allowZero) {
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  SymbolicDims &dims = *nc.symbolicDims;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0),
        one = arith::ConstantIndexOp::create(b, loc, 1),
        minusOne = arith::ConstantIndexOp::create(b, loc, -1);
  SmallVector<Value> requested, inferredHere;
  Value known = one;
  for (auto [i, element] : llvm::enumerate(elements)) {
    Value v = getValueOrCreateConstantIndexOp(b, loc, element);
    if (!v.getType().isIndex())
      v = arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    if (!allowZero && i < in.size())
      v = b.createOrFold<arith::SelectOp>(
          loc,
          b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, v, zero),
          dims.materialize(b, loc, in[i]), v);
    Value infer =
        b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, v, minusOne);
    known = b.createOrFold<arith::MulIOp>(
        loc, known, b.createOrFold<arith::SelectOp>(loc, infer, one, v));
    requested.push_back(v);
    inferredHere.push_back(infer);
  }
  Value all = dims.materialize(b, loc, product(in));
  Value rest = b.createOrFold<arith::DivUIOp>(
      loc, all, b.createOrFold<arith::MaxUIOp>(loc, known, one));
  SmallVector<SymbolicSize> sizes;
  for (auto [v, infer] : llvm::zip(requested, inferredHere))
    sizes.push_back(
        dims.evaluate(b.createOrFold<arith::SelectOp>(loc, infer, rest, v)));
  return sizes;
}

LogicalResult symbolicReshapeOp(NodeContext &nc, Value x,
                                const ShapeElements &elements,
                                const SmallVector<SymbolicSize> &in,
                                SmallVector<SymbolicSize> sizes) {
  bool allowZero = nc.getInt("allowzero", 0) != 0;
  // A shape read from the data may hold 0 (copy) or -1 (infer) in any
  // element: those rules then apply at run time.
  if (llvm::any_of(sizes, [&](const SymbolicSize &size) {
        return !size.isConstant() && !nc.symbolicDims->isNonNegative(size);
      }))
    return nc.setResult(reshapeToSizes(
        nc, x, runtimeReshapeSizes(nc, in, elements, allowZero)));
  std::optional<size_t> inferred;
  for (auto [i, size] : llvm::enumerate(sizes)) {
    if (!size.isConstant())
      continue;
    if (size.coefficient == 0 && !allowZero) {
      if (i >= in.size())
        return nc.error("shape copies dimension " + Twine(i) +
                        " from an input of rank " + Twine(in.size()));
      size = in[i];
    } else if (size.coefficient == -1) {
      if (inferred)
        return nc.error("shape has more than one -1");
      inferred = i;
      size = SymbolicSize::constant(1);
    } else if (size.coefficient < 0) {
      return nc.error("shape has a negative dimension " +
                      Twine(size.coefficient));
    }
  }
  if (inferred) {
    std::optional<SymbolicSize> rest = product(in).dividedBy(product(sizes));
    if (rest) {
      sizes[*inferred] = *rest;
    } else {
      // Only the run time knows: the element count over the others.
      Value all = nc.symbolicDims->materialize(nc.b, nc.loc, product(in));
      Value known = nc.symbolicDims->materialize(nc.b, nc.loc, product(sizes));
      sizes[*inferred] = nc.symbolicDims->evaluate(
          arith::DivUIOp::create(nc.b, nc.loc, all, known));
    }
  }
  return nc.setResult(reshapeToSizes(nc, x, sizes));
}

/// Reshape and Expand read their target shape from input 1: when it (or
/// `x`) has sizes only the run knows, `symbolic` builds the node from the
/// input's and the target's symbolic sizes; otherwise `constant` does,
/// given the shape's values.
using SymbolicShapeHandler = LogicalResult (*)(
    NodeContext &, Value x, const ShapeElements &shape,
    const SmallVector<SymbolicSize> &in, SmallVector<SymbolicSize> target);
using ConstantShapeHandler = LogicalResult (*)(NodeContext &, Value x,
                                               SmallVector<int64_t> shape);
LogicalResult withShapeInput(NodeContext &nc, Value x,
                             SymbolicShapeHandler symbolic,
                             ConstantShapeHandler constant) {
  if (needsSymbolicPath(nc, x, 1)) {
    FailureOr<ShapeElements> elements = requireShapeElements(nc, 1, "shape");
    if (failed(elements))
      return failure();
    SmallVector<SymbolicSize> in = symbolicShape(nc, x),
                              target = symbolicSizes(nc, *elements);
    return symbolic(nc, x, *elements, in, std::move(target));
  }
  FailureOr<SmallVector<int64_t>> shape = nc.constantInts(1, "shape");
  if (failed(shape))
    return failure();
  return constant(nc, x, std::move(*shape));
}

LogicalResult constantReshapeOp(NodeContext &nc, Value x,
                                SmallVector<int64_t> target) {
  RankedTensorType t = nc.typeOf(x);
  bool allowZero = nc.getInt("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  int64_t known = 1, inferred = -1;
  for (auto [i, d] : llvm::enumerate(target)) {
    if (d == 0 && !allowZero) {
      if ((int64_t)i >= t.getRank())
        return nc.error("shape copies dimension " + Twine(i) +
                        " from an input of rank " + Twine(t.getRank()));
      d = t.getDimSize(i);
    }
    if (d == -1) {
      if (inferred >= 0)
        return nc.error("shape has more than one -1");
      inferred = i;
      shape.push_back(1);
      continue;
    }
    if (d < 0)
      return nc.error("shape has a negative dimension " + Twine(d));
    if (llvm::MulOverflow(known, d, known))
      return nc.error("shape has more elements than an int64 can count");
    shape.push_back(d);
  }
  if (inferred >= 0) {
    if (known == 0 || t.getNumElements() % known != 0)
      return nc.error("cannot infer the -1 dimension");
    shape[inferred] = t.getNumElements() / known;
  }
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  if (count != t.getNumElements())
    return nc.error("cannot reshape " + Twine(t.getNumElements()) +
                    " elements into " + Twine(count));
  return nc.setResult(nc.reshape(x, shape));
}

LogicalResult reshapeOp(NodeContext &nc, Value x) {
  return withShapeInput(nc, x, symbolicReshapeOp, constantReshapeOp);
}

LogicalResult flattenOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  int64_t axis = nc.getInt("axis", 1);
  if (axis < 0)
    axis += t.getRank();
  if (axis < 0 || axis > t.getRank())
    return nc.error("axis is out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < t.getRank(); ++d)
    (d < axis ? outer : inner) *= t.getDimSize(d);
  return nc.setResult(nc.reshape(x, {outer, inner}));
}

/// Axes from the `axes` input (opset 13+) or attribute, normalized against
/// `rank`.
FailureOr<SmallVector<int64_t>> axesOf(NodeContext &nc, int64_t rank) {
  auto listed = intsFromInputOrAttr(nc, 1, "axes");
  if (failed(listed))
    return failure();
  SmallVector<int64_t> axes = listed->value_or(SmallVector<int64_t>());
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = nc.normalizeAxis(a, rank);
    if (failed(n))
      return failure();
    a = *n;
  }
  return axes;
}

/// Squeeze or Unsqueeze with axes given at run time: one reshape per set
/// of axes (RuntimeAxes.h); Squeeze's sets are those of static 1s.
LogicalResult runtimeSqueezeOp(NodeContext &nc, Value x, bool squeeze) {
  SmallVector<SymbolicSize> in = symbolicShape(nc, x);
  int64_t rank = in.size();
  RankedTensorType axesType = nc.inputType(1);
  if (!axesType.hasStaticShape())
    return nc.error("axes (input 1) must have a static length");
  if (squeeze && axesType.getNumElements() == 0) {
    // No axes: every dimension of static size 1, as with constant axes.
    SmallVector<SymbolicSize> sizes;
    for (const SymbolicSize &size : in)
      if (!(size == SymbolicSize::constant(1)))
        sizes.push_back(size);
    return nc.setResult(reshapeToSizes(nc, x, sizes));
  }
  if (!squeeze)
    rank += axesType.getNumElements();
  FailureOr<SmallVector<Value>> r = dispatchOnAxes(
      nc, 1, rank,
      [&](ArrayRef<int64_t> axes) -> std::optional<SmallVector<Value>> {
        SmallVector<SymbolicSize> sizes;
        for (int64_t d = 0, next = 0; d < rank; ++d) {
          bool listed = llvm::is_contained(axes, d);
          if (squeeze && listed && !(in[d] == SymbolicSize::constant(1)))
            return std::nullopt;
          if (!squeeze)
            sizes.push_back(listed ? SymbolicSize::constant(1) : in[next++]);
          else if (!listed)
            sizes.push_back(in[d]);
        }
        return SmallVector<Value>{reshapeToSizes(nc, x, sizes)};
      });
  if (failed(r))
    return failure();
  return nc.setResult(r->front());
}

LogicalResult squeezeOp(NodeContext &nc, Value x) {
  if (isRuntimeInput(nc, 1))
    return runtimeSqueezeOp(nc, x, /*squeeze=*/true);
  RankedTensorType t = nc.typeOf(x);
  FailureOr<SmallVector<int64_t>> axes = axesOf(nc, t.getRank());
  if (failed(axes))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    bool listed = llvm::is_contained(*axes, d);
    if (listed && t.isDynamicDim(d))
      return nc.error("unsupported: Squeeze of dimension " + Twine(d) +
                      ", whose size only the run knows (it must be 1)");
    if (listed && t.getDimSize(d) != 1)
      return nc.error("cannot squeeze dimension " + Twine(d) + " of size " +
                      Twine(t.getDimSize(d)));
    if (axes->empty() ? t.getDimSize(d) != 1 : !listed)
      shape.push_back(t.getDimSize(d));
  }
  return nc.setResult(nc.reshape(x, shape));
}

LogicalResult unsqueezeOp(NodeContext &nc, Value x) {
  if (isRuntimeInput(nc, 1))
    return runtimeSqueezeOp(nc, x, /*squeeze=*/false);
  RankedTensorType t = nc.typeOf(x);
  int64_t outRank = t.getRank();
  auto listed = intsFromInputOrAttr(nc, 1, "axes");
  if (failed(listed))
    return failure();
  SmallVector<int64_t> raw = listed->value_or(SmallVector<int64_t>());
  outRank += raw.size();
  SmallVector<int64_t> axes;
  for (int64_t a : raw) {
    FailureOr<int64_t> n = nc.normalizeAxis(a, outRank);
    if (failed(n))
      return failure();
    axes.push_back(*n);
  }
  SmallVector<int64_t> shape;
  int64_t next = 0;
  for (int64_t d = 0; d < outRank; ++d)
    shape.push_back(llvm::is_contained(axes, d) ? 1 : t.getDimSize(next++));
  if (next != t.getRank())
    return nc.error("axes contain duplicates");
  return nc.setResult(nc.reshape(x, shape));
}

LogicalResult concatOp(NodeContext &nc) {
  SmallVector<Value> inputs;
  for (size_t i = 0; i < nc.numInputs(); ++i)
    if (Value v = nc.input(i))
      inputs.push_back(v);
  if (inputs.empty())
    return nc.error("expects at least one input");
  RankedTensorType t = nc.typeOf(inputs[0]);
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", 0), t.getRank());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(t.getShape());
  shape[*axis] = 0;
  for (Value v : inputs) {
    RankedTensorType vt = nc.typeOf(v);
    if (vt.getRank() != t.getRank() ||
        vt.getElementType() != t.getElementType())
      return nc.error("inputs differ in rank or element type");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != *axis && vt.getDimSize(d) != t.getDimSize(d))
        return nc.error("inputs differ in dimension " + Twine(d));
    // A run-time size on the axis makes the sum one (kDynamic is no
    // number to add: two of them wrapped to 0).
    if (ShapedType::isDynamic(vt.getDimSize(*axis)) ||
        ShapedType::isDynamic(shape[*axis]))
      shape[*axis] = ShapedType::kDynamic;
    else
      shape[*axis] += vt.getDimSize(*axis);
  }
  return nc.setResult(nc.b.createOrFold<ConcatOp>(
      nc.loc, t.clone(shape), inputs, nc.b.getI64IntegerAttr(*axis)));
}

/// A contiguous (step 1) slice of `x` along `axis`.
Value sliceAxis(NodeContext &nc, Value x, int64_t axis, int64_t start,
                int64_t size) {
  RankedTensorType t = nc.typeOf(x);
  SmallVector<int64_t> starts(t.getRank(), 0), steps(t.getRank(), 1);
  SmallVector<int64_t> shape(t.getShape());
  starts[axis] = start;
  shape[axis] = size;
  return nc.b.createOrFold<SliceOp>(nc.loc, t.clone(shape), x,
                                    nc.b.getDenseI64ArrayAttr(starts),
                                    nc.b.getDenseI64ArrayAttr(steps));
}

LogicalResult splitOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", 0), t.getRank());
  if (failed(axis))
    return failure();
  if (isRuntimeInput(nc, 1))
    return runtimeSplitOp(nc, x, *axis);
  int64_t dim = t.getDimSize(*axis);
  int64_t n = nc.numOutputs();
  auto listed = intsFromInputOrAttr(nc, 1, "split");
  if (failed(listed))
    return failure();
  SmallVector<int64_t> sizes;
  if (*listed) {
    sizes = **listed;
  } else {
    int64_t parts = nc.getInt("num_outputs", n);
    if (parts <= 0)
      return nc.error("num_outputs must be positive");
    int64_t chunk = (dim + parts - 1) / parts; // the last part may be smaller
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  if ((int64_t)sizes.size() != n)
    return nc.error("splits into " + Twine(sizes.size()) + " parts but has " +
                    Twine(n) + " outputs");
  int64_t offset = 0;
  for (auto [i, s] : llvm::enumerate(sizes)) {
    if (s < 0 || offset + s > dim)
      return nc.error("split sizes exceed the dimension of size " + Twine(dim));
    nc.setOutput(i, sliceAxis(nc, x, *axis, offset, s));
    offset += s;
  }
  if (offset != dim)
    return nc.error("split sizes add up to " + Twine(offset) +
                    " but the dimension has size " + Twine(dim));
  return success();
}

/// One sliced axis with run-time bounds: ONNX's clamping done on index
/// values, folded where the values are constants. A negative step is
/// taken as the forward slice of the same elements, then reversed.
struct AxisSlice {
  OpFoldResult offset, size;
  bool reversed = false;
};
AxisSlice sliceAxis(NodeContext &nc, Value x, int64_t axis, OpFoldResult start,
                    OpFoldResult end, int64_t step) {
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  SymbolicSize dim = nc.symbolicDims->sizeOf(x, axis);
  auto constant = [](OpFoldResult f) -> std::optional<int64_t> {
    if (auto a = dyn_cast<Attribute>(f))
      return cast<IntegerAttr>(a).getValue().getSExtValue();
    return std::nullopt;
  };
  std::optional<int64_t> s = constant(start), e = constant(end);
  // The whole axis, as `x[0:]` and `x[:n]` with n its size are.
  bool toEnd = e && *e >= (int64_t(1) << 40);
  bool endIsDim = !e && nc.symbolicDims->evaluate(cast<Value>(end)) == dim;
  if (step == 1 && s == 0 && (toEnd || endIsDim))
    return {b.getIndexAttr(0),
            dim.isConstant()
                ? (OpFoldResult)b.getIndexAttr(dim.coefficient)
                : (OpFoldResult)nc.symbolicDims->materialize(b, loc, dim)};
  Value size = nc.symbolicDims->materialize(b, loc, dim);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value last = b.createOrFold<arith::SubIOp>(loc, size, one);
  // Negative bounds count from the end; then ONNX clamps starts to
  // [0, dim] and ends to [0, dim] for positive steps, starts to
  // [0, dim - 1] and ends to [-1, dim - 1] for negative ones.
  auto clamped = [&](OpFoldResult bound, Value low, Value high) -> Value {
    Value v;
    if (std::optional<int64_t> c = constant(bound))
      v = arith::ConstantIndexOp::create(
          b, loc, std::clamp<int64_t>(*c, -(int64_t(1) << 50), int64_t(1) << 50));
    else
      v = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                     cast<Value>(bound));
    Value negative =
        b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, v, zero);
    v = b.createOrFold<arith::SelectOp>(
        loc, negative, b.createOrFold<arith::AddIOp>(loc, v, size), v);
    v = b.createOrFold<arith::MaxSIOp>(loc, v, low);
    return b.createOrFold<arith::MinSIOp>(loc, v, high);
  };
  Value stride = arith::ConstantIndexOp::create(b, loc, std::abs(step));
  if (step > 0) {
    Value first = clamped(start, zero, size), stop = clamped(end, zero, size);
    Value span = b.createOrFold<arith::SubIOp>(loc, stop, first);
    Value count = b.createOrFold<arith::MaxSIOp>(
        loc, zero, b.createOrFold<arith::CeilDivSIOp>(loc, span, stride));
    return {getAsOpFoldResult(first), getAsOpFoldResult(count)};
  }
  Value minusOne = arith::ConstantIndexOp::create(b, loc, -1);
  Value first = clamped(start, zero, last),
        stop = clamped(end, minusOne, last);
  Value span = b.createOrFold<arith::SubIOp>(loc, first, stop);
  Value count = b.createOrFold<arith::MaxSIOp>(
      loc, zero, b.createOrFold<arith::CeilDivSIOp>(loc, span, stride));
  // The lowest element taken: first - (count - 1) * |step| (0 when empty).
  Value back = b.createOrFold<arith::MulIOp>(
      loc, b.createOrFold<arith::MaxSIOp>(
               loc, zero, b.createOrFold<arith::SubIOp>(loc, count, one)),
      stride);
  Value lowest = b.createOrFold<arith::MaxSIOp>(
      loc, zero, b.createOrFold<arith::SubIOp>(loc, first, back));
  return {getAsOpFoldResult(lowest), getAsOpFoldResult(count), true};
}

/// `v` with the order of its elements along `axis` reversed.
Value reverseAxis(NodeContext &nc, Value v, int64_t axis) {
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  auto type = NodeContext::typeOf(v);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
  Value last = b.createOrFold<arith::SubIOp>(
      loc, getValueOrCreateConstantIndexOp(b, loc, sizes[axis]),
      arith::ConstantIndexOp::create(b, loc, 1));
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(getValueOrCreateConstantIndexOp(b, loc, sizes[d]));
  return generate(b, loc, type, dynamicSizes,
                  [&](OpBuilder &nb, Location l, ArrayRef<Value> indices) {
                    SmallVector<Value> at(indices);
                    at[axis] = arith::SubIOp::create(nb, l, last, at[axis]);
                    return tensor::ExtractOp::create(nb, l, v, at).getResult();
                  });
}

/// Slice's axes (normalized for `rank`) and steps, one per start and end:
/// the attributes before opset 10, constant inputs 3 and 4 after (every
/// axis in order and steps of 1 when absent). Steps are not zero.
LogicalResult sliceAxesAndSteps(NodeContext &nc, size_t n, size_t numEnds,
                                int64_t rank, SmallVectorImpl<int64_t> &axes,
                                SmallVectorImpl<int64_t> &steps) {
  if (numEnds != n)
    return nc.error("starts and ends differ in length");
  steps.assign(n, 1);
  std::optional<SmallVector<int64_t>> given;
  if (nc.opset < 10) {
    given = nc.getInts("axes");
  } else if (nc.input(3)) {
    FailureOr<SmallVector<int64_t>> a = nc.constantInts(3, "axes");
    if (failed(a))
      return failure();
    given = *a;
  }
  if (given)
    axes.assign(given->begin(), given->end());
  else
    for (size_t i = 0; i < n; ++i)
      axes.push_back(i);
  if (nc.opset >= 10 && nc.input(4)) {
    FailureOr<SmallVector<int64_t>> st = nc.constantInts(4, "steps");
    if (failed(st))
      return failure();
    steps.assign(st->begin(), st->end());
  }
  if (axes.size() != n || steps.size() != n)
    return nc.error("starts, ends, axes and steps differ in length");
  for (size_t i = 0; i < n; ++i) {
    FailureOr<int64_t> axis = nc.normalizeAxis(axes[i], rank);
    if (failed(axis))
      return failure();
    axes[i] = *axis;
    if (steps[i] == 0)
      return nc.error("steps must not be zero");
  }
  return success();
}

/// Slice of dynamic dims or with run-time starts and ends: a
/// tensor.extract_slice of computed offsets and sizes (positive steps).
LogicalResult symbolicSliceOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  int64_t rank = t.getRank();
  FailureOr<ShapeElements> starts = requireShapeElements(nc, 1, "starts"),
                           ends = requireShapeElements(nc, 2, "ends");
  SmallVector<int64_t> axes, steps;
  if (failed(starts) || failed(ends) ||
      failed(sliceAxesAndSteps(nc, starts->size(), ends->size(), rank, axes,
                               steps)))
    return failure();
  OpBuilder &b = nc.b;
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      sizes = tensor::getMixedSizes(b, nc.loc, x),
      strides(rank, b.getIndexAttr(1));
  SmallVector<int64_t> reversedAxes;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t axis = axes[i];
    AxisSlice slice =
        sliceAxis(nc, x, axis, (*starts)[i], (*ends)[i], steps[i]);
    offsets[axis] = slice.offset;
    sizes[axis] = slice.size;
    strides[axis] = b.getIndexAttr(std::abs(steps[i]));
    if (slice.reversed)
      reversedAxes.push_back(axis);
  }
  Value result =
      tensor::ExtractSliceOp::create(b, nc.loc, x, offsets, sizes, strides);
  for (int64_t axis : reversedAxes)
    result = reverseAxis(nc, result, axis);
  return nc.setResult(result);
}

LogicalResult sliceOp(NodeContext &nc, Value x) {
  if (nc.opset >= 10 && (isRuntimeInput(nc, 3) || isRuntimeInput(nc, 4)))
    return runtimeSliceOp(nc, x);
  if (nc.opset >= 10 &&
      (needsSymbolicPath(nc, x, 1) || needsSymbolicPath(nc, x, 2)))
    return symbolicSliceOp(nc, x);
  RankedTensorType t = nc.typeOf(x);
  int64_t rank = t.getRank();
  FailureOr<SmallVector<int64_t>> starts, ends;
  if (nc.opset < 10) { // starts, ends and axes were attributes
    auto s = nc.getInts("starts"), e = nc.getInts("ends");
    if (!s || !e)
      return nc.error("needs the starts and ends attributes");
    starts = *s;
    ends = *e;
  } else {
    starts = nc.constantInts(1, "starts");
    ends = nc.constantInts(2, "ends");
  }
  SmallVector<int64_t> axes, steps;
  if (failed(starts) || failed(ends) ||
      failed(sliceAxesAndSteps(nc, starts->size(), ends->size(), rank, axes,
                               steps)))
    return failure();
  SmallVector<int64_t> outStarts(rank, 0), outSteps(rank, 1);
  SmallVector<int64_t> shape(t.getShape());
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t axis = axes[i];
    int64_t dim = t.getDimSize(axis), step = steps[i];
    int64_t start = (*starts)[i], end = (*ends)[i];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    // Clamp as ONNX specifies: starts to [0, dim] and ends to [0, dim] for
    // positive steps; starts to [0, dim-1] and ends to [-1, dim-1] for
    // negative ones. INT64_MIN/MAX "to the end" markers land here too.
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
    }
    int64_t size =
        step > 0 ? std::max<int64_t>(0, (end - start + step - 1) / step)
                 : std::max<int64_t>(0, (start - end + (-step) - 1) / -step);
    outStarts[axis] = size > 0 ? start : 0;
    outSteps[axis] = step;
    shape[axis] = size;
  }
  return nc.setResult(nc.b.createOrFold<SliceOp>(
      nc.loc, t.clone(shape), x, nc.b.getDenseI64ArrayAttr(outStarts),
      nc.b.getDenseI64ArrayAttr(outSteps)));
}

LogicalResult gatherOp(NodeContext &nc) {
  Value data = nc.input(0), indices = nc.input(1);
  if (!data || !indices)
    return nc.error("expects data and indices");
  RankedTensorType dt = nc.typeOf(data), it = nc.typeOf(indices);
  if (!it.getElementType().isInteger(32) && !it.getElementType().isInteger(64))
    return nc.error("indices must be int32 or int64");
  FailureOr<int64_t> axis =
      nc.normalizeAxis(nc.getInt("axis", 0), dt.getRank());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(dt.getShape().take_front(*axis));
  shape.append(it.getShape().begin(), it.getShape().end());
  shape.append(dt.getShape().begin() + *axis + 1, dt.getShape().end());
  return nc.setResult(nc.b.createOrFold<GatherOp>(
      nc.loc, dt.clone(shape), data, indices, nc.b.getI64IntegerAttr(*axis)));
}

LogicalResult symbolicExpandOp(NodeContext &nc, Value x, const ShapeElements &,
                               const SmallVector<SymbolicSize> &in,
                               SmallVector<SymbolicSize> target) {
  size_t rank = std::max(in.size(), target.size());
  SymbolicSize one = SymbolicSize::constant(1);
  SmallVector<SymbolicSize> sizes;
  for (size_t d = 0; d < rank; ++d) {
    // Aligned from the right; a missing dimension is a 1.
    size_t fromIn = rank - in.size(), fromTarget = rank - target.size();
    SymbolicSize a = d < fromIn ? one : in[d - fromIn];
    SymbolicSize t = d < fromTarget ? one : target[d - fromTarget];
    if (t == one || t == a)
      sizes.push_back(a);
    else if (a == one)
      sizes.push_back(t);
    else if (a.isConstant() && t.isConstant())
      return nc.error("input does not broadcast to the requested shape");
    else // Equal at run time, or the model is wrong: keep the input's.
      sizes.push_back(a);
  }
  if (sizes == in)
    return nc.setResult(x);
  return nc.setResult(broadcastToSizes(nc, x, sizes));
}

LogicalResult constantExpandOp(NodeContext &nc, Value x,
                               SmallVector<int64_t> target) {
  RankedTensorType t = nc.typeOf(x);
  // Expand broadcasts both ways: a 1 in `shape` keeps the input's size.
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes({t.getShape(), target});
  if (failed(shape))
    return nc.error("input does not broadcast to the requested shape");
  if (ArrayRef<int64_t>(*shape) == t.getShape())
    return nc.setResult(x);
  // Folded here so an Expand of constants can feed a shape input (PyTorch
  // exports repeat_interleave with such shape computations).
  return nc.setResult(
      nc.b.createOrFold<BroadcastOp>(nc.loc, t.clone(*shape), x));
}

LogicalResult expandOp(NodeContext &nc, Value x) {
  return withShapeInput(nc, x, symbolicExpandOp, constantExpandOp);
}

LogicalResult tileOp(NodeContext &nc, Value x) {
  if (isRuntimeInput(nc, 1))
    return runtimeTileOp(nc, x);
  FailureOr<SmallVector<int64_t>> repeats = nc.constantInts(1, "repeats");
  if (failed(repeats))
    return failure();
  RankedTensorType t = nc.typeOf(x);
  if ((int64_t)repeats->size() != t.getRank())
    return nc.error("repeats must have one entry per input dimension");
  // [d0, d1] -> [1, d0, 1, d1] -> broadcast [r0, d0, r1, d1] -> [r0*d0, r1*d1]
  SmallVector<int64_t> interleaved, broadcast, result;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    int64_t r = (*repeats)[d];
    if (r < 0)
      return nc.error("repeats must not be negative");
    interleaved.append({1, t.getDimSize(d)});
    broadcast.append({r, t.getDimSize(d)});
    result.push_back(r * t.getDimSize(d));
  }
  Value v = nc.reshape(x, interleaved);
  v = BroadcastOp::create(nc.b, nc.loc, t.clone(broadcast), v);
  return nc.setResult(nc.reshape(v, result));
}

LogicalResult shapeOp(NodeContext &nc) {
  RankedTensorType t = nc.inputType(0);
  if (!t)
    return nc.error("expects an input");
  int64_t rank = t.getRank();
  int64_t start = nc.getInt("start", 0), end = nc.getInt("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  SmallVector<int64_t> dims;
  for (int64_t d = start; d < end; ++d)
    dims.push_back(t.getDimSize(d));
  return nc.setResult(nc.i64Constant(dims, {(int64_t)dims.size()}));
}

LogicalResult sizeOp(NodeContext &nc) {
  RankedTensorType t = nc.inputType(0);
  if (!t)
    return nc.error("expects an input");
  return nc.setResult(nc.i64Constant({t.getNumElements()}, {}));
}

LogicalResult constantOp(NodeContext &nc) {
  MLIRContext *ctx = nc.b.getContext();
  Builder &b = nc.b;
  if (const onnx::AttributeProto *a = nc.attr("value")) {
    llvm::Expected<ElementsAttr> v =
        convertTensor(ctx, a->t(), "", std::numeric_limits<int64_t>::max());
    if (!v)
      return nc.error(llvm::toString(v.takeError()));
    nc.setOutput(0, nc.constant(cast<DenseElementsAttr>(*v)));
    nc.setOutputOnnxType(0, a->t().data_type());
    return success();
  }
  if (const onnx::AttributeProto *a = nc.attr("value_float")) {
    return nc.setResult(nc.scalar(b.getF32Type(), a->f()));
  }
  if (const onnx::AttributeProto *a = nc.attr("value_int")) {
    return nc.setResult(nc.i64Constant({a->i()}, {}));
  }
  if (const onnx::AttributeProto *a = nc.attr("value_floats")) {
    SmallVector<float> v(a->floats().begin(), a->floats().end());
    auto type = RankedTensorType::get({(int64_t)v.size()}, b.getF32Type());
    return nc.setResult(nc.constant(DenseElementsAttr::get(type, ArrayRef(v))));
  }
  if (const onnx::AttributeProto *a = nc.attr("value_ints")) {
    SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    return nc.setResult(nc.i64Constant(v, {(int64_t)v.size()}));
  }
  return nc.error("only tensor, float and int constants are supported "
                  "(not sparse or string ones)");
}

LogicalResult constantOfShapeOp(NodeContext &nc) {
  std::optional<SmallVector<SymbolicSize>> symbolic;
  SmallVector<int64_t> shape;
  if (needsSymbolicPath(nc, nullptr, 0)) {
    FailureOr<ShapeElements> elements = requireShapeElements(nc, 0, "shape");
    if (failed(elements))
      return failure();
    symbolic = symbolicSizes(nc, *elements);
    shape = staticShapeOf(*symbolic);
  } else {
    FailureOr<SmallVector<int64_t>> ints = nc.constantInts(0, "shape");
    if (failed(ints))
      return failure();
    shape = *ints;
  }
  for (int64_t d : shape)
    if (d < 0 && !ShapedType::isDynamic(d))
      return nc.error("shape has a negative dimension");
  DenseElementsAttr value;
  if (const onnx::AttributeProto *a = nc.attr("value")) {
    llvm::Expected<ElementsAttr> v =
        convertTensor(nc.b.getContext(), a->t(), "", 1 << 20);
    if (!v)
      return nc.error(llvm::toString(v.takeError()));
    value = cast<DenseElementsAttr>(*v);
    if (value.getNumElements() != 1)
      return nc.error("value must hold exactly one element");
  } else {
    value = DenseElementsAttr::get(
        RankedTensorType::get({1}, nc.b.getF32Type()), 0.0f);
  }
  auto type = RankedTensorType::get(shape, value.getElementType());
  if (symbolic) {
    Value element = arith::ConstantOp::create(
        nc.b, nc.loc, cast<TypedAttr>(value.getSplatValue<Attribute>()));
    return nc.setResult(tensor::SplatOp::create(
        nc.b, nc.loc, element, type, dynamicSizeValues(nc, *symbolic)));
  }
  return nc.setResult(nc.constant(
      DenseElementsAttr::get(type, value.getSplatValue<Attribute>())));
}

/// Range with a run-time start, limit or delta (integers): the count is
/// limit - start for the common 0..n by 1, else computed at run time, and
/// the elements by one loop over the indices.
LogicalResult symbolicRangeOp(NodeContext &nc) {
  FailureOr<ShapeElements> start = requireShapeElements(nc, 0, "start"),
                           limit = requireShapeElements(nc, 1, "limit"),
                           delta = requireShapeElements(nc, 2, "delta");
  if (failed(start) || failed(limit) || failed(delta))
    return failure();
  if (start->size() != 1 || limit->size() != 1 || delta->size() != 1)
    return nc.error("start, limit and delta must be scalars");
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  Type elt = nc.inputType(0).getElementType();
  auto value = [&](OpFoldResult e) -> Value {
    if (auto a = dyn_cast<Attribute>(e))
      return arith::ConstantOp::create(b, loc, cast<TypedAttr>(a));
    return cast<Value>(e);
  };
  Value s = value((*start)[0]), l = value((*limit)[0]), d = value((*delta)[0]);
  SymbolicSize count;
  if (matchPattern(s, m_Zero()) && matchPattern(d, m_One())) {
    count = nc.symbolicDims->evaluate(l);
  } else {
    Value span = arith::SubIOp::create(b, loc, l, s);
    Value n = arith::CeilDivSIOp::create(b, loc, span, d);
    Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(elt, 0));
    count = nc.symbolicDims->evaluate(arith::MaxSIOp::create(b, loc, n, zero));
  }
  auto type = RankedTensorType::get(staticShapeOf({count}), elt);
  Value init = tensor::EmptyOp::create(b, loc, type,
                                       dynamicSizeValues(nc, {count}));
  AffineMap identity = b.getMultiDimIdentityMap(1);
  return nc.setResult(
      linalg::GenericOp::create(
          b, loc, type, ValueRange{}, init, identity,
          utils::IteratorType::parallel,
          [&](OpBuilder &nb, Location nl, ValueRange) {
            Value i = arith::IndexCastOp::create(
                nb, nl, elt, linalg::IndexOp::create(nb, nl, 0));
            Value v = arith::AddIOp::create(
                nb, nl, s, arith::MulIOp::create(nb, nl, i, d));
            linalg::YieldOp::create(nb, nl, v);
          })
          .getResult(0));
}

LogicalResult rangeOp(NodeContext &nc) {
  bool integers = nc.inputType(0) &&
                  isa<IntegerType>(nc.inputType(0).getElementType());
  if (llvm::any_of(llvm::seq<size_t>(0, 3),
                   [&](size_t i) { return isRuntimeInput(nc, i); }))
    return integers ? symbolicRangeOp(nc) : runtimeFloatRangeOp(nc);
  FailureOr<DenseElementsAttr> start = nc.constantInput(0, "start");
  FailureOr<DenseElementsAttr> limit = nc.constantInput(1, "limit");
  FailureOr<DenseElementsAttr> delta = nc.constantInput(2, "delta");
  if (failed(start) || failed(limit) || failed(delta))
    return failure();
  Type elt = start->getElementType();
  auto asDouble = [](DenseElementsAttr a) -> double {
    if (isa<FloatType>(a.getElementType()))
      return (*a.getValues<APFloat>().begin()).convertToDouble();
    return (double)(*a.getValues<APInt>().begin()).getSExtValue();
  };
  double s = asDouble(*start), l = asDouble(*limit), d = asDouble(*delta);
  if (d == 0)
    return nc.error("delta must not be zero");
  int64_t n = std::max<int64_t>(0, (int64_t)std::ceil((l - s) / d));
  auto type = RankedTensorType::get({n}, elt);
  if (auto ft = dyn_cast<FloatType>(elt)) {
    SmallVector<APFloat> v;
    for (int64_t i = 0; i < n; ++i) {
      APFloat f(s + i * d);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      v.push_back(f);
    }
    nc.setOutput(0, nc.constant(DenseElementsAttr::get(type, v)));
  } else {
    SmallVector<APInt> v;
    int64_t si = (int64_t)s, di = (int64_t)d;
    for (int64_t i = 0; i < n; ++i)
      v.push_back(APInt(elt.getIntOrFloatBitWidth(), si + i * di, true));
    nc.setOutput(0, nc.constant(DenseElementsAttr::get(type, v)));
  }
  return success();
}

LogicalResult triluOp(NodeContext &nc, Value x) {
  if (nc.typeOf(x).getRank() < 2)
    return nc.error("input must have rank 2 or more");
  if (isRuntimeInput(nc, 1))
    return runtimeTriluOp(nc, x);
  FailureOr<int64_t> k = nc.constantInt(1, "k", /*absent=*/0);
  if (failed(k))
    return failure();
  return nc.setResult(
      TriluOp::create(nc.b, nc.loc, x.getType(), x,
                      nc.b.getBoolAttr(nc.getInt("upper", 1) != 0),
                      nc.b.getI64IntegerAttr(*k)));
}

template <typename OpTy> LogicalResult scanOp(NodeContext &nc, Value x) {
  auto scan = [&](int64_t axis) -> Value {
    return OpTy::create(nc.b, nc.loc, x.getType(), x,
                        nc.b.getI64IntegerAttr(axis),
                        nc.b.getBoolAttr(nc.getInt("exclusive", 0) != 0),
                        nc.b.getBoolAttr(nc.getInt("reverse", 0) != 0));
  };
  if (isRuntimeInput(nc, 1)) {
    // One scan per axis, chosen at run time (RuntimeAxes.h).
    RankedTensorType axisType = nc.inputType(1);
    if (!axisType.hasStaticShape() || axisType.getNumElements() != 1)
      return nc.error("axis (input 1) must hold one value");
    FailureOr<SmallVector<Value>> r = dispatchOnAxes(
        nc, 1, nc.typeOf(x).getRank(),
        [&](ArrayRef<int64_t> axes) -> std::optional<SmallVector<Value>> {
          return SmallVector<Value>{scan(axes[0])};
        });
    if (failed(r))
      return failure();
    return nc.setResult(r->front());
  }
  FailureOr<int64_t> axisValue = nc.constantInt(1, "axis");
  if (failed(axisValue))
    return failure();
  FailureOr<int64_t> axis =
      nc.normalizeAxis(*axisValue, nc.typeOf(x).getRank());
  if (failed(axis))
    return failure();
  return nc.setResult(scan(*axis));
}

} // namespace

void kiln::onnx_import::registerShapeHandlers(HandlerTable &t) {
#define ONNX_SHAPE_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
