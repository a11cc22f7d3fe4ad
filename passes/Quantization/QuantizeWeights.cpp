//===- QuantizeWeights.cpp - The kiln-quantize-weights pass ---------------===//
//
// Post-training weight quantization, round to nearest, at compile time:
// every kiln.linear (and kiln.matmul with a 2-D right operand) whose weight
// is a float constant becomes a kiln.qlinear on quantized constants.
//
//   int8        symmetric per output channel: scale = max|w| / 127
//   int4-g32    symmetric groups of 32 (128) along K: scale = max|w| / 7
//   int4-g128
//   fp8-block   e4m3fn in 128x128 blocks: scale = max|w| / 448
//   mxfp4       e2m1 values, an e8m0 scale per 32 along K: the OCP MX rule,
//               scale = 2^(floor(log2(max|w|)) - 2)
//   nvfp4       e2m1 values, an e4m3fn scale per 16 along K, and one f32
//               global scale = max|W| / (6 * 448)
//
// Each layer's relative RMS weight error ||W - dequant(W)|| / ||W|| is
// attached to the new op as `kiln.quant_error`, for reports.
//
//===----------------------------------------------------------------------===//

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/Quantization/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <cstring>

namespace kiln {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "kiln/passes/Quantization/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// A weight as a row-major [N, K] matrix of doubles.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> values;
  double at(int64_t r, int64_t c) const { return values[r * cols + c]; }
};

double asDouble(const APFloat &v) {
  APFloat d = v;
  bool lost;
  d.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
  return d.convertToDouble();
}

/// Rounds doubles to a float format of at most 8 bits (e4m3fn, e2m1,
/// e8m0) through a table of its finite non-negative values: to nearest,
/// ties to the even code, saturating at the largest finite value -- what
/// APFloat's conversion does, without building an APFloat per weight
/// (that made one 4096x4096 layer take seconds).
class SmallFloatCodes {
public:
  explicit SmallFloatCodes(const llvm::fltSemantics &semantics) {
    unsigned bits = APFloat::getSizeInBits(semantics);
    signBit = APFloat::semanticsHasSignedRepr(semantics) ? 1u << (bits - 1)
                                                         : 0u;
    for (unsigned code = 0; code < (1u << bits); ++code) {
      APFloat v(semantics, APInt(bits, code));
      values[code] = v.isFinite() ? asDouble(v) : std::nan("");
      if (v.isFinite() && !v.isNegative())
        positives.push_back({values[code], code});
    }
    llvm::sort(positives);
  }

  /// The code of the value nearest to `x`.
  uint8_t code(double x) const {
    unsigned sign = x < 0 ? signBit : 0u;
    double a = std::abs(x);
    auto above = llvm::lower_bound(positives, std::make_pair(a, 0u));
    if (above == positives.end())
      return uint8_t(sign | positives.back().second);
    if (above == positives.begin() || above->first == a)
      return uint8_t(sign | above->second);
    auto below = std::prev(above);
    double up = above->first - a, down = a - below->first;
    unsigned nearest = down < up   ? below->second
                       : up < down ? above->second
                       : (below->second & 1) == 0 ? below->second
                                                  : above->second;
    return uint8_t(sign | nearest);
  }

  double value(uint8_t code) const { return values[code]; }

private:
  unsigned signBit = 0;
  double values[256] = {};
  std::vector<std::pair<double, unsigned>> positives;
};

/// Accumulates ||W - dequant(W)||^2 and ||W||^2 as codes are chosen.
struct ErrorSum {
  double squaredError = 0, squaredNorm = 0;
  void add(double weight, double dequantized) {
    squaredError += (weight - dequantized) * (weight - dequantized);
    squaredNorm += weight * weight;
  }
  /// ||W - dequant(W)|| / ||W||.
  double relative() const {
    return squaredNorm > 0 ? std::sqrt(squaredError / squaredNorm) : 0.0;
  }
};

/// One quantized weight: codes [N, K] (one byte each, MLIR's dense layout:
/// integers sign-extended, fp4 in the low bits) written straight into a
/// constant blob, and scales [ceil(N/bn), ceil(K/bk)] as bytes.
struct Quantized {
  Type codeType, scaleType;
  AsmResourceBlob codes;
  std::vector<char> scales;
  std::optional<float> globalScale;
  int64_t blockRows, blockCols;
  double relativeError = 0;
};

/// max |w| over each [bn, bk] block of `w`, row-major over the blocks.
std::vector<double> blockMaxima(const Matrix &w, int64_t bn, int64_t bk) {
  int64_t sn = (w.rows + bn - 1) / bn, sk = (w.cols + bk - 1) / bk;
  std::vector<double> amax(sn * sk, 0.0);
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) {
      double &m = amax[(r / bn) * sk + c / bk];
      m = std::max(m, std::abs(w.at(r, c)));
    }
  return amax;
}

/// Appends `value` to `bytes` as an f32.
void appendF32(std::vector<char> &bytes, float value) {
  char raw[sizeof(float)];
  std::memcpy(raw, &value, sizeof(float));
  bytes.insert(bytes.end(), raw, raw + sizeof(float));
}

Quantized quantizeInt(MLIRContext *ctx, const Matrix &w, unsigned bits,
                      int64_t group) {
  Quantized q;
  q.blockRows = 1;
  q.blockCols = group;
  q.codeType = IntegerType::get(ctx, bits);
  q.scaleType = Float32Type::get(ctx);
  int64_t sk = (w.cols + group - 1) / group;
  double qmax = (1 << (bits - 1)) - 1;
  std::vector<double> amax = blockMaxima(w, 1, group);
  std::vector<float> scale(amax.size());
  for (size_t i = 0; i < amax.size(); ++i) {
    scale[i] = amax[i] > 0 ? (float)(amax[i] / qmax) : 1.0f;
    appendF32(q.scales, scale[i]);
  }
  q.codes = allocateConstantBlob(w.values.size());
  char *codes = q.codes.getMutableData().data();
  ErrorSum error;
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) {
      double s = scale[r * sk + c / group];
      double code = std::nearbyint(w.at(r, c) / s);
      code = std::min(std::max(code, -qmax - 1), qmax);
      codes[r * w.cols + c] = (char)(int8_t)code;
      error.add(w.at(r, c), code * s);
    }
  q.relativeError = error.relative();
  return q;
}

/// Values of `codeType` with one `scale` per [bn, bk] block.
Quantized quantizeFloat(const Matrix &w, Type codeType, int64_t bn, int64_t bk,
                        ArrayRef<double> blockScale, double global) {
  Quantized q;
  q.codeType = codeType;
  q.blockRows = bn;
  q.blockCols = bk;
  SmallFloatCodes table(cast<FloatType>(codeType).getFloatSemantics());
  int64_t sk = (w.cols + bk - 1) / bk;
  q.codes = allocateConstantBlob(w.values.size());
  char *codes = q.codes.getMutableData().data();
  ErrorSum error;
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) {
      double s = blockScale[(r / bn) * sk + c / bk] * global;
      uint8_t code = table.code(s > 0 ? w.at(r, c) / s : 0.0);
      codes[r * w.cols + c] = (char)code;
      error.add(w.at(r, c), table.value(code) * s);
    }
  q.relativeError = error.relative();
  return q;
}

/// `fp8BlockRows` is the row extent of an fp8 block (128, or one expert's
/// rows when experts are stacked and 128 does not divide them).
FailureOr<Quantized> quantize(MLIRContext *ctx, StringRef format,
                              const Matrix &w, int64_t fp8BlockRows = 128) {
  if (format == "int8")
    return quantizeInt(ctx, w, 8, w.cols);
  if (format == "int4-g32")
    return quantizeInt(ctx, w, 4, 32);
  if (format == "int4-g128")
    return quantizeInt(ctx, w, 4, 128);
  if (format == "fp8-block") {
    std::vector<double> scale;
    for (double m : blockMaxima(w, fp8BlockRows, 128))
      scale.push_back((double)(float)(m > 0 ? m / 448.0 : 1.0));
    Quantized q = quantizeFloat(w, Float8E4M3FNType::get(ctx), fp8BlockRows,
                                128, scale, 1.0);
    q.scaleType = Float32Type::get(ctx);
    for (double s : scale)
      appendF32(q.scales, (float)s);
    return q;
  }
  if (format == "mxfp4") {
    // Scales are powers of two, held exactly by e8m0.
    std::vector<double> scale;
    for (double m : blockMaxima(w, 1, 32))
      scale.push_back(
          m > 0 ? std::ldexp(1.0, std::max((int)std::floor(std::log2(m)) - 2,
                                           -127))
                : 1.0);
    Quantized q =
        quantizeFloat(w, Float4E2M1FNType::get(ctx), 1, 32, scale, 1.0);
    q.scaleType = Float8E8M0FNUType::get(ctx);
    SmallFloatCodes e8m0(cast<FloatType>(q.scaleType).getFloatSemantics());
    for (double s : scale)
      q.scales.push_back((char)e8m0.code(s));
    return q;
  }
  if (format == "nvfp4") {
    double amaxAll = 0;
    for (double v : w.values)
      amaxAll = std::max(amaxAll, std::abs(v));
    float global = amaxAll > 0 ? (float)(amaxAll / (6.0 * 448.0)) : 1.0f;
    Type e4m3Type = Float8E4M3FNType::get(ctx);
    SmallFloatCodes e4m3(cast<FloatType>(e4m3Type).getFloatSemantics());
    const uint8_t one = e4m3.code(1.0);
    std::vector<double> scale;
    std::vector<char> scaleCodes;
    for (double m : blockMaxima(w, 1, 16)) {
      uint8_t code = e4m3.code(m / 6.0 / global);
      if (e4m3.value(code) == 0) // a zero block: any scale serves
        code = one;
      scaleCodes.push_back((char)code);
      scale.push_back(e4m3.value(code));
    }
    Quantized q =
        quantizeFloat(w, Float4E2M1FNType::get(ctx), 1, 16, scale, global);
    q.scaleType = e4m3Type;
    q.scales = std::move(scaleCodes);
    q.globalScale = global;
    return q;
  }
  return failure();
}

/// The constants of a quantized weight: codes of `codeShape`, scales of
/// `scaleShape`, both named after `name` for the artifact's weight table.
std::pair<Value, Value> createQuantizedConstants(OpBuilder &b, Location loc,
                                                 Quantized &q,
                                                 ArrayRef<int64_t> codeShape,
                                                 ArrayRef<int64_t> scaleShape,
                                                 StringRef name) {
  auto codeType = RankedTensorType::get(codeShape, q.codeType);
  auto scaleType = RankedTensorType::get(scaleShape, q.scaleType);
  Value codes = arith::ConstantOp::create(
      b, loc,
      cast<TypedAttr>(makeConstantAttr(codeType, std::move(q.codes),
                                       (name + "_codes").str())));
  Value scales = arith::ConstantOp::create(
      b, loc,
      cast<TypedAttr>(
          makeConstantAttr(scaleType, q.scales, (name + "_scales").str())));
  return {codes, scales};
}

/// The f32 global scale constant of nvfp4, if `q` has one.
Value createGlobalScale(OpBuilder &b, Location loc, const Quantized &q) {
  if (!q.globalScale)
    return Value();
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                             *q.globalScale));
}

struct QuantizeWeightsPass
    : kiln::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    static const char *formats[] = {"int8",      "int4-g32", "int4-g128",
                                    "fp8-block", "mxfp4",    "nvfp4"};
    if (!llvm::is_contained(formats, StringRef(format))) {
      getOperation()->emitError("unknown quantization format '")
          << format
          << "' (expected int8, int4-g32, int4-g128, fp8-block, mxfp4 or "
             "nvfp4)";
      return signalPassFailure();
    }
    SmallVector<Operation *> candidates;
    getOperation()->walk([&](Operation *op) {
      if (isa<LinearOp, MatmulOp, MoEExpertsOp>(op))
        candidates.push_back(op);
    });
    for (Operation *op : candidates) {
      if (auto experts = dyn_cast<MoEExpertsOp>(op)) {
        for (Value w : {experts.getWGate(), experts.getWUp(),
                        experts.getWDown()})
          if (w && failed(rewriteExpertWeight(experts, w)))
            return signalPassFailure();
        continue;
      }
      if (failed(rewrite(op)))
        return signalPassFailure();
    }
  }

  /// Expert weights [E, N, K] are quantized as one [E * N, K] matrix (so
  /// per-channel and group scales are per expert row), stored quantized,
  /// and dequantized by a kiln.dequantize feeding kiln.moe_experts. fp8
  /// blocks never span two experts.
  LogicalResult rewriteExpertWeight(MoEExpertsOp op, Value weight) {
    auto constant = weight.getDefiningOp<arith::ConstantOp>();
    auto type = dyn_cast<RankedTensorType>(weight.getType());
    if (!constant || !type || type.getRank() != 3 ||
        type.getNumElements() < minElements)
      return success();
    auto values = constantFloats(cast<ElementsAttr>(constant.getValue()));
    if (!values)
      return success();
    int64_t e = type.getDimSize(0), n = type.getDimSize(1),
            k = type.getDimSize(2);
    Matrix m;
    m.rows = e * n;
    m.cols = k;
    m.values = std::move(*values);
    MLIRContext *ctx = op->getContext();
    FailureOr<Quantized> q =
        quantize(ctx, format, m, n % 128 == 0 ? 128 : n);
    if (failed(q))
      return op->emitOpError("cannot quantize expert weights to ") << format;
    OpBuilder b(op);
    // Named after the MoE block and the weight's role, for the report.
    StringRef role = weight == op.getWGate() ? "w_gate"
                     : weight == op.getWUp() ? "w_up"
                                             : "w_down";
    std::string block = "moe_experts";
    if (auto name = dyn_cast<NameLoc>(op.getLoc()))
      block = name.getName().str();
    Location loc = NameLoc::get(b.getStringAttr(block + " " + role),
                                weight.getLoc());
    int64_t rowBlocks = (n + q->blockRows - 1) / q->blockRows,
            colBlocks = (k + q->blockCols - 1) / q->blockCols;
    auto [stored, scale] = createQuantizedConstants(
        b, loc, *q, type.getShape(), {e, rowBlocks, colBlocks},
        block + "_" + role.str());
    Type elt = type.getElementType();
    Type dequantElt = q->globalScale ? b.getF32Type() : elt;
    Value w = DequantizeOp::create(
        b, loc, type.clone(dequantElt), stored, scale, Value(),
        b.getI64IntegerAttr(0), b.getI64IntegerAttr(0),
        b.getDenseI64ArrayAttr({1, q->blockRows, q->blockCols}),
        b.getBoolAttr(false));
    if (Value global = createGlobalScale(b, loc, *q)) {
      w = MulOp::create(b, loc, type.clone(dequantElt), w, global);
      if (dequantElt != elt)
        w = CastOp::create(b, loc, type, w);
    }
    w.getDefiningOp()->setAttr(
        "kiln.quant_error",
        b.getF64FloatAttr(q->relativeError));
    op->replaceUsesOfWith(weight, w);
    if (constant->use_empty())
      constant->erase();
    return success();
  }

  /// The [N, K] float weight of a linear or matmul, if it is a constant.
  std::optional<Matrix> constantWeight(Operation *op) {
    Value weight = isa<LinearOp>(op) ? op->getOperand(1) : op->getOperand(1);
    auto constant = weight.getDefiningOp<arith::ConstantOp>();
    auto type = dyn_cast<RankedTensorType>(weight.getType());
    if (!constant || !type || type.getRank() != 2 ||
        !isa<FloatType>(type.getElementType()))
      return std::nullopt;
    auto values = constantFloats(cast<ElementsAttr>(constant.getValue()));
    if (!values)
      return std::nullopt;
    Matrix m;
    if (isa<LinearOp>(op)) { // already [N, K]
      m.rows = type.getDimSize(0);
      m.cols = type.getDimSize(1);
      m.values = std::move(*values);
      return m;
    }
    // A matmul's right operand is [K, N]: transpose it.
    int64_t k = type.getDimSize(0), n = type.getDimSize(1);
    m.rows = n;
    m.cols = k;
    m.values.resize(n * k);
    transposeElements(reinterpret_cast<const char *>(values->data()), n,
                      reinterpret_cast<char *>(m.values.data()), k, k, n,
                      sizeof(double));
    return m;
  }

  LogicalResult rewrite(Operation *op) {
    // A matmul qualifies only as x[..., K] @ W[K, N] on floats.
    if (auto matmul = dyn_cast<MatmulOp>(op))
      if (matmul.getLhs().getType().getRank() < 2)
        return success();
    // MoE routers stay float: their few columns cost nothing, and a
    // rounding error there changes which experts run.
    if (llvm::any_of(op->getResult(0).getUsers(),
                     [](Operation *u) { return isa<MoERouteOp>(u); }))
      return success();
    // kiln.qlinear needs the input's element type to be the result's.
    Value input = op->getOperand(0);
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    if (resultType.getElementType() !=
        cast<RankedTensorType>(input.getType()).getElementType())
      return success();
    std::optional<Matrix> w = constantWeight(op);
    if (!w || w->rows * w->cols < minElements)
      return success();
    MLIRContext *ctx = op->getContext();
    FailureOr<Quantized> q = quantize(ctx, format, *w);
    if (failed(q))
      return op->emitOpError("cannot quantize to ") << format;

    OpBuilder b(op);
    Location loc = op->getLoc();
    std::string name = "quantized_weight";
    if (auto nameLoc = dyn_cast<NameLoc>(loc))
      name = nameLoc.getName().str();
    auto [weight, scale] = createQuantizedConstants(
        b, loc, *q, {w->rows, w->cols},
        {(w->rows + q->blockRows - 1) / q->blockRows,
         (w->cols + q->blockCols - 1) / q->blockCols},
        name);
    Value global = createGlobalScale(b, loc, *q);
    Value bias = isa<LinearOp>(op) ? cast<LinearOp>(op).getBias() : Value();
    auto qlinear = QLinearOp::create(
        b, loc, resultType, input, weight, scale, Value(), global, bias,
        b.getDenseI64ArrayAttr({q->blockRows, q->blockCols}),
        b.getBoolAttr(false));
    qlinear->setAttr("kiln.quant_error", b.getF64FloatAttr(q->relativeError));
    Operation *floatWeight = op->getOperand(1).getDefiningOp();
    op->getResult(0).replaceAllUsesWith(qlinear.getResult());
    op->erase();
    if (floatWeight->use_empty())
      floatWeight->erase();
    return success();
  }
};

} // namespace
