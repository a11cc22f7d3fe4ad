//===- ControlFlowRegions.cpp - What Loop and If share -------------------===//
//
// Helpers of the handlers that import subgraphs into scf regions
// (OnnxLoopOp.cpp, OnnxIfOp.cpp); ControlFlowRegions.h says what each does.
//
//===----------------------------------------------------------------------===//

#include "ControlFlowRegions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

Value kiln::onnx_import::extractScalar(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (!type.hasStaticShape() || type.getNumElements() != 1)
    return nullptr;
  SmallVector<Value> zeros(type.getRank(),
                           arith::ConstantIndexOp::create(b, loc, 0));
  return b.createOrFold<tensor::ExtractOp>(loc, v, zeros);
}

Value kiln::onnx_import::refineToDeclared(OpBuilder &b, Location loc, Value v,
                                          const onnx::ValueInfoProto &out) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.hasStaticShape() || !out.type().has_tensor_type() ||
      !out.type().tensor_type().has_shape())
    return v;
  SmallVector<int64_t> shape;
  for (const auto &dim : out.type().tensor_type().shape().dim()) {
    if (!dim.has_dim_value())
      return v;
    shape.push_back(dim.dim_value());
  }
  RankedTensorType declared = type.clone(shape);
  if (!tensor::CastOp::areCastCompatible(type, declared))
    return v;
  return tensor::CastOp::create(b, loc, declared, v);
}

RankedTensorType kiln::onnx_import::joinTypes(RankedTensorType initial,
                                              RankedTensorType next) {
  if (initial.getRank() != next.getRank() ||
      initial.getElementType() != next.getElementType())
    return nullptr;
  SmallVector<int64_t> shape(initial.getShape());
  for (auto [d, size] : llvm::enumerate(next.getShape()))
    if (size != shape[d])
      shape[d] = ShapedType::kDynamic;
  return initial.clone(shape);
}
