//===- collectives.cpp - Load the MPI collectives plugin ------------------===//

#include "collectives.h"

#include "api_guard.h"
#include "error.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <string>

namespace kiln::rt {
namespace {

std::mutex pluginMutex;
const kiln_collective_calls *calls = nullptr;
kiln_collectives_abort_fn abortFn = nullptr;
kiln_collectives_close_fn closeFn = nullptr;

/// The directory of libkiln_runtime.so, with a trailing '/'; "" if unknown.
std::string runtimeDirectory() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&kiln_collectives_init), &info) ||
      !info.dli_fname)
    return "";
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

/// dlopens the plugin: $KILN_COLLECTIVES_PLUGIN, else beside the runtime,
/// else by name on the loader's path. RTLD_GLOBAL: Open MPI's own
/// components, which it dlopens, resolve MPI's symbols from it.
void *openPlugin(std::string &tried) {
  const int flags = RTLD_NOW | RTLD_GLOBAL;
  if (const char *path = std::getenv("KILN_COLLECTIVES_PLUGIN")) {
    tried = path;
    return dlopen(path, flags);
  }
  std::string beside = runtimeDirectory() + KILN_COLLECTIVES_MPI_LIBRARY;
  if (void *handle = dlopen(beside.c_str(), flags))
    return handle;
  tried = beside + " or " + KILN_COLLECTIVES_MPI_LIBRARY;
  return dlopen(KILN_COLLECTIVES_MPI_LIBRARY, flags);
}

} // namespace

const kiln_collective_calls *activeCollectives() {
  std::lock_guard<std::mutex> lock(pluginMutex);
  return calls;
}

} // namespace kiln::rt

using namespace kiln::rt;

extern "C" {

kiln_status kiln_collectives_init(double timeoutSeconds, int32_t *outRank,
                                  int32_t *outSize) {
  return guard([&] {
    std::lock_guard<std::mutex> lock(pluginMutex);
    if (!calls) {
      std::string tried;
      void *handle = openPlugin(tried);
      if (!handle)
        return fail(KILN_STATUS_UNSUPPORTED,
                    "cannot load the MPI collectives plugin (%s): %s; "
                    "install Open MPI (openmpi-bin, libopenmpi-dev)",
                    tried.c_str(), dlerror());
      auto open = reinterpret_cast<kiln_collectives_open_fn>(
          dlsym(handle, KILN_COLLECTIVES_OPEN_SYMBOL));
      auto abortSymbol = reinterpret_cast<kiln_collectives_abort_fn>(
          dlsym(handle, KILN_COLLECTIVES_ABORT_SYMBOL));
      auto closeSymbol = reinterpret_cast<kiln_collectives_close_fn>(
          dlsym(handle, KILN_COLLECTIVES_CLOSE_SYMBOL));
      if (!open || !abortSymbol || !closeSymbol)
        return fail(KILN_STATUS_UNSUPPORTED,
                    "the collectives plugin lacks %s", KILN_COLLECTIVES_OPEN_SYMBOL);
      char error[256] = "";
      const kiln_collective_calls *table = nullptr;
      if (open(timeoutSeconds, &table, error, sizeof(error)) != 0 || !table)
        return fail(KILN_STATUS_UNSUPPORTED, "cannot start MPI: %s", error);
      if (table->abi_version < KILN_COLLECTIVES_ABI_VERSION)
        return fail(KILN_STATUS_UNSUPPORTED,
                    "the collectives plugin has ABI version %u, this runtime "
                    "needs %u",
                    table->abi_version, KILN_COLLECTIVES_ABI_VERSION);
      calls = table;
      abortFn = abortSymbol;
      closeFn = closeSymbol;
      // The plugin stays loaded for the process: MPI cannot restart.
    }
    if (outRank)
      *outRank = calls->rank;
    if (outSize)
      *outSize = calls->size;
    return KILN_STATUS_OK;
  });
}

int kiln_collectives_active(void) { return activeCollectives() != nullptr; }

kiln_status kiln_collectives_broadcast(void *buffer, uint64_t bytes,
                                       int32_t root) {
  const kiln_collective_calls *table = activeCollectives();
  if (!table)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "kiln_collectives_init has not been called");
  if (bytes && !buffer)
    return fail(KILN_STATUS_INVALID_ARGUMENT, "buffer is NULL");
  if (table->broadcast(buffer, bytes, KILN_DTYPE_UINT8, root) != 0)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "cannot broadcast %llu bytes from rank %d (of %d)",
                (unsigned long long)bytes, root, table->size);
  return KILN_STATUS_OK;
}

void kiln_collectives_abort(const char *message, int32_t exitCode) {
  kiln_collectives_abort_fn fn;
  {
    std::lock_guard<std::mutex> lock(pluginMutex);
    fn = calls ? abortFn : nullptr;
  }
  if (fn)
    fn(message ? message : "aborted", exitCode);
}

void kiln_collectives_finalize(void) {
  std::lock_guard<std::mutex> lock(pluginMutex);
  if (calls && closeFn)
    closeFn();
  calls = nullptr;
}

} // extern "C"
