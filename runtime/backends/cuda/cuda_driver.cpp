//===- cuda_driver.cpp - Load the CUDA driver with dlopen ----------------===//

#include "cuda_driver.h"

#include "../../lib/error.h"

#include <cstdlib>
#include <dlfcn.h>
#include <map>
#include <memory>
#include <mutex>

namespace kiln::rt::cuda {
namespace {

constexpr const char *kDefaultDriver = "libcuda.so.1";

kiln_status openDriver(const std::string &device, const std::string &path,
                       std::unique_ptr<Driver> &out) {
  // RTLD_LOCAL: the driver's symbols must not satisfy anyone else's
  // undefined references (a test's fake driver, say).
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *error = dlerror();
    return fail(KILN_STATUS_DEVICE_UNAVAILABLE,
                "device '%s': cannot load the CUDA driver '%s' (%s); is an "
                "NVIDIA driver installed? KILN_CUDA_DRIVER may name the "
                "library's path",
                device.c_str(), path.c_str(), error ? error : "dlopen failed");
  }
  auto driver = std::make_unique<Driver>();
  driver->path = path;
  const char *missing = nullptr;
#define KILN_CUDA_LOOKUP(name, params)                                         \
  driver->name = reinterpret_cast<decltype(driver->name)>(dlsym(handle, #name)); \
  if (!driver->name && !missing)                                               \
    missing = #name;
  KILN_CUDA_DRIVER_FUNCTIONS(KILN_CUDA_LOOKUP)
#undef KILN_CUDA_LOOKUP
  if (missing) {
    // Never used, so it may go; nothing else holds this handle's symbols.
    dlclose(handle);
    return fail(KILN_STATUS_DEVICE_UNAVAILABLE,
                "device '%s': the CUDA driver '%s' has no entry point %s; it "
                "is not a CUDA driver or older than this runtime needs "
                "(CUDA 11.4)",
                device.c_str(), path.c_str(), missing);
  }
  out = std::move(driver);
  return KILN_STATUS_OK;
}

} // namespace

std::string Driver::describe(CUresult result) const {
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    return format("CUresult %d", result);
  if (cuGetErrorString(result, &text) != CUDA_SUCCESS || !text)
    return name;
  return format("%s (%s)", name, text);
}

kiln_status loadDriver(const std::string &device, const Driver *&out) {
  const char *env = std::getenv("KILN_CUDA_DRIVER");
  std::string path = env && *env ? env : kDefaultDriver;
  // Never freed: sessions released from static destructors may still use
  // their driver.
  static std::mutex *mutex = new std::mutex;
  static auto *drivers = new std::map<std::string, std::unique_ptr<Driver>>;
  std::lock_guard<std::mutex> lock(*mutex);
  std::unique_ptr<Driver> &slot = (*drivers)[path];
  if (!slot)
    if (kiln_status status = openDriver(device, path, slot)) {
      drivers->erase(path);
      return status;
    }
  out = slot.get();
  return KILN_STATUS_OK;
}

} // namespace kiln::rt::cuda
