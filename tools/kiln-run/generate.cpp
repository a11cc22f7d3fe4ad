//===- generate.cpp - kiln-run --generate --------------------------------===//

#include "generate.h"

#include "kiln/generated_tokens.h"
#include "kiln/tensor_io.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

namespace kiln::run {
namespace {

using Clock = std::chrono::steady_clock;

double millisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

struct GenerationDeleter {
  void operator()(kiln_generation *g) const { kiln_generation_release(g); }
};

/// The prompt: the tokens input's file, as int64 [batch, length].
std::string readPrompt(const Options &options, kiln_model *model,
                       const kiln_generation_info &info,
                       std::vector<int64_t> &tokens, int64_t &batch,
                       int64_t &length) {
  kiln_tensor_desc desc;
  kiln_model_input(model, info.tokens_input, &desc);
  std::string tokensName = desc.name;
  const std::string *file = nullptr;
  for (const auto &[name, path] : options.inputs) {
    if (name != tokensName)
      return "--generate takes only the prompt, --input " + tokensName +
             "=FILE; '" + name +
             "' is managed by the generation (positions and KV caches)";
    file = &path;
  }
  if (!file)
    return "--generate needs the prompt: --input " + tokensName +
           "=PROMPT.npy (integers [batch, length])";
  HostTensor prompt;
  if (std::string error = readTensorFile(*file, prompt); !error.empty())
    return "input '" + tokensName + "': " + error;
  if (prompt.dims.size() != 2 || prompt.dims[0] < 1 || prompt.dims[1] < 1)
    return "the prompt must be [batch, length] with both at least 1 (from '" +
           *file + "')";
  batch = prompt.dims[0];
  length = prompt.dims[1];
  size_t count = size_t(batch * length);
  tokens.resize(count);
  if (prompt.dtype == KILN_DTYPE_INT64) {
    std::memcpy(tokens.data(), prompt.data.data(), count * sizeof(int64_t));
  } else if (prompt.dtype == KILN_DTYPE_INT32) {
    const int32_t *narrow = reinterpret_cast<const int32_t *>(prompt.data.data());
    std::copy(narrow, narrow + count, tokens.begin());
  } else {
    return "the prompt must be int64 or int32 tokens, got " +
           std::string(kiln_dtype_name(prompt.dtype)) + " (from '" + *file +
           "')";
  }
  return "";
}

std::string lastError() { return kiln_last_error(); }

/// "a / b / c / d": the median step time of each quarter of the steps, so
/// that a cost growing with the sequence shows.
std::string quarterMedians(const std::vector<double> &steps) {
  std::string text;
  size_t quarters = std::min<size_t>(4, steps.size());
  for (size_t q = 0; q < quarters; ++q) {
    std::vector<double> part(steps.begin() + q * steps.size() / quarters,
                             steps.begin() + (q + 1) * steps.size() / quarters);
    std::sort(part.begin(), part.end());
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%s%.3g", q ? " / " : "",
                  part[part.size() / 2]);
    text += buffer;
  }
  return text;
}

} // namespace

std::string runGeneration(const Options &options, kiln_model *model,
                          kiln_session *session, OutputWriter *writer,
                          std::vector<std::string> &lines) {
  kiln_generation_info info;
  if (kiln_model_generation_info(model, &info))
    return lastError();
  std::vector<int64_t> prompt;
  int64_t batch = 0, length = 0;
  if (std::string error =
          readPrompt(options, model, info, prompt, batch, length);
      !error.empty())
    return error;
  int64_t steps = int64_t(options.generate);
  if (length + steps - 1 > info.max_seq)
    return "a prompt of " + std::to_string(length) + " tokens and " +
           std::to_string(steps) + " new ones need " +
           std::to_string(length + steps - 1) +
           " cache positions; the model's KV cache holds " +
           std::to_string(info.max_seq) + " (kiln-compile --max-seq)";
  kiln_sampling sampling{options.temperature, options.topK, options.topP,
                         options.seed};
  kiln_generation *raw = nullptr;
  if (kiln_generation_create(session, uint32_t(batch), &sampling, &raw))
    return lastError();
  std::unique_ptr<kiln_generation, GenerationDeleter> generation(raw);

  // generated[b, i]: token i after sequence b's prompt.
  kiln::GeneratedTokens generatedTokens(batch, steps);
  const std::vector<int64_t> &generated = generatedTokens.tokens();
  std::vector<int64_t> next(batch);
  auto record = [&](int64_t i) {
    return generatedTokens.record(i, next, options.stopTokens);
  };

  Clock::time_point start = Clock::now();
  if (kiln_generation_prefill(generation.get(), prompt.data(),
                              uint32_t(length), next.data()))
    return "prefill failed: " + lastError();
  double prefillMs = millisecondsSince(start);
  bool done = record(0);
  std::vector<double> stepMs;
  int64_t made = 1;
  for (; made < steps && !done; ++made) {
    Clock::time_point stepStart = Clock::now();
    if (kiln_generation_step(generation.get(), next.data(), next.data()))
      return "decode step " + std::to_string(made) + " failed: " + lastError();
    stepMs.push_back(millisecondsSince(stepStart));
    done = record(made);
  }
  // Sequences that all stopped early: their rows repeat the stop token.
  generatedTokens.repeatLastFrom(made);

  std::vector<int64_t> dims = {batch, steps};
  if (writer)
    if (std::string error =
            writer->add("generated", KILN_DTYPE_INT64, dims, generated.data(),
                        generated.size() * sizeof(int64_t));
        !error.empty())
      return error;
  if (!options.quiet)
    for (int64_t b = 0; b < batch; ++b) {
      std::string row = "generated[" + std::to_string(b) + "]:";
      for (int64_t i = 0; i < steps; ++i)
        row += " " + std::to_string(generated[b * steps + i]);
      lines.push_back(row);
    }
  char line[256];
  std::snprintf(line, sizeof line,
                "prefill: %lld x %lld tokens in %.3f ms (%.1f tokens/s)",
                (long long)batch, (long long)length, prefillMs,
                double(batch * length) / (prefillMs / 1000.0));
  lines.push_back(line);
  if (!stepMs.empty()) {
    double total = 0;
    for (double ms : stepMs)
      total += ms;
    std::snprintf(line, sizeof line,
                  "decode: %zu steps x %lld sequences in %.3f ms (%.1f "
                  "tokens/s); median step by quarter: %s ms",
                  stepMs.size(), (long long)batch, total,
                  double(stepMs.size() * batch) / (total / 1000.0),
                  quarterMedians(stepMs).c_str());
    lines.push_back(line);
  }
  return "";
}

} // namespace kiln::run
