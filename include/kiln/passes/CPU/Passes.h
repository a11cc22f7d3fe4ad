//===- Passes.h - Kiln's CPU passes ------------------------------*- C++ -*-===//
//
// Generated from Passes.td beside this file: the pass options, the create
// functions and registerKilnCPUPasses().
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CPU_PASSES_H
#define KILN_PASSES_CPU_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/passes/CPU/Passes.h.inc"

/// The module attribute that names the target CPU's features the CPU
/// passes choose instructions by: an array of LLVM feature names, those of
/// kConsultedCpuFeatures that `--cpu` has. The CPU target sets it before
/// its tensor pipeline; kiln-opt users write it (absent: none of them).
constexpr llvm::StringLiteral kCpuFeaturesAttrName = "kiln.cpu_features";

/// The function whose calls it puts around each kernel: (kernel id, 0 at
/// the start or 1 at the end).
constexpr llvm::StringLiteral kProfileHookName = "kiln_profile";

/// The features some CPU pass consults: avx512vnni
/// (kiln-cpu-convert-integer-matmuls-to-vector-kernels, for vpdpbusd) and
/// avx512f (kiln-cpu-vectorize-contractions, for its register block).
constexpr llvm::StringLiteral kConsultedCpuFeatures[] = {"avx512vnni",
                                                         "avx512f"};

/// The kCpuFeaturesAttrName of the module `op` is or lies in, or null when
/// the module records none (kiln-opt input that does not set it).
inline mlir::ArrayAttr targetCpuFeatures(mlir::Operation *op) {
  auto module = llvm::dyn_cast<mlir::ModuleOp>(op);
  if (!module)
    module = op->getParentOfType<mlir::ModuleOp>();
  return module ? module->getAttrOfType<mlir::ArrayAttr>(kCpuFeaturesAttrName)
                : nullptr;
}

/// Whether the module `op` is or lies in says the target CPU has
/// `feature`.
inline bool targetCpuHas(mlir::Operation *op, llvm::StringRef feature) {
  mlir::ArrayAttr features = targetCpuFeatures(op);
  return features && llvm::any_of(features, [&](mlir::Attribute a) {
           auto name = llvm::dyn_cast<mlir::StringAttr>(a);
           return name && name.getValue() == feature;
         });
}

#define GEN_PASS_REGISTRATION
#include "kiln/passes/CPU/Passes.h.inc"

} // namespace kiln

#endif // KILN_PASSES_CPU_PASSES_H
