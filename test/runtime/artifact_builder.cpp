//===- artifact_builder.cpp - Assemble .kiln files for tests -------------===//

#include "artifact_builder.h"

#include <cstring>
#include <fstream>
#include <iterator>

namespace kiln::test {
namespace {

template <typename T> void put(Bytes &out, T value) {
  const auto *bytes = reinterpret_cast<const uint8_t *>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

void putString(Bytes &out, const std::string &text) {
  put<uint32_t>(out, uint32_t(text.size()));
  out.insert(out.end(), text.begin(), text.end());
}

void putTensor(Bytes &out, const TensorSpec &tensor) {
  putString(out, tensor.name);
  put<uint32_t>(out, uint32_t(tensor.dtype));
  put<uint32_t>(out, uint32_t(tensor.dims.size()));
  for (int64_t dim : tensor.dims)
    put<int64_t>(out, dim);
}

uint64_t alignUp(uint64_t value) {
  return (value + KILN_ARTIFACT_ALIGNMENT - 1) / KILN_ARTIFACT_ALIGNMENT *
         KILN_ARTIFACT_ALIGNMENT;
}

Bytes floats(std::initializer_list<float> values) {
  Bytes out;
  for (float value : values)
    put<float>(out, value);
  return out;
}

} // namespace

Bytes encodeMetadata(const ModelSpec &spec) {
  Bytes out;
  put<uint32_t>(out, KILN_METADATA_MAGIC);
  putString(out, spec.target);
  putString(out, spec.entrySymbol);
  put<uint32_t>(out, uint32_t(spec.weights.size()));
  uint64_t offset = 0;
  for (const WeightSpec &weight : spec.weights) {
    putTensor(out, weight.tensor);
    put<uint64_t>(out, offset);
    put<uint64_t>(out, weight.data.size());
    offset = alignUp(offset + weight.data.size());
  }
  put<uint32_t>(out, uint32_t(spec.inputs.size()));
  for (const TensorSpec &input : spec.inputs)
    putTensor(out, input);
  put<uint32_t>(out, uint32_t(spec.outputs.size()));
  for (const TensorSpec &output : spec.outputs)
    putTensor(out, output);
  put<uint64_t>(out, spec.workspaceBytes);
  if (spec.formatVersion >= KILN_ARTIFACT_SYMBOLS_VERSION) {
    put<uint32_t>(out, uint32_t(spec.symbols.size()));
    for (const SymbolSpec &symbol : spec.symbols) {
      putString(out, symbol.name);
      put<int64_t>(out, symbol.min);
      put<int64_t>(out, symbol.max);
    }
  }
  return out;
}

Bytes encodeWeights(const ModelSpec &spec) {
  Bytes out;
  for (const WeightSpec &weight : spec.weights) {
    out.resize(alignUp(out.size()));
    out.insert(out.end(), weight.data.begin(), weight.data.end());
  }
  return out;
}

Bytes encodeGpuCode(const GpuCodeSpec &spec) {
  Bytes out;
  put<uint32_t>(out, spec.magic);
  put<uint64_t>(out, spec.workspaceBytes);
  put<uint32_t>(out, uint32_t(spec.kernels.size()));
  for (const std::string &kernel : spec.kernels)
    putString(out, kernel);
  put<uint32_t>(out, uint32_t(spec.images.size()));
  // Lay the images out after the table, whose size is known up front.
  uint64_t tableEnd = out.size();
  for (const GpuImageSpec &image : spec.images)
    tableEnd += 4 + image.arch.size() + 4 + 8 + 8;
  std::vector<uint64_t> offsets;
  uint64_t next = alignUp(tableEnd);
  for (const GpuImageSpec &image : spec.images) {
    offsets.push_back(image.offset.value_or(next));
    next = alignUp(next + image.data.size());
  }
  for (size_t i = 0; i < spec.images.size(); ++i) {
    const GpuImageSpec &image = spec.images[i];
    putString(out, image.arch);
    put<uint32_t>(out, image.format);
    put<uint64_t>(out, offsets[i]);
    put<uint64_t>(out, image.size.value_or(image.data.size()));
  }
  // Images at their computed places; a fixed offset writes nothing there.
  next = alignUp(tableEnd);
  for (const GpuImageSpec &image : spec.images) {
    out.resize(next, 0);
    out.insert(out.end(), image.data.begin(), image.data.end());
    next = alignUp(next + image.data.size());
  }
  return out;
}

Bytes fakeGpuImage(const std::string &arch, uint32_t format,
                   const std::vector<std::string> &kernels,
                   const std::string &extra) {
  std::string text = "kiln-fake-gpu-image arch=" + arch + " kernels=";
  for (size_t i = 0; i < kernels.size(); ++i)
    text += (i ? "," : "") + kernels[i];
  text += extra;
  if (format == KILN_GPU_IMAGE_CUBIN)
    text = "\x7f" "ELF" + text;
  text.push_back('\0');
  return Bytes(text.begin(), text.end());
}

Bytes assemble(const std::vector<Section> &sections) {
  uint64_t tableOffset = KILN_ARTIFACT_HEADER_SIZE;
  uint64_t offset =
      alignUp(tableOffset + sections.size() * KILN_ARTIFACT_SECTION_ENTRY_SIZE);
  std::vector<kiln_artifact_section> table;
  for (const Section &section : sections) {
    kiln_artifact_section entry{};
    entry.kind = section.kind;
    entry.offset = offset;
    entry.size = section.data.size();
    table.push_back(entry);
    offset = alignUp(offset + section.data.size());
  }

  Bytes out(KILN_ARTIFACT_HEADER_SIZE, 0);
  for (const kiln_artifact_section &entry : table)
    put(out, entry);
  for (size_t i = 0; i < sections.size(); ++i) {
    out.resize(table[i].offset, 0);
    out.insert(out.end(), sections[i].data.begin(), sections[i].data.end());
  }

  kiln_artifact_header header{};
  std::memcpy(header.magic, KILN_ARTIFACT_MAGIC, sizeof(KILN_ARTIFACT_MAGIC));
  header.format_version = KILN_ARTIFACT_FORMAT_VERSION;
  header.header_size = KILN_ARTIFACT_HEADER_SIZE;
  header.section_count = uint32_t(sections.size());
  header.section_table_offset = tableOffset;
  std::memcpy(out.data(), &header, sizeof(header));
  refreshChecksum(out);
  return out;
}

Bytes encodeGeneration(const GenerationSpec &g) {
  Bytes out;
  put<uint32_t>(out, g.magic);
  put<int64_t>(out, g.maxSeq);
  putString(out, g.tokens);
  putString(out, g.positions);
  putString(out, g.logits);
  put<uint32_t>(out, uint32_t(g.states.size()));
  for (const std::string &state : g.states)
    putString(out, state);
  out.insert(out.end(), g.trailing.begin(), g.trailing.end());
  return out;
}

Bytes buildGenerationArtifact(const ModelSpec &spec, const GenerationSpec &g) {
  return assemble({{KILN_SECTION_METADATA, encodeMetadata(spec)},
                   {KILN_SECTION_HOST_CODE, spec.hostCode},
                   {KILN_SECTION_GENERATION, encodeGeneration(g)}});
}

Bytes encodeKernels(const std::vector<KernelSpec> &kernels, uint32_t magic) {
  Bytes out;
  put<uint32_t>(out, magic);
  put<uint32_t>(out, uint32_t(kernels.size()));
  for (const KernelSpec &kernel : kernels) {
    putString(out, kernel.name);
    for (const std::vector<std::string> *names : {&kernel.kinds, &kernel.nodes}) {
      put<uint32_t>(out, uint32_t(names->size()));
      for (const std::string &name : *names)
        putString(out, name);
    }
  }
  return out;
}

Bytes encodeValues(const std::vector<ValueSpec> &values, uint32_t magic) {
  Bytes out;
  put<uint32_t>(out, magic);
  put<uint32_t>(out, uint32_t(values.size()));
  for (const ValueSpec &value : values) {
    putString(out, value.name);
    put<uint32_t>(out, value.role);
    put<uint32_t>(out, value.flags);
    putString(out, value.type);
    put<uint32_t>(out, uint32_t(value.tensors.size()));
    for (const std::string &tensor : value.tensors)
      putString(out, tensor);
  }
  return out;
}

Bytes encodeLaunches(const std::vector<LaunchSpec> &launches, uint32_t magic) {
  Bytes out;
  put<uint32_t>(out, magic);
  put<uint32_t>(out, uint32_t(launches.size()));
  for (const LaunchSpec &launch : launches) {
    put<uint32_t>(out, launch.gpuKernel);
    for (uint32_t value : launch.grid)
      put<uint32_t>(out, value);
    for (uint32_t value : launch.block)
      put<uint32_t>(out, value);
    put<uint32_t>(out, launch.sharedBytes);
  }
  return out;
}

Bytes buildArtifact(const ModelSpec &spec) {
  std::vector<Section> sections = {
      {KILN_SECTION_METADATA, encodeMetadata(spec)}};
  if (spec.withHostCode)
    sections.push_back({KILN_SECTION_HOST_CODE, spec.hostCode});
  if (!spec.weights.empty())
    sections.push_back({KILN_SECTION_WEIGHTS, encodeWeights(spec)});
  if (spec.withGpuCode)
    sections.push_back({KILN_SECTION_GPU_CODE, encodeGpuCode(spec.gpuCode)});
  if (spec.kernels)
    sections.push_back({KILN_SECTION_KERNELS, *spec.kernels});
  if (spec.launches)
    sections.push_back({KILN_SECTION_LAUNCHES, *spec.launches});
  if (spec.values)
    sections.push_back({KILN_SECTION_VALUES, *spec.values});
  Bytes artifact = assemble(sections);
  // The version lies in the header, outside the checksummed bytes.
  headerOf(artifact).format_version = spec.formatVersion;
  return artifact;
}

void refreshChecksum(Bytes &artifact) {
  kiln_artifact_header &header = headerOf(artifact);
  header.file_size = artifact.size();
  header.checksum =
      kiln_checksum(artifact.data() + KILN_ARTIFACT_HEADER_SIZE,
                    artifact.size() - KILN_ARTIFACT_HEADER_SIZE);
}

kiln_artifact_header &headerOf(Bytes &artifact) {
  return *reinterpret_cast<kiln_artifact_header *>(artifact.data());
}

kiln_artifact_section &sectionEntry(Bytes &artifact, uint32_t index) {
  return *reinterpret_cast<kiln_artifact_section *>(
      artifact.data() + headerOf(artifact).section_table_offset +
      index * KILN_ARTIFACT_SECTION_ENTRY_SIZE);
}

ModelSpec addModel(const Bytes &hostCode) {
  ModelSpec spec;
  spec.hostCode = hostCode;
  spec.weights.push_back({{"w", KILN_DTYPE_FLOAT32, {2, 3}},
                          floats({100, 200, 300, 400, 500, 600})});
  spec.inputs = {{"a", KILN_DTYPE_FLOAT32, {2, 3}},
                 {"b", KILN_DTYPE_FLOAT32, {2, 3}}};
  spec.outputs = {{"sum", KILN_DTYPE_FLOAT32, {2, 3}},
                  {"stats/count", KILN_DTYPE_INT64, {}}};
  return spec;
}

ModelSpec zeroSizeModel(const Bytes &hostCode) {
  ModelSpec spec;
  spec.hostCode = hostCode;
  spec.entrySymbol = "kiln_entry_zero_size";
  spec.weights.push_back({{"e", KILN_DTYPE_FLOAT32, {0}}, {}});
  spec.inputs = {{"x", KILN_DTYPE_FLOAT32, {0, 3}}};
  spec.outputs = {{"y", KILN_DTYPE_FLOAT32, {0, 3}},
                  {"ok", KILN_DTYPE_INT32, {1}}};
  return spec;
}

ModelSpec bf16OutputModel(const Bytes &hostCode) {
  ModelSpec spec;
  spec.hostCode = hostCode;
  spec.entrySymbol = "kiln_entry_bf16";
  spec.inputs = {{"a", KILN_DTYPE_FLOAT32, {2, 3}}};
  spec.outputs = {{"copy", KILN_DTYPE_FLOAT32, {2, 3}},
                  {"half", KILN_DTYPE_BFLOAT16, {2}}};
  return spec;
}

ModelSpec lowPrecisionModel(const Bytes &hostCode) {
  ModelSpec spec;
  spec.hostCode = hostCode;
  spec.entrySymbol = "kiln_entry_low_precision";
  // int4 7, -8, -1, 0, 3 packed two per byte, element 0 in the low nibble.
  spec.weights.push_back({{"q", KILN_DTYPE_INT4, {5}}, {0x87, 0x0f, 0x03}});
  spec.inputs = {{"x", KILN_DTYPE_INT4, {5}}};
  spec.outputs = {{"sum", KILN_DTYPE_INT8, {5}},
                  {"x4", KILN_DTYPE_INT4, {5}},
                  {"u2", KILN_DTYPE_UINT2, {5}},
                  {"half", KILN_DTYPE_BFLOAT16, {2}},
                  {"e4m3", KILN_DTYPE_FLOAT8E4M3FN, {4}},
                  {"fp4", KILN_DTYPE_FLOAT4E2M1, {3}}};
  return spec;
}

ModelSpec dynamicModel(const Bytes &hostCode) {
  ModelSpec spec;
  spec.entrySymbol = "kiln_entry_dynamic";
  spec.hostCode = hostCode;
  spec.symbols = {{"batch", 0, 8}, {"seq", 1, 16}};
  const int64_t batch = -1, seq = -2;
  spec.weights.push_back({{"w", KILN_DTYPE_FLOAT32, {1}}, floats({100})});
  spec.inputs = {{"a", KILN_DTYPE_FLOAT32, {batch, seq}},
                 {"b", KILN_DTYPE_FLOAT32, {1, seq}}};
  spec.outputs = {{"sum", KILN_DTYPE_FLOAT32, {batch, seq}},
                  {"rowsum", KILN_DTYPE_FLOAT32, {batch}},
                  {"symbols", KILN_DTYPE_INT64, {2}}};
  return spec;
}

ModelSpec generationStepModel(const Bytes &hostCode) {
  ModelSpec spec;
  spec.entrySymbol = "kiln_entry_generation_step";
  spec.hostCode = hostCode;
  spec.symbols = {{"batch", 1, 4}, {"seq", 1, 8}};
  const int64_t batch = -1, seq = -2;
  spec.inputs = {{"tokens", KILN_DTYPE_INT64, {batch, seq}},
                 {"past_length", KILN_DTYPE_INT64, {batch}},
                 {"cache.key.0", KILN_DTYPE_FLOAT32, {batch, 2, 8, 4}},
                 {"cache.value.0", KILN_DTYPE_FLOAT32, {batch, 2, 8, 4}}};
  spec.outputs = {{"logits", KILN_DTYPE_FLOAT32, {batch, seq, 16}}};
  return spec;
}

ModelSpec workspaceModel(const Bytes &hostCode) {
  ModelSpec spec;
  spec.entrySymbol = "kiln_entry_workspace";
  spec.hostCode = hostCode;
  spec.inputs = {{"x", KILN_DTYPE_FLOAT32, {4}}};
  spec.outputs = {{"runs", KILN_DTYPE_INT64, {1}},
                  {"address", KILN_DTYPE_UINT64, {1}},
                  {"ok", KILN_DTYPE_INT32, {1}}};
  spec.workspaceBytes = 4096;
  return spec;
}

ModelSpec cudaAddModel(const Bytes &hostCode,
                       const std::vector<GpuImageKind> &images) {
  ModelSpec spec;
  spec.hostCode = hostCode;
  spec.weights.push_back({{"w", KILN_DTYPE_FLOAT32, {2, 3}},
                          floats({100, 200, 300, 400, 500, 600})});
  spec.inputs = {{"a", KILN_DTYPE_FLOAT32, {2, 3}},
                 {"b", KILN_DTYPE_FLOAT32, {2, 3}}};
  spec.outputs = {{"sum", KILN_DTYPE_FLOAT32, {2, 3}},
                  {"copy", KILN_DTYPE_FLOAT32, {2, 3}},
                  {"sevens", KILN_DTYPE_UINT8, {4}}};
  spec.withGpuCode = true;
  spec.gpuCode.workspaceBytes = 24;
  spec.gpuCode.kernels = {"kiln_test_add"};
  std::string archs;
  for (const GpuImageKind &image : images) {
    spec.gpuCode.images.push_back(
        {image.arch, image.format,
         fakeGpuImage(image.arch, image.format, spec.gpuCode.kernels)});
    if (("," + archs + ",").find("," + image.arch + ",") == std::string::npos)
      archs += (archs.empty() ? "" : ",") + image.arch;
  }
  spec.target = "cuda-" + archs;
  return spec;
}

void addCudaAddKernelTable(ModelSpec &spec) {
  spec.kernels = encodeKernels(
      {{"add", {"kiln.add"}, {"add_aw"}}, {"add", {"kiln.add"}, {"add_b"}}});
  LaunchSpec launch;
  launch.block[0] = 64;
  spec.launches = encodeLaunches({launch, launch});
}

ModelSpec cudaZeroSizeModel(const Bytes &hostCode) {
  ModelSpec spec = cudaAddModel(hostCode);
  spec.entrySymbol = "kiln_entry_zero_size";
  spec.weights = {{{"e", KILN_DTYPE_FLOAT32, {0}}, {}}};
  spec.inputs = {{"x", KILN_DTYPE_FLOAT32, {0, 3}}};
  spec.outputs = {{"y", KILN_DTYPE_FLOAT32, {0, 3}},
                  {"ok", KILN_DTYPE_INT32, {1}}};
  spec.gpuCode.workspaceBytes = 0;
  return spec;
}

Bytes readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in),
               std::istreambuf_iterator<char>());
}

bool writeFile(const std::string &path, const Bytes &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()),
            std::streamsize(bytes.size()));
  return bool(out);
}

} // namespace kiln::test
