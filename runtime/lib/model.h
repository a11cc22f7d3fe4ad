//===- model.h - The loaded, validated artifact behind kiln_model -*- C++
//-*-===//

#ifndef KILN_RUNTIME_LIB_MODEL_H
#define KILN_RUNTIME_LIB_MODEL_H

#include "artifact.h"
#include "generation_info.h"
#include "gpu_code.h"
#include "host_code.h"
#include "introspection.h"
#include "kernels.h"
#include "mapped_file.h"
#include "metadata.h"
#include "ranks.h"
#include "values.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

struct kiln_model {
  /// One reference for the caller of kiln_model_load plus one per session,
  /// so releasing the model before its sessions is safe.
  std::atomic<uint32_t> references{1};
  std::unique_ptr<kiln::rt::MappedFile> file;
  kiln::rt::ArtifactLayout layout;
  kiln::rt::Metadata metadata;
  /// Parsed GPU_CODE; empty (no images) when the section is absent.
  kiln::rt::GpuCode gpuCode;
  /// Parsed GENERATION; `present` is false when the section is absent.
  kiln::rt::GenerationInfo generation;
  /// Parsed KERNELS; empty when the section is absent.
  std::vector<kiln::rt::KernelEntry> kernels;
  /// Parsed VALUES: the sequence and optional inputs and outputs; empty
  /// when the section is absent.
  std::vector<kiln::rt::ValueEntry> values;
  /// Parsed KERNEL_DETAILS (empty when absent), MEMORY_PLAN and DUMPS.
  std::vector<kiln::rt::KernelDetail> kernelDetails;
  kiln::rt::MemoryPlan memoryPlan;
  kiln::rt::Dumps dumps;
  /// Sessions that profile (profile.cpp sets the host code's hook while
  /// there are any; guarded by its mutex).
  int profilingSessions = 0;
  /// A partitioned model's RANKS (empty for one rank). `layout` and
  /// `metadata` are then those of rank `rank`'s artifact (offsets from the
  /// start of the file), and rankRunning says whether this process runs
  /// that rank (the collectives were active at load).
  kiln::rt::RankTable rankTable;
  uint32_t rank = 0;
  bool rankRunning = false;

  /// Host code is loaded by the first session, not at kiln_model_load: a
  /// model for another target must still load for introspection.
  std::mutex hostMutex;
  bool hostTried = false;
  std::unique_ptr<kiln::rt::HostCode> hostCode;
  kiln_status hostStatus = KILN_STATUS_OK;
  std::string hostError; // replayed to every later session on failure
};

namespace kiln::rt {

void retainModel(kiln_model *model);
void releaseModel(kiln_model *model);

/// The host code's entry symbol, loading the host code on first use
/// (thread-safe; a failure is remembered and replayed).
kiln_status getHostEntry(kiln_model &model, void *&out);

/// Pointer to weight `index` inside the mapping; never null, even for a
/// zero-size weight.
void *weightData(const kiln_model &model, size_t index);

} // namespace kiln::rt

#endif // KILN_RUNTIME_LIB_MODEL_H
