//===- mapped_file.cpp - A read-only memory mapping of a whole file -------===//

#include "mapped_file.h"

#include "error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::rt {

kiln_status MappedFile::open(const char *path,
                             std::unique_ptr<MappedFile> &out) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(KILN_STATUS_IO_ERROR, "cannot open '%s': %s", path,
                std::strerror(errno));

  struct stat info;
  if (fstat(fd, &info) != 0) {
    int error = errno;
    close(fd);
    return fail(KILN_STATUS_IO_ERROR, "cannot stat '%s': %s", path,
                std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return fail(KILN_STATUS_IO_ERROR, "'%s' is not a regular file", path);
  }

  uint64_t size = uint64_t(info.st_size);
  const uint8_t *data = nullptr;
  if (size > 0) {
    void *mapping = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
      int error = errno;
      close(fd);
      return fail(error == ENOMEM ? KILN_STATUS_OUT_OF_MEMORY
                                  : KILN_STATUS_IO_ERROR,
                  "cannot map '%s': %s", path, std::strerror(error));
    }
    data = static_cast<const uint8_t *>(mapping);
  }
  // The mapping keeps the file alive; the descriptor is no longer needed.
  close(fd);
  out.reset(new (std::nothrow) MappedFile(data, size));
  if (!out) {
    if (data)
      munmap(const_cast<uint8_t *>(data), size);
    return fail(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  return KILN_STATUS_OK;
}

MappedFile::~MappedFile() {
  if (data_)
    munmap(const_cast<uint8_t *>(data_), size_);
}

} // namespace kiln::rt
