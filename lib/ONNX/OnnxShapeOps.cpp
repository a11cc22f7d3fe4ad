//===- OnnxShapeOps.cpp - Shape, indexing and constant ONNX operators -----===//
//
// Shapes are static, so shape-valued inputs (Reshape's shape, Slice's
// starts, ...) must fold to constants; Shape, Size, Range and
// ConstantOfShape become constants outright.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
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

LogicalResult reshapeOp(NodeContext &nc, Value x) {
  FailureOr<SmallVector<int64_t>> target = nc.constantInts(1, "shape");
  if (failed(target))
    return failure();
  RankedTensorType t = nc.typeOf(x);
  bool allowZero = nc.getInt("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  int64_t known = 1, inferred = -1;
  for (auto [i, d] : llvm::enumerate(*target)) {
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

LogicalResult squeezeOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  FailureOr<SmallVector<int64_t>> axes = axesOf(nc, t.getRank());
  if (failed(axes))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    bool listed = llvm::is_contained(*axes, d);
    if (listed && t.getDimSize(d) != 1)
      return nc.error("cannot squeeze dimension " + Twine(d) + " of size " +
                      Twine(t.getDimSize(d)));
    if (axes->empty() ? t.getDimSize(d) != 1 : !listed)
      shape.push_back(t.getDimSize(d));
  }
  return nc.setResult(nc.reshape(x, shape));
}

LogicalResult unsqueezeOp(NodeContext &nc, Value x) {
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

LogicalResult sliceOp(NodeContext &nc, Value x) {
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
  if (failed(starts) || failed(ends))
    return failure();
  size_t n = starts->size();
  if (ends->size() != n)
    return nc.error("starts and ends differ in length");
  SmallVector<int64_t> axes, steps(n, 1);
  if (nc.opset < 10) {
    if (auto a = nc.getInts("axes"))
      axes = *a;
    else
      for (size_t i = 0; i < n; ++i)
        axes.push_back(i);
  } else if (nc.input(3)) {
    FailureOr<SmallVector<int64_t>> a = nc.constantInts(3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (size_t i = 0; i < n; ++i)
      axes.push_back(i);
  }
  if (nc.opset >= 10 && nc.input(4)) {
    FailureOr<SmallVector<int64_t>> s = nc.constantInts(4, "steps");
    if (failed(s))
      return failure();
    steps = *s;
  }
  if (axes.size() != n || steps.size() != n)
    return nc.error("starts, ends, axes and steps differ in length");
  SmallVector<int64_t> outStarts(rank, 0), outSteps(rank, 1);
  SmallVector<int64_t> shape(t.getShape());
  for (size_t i = 0; i < n; ++i) {
    FailureOr<int64_t> axis = nc.normalizeAxis(axes[i], rank);
    if (failed(axis))
      return failure();
    int64_t dim = t.getDimSize(*axis), step = steps[i];
    if (step == 0)
      return nc.error("steps must not be zero");
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
    outStarts[*axis] = size > 0 ? start : 0;
    outSteps[*axis] = step;
    shape[*axis] = size;
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

LogicalResult expandOp(NodeContext &nc, Value x) {
  FailureOr<SmallVector<int64_t>> target = nc.constantInts(1, "shape");
  if (failed(target))
    return failure();
  RankedTensorType t = nc.typeOf(x);
  // Expand broadcasts both ways: a 1 in `shape` keeps the input's size.
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes({t.getShape(), *target});
  if (failed(shape))
    return nc.error("input does not broadcast to the requested shape");
  if (ArrayRef<int64_t>(*shape) == t.getShape())
    return nc.setResult(x);
  // Folded here so an Expand of constants can feed a shape input (PyTorch
  // exports repeat_interleave with such shape computations).
  return nc.setResult(
      nc.b.createOrFold<BroadcastOp>(nc.loc, t.clone(*shape), x));
}

LogicalResult tileOp(NodeContext &nc, Value x) {
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
  FailureOr<SmallVector<int64_t>> shape = nc.constantInts(0, "shape");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
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
  auto type = RankedTensorType::get(*shape, value.getElementType());
  return nc.setResult(nc.constant(
      DenseElementsAttr::get(type, value.getSplatValue<Attribute>())));
}

LogicalResult rangeOp(NodeContext &nc) {
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
  int64_t k = 0;
  if (nc.input(1)) {
    FailureOr<int64_t> kv = nc.constantInt(1, "k");
    if (failed(kv))
      return failure();
    k = *kv;
  }
  return nc.setResult(TriluOp::create(
      nc.b, nc.loc, x.getType(), x,
      nc.b.getBoolAttr(nc.getInt("upper", 1) != 0), nc.b.getI64IntegerAttr(k)));
}

template <typename OpTy> LogicalResult scanOp(NodeContext &nc, Value x) {
  FailureOr<int64_t> axisValue = nc.constantInt(1, "axis");
  if (failed(axisValue))
    return failure();
  FailureOr<int64_t> axis =
      nc.normalizeAxis(*axisValue, nc.typeOf(x).getRank());
  if (failed(axis))
    return failure();
  return nc.setResult(
      OpTy::create(nc.b, nc.loc, x.getType(), x, nc.b.getI64IntegerAttr(*axis),
                   nc.b.getBoolAttr(nc.getInt("exclusive", 0) != 0),
                   nc.b.getBoolAttr(nc.getInt("reverse", 0) != 0)));
}

} // namespace

void kiln::onnx_import::registerShapeHandlers(HandlerTable &t) {
#define ONNX_SHAPE_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
