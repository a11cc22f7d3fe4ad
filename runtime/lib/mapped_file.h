//===- mapped_file.h - A read-only memory mapping of a whole file -*- C++
//-*-===//
//
// Artifacts are mapped, not read: weights are handed to the compiled code as
// pointers into the mapping, so a large model costs no copy and no more
// memory than the pages it touches.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_MAPPED_FILE_H
#define KILN_RUNTIME_LIB_MAPPED_FILE_H

#include "kiln/runtime.h"

#include <cstdint>
#include <memory>

namespace kiln::rt {

class MappedFile {
public:
  /// Maps `path` read-only. An empty file is mapped as zero bytes (no mmap),
  /// so the caller reports it as truncated rather than as an I/O error.
  static kiln_status open(const char *path, std::unique_ptr<MappedFile> &out);

  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return data_; }
  uint64_t size() const { return size_; }

private:
  MappedFile(const uint8_t *data, uint64_t size) : data_(data), size_(size) {}

  const uint8_t *data_;
  uint64_t size_;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_MAPPED_FILE_H
