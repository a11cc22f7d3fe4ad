//===- api_guard.h - Keep C++ exceptions from crossing the C API -*- C++
//-*-===//
//
// The runtime is C++ inside, so std::vector and std::string may throw
// std::bad_alloc. Every extern "C" entry point runs its body through guard(),
// which turns any exception into a status instead of terminating the host
// program.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_API_GUARD_H
#define KILN_RUNTIME_LIB_API_GUARD_H

#include "error.h"

#include <exception>
#include <new>

namespace kiln::rt {

template <typename Body> kiln_status guard(Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception &error) {
    return fail(KILN_STATUS_INTERNAL, "internal error: %s", error.what());
  } catch (...) {
    return fail(KILN_STATUS_INTERNAL, "internal error: unknown exception");
  }
}

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_API_GUARD_H
