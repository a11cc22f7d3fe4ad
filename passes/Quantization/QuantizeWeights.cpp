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

/// The nearest value of `semantics` to `x` (ties to even), saturating.
APFloat roundTo(const llvm::fltSemantics &semantics, double x, double maxFinite) {
  x = std::min(std::max(x, -maxFinite), maxFinite);
  APFloat v(x);
  bool lost;
  v.convert(semantics, APFloat::rmNearestTiesToEven, &lost);
  return v;
}


/// One quantized weight: codes [N, K], scales [ceil(N/bn), ceil(K/bk)].
struct Quantized {
  Type codeType, scaleType;
  std::vector<APInt> intCodes;
  std::vector<APFloat> floatCodes;
  std::vector<APFloat> scales;
  std::optional<float> globalScale;
  int64_t blockRows, blockCols;
  std::vector<double> dequantized;
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
    q.scales.push_back(APFloat(scale[i]));
  }
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) {
      double s = scale[r * sk + c / group];
      double code = std::nearbyint(w.at(r, c) / s);
      code = std::min(std::max(code, -qmax - 1), qmax);
      q.intCodes.push_back(APInt(bits, (int64_t)code, /*isSigned=*/true));
      q.dequantized.push_back(code * s);
    }
  return q;
}

/// Values of `valueSemantics` with one `scale` per [bn, bk] block.
Quantized quantizeFloat(const Matrix &w, Type codeType, double maxCode,
                        int64_t bn, int64_t bk, ArrayRef<double> blockScale,
                        double global) {
  Quantized q;
  q.codeType = codeType;
  q.blockRows = bn;
  q.blockCols = bk;
  const llvm::fltSemantics &sem = cast<FloatType>(codeType).getFloatSemantics();
  int64_t sk = (w.cols + bk - 1) / bk;
  for (int64_t r = 0; r < w.rows; ++r)
    for (int64_t c = 0; c < w.cols; ++c) {
      double s = blockScale[(r / bn) * sk + c / bk] * global;
      APFloat code = roundTo(sem, s > 0 ? w.at(r, c) / s : 0.0, maxCode);
      q.dequantized.push_back(asDouble(code) * s);
      q.floatCodes.push_back(code);
    }
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
  Type f32 = Float32Type::get(ctx);
  if (format == "fp8-block") {
    std::vector<double> scale;
    Quantized q;
    for (double m : blockMaxima(w, fp8BlockRows, 128))
      scale.push_back((double)(float)(m > 0 ? m / 448.0 : 1.0));
    q = quantizeFloat(w, Float8E4M3FNType::get(ctx), 448.0, fp8BlockRows, 128,
                      scale, 1.0);
    q.scaleType = f32;
    for (double s : scale)
      q.scales.push_back(APFloat((float)s));
    return q;
  }
  if (format == "mxfp4") {
    std::vector<double> scale;
    for (double m : blockMaxima(w, 1, 32))
      scale.push_back(m > 0 ? std::ldexp(1.0, std::max(
                                                  (int)std::floor(std::log2(m)) - 2,
                                                  -127))
                            : 1.0);
    Quantized q = quantizeFloat(w, Float4E2M1FNType::get(ctx), 6.0, 1, 32,
                                scale, 1.0);
    q.scaleType = Float8E8M0FNUType::get(ctx);
    for (double s : scale)
      q.scales.push_back(
          roundTo(cast<FloatType>(q.scaleType).getFloatSemantics(), s, 0x1p127));
    return q;
  }
  if (format == "nvfp4") {
    double amaxAll = 0;
    for (double v : w.values)
      amaxAll = std::max(amaxAll, std::abs(v));
    float global = amaxAll > 0 ? (float)(amaxAll / (6.0 * 448.0)) : 1.0f;
    const llvm::fltSemantics &e4m3 = APFloat::Float8E4M3FN();
    std::vector<double> scale;
    std::vector<APFloat> scaleCodes;
    for (double m : blockMaxima(w, 1, 16)) {
      APFloat s = roundTo(e4m3, m / 6.0 / global, 448.0);
      if (s.isZero())
        s = APFloat(e4m3, "1.0");
      scaleCodes.push_back(s);
      scale.push_back(asDouble(s));
    }
    Quantized q = quantizeFloat(w, Float4E2M1FNType::get(ctx), 6.0, 1, 16,
                                scale, global);
    q.scaleType = Float8E4M3FNType::get(ctx);
    q.scales = scaleCodes;
    q.globalScale = global;
    return q;
  }
  return failure();
}

/// ||a - b|| / ||a||.
double relativeError(ArrayRef<double> a, ArrayRef<double> b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += a[i] * a[i];
  }
  return den > 0 ? std::sqrt(num / den) : 0.0;
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
    DenseElementsAttr codes =
        q->intCodes.empty()
            ? DenseElementsAttr::get(type.clone(q->codeType), q->floatCodes)
            : DenseElementsAttr::get(type.clone(q->codeType), q->intCodes);
    int64_t rowBlocks = (n + q->blockRows - 1) / q->blockRows,
            colBlocks = (k + q->blockCols - 1) / q->blockCols;
    auto scaleType =
        RankedTensorType::get({e, rowBlocks, colBlocks}, q->scaleType);
    Value stored = arith::ConstantOp::create(b, loc, codes);
    Value scale = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(scaleType, q->scales));
    Type elt = type.getElementType();
    Type dequantElt = q->globalScale ? b.getF32Type() : elt;
    Value w = DequantizeOp::create(
        b, loc, type.clone(dequantElt), stored, scale, Value(),
        b.getI64IntegerAttr(0), b.getI64IntegerAttr(0),
        b.getDenseI64ArrayAttr({1, q->blockRows, q->blockCols}),
        b.getBoolAttr(false));
    if (q->globalScale) {
      Value global = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                 *q->globalScale));
      w = MulOp::create(b, loc, type.clone(dequantElt), w, global);
      if (dequantElt != elt)
        w = CastOp::create(b, loc, type, w);
    }
    w.getDefiningOp()->setAttr(
        "kiln.quant_error",
        b.getF64FloatAttr(relativeError(m.values, q->dequantized)));
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
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j)
        m.values[j * k + i] = (*values)[i * n + j];
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
    std::optional<Matrix> w = constantWeight(op);
    if (!w || w->rows * w->cols < minElements)
      return success();
    MLIRContext *ctx = op->getContext();
    FailureOr<Quantized> q = quantize(ctx, format, *w);
    if (failed(q))
      return op->emitOpError("cannot quantize to ") << format;

    OpBuilder b(op);
    Location loc = op->getLoc();
    auto weightType = RankedTensorType::get({w->rows, w->cols}, q->codeType);
    DenseElementsAttr codes =
        q->intCodes.empty() ? DenseElementsAttr::get(weightType, q->floatCodes)
                            : DenseElementsAttr::get(weightType, q->intCodes);
    auto scaleType = RankedTensorType::get(
        {(w->rows + q->blockRows - 1) / q->blockRows,
         (w->cols + q->blockCols - 1) / q->blockCols},
        q->scaleType);
    Value weight = arith::ConstantOp::create(b, loc, codes);
    Value scale = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(scaleType, q->scales));
    Value global;
    if (q->globalScale)
      global = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                 *q->globalScale));
    Value input = op->getOperand(0);
    Value bias = isa<LinearOp>(op) ? cast<LinearOp>(op).getBias() : Value();
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    // A matmul with broadcast batch dimensions of its lhs keeps its shape;
    // kiln.qlinear needs the input's element type to be the result's.
    if (resultType.getElementType() !=
        cast<RankedTensorType>(input.getType()).getElementType())
      return success();
    auto qlinear = QLinearOp::create(
        b, loc, resultType, input, weight, scale, Value(), global, bias,
        b.getDenseI64ArrayAttr({q->blockRows, q->blockCols}),
        b.getBoolAttr(false));
    double error = relativeError(w->values, q->dequantized);
    qlinear->setAttr("kiln.quant_error", b.getF64FloatAttr(error));
    Operation *floatWeight = op->getOperand(1).getDefiningOp();
    op->getResult(0).replaceAllUsesWith(qlinear.getResult());
    op->erase();
    if (floatWeight->use_empty())
      floatWeight->erase();
    return success();
  }
};

} // namespace
