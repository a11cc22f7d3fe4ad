//===- launch_timing.cpp - CUDA events around each launch ----------------===//

#include "launch_timing.h"

#include "../../lib/profile.h"

#include <algorithm>
#include <cmath>

namespace kiln::rt::cuda {

LaunchTimer::Failure LaunchTimer::record(CUstream stream) {
  if (used_ == events_.size()) {
    // Room first, so that an event the driver created is never lost to a
    // failed allocation (a bad_alloc reaches the caller's guard).
    events_.reserve(events_.size() + 1);
    CUevent event = nullptr;
    if (CUresult r = d_.cuEventCreate(&event, CU_EVENT_DEFAULT))
      return {r, "cuEventCreate"};
    events_.push_back(event);
  }
  if (CUresult r = d_.cuEventRecord(events_[used_], stream))
    return {r, "cuEventRecord"};
  ++used_;
  return {};
}

LaunchTimer::Failure LaunchTimer::start(CUstream stream) {
  used_ = 0;
  launched_.clear();
  anchorNs_ = monotonicNs();
  return record(stream);
}

LaunchTimer::Failure LaunchTimer::mark(CUstream stream, uint32_t gpuKernel,
                                       bool end) {
  if (!end)
    launched_.push_back(gpuKernel);
  return record(stream);
}

LaunchTimer::Failure LaunchTimer::finish(const std::vector<KernelEntry> &table,
                                         SessionProfile &profile) {
  if (used_ == 0)
    return {};
  if (CUresult r = d_.cuEventSynchronize(events_[used_ - 1]))
    return {r, "cuEventSynchronize"};
  // Only launches whose start and end were both recorded.
  size_t complete = std::min(launched_.size(), (used_ - 1) / 2);
  auto toNs = [&](float ms) {
    double ns = double(ms) * 1e6;
    return anchorNs_ + (ns > 0 ? uint64_t(std::llround(ns)) : 0);
  };
  for (size_t i = 0; i < complete && i < table.size(); ++i) {
    if (table[i].hasLaunch && table[i].launch.gpu_kernel != launched_[i])
      break; // the run and the table part ways here
    float startMs = 0, endMs = 0;
    if (CUresult r =
            d_.cuEventElapsedTime(&startMs, events_[0], events_[1 + 2 * i]))
      return {r, "cuEventElapsedTime"};
    if (CUresult r =
            d_.cuEventElapsedTime(&endMs, events_[0], events_[2 + 2 * i]))
      return {r, "cuEventElapsedTime"};
    profile.recordKernel(uint32_t(i), toNs(startMs), toNs(endMs));
  }
  return {};
}

void LaunchTimer::release() {
  for (CUevent event : events_)
    d_.cuEventDestroy_v2(event); // best effort: nothing can be reported
  events_.clear();
  used_ = 0;
}

} // namespace kiln::rt::cuda
