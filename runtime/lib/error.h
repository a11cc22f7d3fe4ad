//===- error.h - Status reporting for the runtime's C API -------*- C++ -*-===//
//
// Every failure inside the runtime goes through fail(), which records the
// one-line detail that kiln_last_error() returns and hands back the status,
// so call sites read `return fail(KILN_STATUS_..., "...", ...);`.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_ERROR_H
#define KILN_RUNTIME_LIB_ERROR_H

#include "kiln/runtime.h"

#include <cstdint>
#include <string>

namespace kiln::rt {

/// Records a printf-style message as this thread's last error and returns
/// `status`. Never allocates, so it is safe in an out-of-memory handler.
kiln_status fail(kiln_status status, const char *fmt, ...) noexcept
    __attribute__((format(printf, 2, 3)));

/// Prepends `prefix` to this thread's last error, e.g. to name the file a
/// lower layer was reading.
void prefixLastError(const std::string &prefix) noexcept;

/// printf into a std::string.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/// "[2,3]" for dims {2, 3}; "[]" for a scalar.
std::string shapeString(const int64_t *dims, uint32_t rank);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_ERROR_H
