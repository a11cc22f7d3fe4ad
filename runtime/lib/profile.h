//===- profile.h - Per-kernel timing of a session's runs -------*- C++ -*-===//
//
// A CPU artifact's host code calls the function its exported
// KILN_PROFILER_SYMBOL points to around each kernel (kiln/artifact_format.h,
// "Kernels"). That pointer stays null, so the code pays one test per
// kernel, until some session of the model enables profiling; the runtime
// then points it at recordKernelEvent, which appends to the profile of the
// session running on the calling thread (a thread-local set for the
// duration of the run), and nulls it again when the last such session
// stops. Events live in a buffer reserved when profiling is enabled: the
// hook never allocates.
//
// A device backend has no hook in its host code: during a run it asks
// SessionProfile::active() whether the run records, times its launches
// itself (the CUDA backend with events) and hands each one to
// recordKernel before the run ends.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_LIB_PROFILE_H
#define KILN_RUNTIME_LIB_PROFILE_H

#include "kiln/runtime.h"

#include <cstdint>
#include <vector>

struct kiln_model;

namespace kiln::rt {

class SessionProfile {
public:
  /// Starts recording at most `maxEvents` events of `model`'s runs (0
  /// stops); a profile that was on is cleared first.
  kiln_status enable(kiln_model &model, size_t maxEvents);
  /// Stops, releasing the model's hook (at session release).
  void disable();
  bool enabled() const { return model_ != nullptr; }

  /// Around a run: makes this the calling thread's profile, records the
  /// run's event at the end.
  void beginRun();
  void endRun();

  /// A kernel's start (phase 0) or end (phase 1), from the host code.
  void kernelEvent(uint32_t kernel, uint32_t phase);

  /// The profile of the run in progress on this thread, or null when it
  /// does not record.
  static SessionProfile *active();
  /// Kernels of the model's table (the indices recordKernel takes).
  size_t numKernels() const { return numKernels_; }
  /// A kernel timed elsewhere (a device), on the monotonicNs() clock; an
  /// index outside the table is ignored.
  void recordKernel(uint32_t kernel, uint64_t startNs, uint64_t endNs);

  const std::vector<kiln_profile_event> &events() const { return events_; }
  uint64_t dropped() const { return dropped_; }

private:
  void record(uint32_t kernel, uint64_t start, uint64_t end);

  kiln_model *model_ = nullptr;
  std::vector<kiln_profile_event> events_;
  size_t capacity_ = 0;
  uint64_t dropped_ = 0;
  uint32_t runs_ = 0;
  uint64_t runStart_ = 0, kernelStart_ = 0;
  uint32_t openKernel_ = UINT32_MAX;
  size_t numKernels_ = 0;
};

/// CLOCK_MONOTONIC in nanoseconds: the clock of every profile event.
uint64_t monotonicNs();

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_PROFILE_H
