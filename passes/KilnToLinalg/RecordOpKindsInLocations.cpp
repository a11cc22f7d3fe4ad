//===- RecordOpKindsInLocations.cpp - kiln-record-op-kinds-in-locations ---===//

#include "kiln/passes/KilnToLinalg/Passes.h"

#include "kiln/dialects/Kiln/KilnDialect.h"
#include "kiln/dialects/Kiln/Provenance.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace kiln {
#define GEN_PASS_DEF_RECORDOPKINDSINLOCATIONS
#include "kiln/passes/KilnToLinalg/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct RecordOpKindsInLocationsPass
    : kiln::impl::RecordOpKindsInLocationsBase<RecordOpKindsInLocationsPass> {
  void runOnOperation() override {
    getOperation().walk([](Operation *op) {
      // Weights keep their plain names: kiln-outline-weights names the
      // artifact's weights after them.
      if (!isa<kiln::KilnDialect>(op->getDialect()) ||
          op->hasTrait<OpTrait::ConstantLike>())
        return;
      op->setLoc(kiln::tagWithOpKind(op->getLoc(), op->getName().getStringRef()));
    });
  }
};

} // namespace
