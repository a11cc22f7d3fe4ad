//===- artifact_builder.h - Assemble .kiln files for tests ------*- C++ -*-===//
//
// Writes artifacts per kiln/artifact_format.h without the compiler, so the
// runtime can be tested (and broken on purpose) byte by byte.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TEST_RUNTIME_ARTIFACT_BUILDER_H
#define KILN_TEST_RUNTIME_ARTIFACT_BUILDER_H

#include "kiln/artifact_format.h"
#include "kiln/dtype.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::test {

using Bytes = std::vector<uint8_t>;

struct TensorSpec {
  std::string name;
  /// Not kiln_dtype: tests store invalid values here on purpose.
  uint32_t dtype = KILN_DTYPE_FLOAT32;
  std::vector<int64_t> dims;
};

/// One entry of METADATA's symbol table (format version 3).
struct SymbolSpec {
  std::string name;
  int64_t min = 0;
  int64_t max = 0;
};

struct WeightSpec {
  TensorSpec tensor;
  Bytes data;
};

/// One GPU_CODE image. offset and size are computed by encodeGpuCode unless
/// a test sets them (to break them on purpose).
struct GpuImageSpec {
  std::string arch;
  uint32_t format = KILN_GPU_IMAGE_CUBIN;
  Bytes data;
  std::optional<uint64_t> offset; // default: the next 64-aligned offset
  std::optional<uint64_t> size;   // default: data.size()
};

struct GpuCodeSpec {
  uint32_t magic = KILN_GPU_CODE_MAGIC;
  uint64_t workspaceBytes = 0;
  std::vector<std::string> kernels;
  std::vector<GpuImageSpec> images;
};

struct ModelSpec {
  std::string target = "cpu-x86_64";
  std::string entrySymbol = KILN_ENTRY_SYMBOL;
  std::vector<WeightSpec> weights;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  /// METADATA's workspace_bytes (the CPU target's host workspace).
  uint64_t workspaceBytes = 0;
  /// The symbol table: a dim of -(k+1) names symbols[k].
  std::vector<SymbolSpec> symbols;
  /// The header's format version; METADATA has a symbol table (written even
  /// when empty) only from KILN_ARTIFACT_SYMBOLS_VERSION on.
  uint32_t formatVersion = KILN_ARTIFACT_FORMAT_VERSION;
  Bytes hostCode;
  bool withHostCode = true;
  GpuCodeSpec gpuCode;
  bool withGpuCode = false;
  /// A KERNELS section's bytes (encodeKernels), when set.
  std::optional<Bytes> kernels;
  /// A LAUNCHES section's bytes (encodeLaunches), when set.
  std::optional<Bytes> launches;
  /// A VALUES section's bytes (encodeValues), when set.
  std::optional<Bytes> values;
};

/// One value of a VALUES section (kiln/artifact_format.h, "Sequences and
/// optionals").
struct ValueSpec {
  std::string name;
  uint32_t role = 0; // 0 input, 1 output
  uint32_t flags = KILN_VALUE_PRESENT;
  std::string type;
  std::vector<std::string> tensors;
};

/// The VALUES section of `values`, with `magic`.
Bytes encodeValues(const std::vector<ValueSpec> &values,
                   uint32_t magic = KILN_VALUES_MAGIC);

/// One kernel of a KERNELS section (kiln/artifact_format.h, "Kernels").
struct KernelSpec {
  std::string name;
  std::vector<std::string> kinds, nodes;
};

/// The KERNELS section of `kernels`, with `magic`.
Bytes encodeKernels(const std::vector<KernelSpec> &kernels,
                    uint32_t magic = KILN_KERNELS_MAGIC);

/// One launch of a LAUNCHES section (kiln/artifact_format.h, "Kernels").
struct LaunchSpec {
  uint32_t gpuKernel = 0;
  uint32_t grid[3] = {1, 1, 1};
  uint32_t block[3] = {1, 1, 1};
  uint32_t sharedBytes = 0;
};

/// The LAUNCHES section of `launches`, with `magic`.
Bytes encodeLaunches(const std::vector<LaunchSpec> &launches,
                     uint32_t magic = KILN_LAUNCHES_MAGIC);

struct Section {
  uint32_t kind;
  Bytes data;
};

/// The METADATA section for `spec`, with weights laid out 64-byte aligned in
/// the order given.
Bytes encodeMetadata(const ModelSpec &spec);

/// The WEIGHTS section matching encodeMetadata's layout.
Bytes encodeWeights(const ModelSpec &spec);

/// The GPU_CODE section: the tables, then each image at the next
/// 64-byte-aligned offset (unless the spec fixes its offset).
Bytes encodeGpuCode(const GpuCodeSpec &spec);

/// A stand-in GPU image that test/runtime/fake_cuda understands: the text
/// "kiln-fake-gpu-image arch=ARCH kernels=K1,K2", after the ELF magic for a
/// cubin, NUL-terminated either way. `extra` is appended to the text (e.g.
/// " invalid" makes the fake driver reject the image).
Bytes fakeGpuImage(const std::string &arch, uint32_t format,
                   const std::vector<std::string> &kernels,
                   const std::string &extra = "");

/// A GENERATION section (kiln/artifact_format.h, "Generation steps"): the
/// roles of a generation step's inputs and output, by name. `trailing`
/// bytes after the section's fields let tests break it.
struct GenerationSpec {
  uint32_t magic = KILN_GENERATION_MAGIC;
  int64_t maxSeq = 8;
  std::string tokens = "tokens", positions = "past_length", logits = "logits";
  std::vector<std::string> states = {"cache.key.0", "cache.value.0"};
  Bytes trailing;
};

Bytes encodeGeneration(const GenerationSpec &g);

/// A complete artifact: header, section table, then `sections` in order,
/// each 64-byte aligned, with a correct checksum.
Bytes assemble(const std::vector<Section> &sections);

/// assemble() of the sections `spec` describes.
Bytes buildArtifact(const ModelSpec &spec);

/// Recomputes the header checksum after a test edited the bytes.
void refreshChecksum(Bytes &artifact);

/// Header and section-table accessors for tests that edit them.
kiln_artifact_header &headerOf(Bytes &artifact);
kiln_artifact_section &sectionEntry(Bytes &artifact, uint32_t index);

/// The toy generation step of test_host_code.c (kiln_entry_generation_step):
/// symbols batch 1..4 and seq 1..8; tokens i64[batch,seq], past_length
/// i64[batch], caches cache.key.0 / cache.value.0 f32[batch,2,8,4]; logits
/// f32[batch,seq,16].
ModelSpec generationStepModel(const Bytes &hostCode);

/// METADATA, HOST_CODE and GENERATION of `spec` and `g`.
Bytes buildGenerationArtifact(const ModelSpec &spec, const GenerationSpec &g);

/// The "add" model of test_host_code.c: w + a + b, plus stats/count.
ModelSpec addModel(const Bytes &hostCode);

/// The "zero-size" model of test_host_code.c.
ModelSpec zeroSizeModel(const Bytes &hostCode);

/// The "bf16-output" model of test_host_code.c.
ModelSpec bf16OutputModel(const Bytes &hostCode);

/// The "low-precision" model of test_host_code.c: a packed int4 weight, an
/// int4 input and sub-byte, float8, float4 and bfloat16 outputs.
ModelSpec lowPrecisionModel(const Bytes &hostCode);

/// The "dynamic" model of test_host_code.c: symbols batch (0..8) and seq
/// (1..16); weight w f32[1]; inputs a f32[batch,seq], b f32[1,seq];
/// outputs sum f32[batch,seq] = a + b + w, rowsum f32[batch] and
/// symbols i64[2], the symbol values the entry was passed.
ModelSpec dynamicModel(const Bytes &hostCode);

/// The "workspace" model of test_host_code.c: a 4096-byte workspace that
/// the entry counts its runs in.
ModelSpec workspaceModel(const Bytes &hostCode);

/// One GPU image of a test artifact: arch and format.
struct GpuImageKind {
  std::string arch;
  uint32_t format;
};

/// The "cuda-add" model of cuda_host_code.c: weight w, inputs a and b (all
/// f32[2,3]); outputs sum = a + b + w, copy = a (f32[2,3]), sevens (u8[4]).
/// Kernel table {"kiln_test_add"}, a 24-byte workspace, fake images of
/// `images` (by default an sm_90a cubin and an sm_80 PTX), target
/// "cuda-" + their archs.
ModelSpec cudaAddModel(const Bytes &hostCode,
                       const std::vector<GpuImageKind> &images = {
                           {"sm_90a", KILN_GPU_IMAGE_CUBIN},
                           {"sm_80", KILN_GPU_IMAGE_PTX}});

/// Gives a cudaAddModel its kernel table: its two launches of
/// kiln_test_add (grid 1x1x1, block 64x1x1), named "add" from nodes
/// "add_aw" and "add_b", with their LAUNCHES.
void addCudaAddKernelTable(ModelSpec &spec);

/// The "cuda-zero-size" model of cuda_host_code.c.
ModelSpec cudaZeroSizeModel(const Bytes &hostCode);

Bytes readFile(const std::string &path);
bool writeFile(const std::string &path, const Bytes &bytes);

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_ARTIFACT_BUILDER_H
