//===- FlattenEmptyTensors.cpp - The kiln-flatten-empty-tensors pass ------===//

#include "kiln/passes/Boundary/Passes.h"

#include "EntryBoundary.h"

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
    kiln::retypeEntryBoundary(
        getOperation(), entryName,
        [](unsigned, BlockArgument arg, OpBuilder &b) -> Type {
          RankedTensorType flat = flatEmpty(arg.getType());
          if (!flat)
            return {};
          auto original = cast<RankedTensorType>(arg.getType());
          Value empty = tensor::EmptyOp::create(
              b, arg.getLoc(), original.getShape(), original.getElementType());
          arg.replaceAllUsesWith(empty);
          arg.setType(flat);
          return flat;
        },
        [](OpOperand &operand, OpBuilder &b) -> Type {
          RankedTensorType flat = flatEmpty(operand.get().getType());
          if (!flat)
            return {};
          operand.set(tensor::EmptyOp::create(b, operand.getOwner()->getLoc(),
                                              flat.getShape(),
                                              flat.getElementType()));
          return flat;
        });
  }
};

} // namespace
