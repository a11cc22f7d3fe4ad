//===- OnnxQuantOps.cpp - Quantization operators --------------------------===//
//
// DequantizeLinear and QuantizeLinear map to kiln.dequantize/quantize for
// every storage type (int2 to int32, fp8, fp4). DynamicQuantizeLinear,
// MatMulInteger and QLinearMatMul are compositions: integer products are
// exact in i32, and requantization is one kiln.quantize.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

Value kiln::onnx_import::centeredInteger(NodeContext &nc, Value v,
                                         int onnxType, Value zp,
                                         bool perRow) {
  auto i32 = nc.b.getI32Type();
  bool isUnsigned = isUnsignedOnnxType(onnxType);
  auto widen = [&](Value t) -> Value {
    return nc.b.createOrFold<CastOp>(nc.loc, nc.typeOf(t).clone(i32), t,
                                     isUnsigned);
  };
  Value wide = widen(v);
  if (!zp)
    return wide;
  RankedTensorType zt = nc.typeOf(zp);
  if (perRow && zt.getRank() == 1 && zt.getDimSize(0) > 1)
    zp = nc.reshape(zp, {zt.getDimSize(0), 1});
  return nc.binary<SubOp>(wide, widen(zp));
}

namespace {

/// The axis and block size of a (de)quantize node, normalized.
/// The axis only matters for per-axis and blocked scales.
FailureOr<std::pair<int64_t, int64_t>> granularity(NodeContext &nc,
                                                   int64_t rank) {
  int64_t block = nc.getInt("block_size", 0);
  if (block < 0) {
    (void)nc.unsupported("block_size", Twine(block));
    return failure();
  }
  int64_t axis = nc.getInt("axis", 1);
  if (rank == 0 || (block == 0 && nc.inputType(1).getNumElements() == 1))
    return std::make_pair<int64_t, int64_t>(0, std::move(block));
  FailureOr<int64_t> a = nc.normalizeAxis(axis, rank);
  if (failed(a))
    return failure();
  return std::make_pair(*a, block);
}

/// A one-element zero point takes the shape of a one-element scale ([1]
/// against a scalar, as ONNX allows).
Value zeroPointLike(NodeContext &nc, Value zp, Value scale) {
  if (!zp)
    return zp;
  RankedTensorType st = nc.typeOf(scale), zt = nc.typeOf(zp);
  if (st.getNumElements() == 1 && zt.getNumElements() == 1)
    return nc.reshape(zp, st.getShape());
  return zp;
}

/// Integers of 2 to 32 bits, fp8 (e4m3fn, e5m2 and their fnuz forms), fp4.
bool isQuantStorageType(Type t) {
  if (auto i = dyn_cast<IntegerType>(t))
    return i.getWidth() >= 2 && i.getWidth() <= 32;
  return isa<Float8E4M3FNType, Float8E5M2Type, Float8E4M3FNUZType,
             Float8E5M2FNUZType, Float4E2M1FNType>(t);
}

constexpr const char *kStorageTypes =
    "int2/uint2, int4/uint4, int8/uint8, int16/uint16, int32, float8e4m3fn, "
    "float8e4m3fnuz, float8e5m2, float8e5m2fnuz, float4e2m1";

/// Kiln computes (de)quantization in f32; ONNX's `precision` may only ask
/// for that (or leave it to the scale, which Kiln widens to f32 anyway).
LogicalResult checkPrecision(NodeContext &nc) {
  int precision = nc.getInt("precision", 0);
  if (precision != 0 && precision != onnx::TensorProto::FLOAT)
    return nc.unsupported("precision", onnxTypeName(precision));
  return success();
}

/// What DequantizeLinear and QuantizeLinear both read: x, its scale (named
/// `scaleName` when missing), the zero point (see zeroPointLike) and the
/// granularity (axis, block size). `checkInput` vets x's type before the
/// precision and the granularity are read.
struct QuantOperands {
  Value x, scale, zp;
  RankedTensorType xt;
  std::pair<int64_t, int64_t> granularity;
};

FailureOr<QuantOperands>
quantOperands(NodeContext &nc, StringRef scaleName,
              function_ref<LogicalResult(RankedTensorType)> checkInput) {
  Value x = nc.input(0), scale = nc.input(1), zp = nc.input(2);
  if (!x || !scale)
    return nc.error("expects x and " + scaleName);
  zp = zeroPointLike(nc, zp, scale);
  RankedTensorType xt = nc.typeOf(x);
  if (failed(checkInput(xt)) || failed(checkPrecision(nc)))
    return failure();
  auto g = granularity(nc, xt.getRank());
  if (failed(g))
    return failure();
  return QuantOperands{x, scale, zp, xt, *g};
}

LogicalResult dequantizeLinearOp(NodeContext &nc) {
  auto operands =
      quantOperands(nc, "x_scale", [&](RankedTensorType xt) -> LogicalResult {
        if (isQuantStorageType(xt.getElementType()))
          return success();
        return nc.error("cannot dequantize " + onnxTypeName(nc.onnxTypeOf(0)) +
                        " (supported: " + kStorageTypes + ")");
      });
  if (failed(operands))
    return failure();
  auto [x, scale, zp, xt, g] = *operands;
  Type out = nc.typeOf(scale).getElementType();
  if (int dtype = nc.getInt("output_dtype", 0)) {
    out = elementTypeFor(nc.b.getContext(), dtype);
    if (!out || !isa<FloatType>(out))
      return nc.unsupported("output_dtype", onnxTypeName(dtype));
  }
  // An e8m0 scale is only a scale: the values come out as f32.
  if (isa<Float8E8M0FNUType>(out))
    out = nc.b.getF32Type();
  bool isUnsigned = isUnsignedOnnxType(nc.onnxTypeOf(0));
  return nc.setResult(DequantizeOp::create(
      nc.b, nc.loc, xt.clone(out), x, scale, zp,
      nc.b.getI64IntegerAttr(g.first), nc.b.getI64IntegerAttr(g.second),
      DenseI64ArrayAttr(), nc.b.getBoolAttr(isUnsigned)));
}

LogicalResult quantizeLinearOp(NodeContext &nc) {
  auto operands =
      quantOperands(nc, "y_scale", [&](RankedTensorType xt) -> LogicalResult {
        if (isa<FloatType>(xt.getElementType()))
          return success();
        return nc.error("expects a floating-point input");
      });
  if (failed(operands))
    return failure();
  auto [x, scale, zp, xt, g] = *operands;
  // The output type: the zero point's, else output_dtype, else uint8.
  int dtype = zp ? nc.onnxTypeOf(2) : nc.getInt("output_dtype", 0);
  if (!dtype)
    dtype = zp ? 0 : onnx::TensorProto::UINT8;
  Type out = zp ? nc.typeOf(zp).getElementType()
                : elementTypeFor(nc.b.getContext(), dtype);
  if (!out || !isQuantStorageType(out))
    return nc.error("quantizing to " +
                    (dtype ? onnxTypeName(dtype) : std::string("this type")) +
                    " is not supported (supported: " + kStorageTypes + ")");
  if (isa<FloatType>(out) && nc.getInt("saturate", 1) == 0)
    return nc.unsupported("saturate", "0", "1");
  nc.setOutput(0, QuantizeOp::create(
                      nc.b, nc.loc, xt.clone(out), x, scale, zp,
                      nc.b.getI64IntegerAttr(g.first),
                      nc.b.getI64IntegerAttr(g.second), DenseI64ArrayAttr(),
                      nc.b.getBoolAttr(isUnsignedOnnxType(dtype))));
  if (dtype)
    nc.setOutputOnnxType(0, dtype);
  return success();
}

/// A rank-0 f32 constant.
Value f32Scalar(NodeContext &nc, float value) {
  auto type = RankedTensorType::get({}, nc.b.getF32Type());
  return nc.constant(DenseElementsAttr::get(type, value));
}

/// y = saturate(round(x / scale) + zero_point) to uint8, with the scale and
/// zero point chosen so that [min(x, 0), max(x, 0)] spans [0, 255].
LogicalResult dynamicQuantizeLinearOp(NodeContext &nc) {
  Value x = nc.input(0);
  if (!x)
    return nc.error("expects x");
  RankedTensorType xt = nc.typeOf(x);
  if (!xt.getElementType().isF32())
    return nc.error("expects a float input");
  SmallVector<int64_t> all =
      llvm::to_vector(llvm::seq<int64_t>(0, xt.getRank()));
  auto scalarF32 = RankedTensorType::get({}, nc.b.getF32Type());
  auto scalarU8 = RankedTensorType::get({}, nc.b.getI8Type());
  auto reduce = [&](auto opTag) -> Value {
    using OpTy = decltype(opTag);
    return OpTy::create(nc.b, nc.loc, scalarF32, x,
                        nc.b.getDenseI64ArrayAttr(all),
                        nc.b.getBoolAttr(false));
  };
  Value zero = f32Scalar(nc, 0.0f);
  Value lo =
      MinOp::create(nc.b, nc.loc, scalarF32, reduce(ReduceMinOp()), zero);
  Value hi =
      MaxOp::create(nc.b, nc.loc, scalarF32, reduce(ReduceMaxOp()), zero);
  Value range = SubOp::create(nc.b, nc.loc, scalarF32, hi, lo);
  Value scale =
      DivOp::create(nc.b, nc.loc, scalarF32, range, f32Scalar(nc, 255.0f));
  auto quantize = [&](RankedTensorType type, Value v, Value zp) -> Value {
    return QuantizeOp::create(
        nc.b, nc.loc, type, v, scale, zp, nc.b.getI64IntegerAttr(0),
        nc.b.getI64IntegerAttr(0), DenseI64ArrayAttr(), nc.b.getBoolAttr(true));
  };
  Value zp =
      quantize(scalarU8, NegOp::create(nc.b, nc.loc, scalarF32, lo), Value());
  nc.setOutputOnnxType(0, onnx::TensorProto::UINT8);
  nc.setOutputOnnxType(2, onnx::TensorProto::UINT8);
  return nc.setResults(
      {quantize(xt.clone(nc.b.getI8Type()), x, zp), scale, zp});
}

bool isByteInteger(NodeContext &nc, size_t i) {
  int t = nc.onnxTypeOf(i);
  return t == onnx::TensorProto::INT8 || t == onnx::TensorProto::UINT8;
}

/// The exact integer product (A - a_zp) @ (B - b_zp) in i32.
Value integerMatmul(NodeContext &nc, size_t a, size_t aZp, size_t b,
                    size_t bZp) {
  Value lhs = centeredInteger(nc, nc.input(a), nc.onnxTypeOf(a),
                              nc.input(aZp), /*perRow=*/true);
  Value rhs = centeredInteger(nc, nc.input(b), nc.onnxTypeOf(b),
                              nc.input(bZp), /*perRow=*/false);
  if (!lhs || !rhs)
    return {};
  return numpyMatmul(nc, lhs, rhs);
}

LogicalResult matMulIntegerOp(NodeContext &nc) {
  if (!nc.input(0) || !nc.input(1))
    return nc.error("expects A and B");
  if (!isByteInteger(nc, 0) || !isByteInteger(nc, 1))
    return nc.error("A and B must be int8 or uint8");
  Value y = integerMatmul(nc, 0, 2, 1, 3);
  return nc.setResult(y);
}

/// y = saturate(round((A - a_zp) @ (B - b_zp) * a_scale * b_scale / y_scale)
///              + y_zp), the multiplier computed in the scales' type.
LogicalResult qlinearMatMulOp(NodeContext &nc) {
  for (size_t i = 0; i < 8; ++i)
    if (!nc.input(i) && i != 7)
      return nc.error("expects a, a_scale, a_zero_point, b, b_scale, "
                      "b_zero_point, y_scale (and y_zero_point)");
  if (!isByteInteger(nc, 0) || !isByteInteger(nc, 3))
    return nc.error("a and b must be int8 or uint8");
  Value product = integerMatmul(nc, 0, 2, 3, 5);
  if (!product)
    return failure();
  // A per-row a_scale ([M]) scales rows: [M, 1] against the [..., M, N]
  // product. b_scale is per tensor or per column ([N]).
  Value aScale = nc.input(1);
  RankedTensorType ast = nc.typeOf(aScale);
  if (ast.getRank() == 1 && ast.getDimSize(0) > 1)
    aScale = nc.reshape(aScale, {ast.getDimSize(0), 1});
  Value scales = nc.binary<MulOp>(aScale, nc.input(4));
  if (!scales)
    return failure();
  Value multiplier = nc.binary<DivOp>(scales, nc.input(6));
  if (!multiplier)
    return failure();
  auto f32 = nc.b.getF32Type();
  Value scaled =
      nc.binary<MulOp>(nc.cast(product, f32), nc.cast(multiplier, f32));
  if (!scaled)
    return failure();
  return setQLinearOutput(nc, scaled);
}

} // namespace

LogicalResult kiln::onnx_import::setQLinearOutput(NodeContext &nc,
                                                  Value scaled) {
  Value yZp = nc.input(7);
  int yType = yZp ? nc.onnxTypeOf(7) : onnx::TensorProto::UINT8;
  if (yZp && nc.typeOf(yZp).getNumElements() != 1)
    return nc.error("y_zero_point must hold one element");
  if (yZp)
    yZp = nc.reshape(yZp, {});
  RankedTensorType st = nc.typeOf(scaled);
  nc.setOutput(
      0, QuantizeOp::create(nc.b, nc.loc, st.clone(nc.b.getI8Type()), scaled,
                            f32Scalar(nc, 1.0f), yZp, nc.b.getI64IntegerAttr(0),
                            nc.b.getI64IntegerAttr(0), DenseI64ArrayAttr(),
                            nc.b.getBoolAttr(isUnsignedOnnxType(yType))));
  nc.setOutputOnnxType(0, yType);
  return success();
}

void kiln::onnx_import::registerQuantHandlers(HandlerTable &t) {
#define ONNX_QUANT_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
