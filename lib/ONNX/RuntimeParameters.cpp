//===- RuntimeParameters.cpp - Parameters that only the run knows ---------===//
//
// See RuntimeParameters.h. Each result is a linalg.generic over its own
// iteration space that reads what it needs with tensor.extract.
//
//===----------------------------------------------------------------------===//

#include "RuntimeParameters.h"
#include "ShapeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

Value kiln::onnx_import::inputElement(NodeContext &nc, size_t i, int64_t k,
                                      StringRef what) {
  Value v = nc.input(i);
  RankedTensorType type = v ? nc.typeOf(v) : RankedTensorType();
  if (!type || type.getRank() > 1 || !type.hasStaticShape() ||
      k >= type.getNumElements()) {
    (void)nc.error(Twine(what) + " (input " + Twine(i) +
                   ") must be a scalar or a 1-D tensor of static length");
    return nullptr;
  }
  SmallVector<Value> index;
  if (type.getRank() == 1)
    index.push_back(arith::ConstantIndexOp::create(nc.b, nc.loc, k));
  return tensor::ExtractOp::create(nc.b, nc.loc, v, index);
}

Value kiln::onnx_import::asIndex(OpBuilder &b, Location loc, Value v) {
  if (isa<FloatType>(v.getType()))
    v = arith::FPToSIOp::create(b, loc, b.getI64Type(), v);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

Value kiln::onnx_import::castScalar(OpBuilder &b, Location loc, Value v,
                                    Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  bool fromFloat = isa<FloatType>(from), toFloat = isa<FloatType>(to);
  if (fromFloat && toFloat)
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? (Value)arith::ExtFOp::create(b, loc, to, v)
               : (Value)arith::TruncFOp::create(b, loc, to, v);
  if (fromFloat)
    return arith::FPToSIOp::create(b, loc, to, v);
  if (toFloat)
    return arith::SIToFPOp::create(b, loc, to, v);
  return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
             ? (Value)arith::ExtSIOp::create(b, loc, to, v)
             : (Value)arith::TruncIOp::create(b, loc, to, v);
}

namespace {

/// Element `k` of input `i` as a signed index value (see inputElement and
/// asIndex), or null after an error.
Value indexElement(NodeContext &nc, size_t i, int64_t k, StringRef what) {
  Value v = inputElement(nc, i, k, what);
  return v ? asIndex(nc.b, nc.loc, v) : nullptr;
}

/// max(v, 0): a size that the run gives, kept non-negative.
Value nonNegative(OpBuilder &b, Location loc, Value v) {
  return arith::MaxSIOp::create(b, loc, v,
                                arith::ConstantIndexOp::create(b, loc, 0));
}

} // namespace

LogicalResult kiln::onnx_import::runtimeTriluOp(NodeContext &nc, Value x) {
  Value k = indexElement(nc, 1, 0, "k");
  if (!k)
    return failure();
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  bool upper = nc.getInt("upper", 1) != 0;
  RankedTensorType type = nc.typeOf(x);
  int64_t rank = type.getRank();
  Value zero = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(type.getElementType())));
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < rank; ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, d));
  // Upper keeps j - i >= k, lower keeps j - i <= k.
  return nc.setResult(generate(
      b, loc, type, dynamicSizes,
      [&](OpBuilder &nb, Location l, ArrayRef<Value> at) -> Value {
        Value diff = arith::SubIOp::create(nb, l, at[rank - 1], at[rank - 2]);
        Value keep = arith::CmpIOp::create(
            nb, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
            diff, k);
        Value v = tensor::ExtractOp::create(nb, l, x, at);
        return arith::SelectOp::create(nb, l, keep, v, zero);
      }));
}

LogicalResult kiln::onnx_import::runtimeOneHotOp(NodeContext &nc) {
  Value indices = nc.input(0), values = nc.input(2);
  if (!indices || !values)
    return nc.error("expects indices, depth and values");
  RankedTensorType it = nc.typeOf(indices), vt = nc.typeOf(values);
  if (!vt.hasStaticShape() || vt.getNumElements() != 2)
    return nc.error("values must hold two elements (off, on)");
  FailureOr<int64_t> axis =
      nc.normalizeAxis(nc.getInt("axis", -1), it.getRank() + 1);
  if (failed(axis))
    return failure();
  Value depthScalar = inputElement(nc, 1, 0, "depth");
  if (!depthScalar)
    return failure();
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  Value off = inputElement(nc, 2, 0, "values"),
        on = inputElement(nc, 2, 1, "values");
  if (!off || !on)
    return failure();
  // ONNX requires depth > 0; a smaller one gives an empty result.
  Value depth = nonNegative(b, loc, asIndex(b, loc, depthScalar));
  SmallVector<int64_t> shape(it.getShape());
  shape.insert(shape.begin() + *axis, ShapedType::kDynamic);
  auto type = RankedTensorType::get(shape, vt.getElementType());
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (d == *axis)
      dynamicSizes.push_back(depth);
    else if (type.isDynamicDim(d))
      dynamicSizes.push_back(
          tensor::DimOp::create(b, loc, indices, d < *axis ? d : d - 1));
  }
  // Out[..., j, ...] is `on` where the index (negative ones count from
  // depth) is j; an index out of [-depth, depth) matches no j.
  return nc.setResult(generate(
      b, loc, type, dynamicSizes,
      [&](OpBuilder &nb, Location l, ArrayRef<Value> at) -> Value {
        SmallVector<Value> from(at);
        from.erase(from.begin() + *axis);
        Value index = asIndex(nb, l, tensor::ExtractOp::create(nb, l, indices, from));
        Value negative = arith::CmpIOp::create(
            nb, l, arith::CmpIPredicate::slt, index,
            arith::ConstantIndexOp::create(nb, l, 0));
        index = arith::SelectOp::create(
            nb, l, negative, arith::AddIOp::create(nb, l, index, depth), index);
        Value hit = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                          index, at[*axis]);
        return arith::SelectOp::create(nb, l, hit, on, off);
      }));
}

LogicalResult kiln::onnx_import::runtimeFloatRangeOp(NodeContext &nc) {
  Value start = inputElement(nc, 0, 0, "start"),
        limit = inputElement(nc, 1, 0, "limit"),
        delta = inputElement(nc, 2, 0, "delta");
  if (!start || !limit || !delta)
    return failure();
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  Type elt = start.getType(), f64 = b.getF64Type();
  if (limit.getType() != elt || delta.getType() != elt)
    return nc.error("start, limit and delta differ in type");
  // As the constant Range: count ceil((limit - start) / delta) and each
  // element start + i * delta, computed in double and rounded once.
  Value s = castScalar(b, loc, start, f64), l = castScalar(b, loc, limit, f64),
        d = castScalar(b, loc, delta, f64);
  Value q = arith::DivFOp::create(b, loc, arith::SubFOp::create(b, loc, l, s),
                                  d);
  // A negative quotient counts 0; NaN (delta 0, a NaN bound) and huge
  // counts give an empty result too.
  Value sane = arith::AndIOp::create(
      b, loc,
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, q,
                            arith::ConstantOp::create(
                                b, loc, b.getF64FloatAttr(double(1 << 30)))),
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, q,
                            arith::ConstantOp::create(b, loc,
                                                      b.getF64FloatAttr(0))));
  q = arith::SelectOp::create(
      b, loc, sane, q, arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0)));
  // ceil(q): its truncation, plus one where that fell short.
  Value n = arith::FPToSIOp::create(b, loc, b.getI64Type(), q);
  Value fellShort = arith::CmpFOp::create(
      b, loc, arith::CmpFPredicate::OLT,
      arith::SIToFPOp::create(b, loc, f64, n), q);
  n = arith::AddIOp::create(
      b, loc, n, arith::ExtUIOp::create(b, loc, b.getI64Type(), fellShort));
  Value count = arith::IndexCastOp::create(b, loc, b.getIndexType(), n);
  auto type = RankedTensorType::get({ShapedType::kDynamic}, elt);
  return nc.setResult(generate(
      b, loc, type, count,
      [&](OpBuilder &nb, Location nl, ArrayRef<Value> at) -> Value {
        Value i = arith::SIToFPOp::create(
            nb, nl, f64,
            arith::IndexCastOp::create(nb, nl, nb.getI64Type(), at[0]));
        Value v = arith::AddFOp::create(nb, nl, s,
                                        arith::MulFOp::create(nb, nl, i, d));
        // Through float for narrower types: the CPU runtime has no
        // double -> bfloat16 conversion (__truncdfbf2).
        if (elt.getIntOrFloatBitWidth() < 32)
          v = castScalar(nb, nl, v, nb.getF32Type());
        return castScalar(nb, nl, v, elt);
      }));
}

FailureOr<SmallVector<Value>>
kiln::onnx_import::indexValues(NodeContext &nc, size_t i, StringRef what) {
  SmallVector<Value> values;
  if (!isRuntimeInput(nc, i)) {
    FailureOr<SmallVector<int64_t>> ints = nc.constantInts(i, what);
    if (failed(ints))
      return failure();
    for (int64_t v : *ints)
      values.push_back(arith::ConstantIndexOp::create(nc.b, nc.loc, v));
    return values;
  }
  RankedTensorType type = nc.inputType(i);
  if (!type || type.getRank() != 1 || !type.hasStaticShape())
    return nc.error(Twine(what) + " (input " + Twine(i) +
                    ") must be a 1-D tensor of static length");
  for (int64_t k = 0; k < type.getDimSize(0); ++k)
    values.push_back(indexElement(nc, i, k, what));
  return values;
}

Value kiln::onnx_import::runtimeIota(NodeContext &nc, size_t i,
                                     StringRef what) {
  Value n = indexElement(nc, i, 0, what);
  if (!n)
    return nullptr;
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  auto type = RankedTensorType::get({ShapedType::kDynamic}, b.getF64Type());
  return generate(
      b, loc, type, nonNegative(b, loc, n),
      [&](OpBuilder &nb, Location nl, ArrayRef<Value> at) -> Value {
        return arith::SIToFPOp::create(
            nb, nl, nb.getF64Type(),
            arith::IndexCastOp::create(nb, nl, nb.getI64Type(), at[0]));
      });
}

LogicalResult kiln::onnx_import::runtimeTileOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  RankedTensorType rt = nc.inputType(1);
  if (!rt || rt.getRank() != 1 || rt.getDimSize(0) != t.getRank())
    return nc.error("repeats must have one entry per input dimension");
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  // Output dim d is in_d * repeats[d] (a negative count taken as 0); each
  // element reads the input at its index modulo in_d.
  SmallVector<int64_t> shape;
  SmallVector<Value> inSizes, dynamicSizes;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    Value r = inputElement(nc, 1, d, "repeats");
    if (!r)
      return failure();
    Value in = tensor::DimOp::create(b, loc, x, d);
    inSizes.push_back(in);
    shape.push_back(ShapedType::kDynamic);
    dynamicSizes.push_back(arith::MulIOp::create(
        b, loc, in, nonNegative(b, loc, asIndex(b, loc, r))));
  }
  return nc.setResult(generate(
      b, loc, t.clone(shape), dynamicSizes,
      [&](OpBuilder &nb, Location l, ArrayRef<Value> at) -> Value {
        SmallVector<Value> from;
        for (auto [i, in] : llvm::zip(at, inSizes))
          from.push_back(arith::RemUIOp::create(nb, l, i, in));
        return tensor::ExtractOp::create(nb, l, x, from);
      }));
}

LogicalResult kiln::onnx_import::runtimeSplitOp(NodeContext &nc, Value x,
                                                int64_t axis) {
  RankedTensorType st = nc.inputType(1);
  int64_t n = nc.numOutputs();
  if (!st || st.getRank() != 1 || !st.hasStaticShape() ||
      st.getDimSize(0) != n)
    return nc.error("split (input 1) must hold one size per output (" +
                    Twine(n) + ")");
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value dim = tensor::DimOp::create(b, loc, x, axis);
  // ONNX requires sizes >= 0 adding up to the dimension; other sizes give
  // empty outputs.
  SmallVector<Value> sizes, offsets;
  Value valid = arith::ConstantIntOp::create(b, loc, 1, 1);
  Value offset = zero;
  for (int64_t i = 0; i < n; ++i) {
    Value s = inputElement(nc, 1, i, "split");
    if (!s)
      return failure();
    s = asIndex(b, loc, s);
    valid = arith::AndIOp::create(
        b, loc, valid,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, s, zero));
    offsets.push_back(offset);
    sizes.push_back(s);
    offset = arith::AddIOp::create(b, loc, offset, s);
  }
  valid = arith::AndIOp::create(
      b, loc, valid,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, offset, dim));
  RankedTensorType t = nc.typeOf(x);
  for (int64_t i = 0; i < n; ++i) {
    SmallVector<OpFoldResult> offs(t.getRank(), b.getIndexAttr(0)),
        szs = tensor::getMixedSizes(b, loc, x),
        strides(t.getRank(), b.getIndexAttr(1));
    offs[axis] = arith::SelectOp::create(b, loc, valid, offsets[i], zero)
                     .getResult();
    szs[axis] =
        arith::SelectOp::create(b, loc, valid, sizes[i], zero).getResult();
    nc.setOutput(
        i, tensor::ExtractSliceOp::create(b, loc, x, offs, szs, strides));
  }
  return success();
}

LogicalResult kiln::onnx_import::runtimeTopKOp(NodeContext &nc, Value x,
                                               int64_t axis) {
  RankedTensorType t = nc.typeOf(x);
  int64_t n = t.getDimSize(axis);
  if (ShapedType::isDynamic(n))
    return nc.error("K (input 1) must be a constant when the axis has a "
                    "dynamic size");
  Value k = indexElement(nc, 1, 0, "K");
  if (!k)
    return failure();
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  // The whole axis sorted, then its first K (ONNX requires 0 <= K <= n;
  // another K gives an empty result).
  Value inRange = arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, k,
                            arith::ConstantIndexOp::create(b, loc, 0)),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, k,
                            arith::ConstantIndexOp::create(b, loc, n)));
  k = arith::SelectOp::create(b, loc, inRange, k,
                              arith::ConstantIndexOp::create(b, loc, 0));
  auto sorted = TopKOp::create(b, loc, t, t.clone(b.getI64Type()), x,
                               b.getI64IntegerAttr(axis),
                               b.getI64IntegerAttr(n),
                               b.getBoolAttr(nc.getInt("largest", 1) != 0));
  SmallVector<Value> results;
  for (Value v : {sorted.getValues(), sorted.getIndices()}) {
    SmallVector<OpFoldResult> offsets(t.getRank(), b.getIndexAttr(0)),
        sizes = tensor::getMixedSizes(b, loc, v),
        strides(t.getRank(), b.getIndexAttr(1));
    sizes[axis] = k;
    results.push_back(
        tensor::ExtractSliceOp::create(b, loc, v, offsets, sizes, strides));
  }
  return nc.setResults(results);
}

LogicalResult kiln::onnx_import::runtimeSliceOp(NodeContext &nc, Value x) {
  RankedTensorType t = nc.typeOf(x);
  int64_t rank = t.getRank();
  if (!nc.input(1) || !nc.input(2))
    return nc.error("expects starts and ends");
  RankedTensorType st = nc.inputType(1);
  if (!st || st.getRank() != 1 || !st.hasStaticShape())
    return nc.error("starts (input 1) must be a 1-D tensor of static length");
  int64_t n = st.getDimSize(0);
  for (size_t i : {2, 3, 4}) {
    RankedTensorType it = nc.inputType(i);
    if (it && (it.getRank() != 1 || it.getShape() != st.getShape()))
      return nc.error("starts, ends, axes and steps differ in length");
  }
  OpBuilder &b = nc.b;
  Location loc = nc.loc;
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  auto cmp = [&](arith::CmpIPredicate p, Value l, Value r) -> Value {
    return arith::CmpIOp::create(b, loc, p, l, r);
  };
  auto select = [&](Value c, Value l, Value r) -> Value {
    return arith::SelectOp::create(b, loc, c, l, r);
  };
  auto clamp = [&](Value v, Value low, Value high) -> Value {
    return arith::MinSIOp::create(b, loc,
                                  arith::MaxSIOp::create(b, loc, v, low), high);
  };
  Value zero = index(0), one = index(1), r = index(rank);
  // Each listed slice i: its axis (normalized), start, end and step.
  SmallVector<Value> axes, starts, ends, steps;
  Value valid = arith::ConstantIntOp::create(b, loc, 1, 1);
  for (int64_t i = 0; i < n; ++i) {
    Value a = nc.input(3) ? asIndex(b, loc, inputElement(nc, 3, i, "axes"))
                          : index(i);
    a = select(cmp(arith::CmpIPredicate::slt, a, zero),
               arith::AddIOp::create(b, loc, a, r), a);
    valid = arith::AndIOp::create(
        b, loc, valid,
        arith::AndIOp::create(b, loc, cmp(arith::CmpIPredicate::sge, a, zero),
                              cmp(arith::CmpIPredicate::slt, a, r)));
    for (Value earlier : axes)
      valid = arith::AndIOp::create(b, loc, valid,
                                    cmp(arith::CmpIPredicate::ne, a, earlier));
    axes.push_back(a);
    starts.push_back(asIndex(b, loc, inputElement(nc, 1, i, "starts")));
    ends.push_back(asIndex(b, loc, inputElement(nc, 2, i, "ends")));
    Value step =
        nc.input(4) ? asIndex(b, loc, inputElement(nc, 4, i, "steps")) : one;
    valid = arith::AndIOp::create(b, loc, valid,
                                  cmp(arith::CmpIPredicate::ne, step, zero));
    steps.push_back(select(cmp(arith::CmpIPredicate::eq, step, zero), one,
                           step));
  }
  // Per dimension: the first index, the count and the step, with ONNX's
  // clamping for either sign of the step. Invalid axes or a zero step give
  // an empty result.
  SmallVector<Value> firsts, counts, strides;
  for (int64_t d = 0; d < rank; ++d) {
    Value dim = tensor::DimOp::create(b, loc, x, d);
    Value start = zero, end = dim, step = one;
    for (int64_t i = 0; i < n; ++i) {
      Value here = cmp(arith::CmpIPredicate::eq, axes[i], index(d));
      start = select(here, starts[i], start);
      end = select(here, ends[i], end);
      step = select(here, steps[i], step);
    }
    auto fromEnd = [&](Value v) {
      return select(cmp(arith::CmpIPredicate::slt, v, zero),
                    arith::AddIOp::create(b, loc, v, dim), v);
    };
    Value forward = cmp(arith::CmpIPredicate::sgt, step, zero);
    Value last = arith::SubIOp::create(b, loc, dim, one);
    Value first = clamp(fromEnd(start), zero, select(forward, dim, last));
    Value stop = clamp(fromEnd(end), select(forward, zero, index(-1)),
                       select(forward, dim, last));
    Value count = nonNegative(
        b, loc,
        arith::CeilDivSIOp::create(
            b, loc, arith::SubIOp::create(b, loc, stop, first), step));
    firsts.push_back(first);
    counts.push_back(select(valid, count, zero));
    strides.push_back(step);
  }
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  return nc.setResult(generate(
      b, loc, t.clone(shape), counts,
      [&](OpBuilder &nb, Location l, ArrayRef<Value> at) -> Value {
        SmallVector<Value> from;
        for (int64_t d = 0; d < rank; ++d)
          from.push_back(arith::AddIOp::create(
              nb, l, firsts[d], arith::MulIOp::create(nb, l, at[d], strides[d])));
        return tensor::ExtractOp::create(nb, l, x, from);
      }));
}
