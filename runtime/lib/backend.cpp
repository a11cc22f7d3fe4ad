//===- backend.cpp - Device strings and the backend lookups --------------===//

#include "backend.h"

#include "error.h"

#include <cstring>

namespace kiln::rt {

// Sessions call these only when hasDeviceMemory() says they work.
kiln_status DeviceSession::setInputFromDevice(size_t, uint64_t, size_t) {
  return fail(KILN_STATUS_INTERNAL, "this backend has no device memory");
}

uint64_t DeviceSession::outputDeviceAddress(size_t) const { return 0; }

const Backend *findBackendForDevice(const std::string &name) {
  for (const Backend *backend : allBackends())
    if (name == backend->deviceName())
      return backend;
  return nullptr;
}

const Backend *findBackendForTarget(const std::string &target) {
  for (const Backend *backend : allBackends()) {
    const char *prefix = backend->targetPrefix();
    if (target.compare(0, std::strlen(prefix), prefix) == 0)
      return backend;
  }
  return nullptr;
}

std::string expectedDevices() {
  std::string expected;
  const std::vector<const Backend *> &backends = allBackends();
  for (size_t i = 0; i < backends.size(); ++i) {
    if (i > 0)
      expected += i + 1 == backends.size() ? " or " : ", ";
    expected += backends[i]->deviceSyntax();
  }
  return expected;
}

kiln_status parseDeviceString(const char *device, DeviceRef &out) {
  DeviceRef ref;
  ref.text = device ? device : "cpu";
  const char *c = ref.text.c_str();
  while (*c >= 'a' && *c <= 'z')
    ref.name += *c++;
  bool valid = !ref.name.empty();
  if (valid && *c == ':') {
    ref.indexGiven = true;
    valid = *++c != '\0';
    uint64_t index = 0;
    for (; valid && *c; ++c) {
      valid = *c >= '0' && *c <= '9' && index < (1u << 31) / 10;
      index = index * 10 + uint64_t(*c - '0');
    }
    ref.index = uint32_t(index);
  } else if (valid) {
    valid = *c == '\0';
  }
  if (!valid)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "unknown device '%s'; expected %s", ref.text.c_str(),
                expectedDevices().c_str());
  out = std::move(ref);
  return KILN_STATUS_OK;
}

} // namespace kiln::rt
