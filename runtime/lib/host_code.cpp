//===- host_code.cpp - Load the HOST_CODE shared object ------------------===//

#include "host_code.h"

#include "collectives.h"

#include "buffer_cache.h"
#include "kiln/artifact_format.h"

#include "error.h"

#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <new>
#include <sys/mman.h>
#include <unistd.h>

namespace kiln::rt {
namespace {

bool writeAll(int fd, const uint8_t *data, uint64_t size) {
  while (size > 0) {
    ssize_t written = write(fd, data, size);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      return false;
    data += written;
    size -= uint64_t(written);
  }
  return true;
}

/// Preferred path: the code never touches a file system.
void *openFromMemfd(const uint8_t *elf, uint64_t size, int &outFd,
                    std::string &error) {
  int fd = memfd_create("kiln-host-code", MFD_CLOEXEC);
  if (fd < 0) {
    error = format("memfd_create: %s", std::strerror(errno));
    return nullptr;
  }
  if (!writeAll(fd, elf, size)) {
    error = format("writing memfd: %s", std::strerror(errno));
    close(fd);
    return nullptr;
  }
  std::string path = format("/proc/self/fd/%d", fd);
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *message = dlerror();
    error = message ? message : "dlopen failed";
    close(fd);
    return nullptr;
  }
  outFd = fd;
  return handle;
}

/// Fallback for sandboxes without memfd_create or /proc.
void *openFromTempFile(const uint8_t *elf, uint64_t size, std::string &error) {
  const char *dir = std::getenv("TMPDIR");
  std::string path =
      std::string(dir && *dir ? dir : "/tmp") + "/kiln-host-code-XXXXXX";
  int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    error = format("cannot create a temporary file in '%s': %s",
                   dir && *dir ? dir : "/tmp", std::strerror(errno));
    return nullptr;
  }
  bool written = writeAll(fd, elf, size);
  int writeErrno = errno;
  close(fd);
  void *handle = nullptr;
  if (!written) {
    error = format("writing '%s': %s", path.c_str(), std::strerror(writeErrno));
  } else {
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *message = dlerror();
      error = message ? message : "dlopen failed";
    }
  }
  // The mapping survives the unlink; nothing is left behind on disk.
  unlink(path.c_str());
  return handle;
}

/// A rank whose collectives run over groups of the ranks (a plan that
/// combines splits) exports their count and colors and an array for
/// their handles (kiln-convert-collectives-to-runtime-calls): the world is
/// split by each color in turn (group_split is collective over every rank,
/// and every rank's program lists its groups in the same order, so every
/// rank makes them here, at load, before any run), keyed by world rank.
kiln_status splitCollectiveGroups(void *handle,
                                  const kiln_collective_calls &calls) {
  auto *count = static_cast<const int32_t *>(
      dlsym(handle, "kiln_collective_group_count"));
  auto *colors = static_cast<const int32_t *>(
      dlsym(handle, "kiln_collective_group_colors"));
  auto *groups = static_cast<kiln_collective_group **>(
      dlsym(handle, "kiln_collective_groups"));
  if (!count && !colors && !groups)
    return KILN_STATUS_OK;
  if (!count || !colors || !groups || *count < 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "HOST_CODE exports some of its collective groups' symbols "
                "but not all");
  if (calls.abi_version < 2 || !calls.group_split)
    return fail(KILN_STATUS_UNSUPPORTED,
                "the collectives plugin has no groups of ranks (ABI %u; "
                "groups need 2)",
                calls.abi_version);
  for (int32_t i = 0; i < *count; ++i)
    if (calls.group_split(colors[i], calls.rank, &groups[i]) != 0 ||
        (colors[i] >= 0 && !groups[i]))
      return fail(KILN_STATUS_UNSUPPORTED,
                  "cannot make collective group %d (color %d) of rank %d", i,
                  colors[i], calls.rank);
  return KILN_STATUS_OK;
}

} // namespace

void *HostCode::symbol(const char *name) const { return dlsym(handle_, name); }

kiln_status HostCode::load(const uint8_t *elf, uint64_t size,
                           const std::string &entrySymbol,
                           std::unique_ptr<HostCode> &out) {
  // dlopen's message for non-ELF bytes ("invalid ELF header") is vague about
  // where the bytes came from; say it plainly.
  static const uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
  if (size < sizeof(kElfMagic) ||
      std::memcmp(elf, kElfMagic, sizeof(kElfMagic)) != 0)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "HOST_CODE section (%" PRIu64
                " bytes) is not an ELF shared object",
                size);

  int fd = -1;
  std::string memfdError, tempError;
  void *handle = openFromMemfd(elf, size, fd, memfdError);
  if (!handle)
    handle = openFromTempFile(elf, size, tempError);
  if (!handle)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "cannot load the HOST_CODE shared object: %s (memfd: %s)",
                tempError.c_str(), memfdError.c_str());

  dlerror();
  void *symbol = dlsym(handle, entrySymbol.c_str());
  if (!symbol) {
    dlclose(handle);
    if (fd >= 0)
      close(fd);
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "HOST_CODE does not define the entry symbol '%s'",
                entrySymbol.c_str());
  }
  // Host code of format 4's compilers calls its allocator through these
  // hooks (kiln/artifact_format.h); older host code has none and mallocs.
  if (auto *hooks = static_cast<kiln_allocator_hooks *>(
          dlsym(handle, KILN_ALLOCATOR_SYMBOL))) {
    hooks->allocate = cachedAllocate;
    hooks->release = cachedFree;
  }
  // A rank of a partitioned model exchanges tensors through the runtime's
  // collectives (kiln/collectives.h); it cannot run without them.
  if (auto **slot = static_cast<const kiln_collective_calls **>(
          dlsym(handle, KILN_COLLECTIVES_SYMBOL))) {
    const kiln_collective_calls *calls = activeCollectives();
    if (!calls) {
      dlclose(handle);
      if (fd >= 0)
        close(fd);
      return fail(KILN_STATUS_UNSUPPORTED,
                  "the host code calls collectives (a rank of a partitioned "
                  "model); run it under mpirun after kiln_collectives_init");
    }
    *slot = calls;
    if (kiln_status status = splitCollectiveGroups(handle, *calls);
        status != KILN_STATUS_OK) {
      dlclose(handle);
      if (fd >= 0)
        close(fd);
      return status;
    }
  }
  out.reset(new (std::nothrow)
                HostCode(handle, fd, symbol));
  if (!out) {
    dlclose(handle);
    if (fd >= 0)
      close(fd);
    return fail(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  return KILN_STATUS_OK;
}

HostCode::~HostCode() {
  dlclose(handle_);
  if (fd_ >= 0)
    close(fd_);
}

} // namespace kiln::rt
