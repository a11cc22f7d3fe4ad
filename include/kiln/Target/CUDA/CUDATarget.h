//===- CUDATarget.h - The `cuda` target -------------------------*- C++ -*-===//

#ifndef KILN_TARGET_CUDA_CUDATARGET_H
#define KILN_TARGET_CUDA_CUDATARGET_H

namespace kiln {

/// Registers `--target cuda`: Kiln -> linalg -> kernels (tensor-core
/// matmuls, generic loops) -> PTX and cubin per --gpu-arch, plus a host
/// shared object that launches them through the runtime's call table.
void registerCudaTarget();

} // namespace kiln

#endif // KILN_TARGET_CUDA_CUDATARGET_H
