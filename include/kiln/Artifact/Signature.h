//===- Signature.h - Read an entry function's artifact signature -*- C++ -*-===//

#ifndef KILN_ARTIFACT_SIGNATURE_H
#define KILN_ARTIFACT_SIGNATURE_H

#include "kiln/Artifact/ArtifactWriter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace kiln {

/// Fills the weights, inputs and outputs of `contents` from `entry` as
/// kiln-outline-weights left it: arguments with `kiln.weight` are weights
/// (their values are copied out), the other arguments are inputs and the
/// results are outputs, named by `kiln.name` and typed by `kiln.dtype`
/// where the importer recorded them.
///
/// Symbolic dims: the entry's `kiln.dim_ranges` (symbol name ->
/// array<i64: min, max>) gives the symbols, in its sorted order; an input's
/// or output's `kiln.dim_symbols` (one string per dim: "" for a static dim,
/// a symbol's name for a dynamic one) names the symbol of each `?` dim,
/// which becomes -(k+1) for symbol k. Weights are static, and every symbol
/// must occur in some input dim (the runtime reads its value there).
mlir::LogicalResult readSignature(mlir::func::FuncOp entry,
                                  ArtifactContents &contents);

} // namespace kiln

#endif // KILN_ARTIFACT_SIGNATURE_H
