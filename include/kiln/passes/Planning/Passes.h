//===- Passes.h - Kiln's Planning passes -----------------------*- C++ -*-===//
//
// Generated from Passes.td beside this file: the pass options, the create
// functions and registerKilnPlanningPasses().
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_PLANNING_PASSES_H
#define KILN_PASSES_PLANNING_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "kiln/dialects/Kiln/KilnDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/passes/Planning/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/passes/Planning/Passes.h.inc"

} // namespace kiln

#endif // KILN_PASSES_PLANNING_PASSES_H
