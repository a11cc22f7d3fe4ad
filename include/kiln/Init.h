//===- Init.h - Register everything a Kiln tool needs -----------*- C++ -*-===//

#ifndef KILN_INIT_H
#define KILN_INIT_H

#include <memory>

namespace mlir {
class DialectRegistry;
class MLIRContext;
} // namespace mlir

namespace kiln {

/// The Kiln dialect plus the upstream dialects, interface models
/// (bufferization, LLVM conversion) and LLVM IR translations that its
/// pipelines use.
void registerAllDialects(mlir::DialectRegistry &registry);

/// A context with those dialects, refusing unregistered ones: what a tool
/// compiles in.
std::unique_ptr<mlir::MLIRContext> createContext();

/// Kiln's passes and pipelines plus the upstream passes they are built from.
void registerAllPasses();

} // namespace kiln

#endif // KILN_INIT_H
