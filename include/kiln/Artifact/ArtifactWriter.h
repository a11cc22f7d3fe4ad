//===- ArtifactWriter.h - Write .kiln artifacts -----------------*- C++ -*-===//
//
// Assembles the one-file artifact described in kiln/artifact_format.h.
// Writing is atomic: the file appears complete under its name, or not at
// all.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_ARTIFACT_ARTIFACTWRITER_H
#define KILN_ARTIFACT_ARTIFACTWRITER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

struct TensorSignature {
  std::string name;
  int dtype = 0; // kiln_dtype (ONNX numbering)
  std::vector<int64_t> dims;
};

struct ArtifactWeight {
  TensorSignature tensor;
  /// Dense row-major bytes, exactly elements * dtype size.
  std::vector<char> data;
};

/// The GPU_CODE section (section kind 4, "KGC1"), for GPU targets. Every
/// image holds every kernel; a kernel's index is its position in `kernels`.
/// Encoding (little-endian, str = u32 length + bytes):
///   u32 magic, u64 workspace_bytes, u32 num_kernels, str name...,
///   u32 num_images, per image: str arch, u32 format, u64 offset, u64 size
///   (offset relative to the section start).
constexpr uint32_t kSectionGpuCode = 4; // KILN_SECTION_PTX in older headers
constexpr uint32_t kGpuCodeMagic = 0x3143474B; // "KGC1"

struct GpuImage {
  enum Format : uint32_t { Cubin = 1, Ptx = 2 };
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

struct ArtifactContents {
  std::string target;       // e.g. "cpu-x86_64"
  std::string entrySymbol;  // e.g. "kiln_entry"
  std::vector<ArtifactWeight> weights;
  std::vector<TensorSignature> inputs;
  std::vector<TensorSignature> outputs;
  std::string hostCode; // ELF shared object
  /// Written as the GPU_CODE section when present.
  std::optional<GpuCode> gpuCode;
};

/// Writes `contents` to `path`. Returns false with `error` set on failure,
/// leaving no file behind.
bool writeArtifact(llvm::StringRef path, const ArtifactContents &contents,
                   std::string &error);

} // namespace kiln

#endif // KILN_ARTIFACT_ARTIFACTWRITER_H
