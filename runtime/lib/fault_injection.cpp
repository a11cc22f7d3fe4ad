//===- fault_injection.cpp - kiln_testing_fail_allocations ----------------===//

#include "fault_injection.h"

#include "kiln/runtime_testing.h"

namespace kiln::rt {
std::atomic<bool> allocationFailuresArmed{false};
std::atomic<int64_t> allocationsBeforeFailure{0};
} // namespace kiln::rt

extern "C" void kiln_testing_fail_allocations(int64_t after) {
  using namespace kiln::rt;
  allocationFailuresArmed.store(false, std::memory_order_relaxed);
  if (after < 0)
    return;
  allocationsBeforeFailure.store(after, std::memory_order_relaxed);
  allocationFailuresArmed.store(true, std::memory_order_relaxed);
}
