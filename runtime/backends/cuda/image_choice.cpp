//===- image_choice.cpp - Which GPU_CODE image a device runs -------------===//

#include "image_choice.h"

#include "../../lib/error.h"
#include "kiln/artifact_format.h"

namespace kiln::rt::cuda {
namespace {

/// Whether the driver can JIT PTX for `arch` on a device of capability
/// major.minor: plain PTX runs on its capability and every later one, 'f'
/// (family) PTX on later minors of its major, 'a' (arch-specific) PTX on
/// its exact capability only.
bool ptxRunsOn(const GpuArch &arch, unsigned major, unsigned minor) {
  unsigned want = arch.major * 10 + arch.minor, have = major * 10 + minor;
  switch (arch.suffix) {
  case 'a':
    return want == have;
  case 'f':
    return arch.major == major && arch.minor <= minor;
  default:
    return want <= have;
  }
}

} // namespace

kiln_status chooseImage(const GpuCode &code, unsigned major, unsigned minor,
                        const std::string &device, size_t &out) {
  const std::vector<GpuImage> &images = code.images;
  for (size_t i = 0; i < images.size(); ++i) {
    const GpuArch &arch = images[i].parsed;
    if (images[i].format == KILN_GPU_IMAGE_CUBIN && arch.major == major &&
        arch.minor == minor) {
      out = i;
      return KILN_STATUS_OK;
    }
  }
  bool found = false;
  unsigned best = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const GpuArch &arch = images[i].parsed;
    unsigned version = arch.major * 10 + arch.minor;
    if (images[i].format == KILN_GPU_IMAGE_PTX &&
        ptxRunsOn(arch, major, minor) && (!found || version > best)) {
      found = true;
      best = version;
      out = i;
    }
  }
  if (found)
    return KILN_STATUS_OK;
  std::string have;
  for (const GpuImage &image : images)
    have += (have.empty() ? "" : ", ") + image.arch + " " +
            gpuImageFormatName(image.format);
  return fail(KILN_STATUS_UNSUPPORTED,
              "%s has compute capability %u.%u (sm_%u%u) but the artifact has "
              "code only for %s: it needs a cubin for sm_%u%u or PTX for an "
              "arch it can run; recompile the model for sm_%u%u",
              device.c_str(), major, minor, major, minor, have.c_str(), major,
              minor, major, minor);
}

} // namespace kiln::rt::cuda
