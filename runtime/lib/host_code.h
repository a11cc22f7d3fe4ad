//===- host_code.h - Load the HOST_CODE shared object -----------*- C++ -*-===//
//
// Every backend's host code is an ELF shared object stored inside the
// artifact (the CPU's computes; the CUDA target's launches kernels). dlopen
// needs a path, so the bytes are written to an anonymous memfd and
// opened as /proc/self/fd/N; where that is not possible (no memfd, no /proc)
// they go to a mkstemp file in $TMPDIR that is unlinked right after dlopen.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_HOST_CODE_H
#define KILN_RUNTIME_LIB_HOST_CODE_H

#include "kiln/runtime.h"

#include <cstdint>
#include <memory>
#include <string>

namespace kiln::rt {

class HostCode {
public:
  /// Loads the shared object in `elf[0, size)` and finds `entrySymbol`.
  /// Bad ELF bytes or a missing symbol are CORRUPT_ARTIFACT.
  static kiln_status load(const uint8_t *elf, uint64_t size,
                          const std::string &entrySymbol,
                          std::unique_ptr<HostCode> &out);

  ~HostCode();
  HostCode(const HostCode &) = delete;
  HostCode &operator=(const HostCode &) = delete;

  /// The entry symbol's address; each backend knows its signature
  /// (kiln/artifact_format.h, kiln/gpu_calls.h).
  void *entry() const { return entry_; }

  /// Another symbol of the object or of the libraries it needs (such as
  /// libomp's omp_set_num_threads), or nullptr.
  void *symbol(const char *name) const;

private:
  HostCode(void *handle, int fd, void *entry)
      : handle_(handle), fd_(fd), entry_(entry) {}

  void *handle_;
  /// The memfd stays open while the object is loaded: glibc identifies
  /// loaded objects by path, and a reused /proc/self/fd/N would otherwise
  /// return a previous model's code. -1 for the temp-file fallback.
  int fd_;
  void *entry_;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_HOST_CODE_H
