//===- introspection.h - Sections that only describe the program -*- C++
//-*-===//
//
// KERNEL_DETAILS (each kernel's code size and loop nest), MEMORY_PLAN (the
// workspace's buffers and their lives) and DUMPS (which outputs are values
// kiln-compile --dump kept, and their nodes); kiln/artifact_format.h has
// their encodings. Nothing runs differently with them: kiln-inspect and
// kiln-run --dump read them through the C API.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_INTROSPECTION_H
#define KILN_RUNTIME_LIB_INTROSPECTION_H

#include "kiln/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

struct KernelDetail {
  uint64_t codeBytes = 0;
  std::string loopNest;
};

struct PlannedBuffer {
  std::string nodes, type;
  uint64_t offset = 0, bytes = 0;
  uint32_t firstKernel = 0, lastKernel = 0;
};

struct MemoryPlan {
  bool present = false;
  uint64_t workspaceBytes = 0, peakBytes = 0;
  std::vector<PlannedBuffer> buffers;
};

struct Dumps {
  bool present = false;
  uint32_t firstOutput = 0;
  std::vector<std::string> nodes;
};

/// Decodes KERNEL_DETAILS `data[0, size)`: one row per kernel of the
/// `numKernels` of KERNELS.
kiln_status parseKernelDetails(const uint8_t *data, uint64_t size,
                               size_t numKernels,
                               std::vector<KernelDetail> &out);

/// Decodes MEMORY_PLAN `data[0, size)`, whose kernel indices must be below
/// `numKernels`.
kiln_status parseMemoryPlan(const uint8_t *data, uint64_t size,
                            size_t numKernels, MemoryPlan &out);

/// Decodes DUMPS `data[0, size)` of a model with `numOutputs` outputs.
kiln_status parseDumps(const uint8_t *data, uint64_t size, size_t numOutputs,
                       Dumps &out);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_INTROSPECTION_H
