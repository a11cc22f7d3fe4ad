//===- Passes.h - Kiln's Boundary passes ------------------------------*- C++ -*-===//
//
// Generated from Passes.td beside this file: the pass options, the create
// functions and registerKilnBoundaryPasses().
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_BOUNDARY_PASSES_H
#define KILN_PASSES_BOUNDARY_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/passes/Boundary/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/passes/Boundary/Passes.h.inc"

} // namespace kiln

#endif // KILN_PASSES_BOUNDARY_PASSES_H
