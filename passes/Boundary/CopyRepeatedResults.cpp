//===- CopyRepeatedResults.cpp - The kiln-copy-repeated-results pass ------===//

#include "kiln/passes/Boundary/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseSet.h"

namespace kiln {
#define GEN_PASS_DEF_COPYREPEATEDRESULTS
#include "kiln/passes/Boundary/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct CopyRepeatedResultsPass
    : kiln::impl::CopyRepeatedResultsBase<CopyRepeatedResultsPass> {
  using Base::Base;

  void runOnOperation() override {
    auto entry = getOperation().lookupSymbol<func::FuncOp>(entryName);
    if (!entry || entry.isExternal())
      return;
    entry.walk([](func::ReturnOp ret) {
      llvm::DenseSet<Value> seen;
      OpBuilder b(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Value v = operand.get();
        if (seen.insert(v).second || !isa<RankedTensorType>(v.getType()))
          continue;
        Location loc = ret.getLoc();
        Value empty = tensor::EmptyOp::create(
            b, loc, tensor::getMixedSizes(b, loc, v),
            cast<RankedTensorType>(v.getType()).getElementType());
        operand.set(linalg::CopyOp::create(b, loc, v, empty).getResult(0));
      }
    });
  }
};

} // namespace
