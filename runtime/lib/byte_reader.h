//===- byte_reader.h - Bounds-checked reads of a section --------*- C++ -*-===//
//
// A cursor over one section of the artifact. Each read names what it reads,
// so a failure says exactly where the section stopped making sense
// ("corrupt metadata: input 0 name needs 12 bytes at offset 40 but only 3
// remain").
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_BYTE_READER_H
#define KILN_RUNTIME_LIB_BYTE_READER_H

#include "error.h"

#include <cinttypes>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace kiln::rt {

class ByteReader {
public:
  /// `context` starts every message: "corrupt metadata".
  ByteReader(const uint8_t *data, uint64_t size, const char *context)
      : data_(data), size_(size), context_(context) {}

  uint64_t remaining() const { return size_ - pos_; }
  uint64_t position() const { return pos_; }
  const uint8_t *cursor() const { return data_ + pos_; }
  const char *context() const { return context_; }

  kiln_status bytes(void *out, uint64_t count, const std::string &what) {
    if (count > remaining())
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "%s: %s needs %" PRIu64 " bytes at offset %" PRIu64
                  " but only %" PRIu64 " remain",
                  context_, what.c_str(), count, pos_, remaining());
    if (out)
      std::memcpy(out, data_ + pos_, count);
    pos_ += count;
    return KILN_STATUS_OK;
  }

  template <typename T> kiln_status scalar(T &out, const std::string &what) {
    return bytes(&out, sizeof(T), what);
  }

  /// The section's u32 magic number, which must be `expected`.
  kiln_status magic(uint32_t expected) {
    uint32_t found = 0;
    if (kiln_status status = scalar(found, "magic"))
      return status;
    if (found != expected)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "%s: magic is 0x%08x, expected 0x%08x", context_, found,
                  expected);
    return KILN_STATUS_OK;
  }

  /// u32 length + bytes. Names are handed out as C strings, so an embedded
  /// NUL (which would silently shorten them) is corruption.
  kiln_status string(std::string &out, const std::string &what) {
    uint32_t length = 0;
    if (kiln_status status = scalar(length, what + " length"))
      return status;
    if (length > remaining())
      return bytes(nullptr, length, what);
    out.assign(reinterpret_cast<const char *>(cursor()), length);
    pos_ += length;
    if (out.find('\0') != std::string::npos)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT, "%s: %s contains a NUL byte",
                  context_, what.c_str());
    return KILN_STATUS_OK;
  }

  /// The name of `owner` ("kernel 3"): a string that must not be empty.
  kiln_status name(std::string &out, const std::string &owner) {
    if (kiln_status status = string(out, owner + " name"))
      return status;
    if (out.empty())
      return fail(KILN_STATUS_CORRUPT_ARTIFACT, "%s: %s has an empty name",
                  context_, owner.c_str());
    return KILN_STATUS_OK;
  }

  /// A string that must not be empty (`what`: "kernel 3 node 0").
  kiln_status nonEmptyString(std::string &out, const std::string &what) {
    if (kiln_status status = string(out, what))
      return status;
    if (out.empty())
      return fail(KILN_STATUS_CORRUPT_ARTIFACT, "%s: %s is empty", context_,
                  what.c_str());
    return KILN_STATUS_OK;
  }

  /// A u32 count of entries of at least `minEntry` bytes each, rejected
  /// before anything is reserved for it if they cannot fit.
  kiln_status count(uint32_t &out, uint64_t minEntry, const char *what) {
    if (kiln_status status = scalar(out, what))
      return status;
    if (uint64_t(out) * minEntry > remaining())
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "%s: %s is %u but only %" PRIu64 " bytes remain", context_,
                  what, out, remaining());
    return KILN_STATUS_OK;
  }

  /// A table of uniquely named entries: its count (`what`, each entry at
  /// least `minEntry` bytes), then each entry by `readEntry(i, entry)`.
  /// A name (`nameOf(entry)`) seen before is `duplicate(name)`'s error.
  template <typename T, typename ReadEntry, typename NameOf, typename Duplicate>
  kiln_status namedTable(std::vector<T> &out, uint64_t minEntry,
                         const char *what, ReadEntry readEntry, NameOf nameOf,
                         Duplicate duplicate) {
    uint32_t n = 0;
    if (kiln_status status = count(n, minEntry, what))
      return status;
    out.resize(n);
    std::set<std::string> seen;
    for (uint32_t i = 0; i < n; ++i) {
      if (kiln_status status = readEntry(i, out[i]))
        return status;
      const std::string &name = nameOf(out[i]);
      if (!seen.insert(name).second)
        return duplicate(name);
    }
    return KILN_STATUS_OK;
  }

private:
  const uint8_t *data_;
  uint64_t size_;
  const char *context_;
  uint64_t pos_ = 0;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_BYTE_READER_H
