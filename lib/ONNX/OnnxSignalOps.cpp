//===- OnnxSignalOps.cpp - DFT ---------------------------------------------===//
//
// DFT is a product with constant cosine and sine matrices along the signal
// axis (moved last): the signal's lengths are static, so the matrices are
// built at import, and the product runs as kiln.matmul. Forward, inverse
// (scaled by 1 / N), one-sided forward (the first N / 2 + 1 frequencies)
// and one-sided inverse (a real signal from half a Hermitian spectrum, as
// numpy.fft.irfft) are ONNX's four forms.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

#include <cmath>

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
  FailureOr<int64_t> axis = signalAxis(nc, rank);
  if (failed(axis))
    return failure();
  bool inverse = nc.getInt("inverse", 0) != 0;
  bool onesided = nc.getInt("onesided", 0) != 0;
  int64_t m = t.getDimSize(*axis);
  // N: dft_length, or the signal's length (one-sided inverse: 2 (m - 1)).
  FailureOr<int64_t> n =
      nc.constantInt(1, "dft_length", onesided && inverse ? 2 * (m - 1) : m);
  if (failed(n))
    return failure();
  if (*n < 1)
    return nc.error("dft_length must be positive, got " + Twine(*n));
  // The signal axis moved before the last; the component axis dropped.
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != *axis)
      perm.push_back(d);
  perm.push_back(*axis);
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
    return nc.setResult(out(y));
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
  return nc.setResult(ConcatOp::create(nc.b, nc.loc, t.clone(shape),
                                       ValueRange{a, b},
                                       nc.b.getI64IntegerAttr(rank - 1)));
}

} // namespace

void kiln::onnx_import::registerSignalHandlers(HandlerTable &t) {
#define ONNX_SIGNAL_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
