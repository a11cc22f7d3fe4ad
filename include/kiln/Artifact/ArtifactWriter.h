//===- ArtifactWriter.h - Write .kiln artifacts -----------------*- C++ -*-===//
//
// Assembles the one-file artifact described in kiln/artifact_format.h.
// Writing is atomic: the file appears complete under its name, or not at
// all.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_ARTIFACT_ARTIFACTWRITER_H
#define KILN_ARTIFACT_ARTIFACTWRITER_H

#include "kiln/artifact_format.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

struct TensorSignature {
  std::string name;
  int dtype = 0; // kiln_dtype (ONNX numbering)
  /// A dim >= 0 is static; -(k+1) is symbol k of ArtifactContents::symbols
  /// (inputs and outputs only; weights are static).
  std::vector<int64_t> dims;
};

/// A symbolic dimension: a name and the range [min, max] of its values.
/// A computed one is an output dimension only a run knows (the entry
/// reports it); computed symbols follow the others in
/// ArtifactContents::symbols.
struct SymbolSignature {
  std::string name;
  int64_t min = 0;
  int64_t max = 0;
  bool computed = false;
};

struct ArtifactWeight {
  TensorSignature tensor;
  /// The bytes in the weight's constant, which outlives the artifact's
  /// writing: a model's weights are not copied on their way to the file.
  llvm::ArrayRef<char> view;
  /// Bytes that had to be made (packed sub-byte types, expanded splats).
  std::vector<char> owned;

  /// Dense row-major bytes, exactly elements * dtype size.
  llvm::ArrayRef<char> data() const {
    return owned.empty() ? view : llvm::ArrayRef<char>(owned);
  }
};

/// The GPU_CODE section of GPU targets (format in kiln/artifact_format.h).
/// Every image holds every kernel; a kernel's index is its position in
/// `kernels`.

struct GpuImage {
  enum Format : uint32_t { Cubin = KILN_GPU_IMAGE_CUBIN, Ptx = KILN_GPU_IMAGE_PTX };
  std::string arch; // "sm_90a"
  Format format = Cubin;
  /// ELF bytes, or PTX text (the writer adds the terminating NUL).
  std::string bytes;
};

struct GpuCode {
  /// Device scratch the entry uses (256-byte aligned by the runtime).
  uint64_t workspaceBytes = 0;
  std::vector<std::string> kernels;
  std::vector<GpuImage> images;
};

/// The GENERATION section: the entry is a generation step
/// (kiln-convert-decoder-to-generation-step).
struct GenerationSignature {
  int64_t maxSeq = 0;
  std::string tokens, positions, logits;
  /// Inputs the entry updates in place (the KV caches).
  std::vector<std::string> stateInputs;
  /// A paged cache (kvBlockSize > 0): the block table input's name and
  /// the pools' shape.
  int64_t kvBlockSize = 0, kvBlocks = 0;
  std::string blockTable;
  /// Paged windowed attentions (windowBlocks > 0): their pools' blocks,
  /// their block table input, and which state inputs are their pools.
  int64_t windowBlocks = 0;
  std::string windowBlockTable;
  std::vector<std::string> windowStateInputs;
};

/// How a CUDA artifact's kernel-table row is launched (its LAUNCHES line):
/// the GPU kernel (its index in GpuCode::kernels), grid and block (0 where
/// only the run knows a dim) and shared memory bytes.
struct KernelLaunch {
  uint32_t gpuKernel = 0;
  uint32_t grid[3] = {0, 0, 0};
  uint32_t block[3] = {0, 0, 0};
  uint32_t sharedBytes = 0;
};

/// One line of the KERNELS section: a kernel of the entry (a CUDA
/// artifact's: a launch), what it computes and the ONNX nodes it came from.
struct KernelSignature {
  std::string name;
  std::vector<std::string> kinds, nodes;
  /// Written as the LAUNCHES section when every kernel has one.
  std::optional<KernelLaunch> launch;
  /// Written as the KERNEL_DETAILS section when some kernel has either:
  /// the bytes of machine code of its own functions (0: unknown) and its
  /// loop nest in one line ("scf.parallel 4x16 / scf.for 64").
  uint64_t codeBytes = 0;
  std::string loopNest;
};

/// A buffer of the workspace (kiln-plan-workspace's plan), as the
/// MEMORY_PLAN section lists it: the ONNX nodes that write it, its type
/// ("4x8xf32"), where it lies, and the first and last kernel that use it.
struct PlannedBufferSignature {
  std::string nodes, type;
  uint64_t offset = 0, bytes = 0;
  uint32_t firstKernel = 0, lastKernel = 0;
};

struct MemoryPlanSignature {
  uint64_t workspaceBytes = 0;
  /// The most buffer bytes live during one kernel.
  uint64_t peakBytes = 0;
  std::vector<PlannedBufferSignature> buffers;
};

/// One row of the VALUES section: a graph input or output that is an ONNX
/// sequence or optional, and the tensors it is passed as.
struct ValueSignature {
  std::string name;
  bool output = false;
  bool sequence = false;
  bool present = true;
  std::string type; // "sequence<tensor<float>>"
  std::vector<std::string> tensors;
};

struct ArtifactContents {
  std::string target;       // e.g. "cpu-x86_64"
  std::string entrySymbol;  // e.g. "kiln_entry"
  std::vector<ArtifactWeight> weights;
  std::vector<TensorSignature> inputs;
  std::vector<TensorSignature> outputs;
  std::string hostCode; // ELF shared object
  /// Host scratch of a "cpu-" target's entry (METADATA's workspace_bytes):
  /// the last pointer of `buffers`. 0 for other targets.
  uint64_t workspaceBytes = 0;
  /// The symbols the inputs' and outputs' dims name, those the inputs bind
  /// first, then the computed ones; empty for a static model. The CPU entry
  /// takes their values after the workspace.
  std::vector<SymbolSignature> symbols;
  /// Written as the GPU_CODE section when present.
  std::optional<GpuCode> gpuCode;
  /// Written as the GENERATION section (format version 4) when present.
  std::optional<GenerationSignature> generation;
  /// Written as the KERNELS section when not empty.
  std::vector<KernelSignature> kernels;
  /// Written as the VALUES section when not empty.
  std::vector<ValueSignature> values;
  /// Written as the MEMORY_PLAN section when present and there are kernels.
  std::optional<MemoryPlanSignature> memoryPlan;
  /// The nodes of the outputs kiln-compile --dump added, which are the last
  /// dumpNodes.size() outputs (the DUMPS section, when not empty).
  std::vector<std::string> dumpNodes;
};

/// Writes `contents` to `path`; on failure leaves no file behind and says
/// why.
llvm::Error writeArtifact(llvm::StringRef path,
                          const ArtifactContents &contents);

/// The bytes writeArtifact would write, in `out`.
llvm::Error writeArtifactToBuffer(const ArtifactContents &contents,
                                  std::string &out);

/// A model partitioned for several ranks (format version 5, the RANKS
/// section of kiln/artifact_format.h): each rank's complete artifact
/// (writeArtifactToBuffer's bytes), what it holds, and the plan.
struct PartitionedArtifact {
  std::string plan;
  std::vector<std::string> summaries;
  std::vector<std::string> ranks;
};

/// Writes `artifact` to `path` (rank 0's METADATA as the file's, then
/// RANKS); on failure leaves no file behind and says why.
llvm::Error writePartitionedArtifact(llvm::StringRef path,
                                     const PartitionedArtifact &artifact);

} // namespace kiln

#endif // KILN_ARTIFACT_ARTIFACTWRITER_H
