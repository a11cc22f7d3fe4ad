//===- OnnxQuantOps.cpp - DequantizeLinear and QuantizeLinear -------------===//

#include "NodeContext.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

bool isUnsignedOnnx(int type) {
  return type == onnx::TensorProto::UINT8 ||
         type == onnx::TensorProto::UINT16 ||
         type == onnx::TensorProto::UINT32 || type == onnx::TensorProto::UINT64;
}

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

LogicalResult dequantizeLinearOp(NodeContext &nc) {
  Value x = nc.input(0), scale = nc.input(1), zp = nc.input(2);
  if (!x || !scale)
    return nc.error("expects x and x_scale");
  RankedTensorType xt = nc.typeOf(x);
  if (!isa<IntegerType>(xt.getElementType()))
    return nc.error("only integer inputs are supported (int8, uint8, int16, "
                    "uint16, int32)");
  auto g = granularity(nc, xt.getRank());
  if (failed(g))
    return failure();
  Type out = nc.typeOf(scale).getElementType();
  if (int dtype = nc.getInt("output_dtype", 0)) {
    out = elementTypeFor(nc.b.getContext(), dtype);
    if (!out || !isa<FloatType>(out))
      return nc.unsupported("output_dtype", onnxTypeName(dtype));
  }
  nc.setOutput(0, DequantizeOp::create(
                      nc.b, nc.loc, xt.clone(out), x, scale, zp,
                      nc.b.getI64IntegerAttr(g->first),
                      nc.b.getI64IntegerAttr(g->second),
                      nc.b.getBoolAttr(isUnsignedOnnx(nc.onnxTypeOf(0)))));
  return success();
}

LogicalResult quantizeLinearOp(NodeContext &nc) {
  Value x = nc.input(0), scale = nc.input(1), zp = nc.input(2);
  if (!x || !scale)
    return nc.error("expects x and y_scale");
  RankedTensorType xt = nc.typeOf(x);
  if (!isa<FloatType>(xt.getElementType()))
    return nc.error("expects a floating-point input");
  auto g = granularity(nc, xt.getRank());
  if (failed(g))
    return failure();
  // The output type: the zero point's, else output_dtype, else uint8.
  int dtype = zp ? nc.onnxTypeOf(2) : nc.getInt("output_dtype", 0);
  if (!dtype)
    dtype = zp ? 0 : onnx::TensorProto::UINT8;
  Type out = zp ? nc.typeOf(zp).getElementType()
                : elementTypeFor(nc.b.getContext(), dtype);
  if (!out || !isa<IntegerType>(out) || out.isInteger(1) ||
      out.getIntOrFloatBitWidth() > 32)
    return nc.error("quantizing to " +
                    (dtype ? onnxTypeName(dtype) : std::string("this type")) +
                    " is not supported (int8, uint8, int16, uint16, int32)");
  nc.setOutput(0, QuantizeOp::create(nc.b, nc.loc, xt.clone(out), x, scale, zp,
                                     nc.b.getI64IntegerAttr(g->first),
                                     nc.b.getI64IntegerAttr(g->second),
                                     nc.b.getBoolAttr(isUnsignedOnnx(dtype))));
  if (dtype)
    nc.setOutputOnnxType(0, dtype);
  return success();
}

} // namespace

void kiln::onnx_import::registerQuantHandlers(HandlerTable &t) {
  t["DequantizeLinear"] = dequantizeLinearOp;
  t["QuantizeLinear"] = quantizeLinearOp;
}
