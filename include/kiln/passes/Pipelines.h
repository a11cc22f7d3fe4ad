//===- Pipelines.h - Kiln's pass pipelines ----------------------*- C++ -*-===//
//
// The pipelines are plain C++ functions registered with the pass registry,
// so kiln-opt (`--kiln-cpu-pipeline`) and kiln-compile run the very same
// passes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_PIPELINES_H
#define KILN_PASSES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace kiln {

/// Decomposed subgraphs as exporters write them (attention from matmuls,
/// masks and softmax; MoE blocks; RoPE; RMSNorm; SiLU/SwiGLU/GELU) -> Kiln's
/// semantic ops (`--kiln-raise-pipeline`). kiln-compile runs it after
/// import unless told not to.
void buildRaisePipeline(mlir::OpPassManager &pm);

/// Kiln ops -> linalg/tensor on tensors, elementwise chains fused, large
/// constants outlined as weight arguments (`--kiln-cpu-tensor-pipeline`).
void buildCpuTensorPipeline(mlir::OpPassManager &pm);

/// linalg on tensors -> bufferized loops -> LLVM dialect, with bare-pointer
/// function arguments and results turned into out-parameters
/// (`--kiln-cpu-codegen-pipeline`).
void buildCpuCodegenPipeline(mlir::OpPassManager &pm);

/// Both of the above (`--kiln-cpu-pipeline`).
void buildCpuPipeline(mlir::OpPassManager &pm);

/// Registers the pipelines above with the pass registry.
void registerPipelines();

/// Calls `callback` with the flag name and description of every pipeline
/// registerPipelines() registers (for kiln-opt's --help).
void forEachPipeline(
    llvm::function_ref<void(llvm::StringRef name, llvm::StringRef description)>
        callback);

} // namespace kiln

#endif // KILN_PASSES_PIPELINES_H
