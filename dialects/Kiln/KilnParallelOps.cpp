//===- KilnParallelOps.cpp - Verifiers of the collectives -----------------===//

#include "kiln/dialects/Kiln/KilnOps.h"

using namespace mlir;
using namespace kiln;

LogicalResult AllReduceOp::verify() {
  if (getRanks() < 2)
    return emitOpError("ranks = ") << getRanks() << " must be at least 2";
  return success();
}
