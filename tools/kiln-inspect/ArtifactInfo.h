//===- ArtifactInfo.h - What a .kiln artifact holds -------------*- C++ -*-===//
//
// kiln-inspect's view of an artifact, read through the runtime's C API (so
// the file is validated exactly as kiln-run would validate it, and nothing
// here decodes the format a second time).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_INSPECT_ARTIFACTINFO_H
#define KILN_INSPECT_ARTIFACTINFO_H

#include "kiln/runtime.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::inspect {

/// An input, output or weight. As in the C API, a symbolic dim is -(k+1)
/// for symbol k of ArtifactInfo::symbols.
struct Tensor {
  std::string name;
  kiln_dtype dtype = KILN_DTYPE_INVALID;
  std::vector<int64_t> dims;
  /// Weights only: the bytes stored in WEIGHTS (packed for sub-byte types).
  uint64_t bytes = 0;
  /// Outputs only: the ONNX node of a value kiln-compile --dump kept.
  std::string dumpOf;
};

struct Symbol {
  std::string name;
  int64_t min = 0, max = 0;
};

struct Section {
  std::string kind; // "METADATA", "HOST_CODE", "WEIGHTS", "GPU_CODE"
  uint64_t offset = 0, size = 0;
};

struct GpuImage {
  std::string arch;
  std::string format; // "cubin" or "ptx"
  uint64_t bytes = 0;
};

/// A kernel of the entry (the KERNELS section): what it computes and the
/// ONNX nodes it came from; for a CUDA artifact's launch, also the launch
/// (the LAUNCHES section) and its GPU kernel's name.
struct Kernel {
  std::string name;
  std::vector<std::string> kinds, nodes;
  std::optional<kiln_kernel_launch> launch;
  std::string gpuKernel;
  /// From KERNEL_DETAILS, when the artifact has it.
  bool hasDetail = false;
  uint64_t codeBytes = 0;
  std::string loopNest;
};

/// A buffer of the memory plan (MEMORY_PLAN).
struct PlannedBuffer {
  std::string nodes, type;
  uint64_t offset = 0, bytes = 0;
  uint32_t firstKernel = 0, lastKernel = 0;
};

struct MemoryPlan {
  uint64_t workspaceBytes = 0, peakBytes = 0;
  std::vector<PlannedBuffer> buffers;
};

/// The roles of a generation step (kiln-compile --generate).
struct Generation {
  int64_t maxSeq = 0;
  std::string tokens, positions, logits;
  std::vector<std::string> stateInputs;
};

struct ArtifactInfo {
  std::string path;
  uint64_t fileSize = 0;
  uint32_t formatVersion = 0;
  std::string target;
  /// The archs a "cuda-" target names, in its order; empty for others.
  std::vector<std::string> gpuArchs;
  std::string entrySymbol;
  std::vector<Tensor> inputs, outputs, weights;
  std::vector<Symbol> symbols;
  uint64_t cpuWorkspaceBytes = 0, gpuWorkspaceBytes = 0;
  std::vector<Section> sections;
  std::vector<Kernel> kernels;
  std::vector<std::string> gpuKernels;
  std::vector<GpuImage> gpuImages;
  std::optional<Generation> generation;
  std::optional<MemoryPlan> memoryPlan;
  /// A partitioned model (kiln-compile --devices N): the plan and what each
  /// rank holds; empty for one rank. The rest describes rank 0's program.
  std::string plan;
  std::vector<std::string> rankSummaries;
};

/// Loads `path` with kiln_model_load, which checks the magic, version,
/// size, checksum, sections and metadata, and fills `out`. Returns "" or
/// the runtime's one-line message.
std::string readArtifact(const std::string &path, ArtifactInfo &out);

} // namespace kiln::inspect

#endif // KILN_INSPECT_ARTIFACTINFO_H
