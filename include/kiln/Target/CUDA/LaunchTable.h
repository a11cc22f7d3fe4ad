//===- LaunchTable.h - A CUDA entry's launches as its table -----*- C++ -*-===//
//
// The CUDA target's kernel table (CUDATarget.cpp records it after the
// kernels are outlined and merged; test/Artifact checks it).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TARGET_CUDA_LAUNCHTABLE_H
#define KILN_TARGET_CUDA_LAUNCHTABLE_H

#include "kiln/Artifact/ArtifactWriter.h"

#include "mlir/IR/BuiltinOps.h"

namespace kiln {

/// Records the kernel table of `module`'s CUDA entry as its kiln.kernels
/// attribute (kiln/dialects/Kiln/KernelNames.h): one row per
/// gpu.launch_func of a public function, in launch order: `name`, `kinds`
/// and `nodes` (read off the locations of the launch and of every op of the
/// kernel it launches), `kernel` (the kernel's symbol), `grid` and `block`
/// (constant dims, 0 where only the run knows one) and `shared_bytes` (the
/// kernel's workgroup buffers plus the launch's dynamic shared memory).
/// The runtime names the Nth launch of a run row N, so when a launch is
/// nested in a loop or a branch (it may run another number of times than
/// once) no table is recorded.
///
/// Example: `gpu.launch_func @kiln_kernels::@main_kernel blocks in (%c4,
/// %c1, %c1) threads in (%c128, %c1, %c1) ... loc(fused<"kiln.rms_norm">
/// ["norm"])` is `{name = "rms_norm", kinds = ["kiln.rms_norm"], nodes =
/// ["norm"], kernel = "main_kernel", grid = array<i64: 4, 1, 1>, block =
/// array<i64: 128, 1, 1>, shared_bytes = 0}`.
/// Also records the workspace's buffers in launch terms as kiln.memory_plan
/// (describeMemoryPlan) when there is one entry function.
void recordLaunchTable(mlir::ModuleOp module);

/// Sets each launch's codeBytes to the size of its GPU kernel's function
/// symbol in `code`'s first cubin (the first arch's machine code; nothing
/// without a cubin).
void addLaunchCodeBytes(const GpuCode &code,
                        std::vector<KernelSignature> &kernels);

} // namespace kiln

#endif // KILN_TARGET_CUDA_LAUNCHTABLE_H
