//===- device.cpp - Which devices and targets this runtime can run -------===//

#include "device.h"

#include "error.h"

#include <cstring>

namespace kiln::rt {
namespace {

/// The CPU target whose host code this process can execute.
#if defined(__x86_64__)
constexpr const char *kHostCpuTarget = "cpu-x86_64";
#elif defined(__aarch64__)
constexpr const char *kHostCpuTarget = "cpu-aarch64";
#else
constexpr const char *kHostCpuTarget = nullptr;
#endif

bool isCudaDevice(const char *device) {
  if (std::strncmp(device, "cuda", 4) != 0)
    return false;
  const char *rest = device + 4;
  if (*rest == '\0')
    return true;
  if (*rest++ != ':' || *rest == '\0')
    return false;
  for (; *rest; ++rest)
    if (*rest < '0' || *rest > '9')
      return false;
  return true;
}

} // namespace

kiln_status parseDevice(const char *device, DeviceKind &out) {
  if (!device || std::strcmp(device, "cpu") == 0 ||
      std::strcmp(device, "cpu:0") == 0) {
    out = DeviceKind::Cpu;
    return KILN_STATUS_OK;
  }
  if (isCudaDevice(device))
    return fail(KILN_STATUS_UNSUPPORTED,
                "device '%s': this runtime has no CUDA backend yet; use "
                "device 'cpu' with a CPU artifact",
                device);
  return fail(KILN_STATUS_INVALID_ARGUMENT,
              "unknown device '%s'; expected 'cpu' or 'cuda:N'", device);
}

kiln_status checkTarget(const std::string &target, DeviceKind device) {
  (void)device; // only the CPU exists so far
  if (kHostCpuTarget && target == kHostCpuTarget)
    return KILN_STATUS_OK;
  return fail(KILN_STATUS_UNSUPPORTED,
              "artifact target '%s' cannot run on device 'cpu' of this host "
              "(which runs '%s')",
              target.c_str(), kHostCpuTarget ? kHostCpuTarget : "none");
}

} // namespace kiln::rt
