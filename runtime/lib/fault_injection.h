//===- fault_injection.h - Allocation failures on demand --------*- C++ -*-===//
//
// kiln_testing_fail_allocations (kiln/runtime_testing.h) arms a countdown;
// the runtime's tensor-storage allocations ask allocationMayProceed()
// first and fail, as they would out of memory, once it runs out.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_FAULT_INJECTION_H
#define KILN_RUNTIME_LIB_FAULT_INJECTION_H

#include <atomic>
#include <cstdint>

namespace kiln::rt {

/// Whether kiln_testing_fail_allocations armed a countdown, and how many
/// allocations it still lets through (below zero once failures started).
extern std::atomic<bool> allocationFailuresArmed;
extern std::atomic<int64_t> allocationsBeforeFailure;

/// False when an injected failure is due.
inline bool allocationMayProceed() {
  if (!allocationFailuresArmed.load(std::memory_order_relaxed))
    return true;
  return allocationsBeforeFailure.fetch_sub(1, std::memory_order_relaxed) > 0;
}

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_FAULT_INJECTION_H
