//===- FlattenEmptyTensors.cpp - The kiln-flatten-empty-tensors pass ------===//

#include "kiln/passes/Boundary/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_FLATTENEMPTYTENSORS
#include "kiln/passes/Boundary/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// tensor<0xT> for a zero-element tensor of rank other than 1, else null.
RankedTensorType flatEmpty(Type t) {
  auto tensor = dyn_cast<RankedTensorType>(t);
  if (!tensor || !tensor.hasStaticShape() || tensor.getNumElements() != 0 ||
      tensor.getRank() == 1)
    return nullptr;
  return RankedTensorType::get({0}, tensor.getElementType());
}

struct FlattenEmptyTensorsPass
    : kiln::impl::FlattenEmptyTensorsBase<FlattenEmptyTensorsPass> {
  using Base::Base;

  void runOnOperation() override {
    auto entry = getOperation().lookupSymbol<func::FuncOp>(entryName);
    if (!entry || entry.isExternal())
      return;
    Block &body = entry.front();
    OpBuilder b(&getContext());
    SmallVector<Type> argTypes(entry.getArgumentTypes());
    for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
      RankedTensorType flat = flatEmpty(arg.getType());
      if (!flat)
        continue;
      b.setInsertionPointToStart(&body);
      auto original = cast<RankedTensorType>(arg.getType());
      Value empty = tensor::EmptyOp::create(b, arg.getLoc(), original.getShape(),
                                            original.getElementType());
      arg.replaceAllUsesWith(empty);
      arg.setType(flat);
      argTypes[i] = flat;
    }
    SmallVector<Type> resultTypes(entry.getResultTypes());
    entry.walk([&](func::ReturnOp ret) {
      for (OpOperand &operand : ret->getOpOperands()) {
        RankedTensorType flat = flatEmpty(operand.get().getType());
        if (!flat)
          continue;
        b.setInsertionPoint(ret);
        operand.set(tensor::EmptyOp::create(b, ret.getLoc(), flat.getShape(),
                                            flat.getElementType()));
        resultTypes[operand.getOperandNumber()] = flat;
      }
    });
    entry.setType(b.getFunctionType(argTypes, resultTypes));
  }
};

} // namespace
