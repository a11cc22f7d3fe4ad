//===- values.cpp - Sequence and optional inputs and outputs -------------===//

#include "values.h"

#include <sys/stat.h>

namespace kiln::run {

std::vector<ModelValue> modelValues(const kiln_model *model) {
  std::vector<ModelValue> values;
  for (size_t i = 0; i < kiln_model_num_values(model); ++i) {
    kiln_value_info info;
    if (kiln_model_value(model, i, &info))
      continue;
    values.push_back(
        {info.name, info.is_output != 0, info.is_sequence != 0,
         info.present != 0, info.type,
         std::vector<size_t>(info.tensors, info.tensors + info.num_tensors)});
  }
  return values;
}

namespace {

bool isDirectory(const std::string &path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool isFile(const std::string &path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

/// How many consecutive elements 0.npy/0.pb, 1.npy/1.pb, ... `dir` holds.
size_t countElements(const std::string &dir) {
  size_t n = 0;
  while (isFile(dir + "/" + std::to_string(n) + ".npy") ||
         isFile(dir + "/" + std::to_string(n) + ".pb"))
    ++n;
  return n;
}

std::string elementsText(size_t n) {
  return std::to_string(n) + (n == 1 ? " tensor" : " tensors");
}

} // namespace

std::string
expandSequenceInputs(const kiln_model *model,
                     std::vector<std::pair<std::string, std::string>> &inputs) {
  std::vector<ModelValue> values = modelValues(model);
  std::vector<std::pair<std::string, std::string>> expanded;
  for (const auto &[name, path] : inputs) {
    const ModelValue *value = nullptr;
    for (const ModelValue &v : values)
      if (!v.output && v.name == name)
        value = &v;
    if (!value || (!value->sequence && value->present)) {
      expanded.emplace_back(name, path); // a tensor, or an optional's
      continue;
    }
    if (!value->present)
      return "input '" + name + "' (" + value->type +
             ") was compiled as the empty optional (kiln-compile "
             "--absent-input); it takes no value";
    if (!isDirectory(path))
      return "input '" + name + "' is a " + value->type +
             ": pass a directory "
             "holding one file per element (0.npy, 1.npy, ...), not '" +
             path + "'";
    size_t found = countElements(path);
    if (found != value->tensors.size())
      return "input '" + name + "': the artifact was compiled for a " +
             value->type + " of " + elementsText(value->tensors.size()) +
             " (kiln-compile --sequence-input " + name + "=N), but '" + path +
             "' holds " + elementsText(found) + " (0.npy, 1.npy, ...)";
    for (size_t i = 0; i < value->tensors.size(); ++i) {
      kiln_tensor_desc desc;
      if (kiln_model_input(model, value->tensors[i], &desc))
        return kiln_last_error();
      std::string file = path + "/" + std::to_string(i);
      expanded.emplace_back(desc.name, isFile(file + ".npy") ? file + ".npy"
                                                             : file + ".pb");
    }
  }
  inputs = std::move(expanded);
  return "";
}

std::string missingElementHint(const kiln_model *model, size_t index) {
  for (const ModelValue &value : modelValues(model))
    if (!value.output && value.sequence)
      for (size_t t : value.tensors)
        if (t == index)
          return "missing input '" + value.name + "' (a " + value.type +
                 " of " + elementsText(value.tensors.size()) +
                 "); pass it with --input " + value.name +
                 "=DIR, a directory holding 0.npy, 1.npy, ...";
  return "";
}

const ModelValue *outputValueOf(const std::vector<ModelValue> &values,
                                size_t index, size_t &position) {
  for (const ModelValue &value : values)
    if (value.output && value.sequence)
      for (size_t i = 0; i < value.tensors.size(); ++i)
        if (value.tensors[i] == index) {
          position = i;
          return &value;
        }
  return nullptr;
}

std::string describeValue(const kiln_model *model, const ModelValue &value) {
  std::string text = value.type + ", ";
  if (!value.present)
    return text + "empty";
  text += elementsText(value.tensors.size());
  if (value.tensors.empty())
    return text;
  text += " (";
  for (size_t i = 0; i < value.tensors.size(); ++i) {
    kiln_tensor_desc desc;
    if (value.output ? kiln_model_output(model, value.tensors[i], &desc)
                     : kiln_model_input(model, value.tensors[i], &desc))
      return text + "?)";
    text += (i ? ", " : "") + std::string(desc.name);
  }
  return text + ")";
}

} // namespace kiln::run
