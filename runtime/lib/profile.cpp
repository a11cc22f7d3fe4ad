//===- profile.cpp - Per-kernel timing of a session's runs ---------------===//

#include "profile.h"

#include "api_guard.h"
#include "arguments.h"
#include "error.h"
#include "kiln/artifact_format.h"
#include "model.h"
#include "session.h"

#include <ctime>
#include <mutex>

namespace kiln::rt {
namespace {

/// The profile of the run in progress on this thread, if it records.
thread_local SessionProfile *activeProfile = nullptr;

/// What the host code's hook points to while any session profiles.
void recordKernelEvent(uint32_t kernel, uint32_t phase) {
  if (SessionProfile *profile = activeProfile)
    profile->kernelEvent(kernel, phase);
}

/// Counts the sessions of `model` that profile; the hook is set while there
/// are any. Host code without a hook (older artifacts, the CUDA target's)
/// records whole runs only, unless its backend times kernels itself.
std::mutex hookMutex;

void updateHook(kiln_model &model, int change) {
  std::lock_guard<std::mutex> lock(hookMutex);
  model.profilingSessions += change;
  if (!model.hostCode)
    return;
  auto *slot = static_cast<kiln_profiler_hook *>(
      model.hostCode->symbol(KILN_PROFILER_SYMBOL));
  if (slot)
    *slot = model.profilingSessions > 0 ? recordKernelEvent : nullptr;
}

} // namespace

uint64_t monotonicNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000000000u + uint64_t(t.tv_nsec);
}

SessionProfile *SessionProfile::active() { return activeProfile; }

kiln_status SessionProfile::enable(kiln_model &model, size_t maxEvents) {
  disable();
  if (maxEvents == 0)
    return KILN_STATUS_OK;
  events_.reserve(maxEvents); // may throw bad_alloc: guard() reports it
  capacity_ = maxEvents;
  numKernels_ = model.kernels.size();
  model_ = &model;
  updateHook(model, +1);
  return KILN_STATUS_OK;
}

void SessionProfile::disable() {
  if (model_)
    updateHook(*model_, -1);
  model_ = nullptr;
  events_ = {};
  capacity_ = 0;
  dropped_ = 0;
  runs_ = 0;
}

void SessionProfile::beginRun() {
  if (!model_)
    return;
  activeProfile = this;
  openKernel_ = UINT32_MAX;
  runStart_ = monotonicNs();
}

void SessionProfile::endRun() {
  if (!model_)
    return;
  activeProfile = nullptr;
  record(KILN_PROFILE_RUN, runStart_, monotonicNs());
  ++runs_;
}

void SessionProfile::kernelEvent(uint32_t kernel, uint32_t phase) {
  // Host code only names kernels of its own table; anything else is ignored.
  if (kernel >= numKernels_)
    return;
  if (phase == 0) {
    openKernel_ = kernel;
    kernelStart_ = monotonicNs();
  } else if (openKernel_ == kernel) {
    record(kernel, kernelStart_, monotonicNs());
    openKernel_ = UINT32_MAX;
  }
}

void SessionProfile::recordKernel(uint32_t kernel, uint64_t startNs,
                                  uint64_t endNs) {
  if (kernel < numKernels_)
    record(kernel, startNs, endNs);
}

void SessionProfile::record(uint32_t kernel, uint64_t start, uint64_t end) {
  if (events_.size() == capacity_) {
    ++dropped_;
    return;
  }
  events_.push_back(kiln_profile_event{kernel, runs_, start, end});
}

} // namespace kiln::rt

using namespace kiln::rt;

extern "C" {

kiln_status kiln_session_enable_profile(kiln_session *session,
                                        size_t max_events) {
  return guard([&] {
    if (!session)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "session is NULL");
    return profileOf(*session).enable(modelOf(*session), max_events);
  });
}

kiln_status kiln_session_profile_get(const kiln_session *session,
                                     const kiln_profile_event **out_events,
                                     size_t *out_count, uint64_t *out_dropped) {
  clearOutputs(out_events, out_count, out_dropped);
  if (kiln_status status = requireArguments({{session, "session"},
                                             {out_events, "out_events"},
                                             {out_count, "out_count"}}))
    return status;
  const SessionProfile &profile = profileOf(const_cast<kiln_session &>(*session));
  if (!profile.enabled())
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "profiling is not enabled: call kiln_session_enable_profile "
                "before the runs");
  *out_events = profile.events().data();
  *out_count = profile.events().size();
  if (out_dropped)
    *out_dropped = profile.dropped();
  return KILN_STATUS_OK;
}

} // extern "C"
