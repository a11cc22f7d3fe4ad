//===- launch_timing.h - CUDA events around each launch ---------*- C++ -*-===//
//
// How a CUDA session profiles (kiln_session_enable_profile): a run records
// one event on the stream before its first launch (the run's reference)
// and one before and one after each launch. Once the stream has
// synchronized, cuEventElapsedTime gives each launch's start and end
// relative to the reference, which is placed on the host's clock at the
// moment it was enqueued. The times are the device's own; the whole run is
// shifted by however long the stream took to reach the reference (in a
// synchronous run, the uploads before it).
//
// Launch N of a run is row N of the kernel table, the compiler's promise
// (kiln/artifact_format.h, "Kernels"); when LAUNCHES says which GPU kernel
// row N launches and a run launched another, that launch and the ones after
// it are left out rather than misnamed.
//
// Events are created on first use and reused by the session's later
// profiled runs (a run launches the same kernels each time); release()
// destroys them, with the session's context current.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_BACKENDS_CUDA_LAUNCH_TIMING_H
#define KILN_RUNTIME_BACKENDS_CUDA_LAUNCH_TIMING_H

#include "cuda_driver.h"

#include "../../lib/kernels.h"

#include <vector>

namespace kiln::rt {
class SessionProfile;
}

namespace kiln::rt::cuda {

class LaunchTimer {
public:
  explicit LaunchTimer(const Driver &driver) : d_(driver) {}

  /// A failed driver call: what it returned and its name.
  struct Failure {
    CUresult result = CUDA_SUCCESS;
    const char *call = nullptr;
    explicit operator bool() const { return result != CUDA_SUCCESS; }
  };

  /// Starts a run: records the reference event on `stream`.
  Failure start(CUstream stream);
  /// Records the event before (`end` false) or after the run's next launch,
  /// of GPU kernel `gpuKernel`.
  Failure mark(CUstream stream, uint32_t gpuKernel, bool end);
  /// After the stream synchronized: each launch of the run as kernel N of
  /// `table`, on the host clock, into `profile`.
  Failure finish(const std::vector<KernelEntry> &table,
                 SessionProfile &profile);
  /// Launches timed in this run so far.
  size_t launches() const { return launched_.size(); }
  /// Destroys every event (the session's context current).
  void release();

private:
  Failure record(CUstream stream);

  const Driver &d_;
  std::vector<CUevent> events_;    // the reference, then start, end per launch
  size_t used_ = 0;                // events recorded in this run
  std::vector<uint32_t> launched_; // this run's GPU kernel per launch
  uint64_t anchorNs_ = 0;          // the host clock at the reference
};

} // namespace kiln::rt::cuda

#endif // KILN_RUNTIME_BACKENDS_CUDA_LAUNCH_TIMING_H
