//===- gpu_code.h - Parse and check the GPU_CODE section --------*- C++ -*-===//
//
// The kernels of a "cuda-" target: the kernel table, the workspace size and
// one image (cubin or PTX) per architecture, as kiln/artifact_format.h
// defines them. Parsed and checked at kiln_model_load like METADATA, so that
// the artifact can be introspected without a GPU and the CUDA backend can
// trust every offset.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_GPU_CODE_H
#define KILN_RUNTIME_LIB_GPU_CODE_H

#include "kiln/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

/// "sm_90a" is {9, 0, 'a'}; "sm_100" is {10, 0, 0}.
struct GpuArch {
  unsigned major = 0, minor = 0;
  char suffix = 0; // 0, 'a' (exactly this capability) or 'f' (family)
};

/// Parses "sm_" + 2 or 3 digits (no leading zero) + optional 'a' or 'f'.
bool parseGpuArch(const std::string &text, GpuArch &out);

struct GpuImage {
  std::string arch;
  GpuArch parsed;
  uint32_t format = 0; // kiln_gpu_image_format
  uint64_t offset = 0; // relative to the GPU_CODE section
  uint64_t size = 0;
};

struct GpuCode {
  uint64_t workspaceBytes = 0;
  std::vector<std::string> kernels;
  std::vector<GpuImage> images;
};

/// "cubin", "ptx", or "format N".
std::string gpuImageFormatName(uint32_t format);

/// Decodes and checks `data[0, size)`, the GPU_CODE section.
kiln_status parseGpuCode(const uint8_t *data, uint64_t size, GpuCode &out);

/// Checks a "cuda-" target string against the images: a valid arch list
/// without duplicates, naming exactly the images' archs.
kiln_status checkCudaTarget(const std::string &target, const GpuCode &code);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_GPU_CODE_H
