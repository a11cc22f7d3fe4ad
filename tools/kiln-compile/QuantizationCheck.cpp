//===- QuantizationCheck.cpp - Quantized vs float model on inputs ---------===//

#include "QuantizationCheck.h"

#include "kiln/runtime.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <memory>

using namespace kiln;

namespace {

struct ModelDeleter {
  void operator()(kiln_model *m) const { kiln_model_release(m); }
};
struct SessionDeleter {
  void operator()(kiln_session *s) const { kiln_session_release(s); }
};
using ModelPtr = std::unique_ptr<kiln_model, ModelDeleter>;
using SessionPtr = std::unique_ptr<kiln_session, SessionDeleter>;

/// One output of a run: float values widened to double, anything else
/// (token ids, counts) kept as bytes and compared exactly.
struct Output {
  std::string name;
  std::vector<int64_t> dims;
  bool isFloat = false;
  std::vector<double> values;
  std::string bytes;
};

std::string runtimeError(const char *what) {
  return std::string(what) + ": " + kiln_last_error();
}

Output readOutput(const kiln_tensor_desc &desc, const void *data,
                  size_t bytes) {
  Output out;
  out.name = desc.name;
  out.dims.assign(desc.dims, desc.dims + desc.rank);
  if (desc.dtype == KILN_DTYPE_FLOAT32) {
    const float *f = static_cast<const float *>(data);
    out.values.assign(f, f + bytes / 4);
    out.isFloat = true;
  } else if (desc.dtype == KILN_DTYPE_FLOAT64) {
    const double *d = static_cast<const double *>(data);
    out.values.assign(d, d + bytes / 8);
    out.isFloat = true;
  } else {
    out.bytes.assign(static_cast<const char *>(data), bytes);
  }
  return out;
}

std::string run(const std::string &path,
                const std::vector<std::pair<std::string, HostTensor>> &inputs,
                std::vector<Output> &outputs) {
  kiln_model *rawModel = nullptr;
  if (kiln_model_load(path.c_str(), &rawModel) != KILN_STATUS_OK)
    return runtimeError("cannot load the artifact");
  ModelPtr model(rawModel);
  kiln_session *rawSession = nullptr;
  if (kiln_session_create(model.get(), "cpu", &rawSession) != KILN_STATUS_OK)
    return runtimeError("cannot create a session");
  SessionPtr session(rawSession);
  for (const auto &[name, t] : inputs)
    if (kiln_session_set_input(session.get(), name.c_str(), t.dtype,
                               t.dims.data(), (uint32_t)t.dims.size(),
                               t.data.data(), t.data.size()) != KILN_STATUS_OK)
      return runtimeError(("input '" + name + "'").c_str());
  if (kiln_session_run(session.get()) != KILN_STATUS_OK)
    return runtimeError("the run failed");
  for (size_t i = 0; i < kiln_model_num_outputs(model.get()); ++i) {
    kiln_tensor_desc desc;
    const void *data;
    size_t bytes;
    if (kiln_session_output(session.get(), i, &desc, &data, &bytes) !=
        KILN_STATUS_OK)
      return runtimeError("cannot read an output");
    outputs.push_back(readOutput(desc, data, bytes));
  }
  return "";
}

} // namespace

std::string kiln::reportQuantizationError(
    const std::string &floatArtifact, const std::string &quantizedArtifact,
    const std::vector<std::pair<std::string, HostTensor>> &inputs) {
  std::vector<Output> ref, quant;
  if (std::string e = run(floatArtifact, inputs, ref); !e.empty())
    return "float model: " + e;
  if (std::string e = run(quantizedArtifact, inputs, quant); !e.empty())
    return "quantized model: " + e;
  llvm::errs() << "kiln-compile: quantized vs float model on the given "
                  "inputs:\n";
  for (size_t i = 0; i < ref.size() && i < quant.size(); ++i) {
    const Output &a = ref[i], &b = quant[i];
    if (!a.isFloat) { // token ids, counts: equal or not
      llvm::errs() << llvm::formatv("  {0,-24} {1}\n", a.name,
                                    a.bytes == b.bytes ? "identical"
                                                       : "differs");
      continue;
    }
    double num = 0, den = 0, maxAbs = 0;
    for (size_t j = 0; j < a.values.size(); ++j) {
      double d = b.values[j] - a.values[j];
      num += d * d;
      den += a.values[j] * a.values[j];
      maxAbs = std::max(maxAbs, std::abs(d));
    }
    double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    std::string line = llvm::formatv("  {0,-24} relative L2 error {1:e2}, "
                                     "max abs error {2:e2}",
                                     a.name, rel, maxAbs);
    // Scores over a last dimension (logits, probabilities): arg-max agreement.
    int64_t last = a.dims.empty() ? 0 : a.dims.back();
    if (last > 1 && a.values.size() % last == 0) {
      size_t rows = a.values.size() / last, agree = 0;
      for (size_t r = 0; r < rows; ++r) {
        auto argmax = [&](const std::vector<double> &v) {
          size_t best = r * last;
          for (size_t j = r * last; j < (r + 1) * last; ++j)
            if (v[j] > v[best])
              best = j;
          return best;
        };
        agree += argmax(a.values) == argmax(b.values);
      }
      line += llvm::formatv(", arg-max agrees on {0} of {1} rows", agree, rows);
    }
    llvm::errs() << line << "\n";
  }
  return "";
}
