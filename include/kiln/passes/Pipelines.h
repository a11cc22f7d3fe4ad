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
#include "mlir/Pass/PassOptions.h"

#include <optional>
#include <string>

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
/// (`--kiln-cpu-codegen-pipeline`). `--kiln-cpu-pipeline` runs both, for
/// kiln-opt; the CPU target runs them as two stages.
void buildCpuCodegenPipeline(mlir::OpPassManager &pm);

/// The CUDA target's tensor level: the CPU target's, unchanged
/// (`--kiln-gpu-tensor-pipeline`).
void buildGpuTensorPipeline(mlir::OpPassManager &pm);

/// linalg on tensors -> bufferized, every intermediate buffer a view of the
/// workspace argument, f16/bf16 matmuls as tensor-core launches, everything
/// else as generic launches, kernels outlined into one gpu.module
/// (`--kiln-gpu-kernel-pipeline`).
void buildGpuKernelPipeline(mlir::OpPassManager &pm);

/// Options of `--kiln-gpu-codegen-pipeline`.
struct GpuCodegenPipelineOptions
    : mlir::PassPipelineOptions<GpuCodegenPipelineOptions> {
  ListOption<std::string> archs{
      *this, "gpu-archs",
      llvm::cl::desc("GPU architectures, e.g. sm_90a,sm_80 (every kernel is "
                     "compiled for each)")};
  Option<std::string> cudaPath{
      *this, "cuda-path", llvm::cl::desc("The CUDA toolkit (libdevice)"),
      llvm::cl::init("/usr/local/cuda")};
  Option<std::string> entry{*this, "entry",
                            llvm::cl::desc("The model function"),
                            llvm::cl::init("main")};
};

/// Outlined kernels -> NVVM for every arch (libdevice linked) -> PTX in a
/// gpu.binary; the host schedule -> LLVM dialect with launches as calls
/// through the runtime's table and the exported kiln_entry
/// (`--kiln-gpu-codegen-pipeline`).
void buildGpuCodegenPipeline(mlir::OpPassManager &pm,
                             const GpuCodegenPipelineOptions &options);

/// The nvvm-attach-target features an architecture needs, or std::nullopt
/// for an architecture the CUDA target does not support.
std::optional<std::string> nvvmFeaturesForArch(llvm::StringRef arch);

/// Registers the pipelines above with the pass registry.
void registerPipelines();

/// Calls `callback` with the flag name and description of every pipeline
/// registerPipelines() registers (for kiln-opt's --help).
void forEachPipeline(
    llvm::function_ref<void(llvm::StringRef name, llvm::StringRef description)>
        callback);

} // namespace kiln

#endif // KILN_PASSES_PIPELINES_H
