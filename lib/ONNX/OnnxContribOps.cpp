//===- OnnxContribOps.cpp - onnxruntime contrib ops: norms, GELU, NBits ---===//
//
// Operators of onnxruntime's `com.microsoft` domain, with the semantics of
// its ContribOperators.md (and, where that is silent, of its CPU kernels):
//
//   SimplifiedLayerNormalization      kiln.rms_norm (ORT registers it in the
//                                     ONNX domain; it is found in both)
//   SkipSimplifiedLayerNormalization  kiln.add + kiln.rms_norm
//   SkipLayerNormalization            kiln.add + kiln.layer_norm
//   Gelu, BiasGelu, FastGelu          kiln.gelu (erf; erf; tanh) + kiln.add
//   MatMulNBits                       kiln.qlinear on the unpacked weight
//
// The optional statistics outputs (mean, inv_std_var) are computed from
// primitive ops when the graph reads them; the mean of the RMS forms, which
// onnxruntime leaves undefined, is refused by name. GroupQueryAttention is
// in OnnxContribAttention.cpp, MoE and QMoE in OnnxContribMoE.cpp.
//
//===----------------------------------------------------------------------===//

#include "OnnxContrib.h"

#include "kiln/dialects/Kiln/KilnConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;
using namespace kiln::onnx_import::contrib;

//===----------------------------------------------------------------------===//
// Helpers shared with the other contrib files
//===----------------------------------------------------------------------===//

/// The attribute of a value defined by arith.constant, or null.
static ElementsAttr constantAttr(Value v) {
  auto cst = v ? v.getDefiningOp<arith::ConstantOp>() : arith::ConstantOp();
  return cst ? dyn_cast<ElementsAttr>(cst.getValue()) : ElementsAttr();
}

FailureOr<std::vector<char>> contrib::constantBytes(NodeContext &nc, size_t i,
                                                    StringRef what) {
  ElementsAttr attr = constantAttr(nc.input(i));
  std::optional<std::vector<char>> bytes =
      attr ? kiln::constantBytes(attr) : std::nullopt;
  if (!bytes) {
    (void)nc.error(Twine(what) + " (input " + Twine(i) +
                   ") must be an initializer: Kiln unpacks it at compile time");
    return failure();
  }
  return std::move(*bytes);
}

FailureOr<std::vector<float>> contrib::constantFloats(NodeContext &nc, size_t i,
                                                      StringRef what) {
  FailureOr<std::vector<char>> bytes = constantBytes(nc, i, what);
  if (failed(bytes))
    return failure();
  auto ft = dyn_cast<FloatType>(nc.inputType(i).getElementType());
  if (!ft || !(ft.isF32() || ft.isF16() || ft.isBF16() || ft.isF64())) {
    (void)nc.error(Twine(what) + " must be float, float16, bfloat16 or double");
    return failure();
  }
  unsigned width = ft.getWidth() / 8;
  std::vector<float> out(bytes->size() / width);
  for (size_t n = 0; n < out.size(); ++n) {
    const char *p = bytes->data() + n * width;
    if (ft.isF32()) {
      std::memcpy(&out[n], p, 4);
    } else if (ft.isF64()) {
      double d;
      std::memcpy(&d, p, 8);
      out[n] = (float)d;
    } else {
      uint16_t bits;
      std::memcpy(&bits, p, 2);
      APFloat f(ft.getFloatSemantics(), APInt(16, bits));
      out[n] = f.convertToFloat();
    }
  }
  return out;
}

Value contrib::bytesConstant(NodeContext &nc, RankedTensorType type,
                             ArrayRef<char> bytes, StringRef name) {
  Attribute attr;
  if (type.getNumElements() <= 256) {
    attr = DenseElementsAttr::getFromRawBuffer(type, bytes);
  } else {
    AsmResourceBlob blob =
        HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, /*align=*/64);
    attr = DenseResourceElementsAttr::get(type, name, std::move(blob));
  }
  return arith::ConstantOp::create(nc.b, nc.loc, type, cast<TypedAttr>(attr));
}

Value contrib::floatConstant(NodeContext &nc, RankedTensorType type,
                             ArrayRef<float> values, StringRef name) {
  auto ft = cast<FloatType>(type.getElementType());
  unsigned width = ft.getWidth() / 8;
  std::vector<char> bytes(values.size() * width);
  for (size_t n = 0; n < values.size(); ++n) {
    char *p = bytes.data() + n * width;
    if (ft.isF32()) {
      std::memcpy(p, &values[n], 4);
    } else if (ft.isF64()) {
      double d = values[n];
      std::memcpy(p, &d, 8);
    } else {
      APFloat f(values[n]);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      uint16_t bits = (uint16_t)f.bitcastToAPInt().getZExtValue();
      std::memcpy(p, &bits, 2);
    }
  }
  return bytesConstant(nc, type, bytes, name);
}

Value contrib::sliceDim1(NodeContext &nc, Value v, int64_t start, int64_t step,
                         int64_t count, StringRef name) {
  RankedTensorType t = nc.typeOf(v);
  SmallVector<int64_t> shape(t.getShape());
  shape[1] = count;
  RankedTensorType result = t.clone(shape);
  ElementsAttr attr = constantAttr(v);
  unsigned width = t.getElementType().getIntOrFloatBitWidth();
  std::optional<std::vector<char>> bytes;
  if (attr && width % 8 == 0)
    bytes = kiln::constantBytes(attr);
  if (bytes) {
    // Copy the rows on the host: [outer, dim1, inner] -> [outer, count, inner].
    size_t eltBytes = width / 8;
    if (bytes->size() == (size_t)t.getNumElements() * eltBytes) {
      int64_t outer = t.getDimSize(0), rows = t.getDimSize(1);
      int64_t inner = t.getNumElements() / std::max<int64_t>(outer * rows, 1);
      size_t rowBytes = inner * eltBytes;
      std::vector<char> out;
      out.reserve(outer * count * rowBytes);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t r = 0; r < count; ++r) {
          const char *src =
              bytes->data() + ((o * rows) + start + r * step) * rowBytes;
          out.insert(out.end(), src, src + rowBytes);
        }
      return bytesConstant(nc, result, out, name);
    }
  }
  SmallVector<int64_t> starts(t.getRank(), 0), steps(t.getRank(), 1);
  starts[1] = start;
  steps[1] = step;
  return SliceOp::create(nc.b, nc.loc, result, v,
                         nc.b.getDenseI64ArrayAttr(starts),
                         nc.b.getDenseI64ArrayAttr(steps));
}

namespace {

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

bool isFloatTensor(NodeContext &nc, size_t i) {
  return nc.input(i) && isa<FloatType>(nc.inputType(i).getElementType());
}

/// Statistics of `x` over `[axis, rank)` kept as size-1 dimensions, in the
/// stash type: returns (x - mean or x, mean or null, 1 / sqrt(var + eps)).
struct Stats {
  Value centered, mean, invStd;
};
Stats normStats(NodeContext &nc, Value x, int64_t axis, float eps, bool rms,
                Type stash) {
  RankedTensorType t = nc.typeOf(x);
  SmallVector<int64_t> axes;
  for (int64_t d = axis; d < t.getRank(); ++d)
    axes.push_back(d);
  Value xs = nc.cast(x, stash);
  Stats s;
  s.centered = xs;
  if (!rms) {
    s.mean = nc.reduce<ReduceMeanOp>(xs, axes, /*keepdims=*/true);
    s.centered = nc.binary<SubOp>(xs, s.mean);
  }
  Value var = nc.reduce<ReduceMeanOp>(nc.binary<MulOp>(s.centered, s.centered),
                                      axes, /*keepdims=*/true);
  s.invStd = nc.unary<RsqrtOp>(nc.binary<AddOp>(var, nc.scalar(stash, eps)));
  return s;
}

/// y = norm(x) * scale (+ bias) over `[axis, rank)`, as one kiln.rms_norm or
/// kiln.layer_norm when no statistic is asked for, else from primitives.
/// Statistics and arithmetic run in f32 for 16-bit inputs (onnxruntime's
/// stash type float). Outputs the statistics at `meanOut`/`invStdOut`.
LogicalResult normalize(NodeContext &nc, Value x, Value scale, Value bias,
                        int64_t axis, float eps, bool rms, int meanOut,
                        int invStdOut) {
  RankedTensorType t = nc.typeOf(x);
  Type elt = t.getElementType();
  Type stash = elt.isF64() ? elt : nc.b.getF32Type();
  bool wantStats = (meanOut >= 0 && nc.hasOutput(meanOut)) ||
                   (invStdOut >= 0 && nc.hasOutput(invStdOut));
  if (!wantStats) {
    Value xs = nc.cast(x, stash), ss = nc.cast(scale, stash);
    Value bs = bias ? nc.cast(bias, stash) : Value();
    Value y;
    if (rms)
      y = RmsNormOp::create(nc.b, nc.loc, nc.typeOf(xs), xs, ss,
                            nc.b.getI64IntegerAttr(axis),
                            nc.b.getF32FloatAttr(eps));
    else
      y = LayerNormOp::create(nc.b, nc.loc, nc.typeOf(xs), xs, ss, bs,
                              nc.b.getI64IntegerAttr(axis),
                              nc.b.getF32FloatAttr(eps));
    return nc.setResult(nc.cast(y, elt));
  }
  Stats s = normStats(nc, x, axis, eps, rms, stash);
  Value y = nc.binary<MulOp>(nc.binary<MulOp>(s.centered, s.invStd),
                             nc.cast(scale, stash));
  if (y && bias)
    y = nc.binary<AddOp>(y, nc.cast(bias, stash));
  if (!y || !s.invStd)
    return failure();
  nc.setOutput(0, nc.cast(y, elt));
  if (meanOut >= 0)
    nc.setOutput(meanOut, s.mean);
  if (invStdOut >= 0)
    nc.setOutput(invStdOut, s.invStd);
  return success();
}

/// SimplifiedLayerNormalization (onnxruntime, ONNX domain): RMS
/// normalization over `[axis, rank)` (default -1) with epsilon 1e-5;
/// output 1 is inv_std_var with the normalized dimensions kept as 1.
LogicalResult simplifiedLayerNormOp(NodeContext &nc) {
  if (!isFloatTensor(nc, 0) || !isFloatTensor(nc, 1))
    return nc.error("expects floating-point X and scale");
  int stash = nc.getInt("stash_type", 1);
  if (stash != onnx::TensorProto::FLOAT)
    return nc.unsupported("stash_type", onnxTypeName(stash));
  RankedTensorType t = nc.inputType(0);
  FailureOr<int64_t> axis = nc.normalizeAxis(nc.getInt("axis", -1), t.getRank());
  if (failed(axis))
    return failure();
  return normalize(nc, nc.input(0), nc.input(1), Value(), *axis,
                   nc.getFloat("epsilon", 1e-5f), /*rms=*/true,
                   /*meanOut=*/-1, /*invStdOut=*/1);
}

/// input + skip (+ bias), the residual sum both skip norms start from.
Value skipSum(NodeContext &nc, size_t biasInput) {
  Value sum = nc.binary<AddOp>(nc.input(0), nc.input(1));
  if (sum && nc.input(biasInput))
    sum = nc.binary<AddOp>(sum, nc.input(biasInput));
  return sum;
}

/// SkipSimplifiedLayerNormalization(input, skip, gamma, bias?): RMS
/// normalization of input + skip + bias over the last dimension, epsilon
/// 1e-12 by default. Outputs: output, mean (undefined for RMS: refused),
/// inv_std_var, input_skip_bias_sum.
LogicalResult skipSimplifiedLayerNormOp(NodeContext &nc) {
  for (size_t i = 0; i < 3; ++i)
    if (!isFloatTensor(nc, i))
      return nc.error("expects floating-point input, skip and gamma");
  if (nc.hasOutput(1))
    return nc.error("output 1 (mean) is not supported by Kiln: RMS "
                    "normalization has no mean (onnxruntime leaves it "
                    "undefined)");
  Value sum = skipSum(nc, 3);
  if (!sum)
    return failure();
  int64_t axis = nc.typeOf(sum).getRank() - 1;
  if (failed(normalize(nc, sum, nc.input(2), Value(), axis,
                       nc.getFloat("epsilon", 1e-12f), /*rms=*/true,
                       /*meanOut=*/-1, /*invStdOut=*/2)))
    return failure();
  nc.setOutput(3, sum);
  return success();
}

/// SkipLayerNormalization(input, skip, gamma, beta?, bias?): layer
/// normalization of input + skip + bias over the last dimension, epsilon
/// 1e-12 by default. Outputs: output, mean, inv_std_var,
/// input_skip_bias_sum.
LogicalResult skipLayerNormOp(NodeContext &nc) {
  for (size_t i = 0; i < 3; ++i)
    if (!isFloatTensor(nc, i))
      return nc.error("expects floating-point input, skip and gamma");
  Value sum = skipSum(nc, 4);
  if (!sum)
    return failure();
  int64_t axis = nc.typeOf(sum).getRank() - 1;
  if (failed(normalize(nc, sum, nc.input(2), nc.input(3), axis,
                       nc.getFloat("epsilon", 1e-12f), /*rms=*/false,
                       /*meanOut=*/1, /*invStdOut=*/2)))
    return failure();
  nc.setOutput(3, sum);
  return success();
}

//===----------------------------------------------------------------------===//
// GELU forms
//===----------------------------------------------------------------------===//

/// GELU of input 0 (+ input 1 when `biasInput`), exact or tanh-approximated.
LogicalResult geluForm(NodeContext &nc, bool withBias, bool biasRequired,
                       GeluApproximation approx) {
  if (!isFloatTensor(nc, 0))
    return nc.error("expects a floating-point input");
  Value x = nc.input(0);
  if (withBias && nc.input(1)) {
    x = nc.binary<AddOp>(x, nc.input(1));
    if (!x)
      return failure();
  } else if (biasRequired) {
    return nc.error("expects A and the bias B");
  }
  return nc.setResult(
      GeluOp::create(nc.b, nc.loc, x.getType(), x,
                     GeluApproximationAttr::get(nc.b.getContext(), approx)));
}

/// Gelu: x * Phi(x) with erf.
LogicalResult msGeluOp(NodeContext &nc) {
  return geluForm(nc, false, false, GeluApproximation::None);
}
/// BiasGelu(A, B): Gelu(A + B).
LogicalResult biasGeluOp(NodeContext &nc) {
  return geluForm(nc, true, true, GeluApproximation::None);
}
/// FastGelu(X, bias?): 0.5 x (1 + tanh(0.797885 x + 0.035677 x^3)) of
/// X + bias, which is the tanh approximation.
LogicalResult fastGeluOp(NodeContext &nc) {
  return geluForm(nc, true, false, GeluApproximation::Tanh);
}

//===----------------------------------------------------------------------===//
// MatMulNBits
//===----------------------------------------------------------------------===//

/// MatMulNBits' g_idx (GPTQ act-order): column k of B uses group g_idx[k].
/// Sorting the columns by group (and A's last dimension the same way) makes
/// the groups contiguous blocks again, so y = A[..., perm] @ B[:, perm]^T is
/// the same sum in another order. Groups must then be exactly blocks:
/// block_size columns each (the last one the remainder). Empty without
/// g_idx or when the columns are already in block order.
FailureOr<SmallVector<int64_t>> actOrderPermutation(NodeContext &nc, int64_t k,
                                                    int64_t bs) {
  SmallVector<int64_t> perm;
  if (!nc.input(4))
    return perm;
  FailureOr<SmallVector<int64_t>> g = nc.constantInts(4, "g_idx");
  if (failed(g))
    return failure();
  if ((int64_t)g->size() != k)
    return nc.error("g_idx must hold K = " + Twine(k) + " group indices");
  perm = llvm::to_vector(llvm::seq<int64_t>(0, k));
  llvm::stable_sort(perm,
                    [&](int64_t a, int64_t b) { return (*g)[a] < (*g)[b]; });
  for (int64_t i = 0; i < k; ++i)
    if ((*g)[perm[i]] != i / bs)
      return nc.error("g_idx must give every group block_size = " + Twine(bs) +
                      " columns (group " + Twine((*g)[perm[i]]) +
                      " breaks this)");
  if (llvm::all_of(llvm::seq<int64_t>(0, k),
                   [&](int64_t i) { return perm[i] == i; }))
    perm.clear(); // already in block order
  return perm;
}

/// MatMulNBits' codes as [N, K] from B's [N, k_blocks, blob] bytes, with the
/// columns in `perm` order when it is not empty.
std::vector<unsigned> unpackCodes(ArrayRef<char> packed, int64_t n, int64_t k,
                                  int64_t bits, int64_t bs,
                                  ArrayRef<int64_t> perm) {
  int64_t kb = (k + bs - 1) / bs, blob = bs * bits / 8;
  std::vector<unsigned> codes(n * k);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      ArrayRef<char> rowBytes(packed.data() + r * kb * blob, kb * blob);
      int64_t source = perm.empty() ? c : perm[c];
      int64_t block = source / bs, within = source % bs;
      codes[r * k + c] =
          unpackBits(rowBytes.slice(block * blob, blob), within, bits);
    }
  return codes;
}

/// MatMulNBits(A, B, scales, zero_points?, g_idx?, bias?):
/// Y = A @ dequantize(B)^T + bias with B `[N, K]` quantized to `bits`
/// (2, 4 or 8) in blocks of `block_size` along K: dequantized =
/// (q - zero_point) * scale per block.
///
/// B, uint8 `[N, k_blocks, blob]` with the codes packed low bits first, is
/// unpacked here into a dense `[N, K]` i2/i4/i8 constant (the padding of the
/// last block dropped); Kiln's artifact writer packs it again. Without zero
/// points (default 2^(bits-1)) the codes become signed `q - 2^(bits-1)` with
/// no zero point; uint8 zero points (packed like B, `[N, ceil(k_blocks *
/// bits / 8)]`) are unpacked to `[N, k_blocks]` and the codes stay unsigned.
/// Float zero points (A's type, `[N, k_blocks]`) cannot be a kiln.qlinear
/// zero point: that form is dequantized here into a float weight for
/// kiln.linear. B and the zero points must be initializers; the scales may
/// be computed (except with float zero points). An act-order g_idx is a
/// column permutation (see below). accuracy_level is a speed hint and is
/// ignored.
LogicalResult matMulNBitsOp(NodeContext &nc) {
  if (!isFloatTensor(nc, 0) || !nc.input(1) || !isFloatTensor(nc, 2))
    return nc.error("expects a floating-point A, B and floating-point scales");
  if (!nc.attr("K") || !nc.attr("N") || !nc.attr("block_size"))
    return nc.error("needs the K, N and block_size attributes");
  int64_t k = nc.getInt("K", 0), n = nc.getInt("N", 0);
  int64_t bits = nc.getInt("bits", 4), bs = nc.getInt("block_size", 0);
  if (bits != 2 && bits != 4 && bits != 8)
    return nc.unsupported("bits", Twine(bits));
  if (bs < 16 || (bs & (bs - 1)))
    return nc.error("block_size = " + Twine(bs) +
                    " must be a power of 2 and at least 16");
  if (k <= 0 || n <= 0)
    return nc.error("K and N must be positive");
  if (int64_t p = nc.getInt("weight_prepacked", 0))
    return nc.unsupported("weight_prepacked", Twine(p));
  RankedTensorType at = nc.inputType(0);
  Type elt = at.getElementType();
  if (at.getRank() < 1 || at.getShape().back() != k)
    return nc.error("A's last dimension must be K = " + Twine(k));

  int64_t kb = (k + bs - 1) / bs, blob = bs * bits / 8;
  FailureOr<std::vector<char>> packed = constantBytes(nc, 1, "B");
  if (failed(packed))
    return failure();
  if ((int64_t)packed->size() != n * kb * blob)
    return nc.error("B holds " + Twine(packed->size()) + " bytes; N = " +
                    Twine(n) + ", K = " + Twine(k) + ", bits = " + Twine(bits) +
                    " and block_size = " + Twine(bs) + " need [" + Twine(n) +
                    ", " + Twine(kb) + ", " + Twine(blob) + "]");
  RankedTensorType st = nc.inputType(2);
  if (st.getNumElements() != n * kb)
    return nc.error("scales must hold N * k_blocks = " + Twine(n * kb) +
                    " values");
  if (st.getElementType() != elt)
    return nc.error("scales must have A's element type");

  FailureOr<SmallVector<int64_t>> perm = actOrderPermutation(nc, k, bs);
  if (failed(perm))
    return failure();
  Value bias = nc.input(5);
  if (bias) {
    RankedTensorType bt = nc.typeOf(bias);
    if (bt.getNumElements() != n || bt.getElementType() != elt)
      return nc.error("bias must be [N] = [" + Twine(n) + "] of A's type");
    bias = nc.reshape(bias, {n});
  }

  std::vector<unsigned> codes = unpackCodes(*packed, n, k, bits, bs, *perm);
  Value input = nc.input(0);
  if (!perm->empty()) {
    auto indices = RankedTensorType::get({k}, nc.b.getI64Type());
    Value order = nc.constant(DenseElementsAttr::get(indices, ArrayRef(*perm)));
    input = GatherOp::create(nc.b, nc.loc, at, input, order,
                             nc.b.getI64IntegerAttr(at.getRank() - 1));
  }
  SmallVector<int64_t> outShape(at.getShape());
  outShape.back() = n;
  auto outType = at.clone(outShape);
  std::string name = nc.node.input(1);
  Value zp = nc.input(3);
  Type qType = nc.b.getIntegerType(bits);
  auto scale = nc.reshape(nc.input(2), {n, kb});

  if (zp && isa<FloatType>(nc.typeOf(zp).getElementType())) {
    // Float zero points: W = (q - zp) * scale, computed here.
    FailureOr<std::vector<float>> zf = constantFloats(nc, 3, "zero_points");
    FailureOr<std::vector<float>> sf = constantFloats(nc, 2, "scales");
    if (failed(zf) || failed(sf))
      return failure();
    if ((int64_t)zf->size() != n * kb)
      return nc.error("float zero_points must hold N * k_blocks = " +
                      Twine(n * kb) + " values");
    std::vector<float> w(n * k);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) {
        int64_t g = r * kb + c / bs;
        w[r * k + c] = ((float)codes[r * k + c] - (*zf)[g]) * (*sf)[g];
      }
    Value weight = floatConstant(
        nc, RankedTensorType::get({n, k}, elt), w, name);
    return nc.setResult(
        LinearOp::create(nc.b, nc.loc, outType, input, weight, bias));
  }

  std::vector<char> wBytes(n * k);
  Value zeroPoint;
  bool isUnsigned = false;
  if (zp) {
    RankedTensorType zt = nc.typeOf(zp);
    int64_t zb = (kb * bits + 7) / 8;
    if (!zt.getElementType().isInteger(8) || zt.getNumElements() != n * zb)
      return nc.error("zero_points must be uint8 [N, ceil(k_blocks * bits / "
                      "8)] = [" + Twine(n) + ", " + Twine(zb) +
                      "] (packed) or A's float type [N, k_blocks]");
    FailureOr<std::vector<char>> zpBytes = constantBytes(nc, 3, "zero_points");
    if (failed(zpBytes))
      return failure();
    std::vector<char> z(n * kb);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t g = 0; g < kb; ++g)
        z[r * kb + g] = (char)unpackBits(
            ArrayRef<char>(zpBytes->data() + r * zb, zb), g, bits);
    for (size_t i = 0; i < codes.size(); ++i)
      wBytes[i] = (char)codes[i];
    zeroPoint = bytesConstant(nc, RankedTensorType::get({n, kb}, qType), z,
                              name + "_zero_point");
    isUnsigned = true;
  } else {
    // The default zero point 2^(bits-1) makes the codes signed.
    int offset = 1 << (bits - 1);
    for (size_t i = 0; i < codes.size(); ++i)
      wBytes[i] = (char)((int)codes[i] - offset);
  }
  Value weight =
      bytesConstant(nc, RankedTensorType::get({n, k}, qType), wBytes, name);
  return nc.setResult(QLinearOp::create(
      nc.b, nc.loc, outType, input, weight, scale, zeroPoint,
      /*global_scale=*/Value(), bias, nc.b.getDenseI64ArrayAttr({1, bs}),
      nc.b.getBoolAttr(isUnsigned)));
}

} // namespace

void kiln::onnx_import::registerContribHandlers(HandlerTable &t) {
#define MS_CONTRIB_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
  registerContribAttentionHandlers(t);
  registerContribMoEHandlers(t);
}

void kiln::onnx_import::registerContribOnnxDomainHandlers(HandlerTable &t) {
#define ONNX_CONTRIB_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
