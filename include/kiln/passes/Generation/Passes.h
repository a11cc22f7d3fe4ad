//===- Passes.h - Kiln's Generation passes -----------------------*- C++ -*-===//
//
// Generated from Passes.td beside this file: the pass options, the create
// functions and registerKilnGenerationPasses().
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_GENERATION_PASSES_H
#define KILN_PASSES_GENERATION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "kiln/dialects/Kiln/KilnDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/passes/Generation/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/passes/Generation/Passes.h.inc"

} // namespace kiln

#endif // KILN_PASSES_GENERATION_PASSES_H
