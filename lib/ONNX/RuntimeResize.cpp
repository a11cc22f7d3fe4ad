//===- RuntimeResize.cpp - Resize whose scales or sizes the run gives -----===//
//
// See RuntimeResize.h. The rules are the constant lowering's (axisTaps in
// OnnxWindowOps.cpp, after ONNX's reference), evaluated per output element
// in f64 instead of per axis at import: output position o maps to the
// source coordinate xo; with base = ceil(xo) - 1 and ratio = xo - base (in
// (0, 1]), its n taps are the input positions base + start ... base +
// start + n - 1 (the n nearest xo, ties to the smaller), the window moved
// to stay within the input extended by n / 2 edge copies on each side,
// each read at its position clamped into the input and weighted by the
// kernel at (tap offset - ratio). Nearest has two taps and takes one;
// linear and cubic have 2 and 4, or with antialias a count the scale
// decides (an scf.for over the taps).
//
//===----------------------------------------------------------------------===//

#include "RuntimeResize.h"
#include "RuntimeParameters.h"
#include "ShapeArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

/// A larger output dimension is refused at run time (every resized
/// dimension 0), as a float Range's larger counts are.
static constexpr double kMaxOutputSize = double(1 << 30);
/// Coordinates beyond this (from a roi the run gives) are read as 0 before
/// they become indices: they are extrapolated anyway.
static constexpr double kMaxCoordinate = double(int64_t(1) << 40);

namespace {

using FP = arith::CmpFPredicate;
using IP = arith::CmpIPredicate;

/// IndexMath plus the f64 arithmetic of coordinates and weights.
struct ResizeMath : IndexMath {
  Value f(double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  Value fadd(Value l, Value r) { return arith::AddFOp::create(b, loc, l, r); }
  Value fsub(Value l, Value r) { return arith::SubFOp::create(b, loc, l, r); }
  Value fmul(Value l, Value r) { return arith::MulFOp::create(b, loc, l, r); }
  Value fdiv(Value l, Value r) { return arith::DivFOp::create(b, loc, l, r); }
  Value fabs(Value v) { return fmax(v, fsub(f(0), v)); }
  Value fmin(Value l, Value r) {
    return arith::MinimumFOp::create(b, loc, l, r);
  }
  Value fmax(Value l, Value r) {
    return arith::MaximumFOp::create(b, loc, l, r);
  }
  Value fcmp(FP p, Value l, Value r) {
    return arith::CmpFOp::create(b, loc, p, l, r);
  }
  /// An index (or integer) value as f64.
  Value toF64(Value v) {
    if (v.getType().isIndex())
      v = arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
    return arith::SIToFPOp::create(b, loc, b.getF64Type(), v);
  }
  /// ceil(x) as an index, for |x| <= kMaxCoordinate: its truncation toward
  /// zero, plus one where that fell short.
  Value ceilIndex(Value x) {
    Value t = arith::FPToSIOp::create(b, loc, b.getI64Type(), x);
    Value fellShort = fcmp(FP::OLT, toF64(t), x);
    t = arith::AddIOp::create(
        b, loc, t, arith::ExtUIOp::create(b, loc, b.getI64Type(), fellShort));
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), t);
  }
  /// floor(x) in f64, for |x| <= kMaxOutputSize.
  Value floor(Value x) {
    Value t = toF64(arith::FPToSIOp::create(b, loc, b.getI64Type(), x));
    return select(fcmp(FP::OGT, t, x), fsub(t, f(1)), t);
  }
  Value clamp(Value v, Value low, Value high) { return min(max(v, low), high); }
};

/// What the generic of one resized axis reads, computed before it.
struct AxisPlan {
  int64_t dim;
  Value in, inF;          // the input's size (index, f64)
  Value outSize, outF;    // the output's size (index, f64)
  Value scale, outWidth;  // f64: the scale and scale * in
  Value roiStart, roiEnd; // f64, tf_crop_and_resize only
  Value start, taps;      // index: the first tap's offset from base, n
  Value kernelScale;      // f64: min(scale, 1) with antialias, else 1
};

/// Whether input `i` is given and not empty.
bool given(NodeContext &nc, size_t i) {
  Value v = nc.input(i);
  if (!v)
    return false;
  RankedTensorType t = nc.typeOf(v);
  return !t.hasStaticShape() || t.getNumElements() > 0;
}

/// The `count` elements of float input `i` in f64, or failure after an
/// error naming `what`.
FailureOr<SmallVector<Value>> floatValues(NodeContext &nc, size_t i,
                                          int64_t count, StringRef what) {
  RankedTensorType t = nc.inputType(i);
  if (!t || t.getRank() != 1 || t.getShape()[0] != count ||
      !isa<FloatType>(t.getElementType()))
    return nc.error(Twine(what) + " (input " + Twine(i) + ") must hold " +
                    Twine(count) + " floats");
  SmallVector<Value> values;
  for (int64_t k = 0; k < count; ++k) {
    Value v = inputElement(nc, i, k, what);
    if (!v)
      return failure();
    values.push_back(castScalar(nc.b, nc.loc, v, nc.b.getF64Type()));
  }
  return values;
}

/// Each resized axis's scale and output size (both f64), from the scales
/// or the sizes, and whether they are valid; failure after an error.
LogicalResult outputSizes(NodeContext &nc, ResizeMath &m, StringRef policy,
                          MutableArrayRef<AxisPlan> plans, Value &valid) {
  int64_t k = plans.size();
  bool hasScales = given(nc, 2), hasSizes = given(nc, 3);
  if (hasScales == hasSizes)
    return nc.error("expects exactly one of scales and sizes");
  if (hasScales) {
    FailureOr<SmallVector<Value>> scales = floatValues(nc, 2, k, "scales");
    if (failed(scales))
      return failure();
    for (auto [p, s] : llvm::zip(plans, *scales)) {
      // Ordered comparisons: NaN is invalid too. An invalid scale is
      // replaced before use, so that no value computed from it is poison.
      Value ok = m.both(m.fcmp(FP::OGT, s, m.f(0)),
                        m.fcmp(FP::OLT, s, m.f(kMaxOutputSize)));
      valid = m.both(valid, ok);
      p.scale = m.select(ok, s, m.f(1));
      p.outF = m.floor(m.fmin(m.fmul(p.scale, p.inF), m.f(kMaxOutputSize)));
    }
    return success();
  }
  RankedTensorType st = nc.inputType(3);
  if (st.getRank() != 1 || st.getShape()[0] != k)
    return nc.error("sizes (input 3) must hold " + Twine(k) + " integers");
  FailureOr<SmallVector<Value>> sizes = indexValues(nc, 3, "sizes");
  if (failed(sizes))
    return failure();
  for (auto [p, s] : llvm::zip(plans, *sizes)) {
    valid = m.both(valid, m.cmp(IP::sgt, s, m.constant(0)));
    p.outF = m.toF64(s);
    p.scale = m.fdiv(p.outF, p.inF);
  }
  if (policy == "stretch")
    return success();
  // One scale for all axes, the smallest (not_larger) or the largest.
  Value s = plans.front().scale;
  for (AxisPlan &p : plans.drop_front())
    s = policy == "not_larger" ? m.fmin(s, p.scale) : m.fmax(s, p.scale);
  for (AxisPlan &p : plans) {
    p.scale = s;
    p.outF = m.floor(
        m.fmin(m.fadd(m.fmul(s, p.inF), m.f(0.5)), m.f(kMaxOutputSize)));
  }
  return success();
}

/// The plans of the resized `axes` of `x`, or failure after an error.
FailureOr<SmallVector<AxisPlan>> planAxes(NodeContext &nc, Value x,
                                          const ResizeMode &mode,
                                          ArrayRef<int64_t> axes,
                                          StringRef policy) {
  ResizeMath m{{nc.b, nc.loc}};
  SmallVector<AxisPlan> plans;
  Value valid = arith::ConstantIntOp::create(nc.b, nc.loc, 1, 1);
  for (int64_t d : axes) {
    AxisPlan p;
    p.dim = d;
    p.in = tensor::DimOp::create(nc.b, nc.loc, x, d);
    // An empty axis has nothing to read: invalid, and counted as 1 in the
    // arithmetic (no division by 0).
    valid = m.both(valid, m.cmp(IP::sgt, p.in, m.constant(0)));
    p.inF = m.toF64(m.max(p.in, m.constant(1)));
    plans.push_back(p);
  }
  if (failed(outputSizes(nc, m, policy, plans, valid)))
    return failure();
  int64_t k = axes.size();
  if (mode.transform == "tf_crop_and_resize") {
    FailureOr<SmallVector<Value>> roi = floatValues(nc, 1, 2 * k, "roi");
    if (failed(roi))
      return failure();
    for (int64_t i = 0; i < k; ++i) {
      plans[i].roiStart = (*roi)[i];
      plans[i].roiEnd = (*roi)[k + i];
    }
  }
  for (AxisPlan &p : plans)
    valid = m.both(valid, m.fcmp(FP::OLT, p.outF, m.f(kMaxOutputSize)));
  // Invalid values empty every resized axis. Where an axis is empty its
  // scale is never used, but is made 1 so that the tap count stays finite.
  for (AxisPlan &p : plans) {
    Value nonEmpty = m.both(valid, m.fcmp(FP::OGE, p.outF, m.f(1)));
    p.outF = m.select(valid, p.outF, m.f(0));
    p.outSize = asIndex(nc.b, nc.loc, p.outF);
    p.scale = m.select(nonEmpty, p.scale, m.f(1));
    p.outWidth = m.fmul(p.scale, p.inF);
    // The kernel's reach in taps on either side of xo: 1 (linear) or 2
    // (cubic), divided by the scale where antialias widens a downsampling
    // kernel: start = floor(-reach / scale) + 1 and n = 2 - 2 start.
    p.kernelScale = m.f(1);
    double reach = mode.mode == "cubic" ? 2 : 1;
    if (mode.antialias) {
      p.kernelScale = m.fmin(p.scale, m.f(1));
      p.start = m.add(m.ceilIndex(m.floor(m.fdiv(m.f(-reach), p.kernelScale))),
                      m.constant(1));
    } else {
      p.start = m.constant(mode.mode == "nearest" ? 0 : 1 - int64_t(reach));
    }
    p.taps = m.sub(m.constant(2), m.add(p.start, p.start));
  }
  return plans;
}

/// The source coordinate of output position `o` (f64) along `p`'s axis.
Value sourceCoordinate(ResizeMath &m, StringRef transform, const AxisPlan &p,
                       Value o) {
  Value one = m.f(1);
  Value widthIsOne = m.fcmp(FP::OEQ, p.outWidth, one);
  Value inLast = m.fsub(p.inF, one);
  if (transform == "align_corners")
    return m.select(widthIsOne, m.f(0),
                    m.fdiv(m.fmul(o, inLast), m.fsub(p.outWidth, one)));
  if (transform == "asymmetric")
    return m.fdiv(o, p.scale);
  Value shifted = m.fdiv(m.fadd(o, m.f(0.5)), p.scale);
  if (transform == "tf_crop_and_resize") {
    Value span = m.fsub(p.roiEnd, p.roiStart);
    Value single = m.fdiv(m.fmul(span, inLast), m.f(2));
    Value many =
        m.fdiv(m.fmul(m.fmul(o, span), inLast), m.fsub(p.outWidth, one));
    return m.fadd(m.select(widthIsOne, single, many),
                  m.fmul(p.roiStart, inLast));
  }
  if (transform == "pytorch_half_pixel")
    return m.select(widthIsOne, m.f(-0.5), m.fsub(shifted, m.f(0.5)));
  if (transform == "half_pixel_symmetric") {
    Value adjustment = m.fdiv(p.outF, p.outWidth);
    Value center = m.fdiv(p.inF, m.f(2));
    return m.fsub(m.fadd(m.fmul(center, m.fsub(one, adjustment)), shifted),
                  m.f(0.5));
  }
  return m.fsub(shifted, m.f(0.5)); // half_pixel
}

/// Whether nearest takes the upper of its two taps at `ratio`.
Value nearestTakesUpper(ResizeMath &m, StringRef rounding, Value ratio) {
  Value upper;
  if (rounding == "round_prefer_floor")
    upper = m.fcmp(FP::OGT, ratio, m.f(0.5));
  else if (rounding == "round_prefer_ceil")
    upper = m.fcmp(FP::OGE, ratio, m.f(0.5));
  else
    upper = arith::ConstantIntOp::create(m.b, m.loc, rounding == "ceil", 1);
  // xo on an input position: ratio 1, and that position is the upper tap.
  return arith::OrIOp::create(m.b, m.loc, upper,
                              m.fcmp(FP::OEQ, ratio, m.f(1)));
}

/// The interpolation kernel's weight at distance `x` (>= 0, in taps scaled
/// by the kernel's scale).
Value kernelWeight(ResizeMath &m, const ResizeMode &mode, Value x) {
  if (mode.mode == "linear")
    return m.fmax(m.fsub(m.f(1), x), m.f(0));
  double a = mode.cubicA;
  Value x2 = m.fmul(x, x), x3 = m.fmul(x2, x);
  Value near =
      m.fadd(m.fsub(m.fmul(m.f(a + 2), x3), m.fmul(m.f(a + 3), x2)), m.f(1));
  Value far = m.fsub(m.fadd(m.fsub(m.fmul(m.f(a), x3), m.fmul(m.f(5 * a), x2)),
                            m.fmul(m.f(8 * a), x)),
                     m.f(4 * a));
  return m.select(m.fcmp(FP::OLE, x, m.f(1)), near,
                  m.select(m.fcmp(FP::OLT, x, m.f(2)), far, m.f(0)));
}

/// The weighted sum of the taps at positions lo, lo + 1, ... (clamped into
/// the input) read from `x` at `at` along `p`'s axis, in f64: an scf.for
/// over the taps, normalized by the weights' sum where ONNX normalizes.
Value interpolate(ResizeMath &m, const ResizeMode &mode, const AxisPlan &p,
                  Value x, ArrayRef<Value> at, Value lo, Value ratio) {
  Type f64 = m.b.getF64Type();
  Value last = m.sub(p.in, m.constant(1));
  auto loop = scf::ForOp::create(
      m.b, m.loc, m.constant(0), p.taps, m.constant(1),
      ValueRange{m.f(0), m.f(0)},
      [&](OpBuilder &lb, Location l, Value k, ValueRange sums) {
        ResizeMath n{{lb, l}};
        Value offset = n.toF64(n.add(p.start, k));
        Value w = kernelWeight(
            n, mode, n.fabs(n.fmul(n.fsub(offset, ratio), p.kernelScale)));
        Value pos = n.add(lo, k);
        if (mode.excludeOutside)
          w = n.select(n.both(n.cmp(IP::sge, pos, n.constant(0)),
                              n.cmp(IP::slt, pos, p.in)),
                       w, n.f(0));
        SmallVector<Value> from(at);
        from[p.dim] = n.clamp(pos, n.constant(0), last);
        Value v =
            castScalar(lb, l, tensor::ExtractOp::create(lb, l, x, from), f64);
        scf::YieldOp::create(
            lb, l,
            ValueRange{n.fadd(sums[0], n.fmul(w, v)), n.fadd(sums[1], w)});
      });
  Value sum = loop.getResult(0);
  if (mode.antialias || mode.excludeOutside)
    sum = m.fdiv(sum, loop.getResult(1));
  return sum;
}

/// Output element `at` of `x` resized along `p`'s axis.
Value resizedElement(ResizeMath &m, const ResizeMode &mode, const AxisPlan &p,
                     Value x, ArrayRef<Value> at, double extrapolation) {
  Type elt = cast<RankedTensorType>(x.getType()).getElementType();
  Value xo = sourceCoordinate(m, mode.transform, p, m.toF64(at[p.dim]));
  // NaN or far out (a roi the run gives): extrapolated below; 0 keeps the
  // index arithmetic defined.
  Value safe =
      m.select(m.fcmp(FP::OLE, m.fabs(xo), m.f(kMaxCoordinate)), xo, m.f(0));
  Value base = m.sub(m.ceilIndex(safe), m.constant(1));
  Value ratio = m.fsub(safe, m.toF64(base));
  // The window of n taps stays within [-n / 2, in + n / 2).
  Value half = m.sub(m.constant(1), p.start);
  Value lo = m.clamp(m.add(base, p.start), m.sub(m.constant(0), half),
                     m.sub(p.in, half));
  Value last = m.sub(p.in, m.constant(1));
  Value v;
  if (mode.mode == "nearest") {
    Value upper = nearestTakesUpper(m, mode.nearest, ratio);
    Value pos = m.select(upper, m.add(lo, m.constant(1)), lo);
    SmallVector<Value> from(at);
    from[p.dim] = m.clamp(pos, m.constant(0), last);
    v = tensor::ExtractOp::create(m.b, m.loc, x, from);
  } else {
    v = interpolate(m, mode, p, x, at, lo, ratio);
  }
  if (mode.transform == "tf_crop_and_resize") {
    Value inside = m.both(m.fcmp(FP::OGE, xo, m.f(0)),
                          m.fcmp(FP::OLE, xo, m.fsub(p.inF, m.f(1))));
    v = m.select(inside, v,
                 arith::ConstantOp::create(
                     m.b, m.loc, m.b.getFloatAttr(v.getType(), extrapolation)));
  }
  // Through f32 for narrower floats: the CPU runtime has no double ->
  // bfloat16 conversion.
  if (v.getType() != elt && elt.getIntOrFloatBitWidth() < 32)
    v = castScalar(m.b, m.loc, v, m.b.getF32Type());
  return castScalar(m.b, m.loc, v, elt);
}

/// `x` resized along `p`'s axis: one generic over the output.
Value resizeAlong(NodeContext &nc, const ResizeMode &mode, const AxisPlan &p,
                  Value x, double extrapolation) {
  RankedTensorType t = nc.typeOf(x);
  SmallVector<int64_t> shape(t.getShape());
  shape[p.dim] = ShapedType::kDynamic;
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < t.getRank(); ++d) {
    if (d == p.dim)
      dynamicSizes.push_back(p.outSize);
    else if (t.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(nc.b, nc.loc, x, d));
  }
  return generate(nc.b, nc.loc, t.clone(shape), dynamicSizes,
                  [&](OpBuilder &b, Location l, ArrayRef<Value> at) -> Value {
                    ResizeMath m{{b, l}};
                    return resizedElement(m, mode, p, x, at, extrapolation);
                  });
}

} // namespace

LogicalResult kiln::onnx_import::runtimeResizeOp(NodeContext &nc, Value x,
                                                 const ResizeMode &m,
                                                 ArrayRef<int64_t> axes,
                                                 StringRef policy,
                                                 double extrapolation) {
  Type elt = nc.typeOf(x).getElementType();
  if (m.transform == "tf_crop_and_resize" && !isa<FloatType>(elt))
    return nc.error("tf_crop_and_resize with run-time scales, sizes or roi "
                    "needs float data (its extrapolation value)");
  FailureOr<SmallVector<AxisPlan>> plans = planAxes(nc, x, m, axes, policy);
  if (failed(plans))
    return failure();
  // The last axis first, as the constant lowering (and ONNX's reference).
  llvm::sort(*plans, [](const AxisPlan &a, const AxisPlan &b) {
    return a.dim > b.dim;
  });
  Value y = x;
  for (const AxisPlan &p : *plans)
    y = resizeAlong(nc, m, p, y, extrapolation);
  return nc.setResult(y);
}
