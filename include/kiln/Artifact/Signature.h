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
mlir::LogicalResult readSignature(mlir::func::FuncOp entry,
                                  ArtifactContents &contents);

} // namespace kiln

#endif // KILN_ARTIFACT_SIGNATURE_H
