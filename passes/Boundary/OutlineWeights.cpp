//===- OutlineWeights.cpp - The kiln-outline-weights pass -----------------===//

#include "kiln/passes/Boundary/Passes.h"

#include "EntryBoundary.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace kiln {
#define GEN_PASS_DEF_OUTLINEWEIGHTS
#include "kiln/passes/Boundary/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {
struct OutlineWeightsPass
    : kiln::EntryFunctionPass<OutlineWeightsPass,
                              kiln::impl::OutlineWeightsBase> {
  using EntryFunctionPass::EntryFunctionPass;

  LogicalResult runOnEntry(func::FuncOp entry) {
    SmallVector<arith::ConstantOp> weights;
    entry.walk([&](arith::ConstantOp c) {
      auto value = dyn_cast<ElementsAttr>(c.getValue());
      if (value && isa<RankedTensorType>(c.getType()) &&
          value.getNumElements() > minElements)
        weights.push_back(c);
    });
    MLIRContext *ctx = &getContext();
    for (auto [i, c] : llvm::enumerate(weights)) {
      // Keep the name the importer gave the constant (the initializer's).
      std::string name = "weight" + std::to_string(i);
      if (auto nameLoc = dyn_cast<NameLoc>(c.getLoc()))
        name = nameLoc.getName().str();
      NamedAttrList attrs;
      attrs.set("kiln.weight", c.getValue());
      attrs.set("kiln.name", StringAttr::get(ctx, name));
      // The runtime maps weights read-only: an op that updates a tensor in
      // place (a scatter into a zeros constant) must copy the weight first,
      // which one-shot-bufferize does for arguments marked non-writable.
      attrs.set("bufferization.writable", BoolAttr::get(ctx, false));
      if (failed(entry.insertArgument(i, c.getType(),
                                      attrs.getDictionary(ctx), c.getLoc())))
        return failure();
      c.getResult().replaceAllUsesWith(entry.getArgument(i));
      c.erase();
    }
    return success();
  }
};
} // namespace
