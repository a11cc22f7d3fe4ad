//===- serve.cpp - kiln-run --serve-trace --------------------------------===//

#include "serve.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

namespace kiln::run {
namespace {

using Clock = std::chrono::steady_clock;

struct BatchDeleter {
  void operator()(kiln_batch *b) const { kiln_batch_release(b); }
};

/// The q-th percentile (nearest rank) of `values`.
double percentile(std::vector<double> values, double q) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  size_t rank = size_t(std::ceil(q / 100.0 * double(values.size())));
  return values[std::min(values.size() - 1, rank ? rank - 1 : 0)];
}

std::string formatNumbers(const char *fmt, double a, double b = 0, double c = 0,
                   double d = 0) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, fmt, a, b, c, d);
  return buffer;
}

} // namespace

std::string parseTrace(const std::string &text,
                       std::vector<TraceRequest> &out) {
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (size_t hash = line.find('#'); hash != std::string::npos)
      line.resize(hash);
    std::istringstream fields(line);
    std::string word;
    std::vector<std::string> words;
    while (fields >> word)
      words.push_back(word);
    if (words.empty())
      continue;
    auto bad = [&](const std::string &why) {
      return "trace line " + std::to_string(number) + ": " + why;
    };
    if (words.size() < 3)
      return bad("expected ARRIVAL_SECONDS MAX_NEW_TOKENS TOKEN..., got '" +
                 line + "'");
    TraceRequest r;
    char *end = nullptr;
    errno = 0;
    r.arrival = std::strtod(words[0].c_str(), &end);
    if (*end || errno || !(r.arrival >= 0) || !std::isfinite(r.arrival))
      return bad("the arrival must be seconds >= 0, got '" + words[0] + "'");
    unsigned long long maxNew = std::strtoull(words[1].c_str(), &end, 10);
    if (*end || errno || words[1][0] == '-' || maxNew == 0 ||
        maxNew > UINT32_MAX)
      return bad("max new tokens must be a positive integer, got '" +
                 words[1] + "'");
    r.maxNew = uint32_t(maxNew);
    for (size_t i = 2; i < words.size(); ++i) {
      long long token = std::strtoll(words[i].c_str(), &end, 10);
      if (*end || errno)
        return bad("token '" + words[i] + "' is not an integer");
      r.prompt.push_back(token);
    }
    out.push_back(std::move(r));
  }
  if (out.empty())
    return "the trace has no requests";
  std::stable_sort(out.begin(), out.end(),
                   [](const TraceRequest &a, const TraceRequest &b) {
                     return a.arrival < b.arrival;
                   });
  return "";
}

std::string runServeTrace(const Options &options, kiln_model *,
                          kiln_session *session,
                          std::vector<std::string> &lines) {
  std::ifstream file(options.serveTrace);
  if (!file)
    return "cannot read the trace '" + options.serveTrace + "'";
  std::stringstream text;
  text << file.rdbuf();
  std::vector<TraceRequest> trace;
  if (std::string error = parseTrace(text.str(), trace); !error.empty())
    return error + " (in '" + options.serveTrace + "')";

  kiln_batch_options batchOptions{options.maxBatch};
  kiln_batch *raw = nullptr;
  if (kiln_batch_create(session, &batchOptions, &raw))
    return kiln_last_error();
  std::unique_ptr<kiln_batch, BatchDeleter> batch(raw);
  kiln_sampling sampling{options.temperature, options.topK, options.topP,
                         options.seed};
  std::vector<int64_t> stopTokens(options.stopTokens.begin(),
                                  options.stopTokens.end());
  const int64_t *stop = stopTokens.empty() ? nullptr : stopTokens.data();

  size_t count = trace.size(), next = 0, done = 0;
  std::vector<uint64_t> ids(count, 0);
  std::vector<double> latency(count, 0);
  std::vector<std::vector<int64_t>> tokens(count);
  std::vector<int64_t> buffer;
  Clock::time_point start = Clock::now();
  auto now = [&] {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  while (done < count) {
    // Everything that has arrived joins; with nothing to run, wait for the
    // next arrival.
    kiln_batch_stats stats;
    kiln_batch_get_stats(batch.get(), &stats);
    if (next < count && stats.waiting + stats.running == 0 &&
        trace[next].arrival > now())
      std::this_thread::sleep_for(
          std::chrono::duration<double>(trace[next].arrival - now()));
    double t = now();
    for (; next < count && trace[next].arrival <= t; ++next) {
      const TraceRequest &r = trace[next];
      if (kiln_batch_add(batch.get(), r.prompt.data(),
                         uint32_t(r.prompt.size()), r.maxNew, &sampling, stop,
                         uint32_t(options.stopTokens.size()), &ids[next]))
        return "request " + std::to_string(next + 1) + ": " + kiln_last_error();
    }
    if (kiln_batch_step(batch.get(), nullptr))
      return kiln_last_error();
    double finishedAt = now();
    while (true) {
      uint64_t id = 0;
      size_t got = 0;
      buffer.resize(1 << 16);
      kiln_status status = kiln_batch_take(batch.get(), &id, buffer.data(),
                                           buffer.size(), &got);
      if (status == KILN_STATUS_NOT_FOUND)
        break;
      if (status)
        return kiln_last_error();
      size_t index = size_t(std::find(ids.begin(), ids.end(), id) - ids.begin());
      if (index == count)
        return "the batch finished request " + std::to_string(id) +
               ", which was never added";
      tokens[index].assign(buffer.begin(), buffer.begin() + got);
      latency[index] = (finishedAt - trace[index].arrival) * 1000;
      ++done;
    }
  }
  double wall = now();
  kiln_batch_stats stats;
  kiln_batch_get_stats(batch.get(), &stats);

  size_t generated = 0, promptTokens = 0;
  for (size_t i = 0; i < count; ++i) {
    generated += tokens[i].size();
    promptTokens += trace[i].prompt.size();
  }
  lines.push_back("serve: " + std::to_string(count) + " requests, " +
                  std::to_string(promptTokens) + " prompt tokens, " +
                  std::to_string(generated) + " generated tokens in " +
                  formatNumbers("%.3f s", wall));
  lines.push_back(formatNumbers("serve: %.1f generated tokens/s", generated / wall));
  lines.push_back(formatNumbers("serve: latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms",
                         percentile(latency, 50), percentile(latency, 90),
                         percentile(latency, 99)));
  lines.push_back("serve: " + std::to_string(stats.prefills) + " prefills, " +
                  std::to_string(stats.decode_steps) + " decode steps, " +
                  "blocks: " + std::to_string(stats.peak_used_blocks) +
                  " of " + std::to_string(stats.total_blocks) +
                  " at most in use, " +
                  std::to_string(stats.blocks_handed_out) + " handed out");
  if (stats.window_total_blocks > 0)
    lines.push_back(
        "serve: windowed blocks: " +
        std::to_string(stats.window_peak_used_blocks) + " of " +
        std::to_string(stats.window_total_blocks) + " at most in use, " +
        std::to_string(stats.window_blocks_handed_out) + " handed out");

  if (!options.outputDir.empty()) {
    std::string json =
        "{\n  \"wall_seconds\": " + formatNumbers("%.6f", wall) +
        ",\n  \"generated_tokens\": " + std::to_string(generated) +
        ",\n  \"peak_used_blocks\": " + std::to_string(stats.peak_used_blocks) +
        ",\n  \"total_blocks\": " + std::to_string(stats.total_blocks) +
        ",\n  \"blocks_handed_out\": " +
        std::to_string(stats.blocks_handed_out) +
        ",\n  \"window_peak_used_blocks\": " +
        std::to_string(stats.window_peak_used_blocks) +
        ",\n  \"window_total_blocks\": " +
        std::to_string(stats.window_total_blocks) +
        ",\n  \"window_blocks_handed_out\": " +
        std::to_string(stats.window_blocks_handed_out) +
        ",\n  \"requests\": [\n";
    for (size_t i = 0; i < count; ++i) {
      json += "    {\"index\": " + std::to_string(i) +
              ", \"arrival\": " + formatNumbers("%.6f", trace[i].arrival) +
              ", \"prompt_length\": " + std::to_string(trace[i].prompt.size()) +
              ", \"latency_ms\": " + formatNumbers("%.3f", latency[i]) +
              ", \"tokens\": [";
      for (size_t j = 0; j < tokens[i].size(); ++j)
        json += (j ? ", " : "") + std::to_string(tokens[i][j]);
      json += std::string("]}") + (i + 1 < count ? "," : "") + "\n";
    }
    json += "  ]\n}\n";
    std::error_code ec;
    std::filesystem::create_directories(options.outputDir, ec);
    std::string path = options.outputDir + "/serve.json";
    std::ofstream out(path);
    if (!out)
      return "cannot write '" + path + "' (does --output-dir exist?)";
    out << json;
    if (!out)
      return "cannot write '" + path + "'";
  }
  return "";
}

} // namespace kiln::run
