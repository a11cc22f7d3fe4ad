//===- DeclaredTypes.cpp - The static types a graph declares --------------===//

#include "DeclaredTypes.h"

#include "NodeContext.h"

#include "onnx/onnx_pb.h"

using namespace mlir;
using namespace kiln::onnx_import;

namespace {
/// The function attribute holding the declared types during the import
/// (a dictionary from value name to type); removed after it.
constexpr llvm::StringLiteral kDeclaredTypesAttr = "kiln.onnx_declared_types";
} // namespace

/// The complete static type `info` states, else null.
static RankedTensorType staticTypeOf(MLIRContext *ctx,
                                     const onnx::ValueInfoProto &info) {
  if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape())
    return nullptr;
  const onnx::TypeProto::Tensor &tensor = info.type().tensor_type();
  Type elt = elementTypeFor(ctx, tensor.elem_type());
  if (!elt)
    return nullptr;
  SmallVector<int64_t> shape;
  for (const onnx::TensorShapeProto::Dimension &d : tensor.shape().dim()) {
    // A symbolic size is not static.
    if (!d.has_dim_value() || d.dim_value() < 0)
      return nullptr;
    shape.push_back(d.dim_value());
  }
  return RankedTensorType::get(shape, elt);
}

RankedTensorType kiln::onnx_import::declaredStaticType(
    MLIRContext *ctx, const onnx::GraphProto &graph, StringRef name) {
  // The last statement wins: a graph output's over a value_info's.
  const onnx::ValueInfoProto *declared = nullptr;
  for (const auto *infos : {&graph.value_info(), &graph.output()})
    for (const onnx::ValueInfoProto &info : *infos)
      if (info.name() == name)
        declared = &info;
  return declared ? staticTypeOf(ctx, *declared) : nullptr;
}

void kiln::onnx_import::recordDeclaredTypes(func::FuncOp func,
                                            const onnx::GraphProto &graph) {
  MLIRContext *ctx = func.getContext();
  llvm::StringMap<const onnx::ValueInfoProto *> last;
  for (const auto *infos : {&graph.value_info(), &graph.output()})
    for (const onnx::ValueInfoProto &info : *infos)
      last[info.name()] = &info;
  SmallVector<NamedAttribute> types;
  for (const auto &[name, info] : last)
    if (RankedTensorType t = staticTypeOf(ctx, *info))
      types.emplace_back(StringAttr::get(ctx, name), TypeAttr::get(t));
  func->setAttr(kDeclaredTypesAttr, DictionaryAttr::get(ctx, types));
}

void kiln::onnx_import::forgetDeclaredTypes(func::FuncOp func) {
  func->removeAttr(kDeclaredTypesAttr);
}

RankedTensorType kiln::onnx_import::declaredOutputType(const NodeContext &nc,
                                                       size_t i) {
  if (!nc.hasOutput(i))
    return nullptr;
  Block *block = nc.b.getInsertionBlock();
  Operation *parent = block ? block->getParentOp() : nullptr;
  auto func = dyn_cast_or_null<func::FuncOp>(parent);
  if (!func && parent)
    func = parent->getParentOfType<func::FuncOp>();
  auto types =
      func ? func->getAttrOfType<DictionaryAttr>(kDeclaredTypesAttr) : nullptr;
  auto type = types ? types.getAs<TypeAttr>(nc.node.output(i)) : nullptr;
  return type ? dyn_cast<RankedTensorType>(type.getValue()) : nullptr;
}
