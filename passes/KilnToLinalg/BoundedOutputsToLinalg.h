//===- BoundedOutputsToLinalg.h - Data-dependent sizes ---------*- C++ -*-===//
//
// Private to passes/KilnToLinalg: the pattern set of the ops of
// KilnBoundedOps.td, apart from KilnToLinalg.h so that only the pass that
// adds them depends on these ops.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_KILNTOLINALG_BOUNDEDOUTPUTSTOLINALG_H
#define KILN_PASSES_KILNTOLINALG_BOUNDEDOUTPUTSTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace kiln {

/// kiln.nonzero, kiln.unique and kiln.non_max_suppression to scf.for nests.
void populateBoundedOutputLoweringPatterns(mlir::RewritePatternSet &patterns);

} // namespace kiln

#endif // KILN_PASSES_KILNTOLINALG_BOUNDEDOUTPUTSTOLINALG_H
