//===- ArtifactInfo.cpp - What a .kiln artifact holds ---------------------===//

#include "ArtifactInfo.h"

#include "kiln/artifact_format.h"

#include <filesystem>
#include <memory>

using namespace kiln::inspect;

namespace {

struct ModelRelease {
  void operator()(kiln_model *model) const { kiln_model_release(model); }
};

Tensor tensorOf(const kiln_tensor_desc &desc) {
  return {desc.name, desc.dtype,
          std::vector<int64_t>(desc.dims, desc.dims + desc.rank), 0, ""};
}

/// "cuda-sm_90a,sm_80" -> {"sm_90a", "sm_80"} (kiln/artifact_format.h).
std::vector<std::string> gpuArchsOf(const std::string &target) {
  std::vector<std::string> archs;
  const std::string prefix = "cuda-";
  if (target.compare(0, prefix.size(), prefix) != 0)
    return archs;
  size_t start = prefix.size();
  while (start <= target.size()) {
    size_t comma = target.find(',', start);
    if (comma == std::string::npos)
      comma = target.size();
    archs.push_back(target.substr(start, comma - start));
    start = comma + 1;
  }
  return archs;
}

} // namespace

std::string kiln::inspect::readArtifact(const std::string &path,
                                        ArtifactInfo &out) {
  kiln_model *raw = nullptr;
  if (kiln_model_load(path.c_str(), &raw) != KILN_STATUS_OK)
    return kiln_last_error();
  std::unique_ptr<kiln_model, ModelRelease> model(raw);

  out.path = path;
  out.formatVersion = kiln_model_format_version(raw);
  out.target = kiln_model_target(raw);
  out.gpuArchs = gpuArchsOf(out.target);
  out.entrySymbol = kiln_model_entry_symbol(raw);
  out.cpuWorkspaceBytes = kiln_model_workspace_bytes(raw);
  out.gpuWorkspaceBytes = kiln_model_gpu_workspace_bytes(raw);

  kiln_tensor_desc desc;
  for (size_t i = 0; i < kiln_model_num_inputs(raw); ++i)
    if (kiln_model_input(raw, i, &desc) == KILN_STATUS_OK)
      out.inputs.push_back(tensorOf(desc));
  for (size_t i = 0; i < kiln_model_num_outputs(raw); ++i)
    if (kiln_model_output(raw, i, &desc) == KILN_STATUS_OK) {
      out.outputs.push_back(tensorOf(desc));
      const char *node = nullptr;
      if (kiln_model_output_dump(raw, i, &node) == KILN_STATUS_OK)
        out.outputs.back().dumpOf = node;
    }
  for (size_t i = 0; i < kiln_model_num_weights(raw); ++i) {
    uint64_t bytes = 0;
    if (kiln_model_weight(raw, i, &desc, &bytes) != KILN_STATUS_OK)
      continue;
    out.weights.push_back(tensorOf(desc));
    out.weights.back().bytes = bytes;
  }
  for (size_t i = 0; i < kiln_model_num_symbols(raw); ++i) {
    Symbol symbol;
    const char *name = nullptr;
    if (kiln_model_symbol(raw, i, &name, &symbol.min, &symbol.max) ==
        KILN_STATUS_OK) {
      symbol.name = name;
      out.symbols.push_back(symbol);
    }
  }

  kiln_generation_info generation;
  if (kiln_model_generation_info(raw, &generation) == KILN_STATUS_OK) {
    Generation g;
    g.maxSeq = generation.max_seq;
    auto inputName = [&](size_t index) {
      kiln_tensor_desc d;
      return kiln_model_input(raw, index, &d) == KILN_STATUS_OK
                 ? std::string(d.name)
                 : std::string();
    };
    g.tokens = inputName(generation.tokens_input);
    g.positions = inputName(generation.positions_input);
    if (kiln_model_output(raw, generation.logits_output, &desc) ==
        KILN_STATUS_OK)
      g.logits = desc.name;
    for (size_t i = 0; i < generation.num_state_inputs; ++i) {
      size_t index = 0;
      if (kiln_model_state_input(raw, i, &index) == KILN_STATUS_OK)
        g.stateInputs.push_back(inputName(index));
    }
    out.generation = std::move(g);
  }

  // In the order they usually lie in the file; the offsets tell the truth.
  const std::pair<uint32_t, const char *> kinds[] = {
      {KILN_SECTION_METADATA, "METADATA"},
      {KILN_SECTION_HOST_CODE, "HOST_CODE"},
      {KILN_SECTION_WEIGHTS, "WEIGHTS"},
      {KILN_SECTION_GPU_CODE, "GPU_CODE"},
      {KILN_SECTION_GENERATION, "GENERATION"},
      {KILN_SECTION_RANKS, "RANKS"},
      {KILN_SECTION_KERNELS, "KERNELS"},
      {KILN_SECTION_LAUNCHES, "LAUNCHES"},
      {KILN_SECTION_VALUES, "VALUES"},
      {KILN_SECTION_KERNEL_DETAILS, "KERNEL_DETAILS"},
      {KILN_SECTION_MEMORY_PLAN, "MEMORY_PLAN"},
      {KILN_SECTION_DUMPS, "DUMPS"}};
  if (kiln_model_num_ranks(raw) > 1) {
    out.plan = kiln_model_plan(raw);
    for (uint32_t r = 0; r < kiln_model_num_ranks(raw); ++r)
      out.rankSummaries.push_back(kiln_model_rank_summary(raw, r));
  }
  for (auto [kind, name] : kinds) {
    Section section{name, 0, 0};
    if (kiln_model_section(raw, kind, &section.offset, &section.size) ==
        KILN_STATUS_OK)
      out.sections.push_back(section);
  }
  // kiln_model_load checked that the header's file_size is this size.
  std::error_code ignored;
  out.fileSize = std::filesystem::file_size(path, ignored);

  for (size_t i = 0; i < kiln_model_num_kernels(raw); ++i) {
    kiln_kernel_info kernel;
    if (kiln_model_kernel(raw, i, &kernel) != KILN_STATUS_OK)
      continue;
    Kernel k{kernel.name,
             {kernel.kinds, kernel.kinds + kernel.num_kinds},
             {kernel.nodes, kernel.nodes + kernel.num_nodes},
             std::nullopt,
             ""};
    kiln_kernel_launch launch;
    const char *gpuKernel = nullptr;
    if (kiln_model_kernel_launch(raw, i, &launch) == KILN_STATUS_OK &&
        kiln_model_gpu_kernel(raw, launch.gpu_kernel, &gpuKernel) ==
            KILN_STATUS_OK) {
      k.launch = launch;
      k.gpuKernel = gpuKernel;
    }
    kiln_kernel_detail detail;
    if (kiln_model_kernel_detail(raw, i, &detail) == KILN_STATUS_OK) {
      k.hasDetail = true;
      k.codeBytes = detail.code_bytes;
      k.loopNest = detail.loop_nest;
    }
    out.kernels.push_back(std::move(k));
  }
  kiln_memory_plan plan;
  if (kiln_model_memory_plan(raw, &plan) == KILN_STATUS_OK) {
    MemoryPlan p{plan.workspace_bytes, plan.peak_bytes, {}};
    for (size_t i = 0; i < plan.num_buffers; ++i) {
      kiln_planned_buffer b;
      if (kiln_model_planned_buffer(raw, i, &b) == KILN_STATUS_OK)
        p.buffers.push_back({b.nodes, b.type, b.offset, b.bytes, b.first_kernel,
                             b.last_kernel});
    }
    out.memoryPlan = std::move(p);
  }
  for (size_t i = 0; i < kiln_model_num_gpu_kernels(raw); ++i) {
    const char *name = nullptr;
    if (kiln_model_gpu_kernel(raw, i, &name) == KILN_STATUS_OK)
      out.gpuKernels.push_back(name);
  }
  for (size_t i = 0; i < kiln_model_num_gpu_images(raw); ++i) {
    GpuImage image;
    const char *arch = nullptr;
    int format = 0;
    if (kiln_model_gpu_image(raw, i, &arch, &format, &image.bytes) !=
        KILN_STATUS_OK)
      continue;
    image.arch = arch;
    image.format = format == KILN_GPU_IMAGE_CUBIN ? "cubin" : "ptx";
    out.gpuImages.push_back(image);
  }
  return "";
}
