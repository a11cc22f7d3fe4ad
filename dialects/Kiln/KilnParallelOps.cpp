//===- KilnParallelOps.cpp - Verifiers of the collectives -----------------===//
//
// kiln.all_reduce (KilnParallelOps.td), and kiln.send / kiln.recv
// (KilnPipelineOps.td, whose generated definitions are here).
//
//===----------------------------------------------------------------------===//

#include "kiln/dialects/Kiln/KilnPipelineOps.h"

using namespace mlir;
using namespace kiln;

#define GET_OP_CLASSES
#include "kiln/dialects/Kiln/KilnPipelineOps.cpp.inc"

LogicalResult AllReduceOp::verify() {
  if (getRanks() < 2)
    return emitOpError("ranks = ") << getRanks() << " must be at least 2";
  // The sum over one group of the module's kiln.collective_groups
  // (passes/Planning/RankOptions.h) rather than every rank.
  if (std::optional<int64_t> group = getGroup(); group && *group < 0)
    return emitOpError("group ")
           << *group
           << " must be an index of the module's kiln.collective_groups "
              "(0 or more)";
  return success();
}

/// `peer` lies in [0, ranks), ranks >= 2, and `type` is static.
static LogicalResult verifyPointToPoint(Operation *op, int64_t peer,
                                        int64_t ranks, ShapedType type) {
  if (ranks < 2)
    return op->emitOpError("ranks = ") << ranks << " must be at least 2";
  if (peer < 0 || peer >= ranks)
    return op->emitOpError("peer ")
           << peer << " must lie in [0, ranks = " << ranks << ")";
  if (!type.hasStaticShape())
    return op->emitOpError("needs a static shape (the receiver sizes its "
                           "buffer from the type), found ")
           << type;
  return success();
}

LogicalResult SendOp::verify() {
  return verifyPointToPoint(*this, getPeer(), getRanks(),
                            cast<ShapedType>(getInput().getType()));
}

LogicalResult RecvOp::verify() {
  return verifyPointToPoint(*this, getPeer(), getRanks(),
                            cast<ShapedType>(getResult().getType()));
}
