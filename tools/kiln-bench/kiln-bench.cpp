//===- kiln-bench.cpp - Benchmark a compiled Kiln artifact ---------------===//
//
// trtexec for Kiln artifacts: warm-up runs, then timed runs of one session
// through the runtime's C API, and a report of the latency distribution,
// the throughput and the peak memory (see --help). Any failure prints one
// "kiln-bench: error: " line and exits 1.
//
//===----------------------------------------------------------------------===//

#include "BenchInputs.h"
#include "BenchOptions.h"
#include "BenchProfile.h"

#include "kiln/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace kiln;
using namespace kiln::bench;

namespace {

struct Failure {
  std::string message;
};

[[noreturn]] void failWith(std::string message) { throw Failure{message}; }

void check(kiln_status status, const std::string &context = "") {
  if (status != KILN_STATUS_OK)
    failWith(context + kiln_last_error());
}

struct ModelDeleter {
  void operator()(kiln_model *m) const { kiln_model_release(m); }
};
struct SessionDeleter {
  void operator()(kiln_session *s) const { kiln_session_release(s); }
};

/// The latency distribution of the timed runs, in milliseconds.
struct Stats {
  double min, mean, median, p90, p99, max, total;
  size_t runs;
};

/// The value below which `fraction` of the sorted `times` lie (nearest
/// rank, as trtexec reports percentiles).
double percentile(const std::vector<double> &sorted, double fraction) {
  size_t rank = size_t(std::ceil(fraction * double(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

Stats statsOf(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  Stats s;
  s.runs = times.size();
  s.total = std::accumulate(times.begin(), times.end(), 0.0);
  s.min = times.front();
  s.max = times.back();
  s.mean = s.total / double(times.size());
  s.median = times.size() % 2
                 ? times[times.size() / 2]
                 : (times[times.size() / 2 - 1] + times[times.size() / 2]) / 2;
  s.p90 = percentile(times, 0.90);
  s.p99 = percentile(times, 0.99);
  return s;
}

/// Tokens per run: batch x seq of the generation step's tokens input, or of
/// an integer input of rank 2 named like token ids; 0 when none.
int64_t tokensPerRun(const kiln_model *model,
                     const std::vector<HostTensor> &inputs) {
  kiln_generation_info generation;
  if (kiln_model_generation_info(model, &generation) == KILN_STATUS_OK) {
    const HostTensor &t = inputs[generation.tokens_input];
    return t.dims.size() == 2 ? t.dims[0] * t.dims[1] : 0;
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    kiln_tensor_desc desc;
    kiln_model_input(model, i, &desc);
    std::string name = desc.name;
    bool integer = desc.dtype == KILN_DTYPE_INT64 || desc.dtype == KILN_DTYPE_INT32;
    if (integer && desc.rank == 2 &&
        (name == "tokens" || name == "input_ids" || name == "token_ids"))
      return inputs[i].dims[0] * inputs[i].dims[1];
  }
  return 0;
}

std::string shapeText(const std::vector<int64_t> &dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

/// A rate for people: whole numbers with thousands separators from 100
/// up ("16,992"), three significant digits below ("4.21").
std::string rateText(double rate) {
  if (!(rate >= 100)) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.3g", rate);
    return text;
  }
  std::string digits = std::to_string((long long)std::llround(rate));
  for (int i = int(digits.size()) - 3; i > 0; i -= 3)
    digits.insert(size_t(i), ",");
  return digits;
}

/// Peak resident memory of this process, in bytes.
uint64_t peakResidentBytes() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return uint64_t(usage.ru_maxrss) * 1024; // Linux reports KiB
}

void printText(const BenchOptions &options, const kiln_model *model,
               const std::vector<HostTensor> &inputs,
               const std::vector<std::string> &notes, const Stats &s,
               int64_t tokens) {
  std::printf("model: %s (%s) on %s, threads %s\n", options.model.c_str(),
              kiln_model_target(model), options.device.c_str(),
              options.threads ? std::to_string(options.threads).c_str()
                              : "all cores");
  for (size_t i = 0; i < inputs.size(); ++i) {
    kiln_tensor_desc desc;
    kiln_model_input(model, i, &desc);
    std::printf("input %s: %s %s\n", desc.name, kiln_dtype_name(desc.dtype),
                shapeText(inputs[i].dims).c_str());
  }
  for (const std::string &note : notes)
    std::printf("note: %s\n", note.c_str());
  std::printf("runs: %u warm-up, %zu timed in %.3f s\n", options.warmup,
              s.runs, s.total / 1000);
  std::printf("latency (ms): min %.4g  mean %.4g  median %.4g  p90 %.4g  "
              "p99 %.4g  max %.4g\n",
              s.min, s.mean, s.median, s.p90, s.p99, s.max);
  std::printf("throughput: %s runs/s", rateText(1000 / s.median).c_str());
  if (tokens > 0)
    std::printf(", %s tokens/s (%lld tokens a run)",
                rateText(1000 * double(tokens) / s.median).c_str(),
                (long long)tokens);
  std::printf(" (at the median)\n");
  std::printf("peak memory: %.1f MiB (resident, whole process)\n",
              double(peakResidentBytes()) / (1024.0 * 1024.0));
}

/// The report as one JSON object; `profile` is --profile's object, or "".
void printJson(const BenchOptions &options, const kiln_model *model,
               const std::vector<HostTensor> &inputs, const Stats &s,
               int64_t tokens, const std::string &profile) {
  std::printf("{\"model\": \"%s\", \"target\": \"%s\", \"device\": \"%s\", "
              "\"threads\": %u, \"warmup\": %u, \"runs\": %zu, \"inputs\": {",
              options.model.c_str(), kiln_model_target(model),
              options.device.c_str(), options.threads, options.warmup,
              s.runs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    kiln_tensor_desc desc;
    kiln_model_input(model, i, &desc);
    std::printf("%s\"%s\": %s", i ? ", " : "", desc.name,
                shapeText(inputs[i].dims).c_str());
  }
  std::printf("}, \"latency_ms\": {\"min\": %.6g, \"mean\": %.6g, "
              "\"median\": %.6g, \"p90\": %.6g, \"p99\": %.6g, \"max\": "
              "%.6g}, \"runs_per_s\": %.6g, \"tokens_per_run\": %lld, "
              "\"tokens_per_s\": %.6g, \"peak_resident_bytes\": %llu",
              s.min, s.mean, s.median, s.p90, s.p99, s.max, 1000 / s.median,
              (long long)tokens, 1000 * double(tokens) / s.median,
              (unsigned long long)peakResidentBytes());
  if (!profile.empty())
    std::printf(", \"profile\": %s", profile.c_str());
  std::printf("}\n");
}

/// --profile and --trace: `runs` more runs (`runOnce`) with the session's
/// profile on, then the kernel table (or, with --json, its JSON object,
/// returned) and the trace. Separate from the timed runs, whose latencies
/// stay those of unprofiled runs.
std::string profileRuns(const BenchOptions &options, const kiln_model *model,
                        kiln_session *session, size_t runs,
                        const std::function<void()> &runOnce) {
  std::vector<KernelDesc> kernels = describeKernels(model);
  size_t capacity = std::min<size_t>(runs * (kernels.size() + 1), 10000000);
  check(kiln_session_enable_profile(session, capacity), "--profile: ");
  for (size_t i = 0; i < runs; ++i)
    runOnce();
  const kiln_profile_event *data = nullptr;
  size_t count = 0;
  uint64_t dropped = 0;
  check(kiln_session_profile_get(session, &data, &count, &dropped),
        "--profile: ");
  std::vector<kiln_profile_event> events(data, data + count);
  check(kiln_session_enable_profile(session, 0), "--profile: ");
  if (!options.trace.empty())
    if (std::string error = writeTrace(options.trace, kernels, events);
        !error.empty())
      failWith(error);
  if (options.json)
    return profileJson(kernels, events, dropped);
  printProfile(kernels, events, dropped, options.profileTop);
  return "";
}

void runBenchmark(const BenchOptions &options) {
  kiln_model *raw = nullptr;
  check(kiln_model_load(options.model.c_str(), &raw),
        "'" + options.model + "': ");
  std::unique_ptr<kiln_model, ModelDeleter> model(raw);
  std::vector<HostTensor> inputs;
  std::vector<std::string> notes;
  if (std::string error = makeInputs(options, model.get(), inputs, notes);
      !error.empty())
    failWith(error);

  kiln_session *rawSession = nullptr;
  check(kiln_session_create(model.get(), options.device.c_str(), &rawSession));
  std::unique_ptr<kiln_session, SessionDeleter> session(rawSession);
  check(kiln_session_set_threads(session.get(), options.threads));
  auto setInput = [&](size_t index) {
    kiln_tensor_desc desc;
    kiln_model_input(model.get(), index, &desc);
    const HostTensor &t = inputs[index];
    check(kiln_session_set_input(session.get(), desc.name, t.dtype,
                                 t.dims.data(), uint32_t(t.dims.size()),
                                 t.data.data(), t.data.size()));
  };
  for (size_t i = 0; i < inputs.size(); ++i)
    setInput(i);
  // A generation step updates its caches in place: each run would see the
  // last one's keys. Timing a prefill from an empty cache every time means
  // setting them again, which is outside the timed region.
  kiln_generation_info generation;
  bool resetState =
      kiln_model_generation_info(model.get(), &generation) == KILN_STATUS_OK;
  auto resetCaches = [&] {
    for (size_t s = 0; resetState && s < generation.num_state_inputs; ++s) {
      size_t index;
      kiln_model_state_input(model.get(), s, &index);
      setInput(index);
    }
  };
  for (unsigned i = 0; i < options.warmup; ++i) {
    resetCaches();
    check(kiln_session_run(session.get()), "run failed: ");
  }
  std::vector<double> times;
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::duration<double>(options.duration);
  while (options.iterations ? times.size() < options.iterations
                            : times.empty() || Clock::now() < deadline) {
    resetCaches();
    auto start = Clock::now();
    check(kiln_session_run(session.get()), "run failed: ");
    times.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start)
            .count());
  }
  Stats stats = statsOf(times);
  int64_t tokens = tokensPerRun(model.get(), inputs);
  auto profile = [&] {
    return profileRuns(options, model.get(), session.get(), times.size(), [&] {
      resetCaches();
      check(kiln_session_run(session.get()), "run failed: ");
    });
  };
  // The text report prints the profile after the latencies; the JSON one
  // holds it.
  if (options.json) {
    printJson(options, model.get(), inputs, stats, tokens,
              options.profile ? profile() : "");
    return;
  }
  printText(options, model.get(), inputs, notes, stats, tokens);
  if (options.profile)
    profile();
}

} // namespace

int main(int argc, char **argv) {
  BenchOptions options;
  if (std::string error = parseBenchOptions(argc, argv, options);
      !error.empty()) {
    std::fprintf(stderr, "kiln-bench: error: %s\n", error.c_str());
    return 1;
  }
  if (options.help) {
    std::fputs(benchHelpText(), stdout);
    return 0;
  }
  try {
    runBenchmark(options);
  } catch (const Failure &failure) {
    std::fprintf(stderr, "kiln-bench: error: %s\n", failure.message.c_str());
    return 1;
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "kiln-bench: error: out of memory\n");
    return 1;
  }
  return 0;
}
