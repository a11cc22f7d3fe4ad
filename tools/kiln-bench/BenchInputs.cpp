//===- BenchInputs.cpp - The inputs kiln-bench runs a model on ------------===//

#include "BenchInputs.h"

#include <cstring>
#include <map>
#include <random>

namespace kiln::bench {
namespace {

/// Symbol values: --dim first, then the dims of the --input files, then
/// each remaining symbol's smallest value.
std::string bindSymbols(const BenchOptions &options, const kiln_model *model,
                        const std::map<size_t, HostTensor> &files,
                        std::vector<int64_t> &values,
                        std::vector<std::string> &notes) {
  size_t count = kiln_model_num_symbols(model) -
                 kiln_model_num_computed_symbols(model);
  values.assign(count, -1);
  std::map<std::string, size_t> byName;
  for (size_t k = 0; k < count; ++k) {
    const char *name;
    int64_t min, max;
    kiln_model_symbol(model, k, &name, &min, &max);
    byName[name] = k;
  }
  for (const auto &[name, value] : options.dims) {
    auto it = byName.find(name);
    if (it == byName.end()) {
      std::string known;
      for (const auto &[n, k] : byName)
        known += (known.empty() ? "" : ", ") + n;
      return "--dim " + name + ": the model has no symbol '" + name + "'" +
             (known.empty() ? " (its shapes are static)"
                            : " (its symbols: " + known + ")");
    }
    values[it->second] = value;
  }
  for (const auto &[index, tensor] : files) {
    kiln_tensor_desc desc;
    kiln_model_input(model, index, &desc);
    for (uint32_t d = 0; d < desc.rank && d < tensor.dims.size(); ++d)
      if (desc.dims[d] < 0 && values[size_t(-desc.dims[d] - 1)] < 0)
        values[size_t(-desc.dims[d] - 1)] = tensor.dims[d];
  }
  for (size_t k = 0; k < count; ++k) {
    if (values[k] >= 0)
      continue;
    const char *name;
    int64_t min, max;
    kiln_model_symbol(model, k, &name, &min, &max);
    values[k] = min;
    notes.push_back(std::string("symbol ") + name + " = " +
                    std::to_string(min) + ", its smallest value (set it with --dim " +
                    name + "=N)");
  }
  return "";
}

/// Random bytes of `dtype`: floats in [-1, 1), integers in [0, 16), bools
/// 0 or 1; types without a host arithmetic (bfloat16, fp8, ...) as bytes of
/// small values.
void fillRandom(HostTensor &tensor, size_t elements, std::mt19937_64 &random) {
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 15);
  size_t width = kiln_dtype_size(tensor.dtype);
  tensor.data.assign(elements * width, 0);
  uint8_t *out = tensor.data.data();
  auto store = [&out](auto value) { std::memcpy(out, &value, sizeof value); };
  for (size_t i = 0; i < elements; ++i, out += width) {
    if (tensor.dtype == KILN_DTYPE_FLOAT32)
      store(real(random));
    else if (tensor.dtype == KILN_DTYPE_FLOAT64)
      store(double(real(random)));
    else if (tensor.dtype == KILN_DTYPE_INT64)
      store(int64_t(small(random)));
    else if (tensor.dtype == KILN_DTYPE_INT32)
      store(int32_t(small(random)));
    else // bool, and the rest as a small low byte (little-endian), in
         // range for every sub-byte type too (0..1)
      *out = uint8_t(small(random) & 1);
  }
}

} // namespace

std::string makeInputs(const BenchOptions &options, const kiln_model *model,
                       std::vector<HostTensor> &inputs,
                       std::vector<std::string> &notes) {
  size_t count = kiln_model_num_inputs(model);
  std::map<size_t, HostTensor> files;
  for (const auto &[name, file] : options.inputs) {
    size_t index;
    if (kiln_model_find_input(model, name.c_str(), &index))
      return kiln_last_error();
    if (files.count(index))
      return "input '" + name + "' is given more than once";
    HostTensor tensor;
    if (std::string error = readTensorFile(file, tensor); !error.empty())
      return "input '" + name + "': " + error;
    files[index] = std::move(tensor);
  }
  std::vector<int64_t> symbols;
  if (std::string error = bindSymbols(options, model, files, symbols, notes);
      !error.empty())
    return error;

  // A generation step starts from an empty cache: its positions and
  // caches are zeros, not random.
  std::vector<bool> zeros(count, false);
  kiln_generation_info generation;
  if (kiln_model_generation_info(model, &generation) == KILN_STATUS_OK) {
    zeros[generation.positions_input] = true;
    for (size_t s = 0; s < generation.num_state_inputs; ++s) {
      size_t index;
      kiln_model_state_input(model, s, &index);
      zeros[index] = true;
    }
  }
  std::mt19937_64 random(options.seed);
  inputs.clear();
  for (size_t i = 0; i < count; ++i) {
    if (auto it = files.find(i); it != files.end()) {
      inputs.push_back(std::move(it->second));
      continue;
    }
    kiln_tensor_desc desc;
    kiln_model_input(model, i, &desc);
    HostTensor tensor;
    tensor.name = desc.name;
    tensor.dtype = desc.dtype;
    size_t elements = 1;
    for (uint32_t d = 0; d < desc.rank; ++d) {
      int64_t size = desc.dims[d] < 0 ? symbols[size_t(-desc.dims[d] - 1)]
                                      : desc.dims[d];
      tensor.dims.push_back(size);
      elements *= size_t(size);
    }
    if (zeros[i])
      tensor.data.assign(elements * kiln_dtype_size(desc.dtype), 0);
    else
      fillRandom(tensor, elements, random);
    inputs.push_back(std::move(tensor));
  }
  return "";
}

} // namespace kiln::bench
