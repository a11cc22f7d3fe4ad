//===- SliceWeights.h - One rank's block of a weight -----------*- C++ -*-===//
//
// Shared by the partitioning passes of passes/Planning: the part of a
// weight that one rank keeps, as a new constant of that part alone, so the
// rank's artifact does not store the rest.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_PLANNING_SLICEWEIGHTS_H
#define KILN_PASSES_PLANNING_SLICEWEIGHTS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace kiln {

/// Entries [lo, lo + count) of `value` along dimension `dim`: a new
/// constant holding only those entries when `value` is a dense constant
/// (its blob named after the original's, plus `suffix`), otherwise a
/// tensor.extract_slice. `value` has a static shape.
mlir::Value sliceAlong(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value value, int64_t dim, int64_t lo,
                       int64_t count, llvm::StringRef suffix);

} // namespace kiln

#endif // KILN_PASSES_PLANNING_SLICEWEIGHTS_H
