//===- cpu_backend.cpp - Run host code on this process's CPU -------------===//
//
// The CPU target's HOST_CODE computes the whole model: its entry takes one
// pointer per weight, input and output, then the workspace, then (models
// with symbolic dims only) the symbols' values (kiln/artifact_format.h).
// Weights are passed in place from the read-only mapping; inputs and
// outputs are the session's host buffers; the workspace, where the compiler
// placed the intermediates, is allocated once per session (a session runs
// on one thread at a time, so sessions on different threads never share
// one). Running is one call that allocates nothing.
//
//===----------------------------------------------------------------------===//

#include "../../lib/aligned_buffer.h"
#include "../../lib/backend.h"
#include "../../lib/error.h"
#include "../../lib/model.h"

#include <algorithm>
#include <cinttypes>

namespace kiln::rt {
namespace {

/// The CPU target whose host code this process can execute.
#if defined(__x86_64__)
constexpr const char *kHostCpuTarget = "cpu-x86_64";
#elif defined(__aarch64__)
constexpr const char *kHostCpuTarget = "cpu-aarch64";
#else
constexpr const char *kHostCpuTarget = nullptr;
#endif

/// The CPU target's entry point: weights, inputs, outputs, workspace[,
/// symbol values].
using CpuEntry = void (*)(void **buffers);

/// libomp's omp_set_num_threads, found through the artifact: only code
/// with parallel loops links the OpenMP runtime, and the runtime itself
/// never does.
using SetNumThreads = void (*)(int);

class CpuSession final : public DeviceSession {
public:
  /// `weights`: one pointer per weight; `io` outlives the session.
  CpuSession(CpuEntry entry, SetNumThreads setNumThreads,
             const std::vector<void *> &weights, const HostIO &io,
             AlignedBuffer workspace)
      : entry_(entry), setNumThreads_(setNumThreads), io_(io),
        firstInput_(weights.size()), buffers_(weights),
        workspace_(std::move(workspace)) {
    buffers_.insert(buffers_.end(), io.inputs.begin(), io.inputs.end());
    buffers_.insert(buffers_.end(), io.outputs.begin(), io.outputs.end());
    buffers_.push_back(workspace_.data());
    if (!io.symbolValues.empty())
      buffers_.push_back(const_cast<int64_t *>(io.symbolValues.data()));
  }

  void inputChanged(size_t) override {} // the entry reads the host buffer

  void setThreads(uint32_t threads) override { threads_ = threads; }

  kiln_status run() override {
    refreshTensorPointers();
    // The thread count is a property of the calling OS thread in OpenMP,
    // so it is set on every run: sessions with different counts may share
    // a thread.
    if (setNumThreads_ && threads_ != 0)
      setNumThreads_(int(threads_));
    entry_(buffers_.data());
    return KILN_STATUS_OK;
  }

private:
  /// Buffers of tensors with symbolic dims move when they grow (HostIO).
  void refreshTensorPointers() {
    auto inputs = buffers_.begin() + std::ptrdiff_t(firstInput_);
    std::copy(io_.inputs.begin(), io_.inputs.end(), inputs);
    std::copy(io_.outputs.begin(), io_.outputs.end(),
              inputs + std::ptrdiff_t(io_.inputs.size()));
  }

  CpuEntry entry_;
  SetNumThreads setNumThreads_;
  const HostIO &io_;
  size_t firstInput_; // = the number of weights
  /// Weights, inputs, outputs, workspace_.data()[, symbol values].
  std::vector<void *> buffers_;
  AlignedBuffer workspace_;
  uint32_t threads_ = 0; // 0: the OpenMP runtime's default (every core)
};

class CpuBackend final : public Backend {
public:
  CpuBackend() : Backend({"cpu", "'cpu'", "cpu-"}) {}

  kiln_status checkArtifact(const kiln_model &model) const override {
    if (!model.layout.hostCode.present)
      return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                  "artifact for target '%s' has no HOST_CODE section",
                  model.metadata.target.c_str());
    return KILN_STATUS_OK;
  }

  kiln_status createSession(kiln_model &model, const DeviceRef &device,
                            const HostIO &io,
                            std::unique_ptr<DeviceSession> &out) const override {
    if (device.index != 0)
      return fail(KILN_STATUS_INVALID_ARGUMENT,
                  "unknown device '%s'; the CPU is device 'cpu' (or 'cpu:0')",
                  device.text.c_str());
    const std::string &target = model.metadata.target;
    if (!kHostCpuTarget || target != kHostCpuTarget)
      return fail(KILN_STATUS_UNSUPPORTED,
                  "artifact target '%s' cannot run on device 'cpu' of this "
                  "host (which runs '%s')",
                  target.c_str(), kHostCpuTarget ? kHostCpuTarget : "none");
    void *entry = nullptr;
    if (kiln_status status = getHostEntry(model, entry))
      return status;

    std::vector<void *> weights;
    for (size_t i = 0; i < model.metadata.weights.size(); ++i)
      weights.push_back(weightData(model, i));
    // At least 64 bytes even when the plan is empty: the entry gets a
    // valid, aligned pointer either way. (The size is below SIZE_MAX / 2,
    // checked at load.)
    AlignedBuffer workspace;
    uint64_t workspaceBytes = model.metadata.workspaceBytes;
    if (!workspace.allocate(size_t(workspaceBytes)))
      return fail(KILN_STATUS_OUT_OF_MEMORY,
                  "out of memory allocating the %" PRIu64
                  "-byte workspace the model's code needs for its "
                  "intermediates%s",
                  workspaceBytes, memoryLimitNote().c_str());
    auto setNumThreads = reinterpret_cast<SetNumThreads>(
        model.hostCode->symbol("omp_set_num_threads"));
    out = std::make_unique<CpuSession>(reinterpret_cast<CpuEntry>(entry),
                                       setNumThreads, weights, io,
                                       std::move(workspace));
    return KILN_STATUS_OK;
  }
};

} // namespace

const Backend &cpuBackend() {
  static const CpuBackend backend;
  return backend;
}

} // namespace kiln::rt
