//===- RankOptions.h - The rank options of the partitioning passes -*- C++ -*-===//
//
// Every partitioning pass of passes/Planning rewrites the model for one
// rank (`rank`) of `ranks`, both pass options, and checks them the same
// way before it changes anything.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_PLANNING_RANKOPTIONS_H
#define KILN_PASSES_PLANNING_RANKOPTIONS_H

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

} // namespace kiln

#endif // KILN_PASSES_PLANNING_RANKOPTIONS_H
