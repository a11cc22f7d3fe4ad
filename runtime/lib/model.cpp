//===- model.cpp - kiln_model: load, introspect, release -----------------===//

#include "model.h"

#include "api_guard.h"
#include "arguments.h"
#include "backend.h"
#include "collectives.h"
#include "error.h"
#include "kiln/artifact_format.h"

#include <initializer_list>
#include <new>
#include <utility>

using namespace kiln::rt;

namespace {

/// Shared by every zero-size weight: the entry must never see null, and a
/// zero-size weight owns no bytes in the WEIGHTS section.
alignas(64) unsigned char zeroSizeWeight[64];

/// Two signatures agree: same target, inputs and outputs.
bool sameSignature(const Metadata &a, const Metadata &b) {
  auto same = [](const std::vector<TensorInfo> &x,
                 const std::vector<TensorInfo> &y) {
    if (x.size() != y.size())
      return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i].name != y[i].name || x[i].dtype != y[i].dtype ||
          x[i].dims != y[i].dims)
        return false;
    return true;
  };
  return a.target == b.target && same(a.inputs, b.inputs) &&
         same(a.outputs, b.outputs);
}

/// For a partitioned model: picks this process's rank (rank 0 when the
/// collectives are not active), checks the MPI world's size, validates that
/// rank's artifact and makes its layout and metadata the model's.
kiln_status selectRank(kiln_model &model) {
  const uint8_t *base = model.file->data();
  const SectionRef &section = model.layout.ranks;
  if (kiln_status status =
          parseRanks(base + section.offset, section.size, model.rankTable))
    return status;
  uint32_t count = uint32_t(model.rankTable.ranks.size());
  uint32_t rank = 0;
  if (const kiln_collective_calls *calls = activeCollectives()) {
    if (calls->size < 0 || uint32_t(calls->size) != count)
      return fail(KILN_STATUS_UNSUPPORTED,
                  "the model is partitioned for %u ranks (%s) but the MPI "
                  "world has %d processes: run it with mpirun -np %u",
                  count, model.rankTable.plan.c_str(), calls->size, count);
    rank = uint32_t(calls->rank);
    model.rankRunning = true;
  }
  model.rank = rank;
  const RankEntry &entry = model.rankTable.ranks[rank];
  uint64_t start = section.offset + entry.offset;
  ArtifactLayout inner;
  if (kiln_status status = validateArtifact(base + start, entry.size, inner)) {
    prefixLastError(format("rank %u's artifact: ", rank));
    return status;
  }
  if (inner.ranks.present || inner.formatVersion >= KILN_ARTIFACT_RANKS_VERSION)
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "rank %u's artifact has format version %u; a rank's artifact "
                "must be a single-rank one (version %u to %u)",
                rank, inner.formatVersion, KILN_ARTIFACT_MIN_FORMAT_VERSION,
                KILN_ARTIFACT_GENERATION_VERSION);
  Metadata metadata;
  if (kiln_status status =
          parseMetadata(base + start + inner.metadata.offset,
                        inner.metadata.size, inner.formatVersion, metadata)) {
    prefixLastError(format("rank %u's artifact: ", rank));
    return status;
  }
  if (!sameSignature(metadata, model.metadata))
    return fail(KILN_STATUS_CORRUPT_ARTIFACT,
                "rank %u's artifact has another target or signature than the "
                "model's METADATA",
                rank);
  for (SectionRef *ref :
       {&inner.metadata, &inner.hostCode, &inner.weights, &inner.gpuCode,
        &inner.generation, &inner.kernels, &inner.launches, &inner.values,
        &inner.kernelDetails, &inner.memoryPlan, &inner.dumps})
    if (ref->present)
      ref->offset += start;
  inner.formatVersion = model.layout.formatVersion;
  inner.ranks = model.layout.ranks;
  model.layout = inner;
  model.metadata = std::move(metadata);
  return KILN_STATUS_OK;
}

/// KERNEL_DETAILS, MEMORY_PLAN and DUMPS, after KERNELS and METADATA.
kiln_status parseIntrospection(kiln_model &model) {
  const uint8_t *base = model.file->data();
  const ArtifactLayout &layout = model.layout;
  if (const SectionRef &s = layout.kernelDetails; s.present)
    if (kiln_status status = parseKernelDetails(
            base + s.offset, s.size, model.kernels.size(), model.kernelDetails))
      return status;
  if (const SectionRef &s = layout.memoryPlan; s.present)
    if (kiln_status status = parseMemoryPlan(
            base + s.offset, s.size, model.kernels.size(), model.memoryPlan))
      return status;
  if (const SectionRef &s = layout.dumps; s.present)
    if (kiln_status status =
            parseDumps(base + s.offset, s.size, model.metadata.outputs.size(),
                       model.dumps))
      return status;
  return KILN_STATUS_OK;
}

kiln_status loadInto(const char *path, kiln_model &model) {
  if (kiln_status status = MappedFile::open(path, model.file))
    return status;
  const uint8_t *base = model.file->data();
  if (kiln_status status =
          validateArtifact(base, model.file->size(), model.layout))
    return status;
  const SectionRef &metadata = model.layout.metadata;
  if (kiln_status status =
          parseMetadata(base + metadata.offset, metadata.size,
                        model.layout.formatVersion, model.metadata))
    return status;
  if (model.layout.ranks.present)
    if (kiln_status status = selectRank(model))
      return status;
  if (kiln_status status = checkWeights(model.metadata, model.layout.weights))
    return status;
  const SectionRef &gpuCode = model.layout.gpuCode;
  if (gpuCode.present)
    if (kiln_status status =
            parseGpuCode(base + gpuCode.offset, gpuCode.size, model.gpuCode))
      return status;
  const SectionRef &kernels = model.layout.kernels;
  if (kernels.present)
    if (kiln_status status =
            parseKernels(base + kernels.offset, kernels.size, model.kernels))
      return status;
  const SectionRef &values = model.layout.values;
  if (values.present)
    if (kiln_status status = parseValues(base + values.offset, values.size,
                                         model.metadata, model.values))
      return status;
  const SectionRef &launches = model.layout.launches;
  if (launches.present)
    if (kiln_status status =
            parseLaunches(base + launches.offset, launches.size,
                          model.gpuCode.kernels.size(), model.kernels))
      return status;
  if (kiln_status status = parseIntrospection(model))
    return status;
  const SectionRef &generation = model.layout.generation;
  if (generation.present)
    if (kiln_status status =
            parseGeneration(base + generation.offset, generation.size,
                            model.metadata, model.generation))
      return status;
  // The backend that runs this target checks what it needs (sections, the
  // target's details) now rather than at the first session: such an
  // artifact can never run anywhere. A target no backend knows loads for
  // introspection; kiln_session_create reports it.
  if (const Backend *backend = findBackendForTarget(model.metadata.target))
    return backend->checkArtifact(model);
  return KILN_STATUS_OK;
}

/// The side of the signature an introspection call asks about.
enum class Side { Input, Output };

const std::vector<TensorInfo> &tensorsOf(const kiln_model &model, Side side) {
  return side == Side::Input ? model.metadata.inputs : model.metadata.outputs;
}

const char *kindOf(Side side) {
  return side == Side::Input ? "input" : "output";
}

/// kiln_model_input and kiln_model_output.
kiln_status describe(const kiln_model *model, Side side, size_t index,
                     kiln_tensor_desc *out) {
  if (kiln_status status =
          requireArguments({{model, "model"}, {out, "out_desc"}}))
    return status;
  const std::vector<TensorInfo> &tensors = tensorsOf(*model, side);
  const char *kind = kindOf(side);
  *out = kiln_tensor_desc{nullptr, KILN_DTYPE_INVALID, 0, nullptr};
  if (index >= tensors.size())
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "%s index %zu is out of range; the model has %zu %ss", kind,
                index, tensors.size(), kind);
  const TensorInfo &tensor = tensors[index];
  out->name = tensor.name.c_str();
  out->dtype = tensor.dtype;
  out->rank = uint32_t(tensor.dims.size());
  out->dims = tensor.dims.empty() ? nullptr : tensor.dims.data();
  return KILN_STATUS_OK;
}

using RequiredOutputs = std::initializer_list<Required>;

/// "<name> is NULL" for `model` or the first required output not given.
kiln_status checkNotNull(const kiln_model *model, RequiredOutputs required) {
  if (kiln_status status = requireArguments({{model, "model"}}))
    return status;
  return requireArguments(required);
}

/// What an accessor of entry `index` of a model's `count` entries checks
/// first: checkNotNull, then that `index` is in range ("<what> index ...
/// the model has <count><countNoun>").
kiln_status checkEntryAccess(const kiln_model *model, RequiredOutputs required,
                             size_t index, size_t count, const char *what,
                             const char *countNoun) {
  if (kiln_status status = checkNotNull(model, required))
    return status;
  if (index >= count)
    return fail(KILN_STATUS_INVALID_ARGUMENT,
                "%s index %zu is out of range; the model has %zu%s", what,
                index, count, countNoun);
  return KILN_STATUS_OK;
}

/// "a, b, c" (at most 16 names) for not-found messages.
std::string nameList(const std::vector<TensorInfo> &tensors) {
  if (tensors.empty())
    return "(none)";
  std::string list;
  for (size_t i = 0; i < tensors.size() && i < 16; ++i)
    list += (i ? ", " : "") + tensors[i].name;
  if (tensors.size() > 16)
    list += format(", ... (%zu more)", tensors.size() - 16);
  return list;
}

/// kiln_model_find_input and kiln_model_find_output.
kiln_status find(const kiln_model *model, Side side, const char *name,
                 size_t *out) {
  if (kiln_status status = requireArguments(
          {{model, "model"}, {name, "name"}, {out, "out_index"}}))
    return status;
  const std::vector<TensorInfo> &tensors = tensorsOf(*model, side);
  const char *kind = kindOf(side);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == name) {
      *out = i;
      return KILN_STATUS_OK;
    }
  }
  return fail(KILN_STATUS_NOT_FOUND, "model has no %s named '%s'; %ss are: %s",
              kind, name, kind, nameList(tensors).c_str());
}

} // namespace

namespace kiln::rt {

void retainModel(kiln_model *model) {
  model->references.fetch_add(1, std::memory_order_relaxed);
}

void releaseModel(kiln_model *model) {
  if (model->references.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete model;
}

kiln_status getHostEntry(kiln_model &model, void *&out) {
  std::lock_guard<std::mutex> lock(model.hostMutex);
  if (!model.hostTried) {
    model.hostTried = true;
    const SectionRef &code = model.layout.hostCode;
    if (!code.present) {
      model.hostStatus = fail(KILN_STATUS_CORRUPT_ARTIFACT,
                              "artifact has no HOST_CODE section");
    } else {
      model.hostStatus =
          HostCode::load(model.file->data() + code.offset, code.size,
                         model.metadata.entrySymbol, model.hostCode);
    }
    if (model.hostStatus != KILN_STATUS_OK)
      model.hostError = kiln_last_error();
  }
  if (model.hostStatus != KILN_STATUS_OK)
    return fail(model.hostStatus, "%s", model.hostError.c_str());
  out = model.hostCode->entry();
  return KILN_STATUS_OK;
}

void *weightData(const kiln_model &model, size_t index) {
  const WeightInfo &weight = model.metadata.weights[index];
  if (weight.tensor.byteSize == 0)
    return zeroSizeWeight;
  // The mapping is read-only; compiled code only reads weights.
  return const_cast<uint8_t *>(model.file->data() +
                               model.layout.weights.offset + weight.offset);
}

} // namespace kiln::rt

extern "C" {

kiln_status kiln_model_load(const char *path, kiln_model **out_model) {
  return guard([&] {
    if (!out_model)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "out_model is NULL");
    *out_model = nullptr;
    if (!path)
      return fail(KILN_STATUS_INVALID_ARGUMENT, "path is NULL");
    std::unique_ptr<kiln_model> model(new kiln_model);
    if (kiln_status status = loadInto(path, *model)) {
      // Lower layers do not know the path; name it once, here.
      if (status != KILN_STATUS_IO_ERROR)
        prefixLastError(format("'%s': ", path));
      return status;
    }
    *out_model = model.release();
    return KILN_STATUS_OK;
  });
}

void kiln_model_release(kiln_model *model) {
  if (model)
    releaseModel(model);
}

const char *kiln_model_target(const kiln_model *model) {
  if (!model) {
    fail(KILN_STATUS_INVALID_ARGUMENT, "model is NULL");
    return nullptr;
  }
  return model->metadata.target.c_str();
}

size_t kiln_model_num_gpu_images(const kiln_model *model) {
  return model ? model->gpuCode.images.size() : 0;
}

kiln_status kiln_model_gpu_image(const kiln_model *model, size_t index,
                                 const char **out_arch, int *out_format,
                                 uint64_t *out_bytes) {
  clearOutputs(out_arch, out_format, out_bytes);
  if (kiln_status status = checkEntryAccess(
          model, {{out_arch, "out_arch"}, {out_format, "out_format"}}, index,
          kiln_model_num_gpu_images(model), "GPU image", ""))
    return status;
  const std::vector<GpuImage> &images = model->gpuCode.images;
  *out_arch = images[index].arch.c_str();
  *out_format = int(images[index].format);
  if (out_bytes)
    *out_bytes = images[index].size;
  return KILN_STATUS_OK;
}

uint64_t kiln_model_workspace_bytes(const kiln_model *model) {
  return model ? model->metadata.workspaceBytes : 0;
}

uint64_t kiln_model_gpu_workspace_bytes(const kiln_model *model) {
  return model ? model->gpuCode.workspaceBytes : 0;
}

uint32_t kiln_model_num_ranks(const kiln_model *model) {
  return model && !model->rankTable.ranks.empty()
             ? uint32_t(model->rankTable.ranks.size())
             : 1;
}

uint32_t kiln_model_rank(const kiln_model *model) {
  return model ? model->rank : 0;
}

const char *kiln_model_plan(const kiln_model *model) {
  return model ? model->rankTable.plan.c_str() : "";
}

const char *kiln_model_rank_summary(const kiln_model *model, uint32_t rank) {
  if (!model || rank >= model->rankTable.ranks.size())
    return nullptr;
  return model->rankTable.ranks[rank].summary.c_str();
}

uint32_t kiln_model_format_version(const kiln_model *model) {
  return model ? model->layout.formatVersion : 0;
}

const char *kiln_model_entry_symbol(const kiln_model *model) {
  if (!model) {
    fail(KILN_STATUS_INVALID_ARGUMENT, "model is NULL");
    return nullptr;
  }
  return model->metadata.entrySymbol.c_str();
}

kiln_status kiln_model_section(const kiln_model *model, uint32_t kind,
                               uint64_t *out_offset, uint64_t *out_size) {
  clearOutputs(out_offset, out_size);
  if (kiln_status status = checkNotNull(
          model, {{out_offset, "out_offset"}, {out_size, "out_size"}}))
    return status;
  const SectionRef *section = model->layout.section(kind);
  if (!section || !section->present)
    return fail(KILN_STATUS_NOT_FOUND, "the artifact has no section of kind %u",
                kind);
  *out_offset = section->offset;
  *out_size = section->size;
  return KILN_STATUS_OK;
}

size_t kiln_model_num_weights(const kiln_model *model) {
  return model ? model->metadata.weights.size() : 0;
}

kiln_status kiln_model_weight(const kiln_model *model, size_t index,
                              kiln_tensor_desc *out_desc, uint64_t *out_bytes) {
  if (out_desc)
    *out_desc = kiln_tensor_desc{nullptr, KILN_DTYPE_INVALID, 0, nullptr};
  clearOutputs(out_bytes);
  if (kiln_status status =
          checkEntryAccess(model, {{out_desc, "out_desc"}}, index,
                           kiln_model_num_weights(model), "weight", " weights"))
    return status;
  const TensorInfo &tensor = model->metadata.weights[index].tensor;
  out_desc->name = tensor.name.c_str();
  out_desc->dtype = tensor.dtype;
  out_desc->rank = uint32_t(tensor.dims.size());
  out_desc->dims = tensor.dims.empty() ? nullptr : tensor.dims.data();
  if (out_bytes)
    *out_bytes = tensor.byteSize;
  return KILN_STATUS_OK;
}

size_t kiln_model_num_gpu_kernels(const kiln_model *model) {
  return model ? model->gpuCode.kernels.size() : 0;
}

kiln_status kiln_model_gpu_kernel(const kiln_model *model, size_t index,
                                  const char **out_name) {
  clearOutputs(out_name);
  if (kiln_status status =
          checkEntryAccess(model, {{out_name, "out_name"}}, index,
                           kiln_model_num_gpu_kernels(model), "GPU kernel", ""))
    return status;
  *out_name = model->gpuCode.kernels[index].c_str();
  return KILN_STATUS_OK;
}

size_t kiln_model_num_kernels(const kiln_model *model) {
  return model ? model->kernels.size() : 0;
}

kiln_status kiln_model_kernel(const kiln_model *model, size_t index,
                              kiln_kernel_info *out_info) {
  if (out_info)
    *out_info = kiln_kernel_info{nullptr, 0, nullptr, 0, nullptr};
  if (kiln_status status =
          checkEntryAccess(model, {{out_info, "out_info"}}, index,
                           kiln_model_num_kernels(model), "kernel", " kernels"))
    return status;
  const KernelEntry &kernel = model->kernels[index];
  *out_info = kiln_kernel_info{kernel.name.c_str(), kernel.kinds.size(),
                               kernel.kindPointers.data(), kernel.nodes.size(),
                               kernel.nodePointers.data()};
  return KILN_STATUS_OK;
}

kiln_status kiln_model_kernel_launch(const kiln_model *model, size_t index,
                                     kiln_kernel_launch *out_launch) {
  if (out_launch)
    *out_launch = kiln_kernel_launch{};
  if (kiln_status status =
          checkEntryAccess(model, {{out_launch, "out_launch"}}, index,
                           kiln_model_num_kernels(model), "kernel", " kernels"))
    return status;
  const KernelEntry &kernel = model->kernels[index];
  if (!kernel.hasLaunch)
    return fail(KILN_STATUS_NOT_FOUND,
                "kernel %zu has no launch shape (the artifact has no "
                "LAUNCHES section)",
                index);
  *out_launch = kernel.launch;
  return KILN_STATUS_OK;
}

size_t kiln_model_num_values(const kiln_model *model) {
  return model ? model->values.size() : 0;
}

kiln_status kiln_model_value(const kiln_model *model, size_t index,
                             kiln_value_info *out_info) {
  if (out_info)
    *out_info = kiln_value_info{nullptr, 0, 0, 0, nullptr, 0, nullptr};
  if (kiln_status status =
          checkEntryAccess(model, {{out_info, "out_info"}}, index,
                           kiln_model_num_values(model), "value", " values"))
    return status;
  const ValueEntry &value = model->values[index];
  *out_info = kiln_value_info{value.name.c_str(),     value.output ? 1 : 0,
                              value.sequence ? 1 : 0, value.present ? 1 : 0,
                              value.type.c_str(),     value.tensors.size(),
                              value.tensors.data()};
  return KILN_STATUS_OK;
}

kiln_status kiln_model_kernel_detail(const kiln_model *model, size_t index,
                                     kiln_kernel_detail *out_detail) {
  clearOutputs(out_detail);
  if (kiln_status status =
          checkEntryAccess(model, {{out_detail, "out_detail"}}, index,
                           kiln_model_num_kernels(model), "kernel", " kernels"))
    return status;
  if (model->kernelDetails.empty())
    return fail(KILN_STATUS_NOT_FOUND, "the artifact has no KERNEL_DETAILS "
                                       "section (compiled before it existed)");
  const KernelDetail &detail = model->kernelDetails[index];
  *out_detail = kiln_kernel_detail{detail.codeBytes, detail.loopNest.c_str()};
  return KILN_STATUS_OK;
}

kiln_status kiln_model_memory_plan(const kiln_model *model,
                                   kiln_memory_plan *out_plan) {
  clearOutputs(out_plan);
  if (kiln_status status = checkNotNull(model, {{out_plan, "out_plan"}}))
    return status;
  const MemoryPlan &plan = model->memoryPlan;
  if (!plan.present)
    return fail(KILN_STATUS_NOT_FOUND, "the artifact has no MEMORY_PLAN "
                                       "section");
  *out_plan = kiln_memory_plan{plan.workspaceBytes, plan.peakBytes,
                               plan.buffers.size()};
  return KILN_STATUS_OK;
}

kiln_status kiln_model_planned_buffer(const kiln_model *model, size_t index,
                                      kiln_planned_buffer *out_buffer) {
  clearOutputs(out_buffer);
  if (kiln_status status =
          checkEntryAccess(model, {{out_buffer, "out_buffer"}}, index,
                           model ? model->memoryPlan.buffers.size() : 0,
                           "planned buffer", " planned buffers"))
    return status;
  const PlannedBuffer &b = model->memoryPlan.buffers[index];
  *out_buffer =
      kiln_planned_buffer{b.nodes.c_str(), b.type.c_str(), b.offset,
                          b.bytes,         b.firstKernel,  b.lastKernel};
  return KILN_STATUS_OK;
}

kiln_status kiln_model_output_dump(const kiln_model *model, size_t index,
                                   const char **out_node) {
  clearOutputs(out_node);
  if (kiln_status status =
          checkEntryAccess(model, {{out_node, "out_node"}}, index,
                           kiln_model_num_outputs(model), "output", " outputs"))
    return status;
  const Dumps &dumps = model->dumps;
  if (!dumps.present || index < dumps.firstOutput)
    return fail(KILN_STATUS_NOT_FOUND,
                "output %zu is one of the model's outputs, not a dumped value",
                index);
  *out_node = dumps.nodes[index - dumps.firstOutput].c_str();
  return KILN_STATUS_OK;
}

size_t kiln_model_num_inputs(const kiln_model *model) {
  return model ? model->metadata.inputs.size() : 0;
}

size_t kiln_model_num_outputs(const kiln_model *model) {
  return model ? model->metadata.outputs.size() : 0;
}

kiln_status kiln_model_input(const kiln_model *model, size_t index,
                             kiln_tensor_desc *out_desc) {
  return describe(model, Side::Input, index, out_desc);
}

kiln_status kiln_model_output(const kiln_model *model, size_t index,
                              kiln_tensor_desc *out_desc) {
  return describe(model, Side::Output, index, out_desc);
}

size_t kiln_model_num_symbols(const kiln_model *model) {
  return model ? model->metadata.symbols.size() : 0;
}

size_t kiln_model_num_computed_symbols(const kiln_model *model) {
  return model ? model->metadata.numComputedSymbols : 0;
}

kiln_status kiln_model_symbol(const kiln_model *model, size_t index,
                              const char **out_name, int64_t *out_min,
                              int64_t *out_max) {
  clearOutputs(out_name, out_min, out_max);
  if (kiln_status status =
          checkEntryAccess(model, {{out_name, "out_name"}}, index,
                           kiln_model_num_symbols(model), "symbol", " symbols"))
    return status;
  const std::vector<SymbolInfo> &symbols = model->metadata.symbols;
  *out_name = symbols[index].name.c_str();
  if (out_min)
    *out_min = symbols[index].min;
  if (out_max)
    *out_max = symbols[index].max;
  return KILN_STATUS_OK;
}

kiln_status kiln_model_find_input(const kiln_model *model, const char *name,
                                  size_t *out_index) {
  return guard([&] { return find(model, Side::Input, name, out_index); });
}

kiln_status kiln_model_find_output(const kiln_model *model, const char *name,
                                   size_t *out_index) {
  return guard([&] { return find(model, Side::Output, name, out_index); });
}

} // extern "C"
