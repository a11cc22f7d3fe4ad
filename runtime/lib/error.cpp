//===- error.cpp - Status strings and the thread-local last error --------===//

#include "error.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace {
// A fixed buffer rather than std::string: recording an out-of-memory error
// must not itself allocate. Long messages are truncated, which is fine for
// a human-readable one-liner.
constexpr size_t kErrorCapacity = 2048;
thread_local char lastError[kErrorCapacity];

// The contract is one line: a newline from dlerror() or a file name must not
// split it.
void flattenToOneLine(char *text) {
  for (char *c = text; *c; ++c)
    if (*c == '\n' || *c == '\r')
      *c = ' ';
}
} // namespace

namespace kiln::rt {

kiln_status fail(kiln_status status, const char *fmt, ...) noexcept {
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(lastError, kErrorCapacity, fmt, args);
  va_end(args);
  flattenToOneLine(lastError);
  return status;
}

void prefixLastError(const std::string &prefix) noexcept {
  char old[kErrorCapacity];
  std::memcpy(old, lastError, kErrorCapacity);
  std::snprintf(lastError, kErrorCapacity, "%s%s", prefix.c_str(), old);
  flattenToOneLine(lastError);
}

std::string format(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  int length = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string result(length > 0 ? size_t(length) : 0, '\0');
  if (length > 0)
    std::vsnprintf(result.data(), result.size() + 1, fmt, args);
  va_end(args);
  return result;
}

std::string shapeString(const int64_t *dims, uint32_t rank) {
  std::string text = "[";
  for (uint32_t i = 0; i < rank; ++i) {
    if (i)
      text += ',';
    text += std::to_string(dims[i]);
  }
  return text + "]";
}

} // namespace kiln::rt

extern "C" {

// C callers may pass any int; the enum's range is 0..15, so UBSan's enum
// check (make test-asan) would report reading such a value as a kiln_status.
__attribute__((no_sanitize("enum")))
const char *kiln_status_string(kiln_status status) {
  // Indexed by kiln_status, which numbers its codes from 0 without gaps.
  static const char *const names[] = {"OK",
                                      "INVALID_ARGUMENT",
                                      "IO_ERROR",
                                      "CORRUPT_ARTIFACT",
                                      "VERSION_MISMATCH",
                                      "UNSUPPORTED",
                                      "NOT_FOUND",
                                      "SHAPE_MISMATCH",
                                      "DTYPE_MISMATCH",
                                      "MISSING_INPUT",
                                      "OUT_OF_MEMORY",
                                      "DEVICE_UNAVAILABLE",
                                      "INTERNAL",
                                      "DEVICE_ERROR"};
  static_assert(sizeof(names) / sizeof(names[0]) ==
                    size_t(KILN_STATUS_DEVICE_ERROR) + 1,
                "one name per kiln_status");
  size_t index = size_t(status);
  return index < sizeof(names) / sizeof(names[0]) ? names[index] : "UNKNOWN";
}

const char *kiln_last_error(void) { return lastError; }

} // extern "C"
