//===- kernels.h - Parse and check the KERNELS section ----------*- C++ -*-===//
//
// The kernel table (kiln/artifact_format.h, "Kernels"): per kernel of a
// CPU artifact's entry, its name, the Kiln op kinds it computes and the
// ONNX nodes it came from. The profiler's events name kernels by index.
// A CUDA artifact's rows are its launches, and its LAUNCHES section adds
// each one's GPU kernel and launch shape.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_KERNELS_H
#define KILN_RUNTIME_LIB_KERNELS_H

#include "kiln/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

struct KernelEntry {
  std::string name;
  /// From LAUNCHES (a CUDA artifact's), when hasLaunch.
  bool hasLaunch = false;
  kiln_kernel_launch launch{};
  std::vector<std::string> kinds, nodes;
  /// c_str() of kinds and nodes, for kiln_kernel_info.
  std::vector<const char *> kindPointers, nodePointers;
};

/// Decodes `data[0, size)` into `out`.
kiln_status parseKernels(const uint8_t *data, uint64_t size,
                         std::vector<KernelEntry> &out);

/// Decodes the LAUNCHES section `data[0, size)` into the rows of `kernels`
/// (parsed KERNELS), whose GPU kernels are `numGpuKernels`.
kiln_status parseLaunches(const uint8_t *data, uint64_t size,
                          size_t numGpuKernels,
                          std::vector<KernelEntry> &kernels);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_KERNELS_H
