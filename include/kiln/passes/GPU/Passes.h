//===- Passes.h - Kiln's GPU passes ------------------------------*- C++ -*-===//
//
// Generated from Passes.td beside this file: the pass options, the create
// functions and registerKilnGPUPasses().
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_GPU_PASSES_H
#define KILN_PASSES_GPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

/// On a function declaration that kernels call to choose a body by arch
/// (`() -> i1`): the archs (a string array) on which it is true.
/// kiln-gpu-specialize-kernels-per-arch replaces the calls by constants.
inline constexpr llvm::StringLiteral kGpuArchPredicateAttrName =
    "kiln.gpu_arch_predicate";
/// On the same declaration: the alignment (bytes) that the workgroup
/// buffers of the kernels calling it need.
inline constexpr llvm::StringLiteral kGpuWorkgroupAlignmentAttrName =
    "kiln.gpu_workgroup_alignment";

#define GEN_PASS_DECL
#include "kiln/passes/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/passes/GPU/Passes.h.inc"

} // namespace kiln

#endif // KILN_PASSES_GPU_PASSES_H
