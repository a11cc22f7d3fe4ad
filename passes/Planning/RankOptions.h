//===- RankOptions.h - The rank options of the partitioning passes -*- C++
//-*-===//
//
// Every partitioning pass of passes/Planning rewrites the model for one
// rank (`rank`) of `ranks`, both pass options, and checks them the same
// way before it changes anything; in a plan that combines splits, the
// sums it adds run over a group of the ranks (`group`).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_PLANNING_RANKOPTIONS_H
#define KILN_PASSES_PLANNING_RANKOPTIONS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"

namespace kiln {

/// An error on `module`, naming `pass`, unless 0 <= rank < ranks.
inline mlir::LogicalResult checkRankOptions(mlir::Operation *module,
                                            llvm::StringRef pass, int64_t rank,
                                            int64_t ranks) {
  if (ranks >= 1 && rank >= 0 && rank < ranks)
    return mlir::success();
  return module->emitError(pass)
         << ": rank " << rank << " must lie in [0, ranks = " << ranks << ")";
}

/// kiln.all_reduce's `group`, which sums over a group of the ranks only: an
/// index into the module's kiln.collective_groups (the colors of this
/// rank's groups, which the runtime splits the world by at load). Without
/// it, the sum runs over every rank.
constexpr const char *kCollectiveGroupAttr = "group";

/// `op`'s group (kCollectiveGroupAttr), or null for every rank.
inline mlir::IntegerAttr collectiveGroup(mlir::Operation *op) {
  return op->getAttrOfType<mlir::IntegerAttr>(kCollectiveGroupAttr);
}

/// Puts the sum `op` on group `group`; -1 leaves it over every rank.
inline void setCollectiveGroup(mlir::Operation *op, int64_t group) {
  if (group >= 0)
    op->setAttr(kCollectiveGroupAttr,
                mlir::IntegerAttr::get(
                    mlir::IntegerType::get(op->getContext(), 64), group));
}

} // namespace kiln

#endif // KILN_PASSES_PLANNING_RANKOPTIONS_H
