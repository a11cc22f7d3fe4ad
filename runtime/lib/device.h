//===- device.h - Which devices and targets this runtime can run -*- C++
//-*-===//

#ifndef KILN_RUNTIME_LIB_DEVICE_H
#define KILN_RUNTIME_LIB_DEVICE_H

#include "kiln/runtime.h"

#include <string>

namespace kiln::rt {

enum class DeviceKind { Cpu };

/// Parses a session's device string: NULL, "cpu" or "cpu:0". "cuda" and
/// "cuda:N" are recognized but UNSUPPORTED until the CUDA backend exists;
/// anything else is INVALID_ARGUMENT.
kiln_status parseDevice(const char *device, DeviceKind &out);

/// Checks that an artifact compiled for `target` can run on `device` in this
/// process (e.g. "cpu-x86_64" on an x86-64 host); UNSUPPORTED otherwise.
kiln_status checkTarget(const std::string &target, DeviceKind device);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_DEVICE_H
