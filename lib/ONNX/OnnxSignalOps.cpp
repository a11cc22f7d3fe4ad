//===- OnnxSignalOps.cpp - DFT and the window functions -------------------===//
//
// DFT is a product with constant cosine and sine matrices along the signal
// axis (moved last): the signal's lengths are static, so the matrices are
// built at import, and the product runs as kiln.matmul. Forward, inverse
// (scaled by 1 / N), one-sided forward (the first N / 2 + 1 frequencies)
// and one-sided inverse (a real signal from half a Hermitian spectrum, as
// numpy.fft.irfft) are ONNX's four forms. The window functions are their
// cosine sums spelled out in Kiln ops.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"
#include "RuntimeAxes.h"
#include "RuntimeParameters.h"
#include "ShapeArithmetic.h"

#include <cmath>
#include <numeric>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// The [rows, cols] matrix of f(row, col) as an f64 constant.
template <typename Fn>
Value matrix(NodeContext &nc, int64_t rows, int64_t cols, Fn f) {
  SmallVector<double> values;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      values.push_back(f(r, c));
  auto type = RankedTensorType::get({rows, cols}, nc.b.getF64Type());
  return nc.constant(DenseElementsAttr::get(type, ArrayRef(values)));
}

/// Component `i` (0: real, 1: imaginary) of `x` [..., 1 | 2], with the
/// signal axis moved last by `perm`; the first `length` steps of it.
Value component(NodeContext &nc, Value x, int64_t i, ArrayRef<int64_t> perm,
                int64_t length) {
  RankedTensorType t = nc.typeOf(x);
  int64_t last = t.getRank() - 1;
  SmallVector<int64_t> shape(t.getShape().drop_back());
  Value c = nc.b.createOrFold<GatherOp>(nc.loc, t.clone(shape), x,
                                        nc.i64Constant({i}, {}),
                                        nc.b.getI64IntegerAttr(last));
  c = nc.transpose(c, perm);
  RankedTensorType ct = nc.typeOf(c);
  if (ct.getShape().back() == length)
    return c;
  SmallVector<int64_t> kept(ct.getShape());
  kept.back() = length;
  SmallVector<int64_t> steps = llvm::to_vector(llvm::seq<int64_t>(0, length));
  return nc.b.createOrFold<GatherOp>(nc.loc, ct.clone(kept), c,
                                     nc.i64Constant(steps, {length}),
                                     nc.b.getI64IntegerAttr(last - 1));
}

/// The signal axis (a non-negative index of a dimension before the last):
/// the attribute before opset 20, input 2 from it (default -2).
FailureOr<int64_t> signalAxis(NodeContext &nc, int64_t rank) {
  FailureOr<int64_t> axis = nc.opset >= 20
                                ? nc.constantInt(2, "axis", -2)
                                : FailureOr<int64_t>(nc.getInt("axis", 1));
  if (failed(axis))
    return failure();
  FailureOr<int64_t> a = nc.normalizeAxis(*axis, rank);
  if (succeeded(a) && *a == rank - 1)
    return nc.error("axis " + Twine(*axis) +
                    " is the real / imaginary axis, not a signal axis");
  return a;
}

/// The DFT of `x` along `axis` (a dimension before the last), or null
/// after an error.
Value dftAlong(NodeContext &nc, Value x, int64_t axis) {
  RankedTensorType t = nc.typeOf(x);
  int64_t rank = t.getRank();
  bool inverse = nc.getInt("inverse", 0) != 0;
  bool onesided = nc.getInt("onesided", 0) != 0;
  int64_t m = t.getDimSize(axis);
  // N: dft_length, or the signal's length (one-sided inverse: 2 (m - 1)).
  FailureOr<int64_t> n =
      nc.constantInt(1, "dft_length", onesided && inverse ? 2 * (m - 1) : m);
  if (failed(n))
    return nullptr;
  if (*n < 1) {
    (void)nc.error("dft_length must be positive, got " + Twine(*n));
    return nullptr;
  }
  // The signal axis moved before the last; the component axis dropped.
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  SmallVector<int64_t> back(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    back[p] = int64_t(i);
  bool complexIn = t.getShape().back() == 2;
  // In f64, as ONNX's reference (numpy.fft): values that cancel to about
  // 1e-7 in f32 come out as the reference's.
  Type elt = nc.b.getF64Type();
  x = nc.cast(x, elt);
  double tau = 2 * M_PI / double(*n);
  int64_t used = std::min(m, onesided && inverse ? *n / 2 + 1 : *n);
  Value re = component(nc, x, 0, perm, used);
  Value im = complexIn ? component(nc, x, 1, perm, used) : Value();
  auto out = [&](Value v) {
    v = nc.cast(nc.transpose(v, back), t.getElementType());
    SmallVector<int64_t> shape(nc.typeOf(v).getShape());
    shape.push_back(1);
    return nc.reshape(v, shape);
  };
  if (onesided && inverse) {
    // y[t] = sum_k w_k (re_k cos(tau k t) - im_k sin(tau k t)) / N, with
    // w = 1 at k = 0 and k = N / 2, else 2 (the conjugate half).
    auto w = [&](int64_t k) {
      return (k == 0 || 2 * k == *n) ? 1.0 : 2.0;
    };
    Value y = numpyMatmul(nc, re, matrix(nc, used, *n, [&](int64_t k, int64_t s) {
      return w(k) * std::cos(tau * double(k * s)) / double(*n);
    }));
    if (im)
      y = nc.binary<SubOp>(
          y, numpyMatmul(nc, im, matrix(nc, used, *n, [&](int64_t k, int64_t s) {
               return w(k) * std::sin(tau * double(k * s)) / double(*n);
             })));
    return out(y);
  }
  // Y_k = sum_j x_j e^(sign i tau j k) (/ N inverse): with c = cos, s = sin
  // of sign tau j k, Y_re = re c - im s and Y_im = re s + im c.
  int64_t frequencies = onesided ? *n / 2 + 1 : *n;
  double sign = inverse ? 1.0 : -1.0, scale = inverse ? 1.0 / double(*n) : 1.0;
  Value cosine = matrix(nc, used, frequencies, [&](int64_t j, int64_t k) {
    return scale * std::cos(sign * tau * double((j * k) % *n));
  });
  Value sine = matrix(nc, used, frequencies, [&](int64_t j, int64_t k) {
    return scale * std::sin(sign * tau * double((j * k) % *n));
  });
  Value yRe = numpyMatmul(nc, re, cosine), yIm = numpyMatmul(nc, re, sine);
  if (im) {
    yRe = nc.binary<SubOp>(yRe, numpyMatmul(nc, im, sine));
    yIm = nc.binary<AddOp>(yIm, numpyMatmul(nc, im, cosine));
  }
  Value a = out(yRe), b = out(yIm);
  SmallVector<int64_t> shape(nc.typeOf(a).getShape());
  shape.back() = 2;
  return ConcatOp::create(nc.b, nc.loc, t.clone(shape), ValueRange{a, b},
                          nc.b.getI64IntegerAttr(rank - 1));
}

/// DFT: along a constant axis, or (opset 20, CPU target) along the axis
/// the run gives, one lowering per dimension before the last chosen at run
/// time (dispatchOnAxes).
LogicalResult dftOp(NodeContext &nc) {
  Value x = nc.input(0);
  if (!x)
    return nc.error("expects an input");
  RankedTensorType t = nc.typeOf(x);
  int64_t rank = t.getRank();
  if (!isa<FloatType>(t.getElementType()) || rank < 2 || !t.hasStaticShape() ||
      (t.getShape().back() != 1 && t.getShape().back() != 2))
    return nc.error("expects a floating-point input [..., 1 or 2] of static "
                    "shape");
  if (nc.opset >= 20 && isRuntimeInput(nc, 2)) {
    // The last axis holds the components, and a one-sided inverse of
    // default length needs two steps: no case for those, so the run falls
    // into the switch's default (NaN) when one is given.
    bool halfSpectrum = nc.getInt("onesided", 0) != 0 &&
                        nc.getInt("inverse", 0) != 0 && !nc.input(1);
    FailureOr<SmallVector<Value>> r = dispatchOnAxes(
        nc, 2, rank,
        [&](ArrayRef<int64_t> axes) -> std::optional<SmallVector<Value>> {
          int64_t axis = axes.front();
          if (axis == rank - 1 || (halfSpectrum && t.getDimSize(axis) < 2))
            return std::nullopt;
          return SmallVector<Value>{dftAlong(nc, x, axis)};
        });
    if (failed(r))
      return failure();
    return nc.setResult(r->front());
  }
  FailureOr<int64_t> axis = signalAxis(nc, rank);
  if (failed(axis))
    return failure();
  Value y = dftAlong(nc, x, *axis);
  return y ? nc.setResult(y) : failure();
}

/// The cosine-sum window functions (opset 17).
enum class WindowKind { Hann, Hamming, Blackman };

/// HannWindow, HammingWindow and BlackmanWindow as ONNX's reference computes
/// them, in f64: w[n] = a0 - a1 cos(2 pi n / M) + a2 cos(4 pi n / M) for
/// n < size, M = size when periodic (the default), else size - 1; then
/// cast to output_datatype. A size that the run gives makes the length
/// dynamic (runtimeIota).
template <WindowKind kind> LogicalResult windowOp(NodeContext &nc) {
  // a0, a1, a2 of each kind.
  static constexpr double kCoefficients[][3] = {
      {0.5, 0.5, 0.0}, {25.0 / 46, 21.0 / 46, 0.0}, {0.42, 0.5, 0.08}};
  const double *a = kCoefficients[static_cast<int>(kind)];
  Value size = nc.input(0);
  if (!size)
    return nc.error("expects a size");
  RankedTensorType st = nc.typeOf(size);
  if (!isa<IntegerType>(st.getElementType()) || !st.hasStaticShape() ||
      st.getRank() > 1 || st.getNumElements() != 1)
    return nc.error("size must be one integer");
  int to = nc.getInt("output_datatype", 1);
  Type elt = elementTypeFor(nc.b.getContext(), to);
  if (!elt || elt.isInteger(1))
    return nc.unsupported("output_datatype", onnxTypeName(to),
                          "the integer and floating-point types");

  Type f64 = nc.b.getF64Type();
  Value n;
  if (isRuntimeInput(nc, 0)) {
    n = runtimeIota(nc, 0, "size");
    if (!n)
      return failure();
  } else {
    FailureOr<int64_t> count = nc.constantInt(0, "size");
    if (failed(count))
      return failure();
    if (*count < 0)
      return nc.error("size must not be negative, got " + Twine(*count));
    SmallVector<double> indices(*count);
    std::iota(indices.begin(), indices.end(), 0.0);
    n = nc.constant(DenseElementsAttr::get(RankedTensorType::get({*count}, f64),
                                           ArrayRef(indices)));
  }
  Value m = nc.cast(nc.reshape(size, {}), f64);
  if (!nc.getInt("periodic", 1))
    m = nc.binary<SubOp>(m, nc.scalar(f64, 1.0));
  Value angle =
      nc.binary<DivOp>(nc.binary<MulOp>(n, nc.scalar(f64, 2 * M_PI)), m);
  auto term = [&](double coefficient, Value x) {
    return nc.binary<MulOp>(nc.unary<CosOp>(x), nc.scalar(f64, coefficient));
  };
  Value w = nc.binary<SubOp>(nc.scalar(f64, a[0]), term(a[1], angle));
  if (a[2] != 0)
    w = nc.binary<AddOp>(
        w, term(a[2], nc.binary<MulOp>(angle, nc.scalar(f64, 2.0))));
  // Through f32 for narrower floats: the CPU runtime has no double ->
  // bfloat16 conversion.
  if (isa<FloatType>(elt) && elt.getIntOrFloatBitWidth() < 32)
    w = nc.cast(w, nc.b.getF32Type());
  nc.setOutputOnnxType(0, to);
  return nc.setResult(nc.cast(w, elt));
}

} // namespace

void kiln::onnx_import::registerSignalHandlers(HandlerTable &t) {
#define ONNX_SIGNAL_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
