//===- Init.h - Register everything a Kiln tool needs -----------*- C++ -*-===//

#ifndef KILN_INIT_H
#define KILN_INIT_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace kiln {

/// The Kiln dialect plus the upstream dialects, interface models
/// (bufferization, LLVM conversion) and LLVM IR translations that its
/// pipelines use.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Kiln's passes and pipelines plus the upstream passes they are built from.
void registerAllPasses();

} // namespace kiln

#endif // KILN_INIT_H
