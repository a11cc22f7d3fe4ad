//===- image_choice.h - Which GPU_CODE image a device runs ------*- C++ -*-===//
//
// The rule of kiln/artifact_format.h: a cubin for exactly the device's
// compute capability, else the PTX of the highest arch the device can
// JIT-compile, else UNSUPPORTED with a message naming the device's arch and
// the artifact's.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_BACKENDS_CUDA_IMAGE_CHOICE_H
#define KILN_RUNTIME_BACKENDS_CUDA_IMAGE_CHOICE_H

#include "../../lib/gpu_code.h"

#include <cstddef>
#include <string>

namespace kiln::rt::cuda {

/// Picks the image of `code` for a device of compute capability
/// major.minor; `device` names it in the message ("device 'cuda:0' (NAME)").
kiln_status chooseImage(const GpuCode &code, unsigned major, unsigned minor,
                        const std::string &device, size_t &out);

} // namespace kiln::rt::cuda

#endif // KILN_RUNTIME_BACKENDS_CUDA_IMAGE_CHOICE_H
