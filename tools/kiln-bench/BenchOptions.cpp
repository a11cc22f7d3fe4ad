//===- BenchOptions.cpp - kiln-bench's command line -----------------------===//

#include "BenchOptions.h"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace kiln::bench {

const char *benchHelpText() {
  return R"(usage: kiln-bench MODEL.kiln [options]

Measures how long one run of a compiled model takes, like trtexec: a few
warm-up runs, then timed runs of one session, and a report of the latency
distribution, the throughput and the peak memory. Inputs not given with
--input are random (seeded): floats uniform in [-1, 1), integers in
[0, 16), booleans 0 or 1; a generation step's past lengths and KV caches
are zeros (an empty cache), so its timing is a prefill of --dim seq tokens.

Options:
  --device cpu|cuda[:N]
      Where to run (default cpu).
  --threads N
      Host threads for the CPU target's parallel loops (default 0: every
      core; 1 keeps every run on one thread).
  --warmup N
      Untimed runs first (default 10).
  --iterations N
      Timed runs (N >= 1). Without it kiln-bench runs for --duration.
  --duration SECONDS
      Time to spend on timed runs when --iterations is not given (default 3;
      at least one run is always made).
  --dim NAME=N
      Value of the symbolic dimension NAME (see kiln-run --print-signature);
      repeat for several. A symbol no --dim names takes its smallest value,
      and the report says so.
  --input NAME=FILE
      Use this .npy or ONNX TensorProto .pb file for input NAME instead of
      random values; its shape then fixes the symbols it names.
  --seed N
      Seed of the random inputs (default 0).
  --json
      Print the report as one JSON object instead of text; with --profile
      it holds the profile as "profile" (every kernel that ran, with its
      time, share, calls, category and ONNX nodes; the time by category and
      by layer).
  --profile
      After the timed runs, as many runs again with per-kernel timing, and
      a table of the kernels (time, share of the run, calls, the ONNX nodes
      each came from), then the time by category (attention, MoE routing,
      experts, norms, matmuls, other) and by layer (from the node names).
  --profile-top N
      How many kernels (the slowest) the table lists (default 20; 0: all);
      one line sums the rest.
  --trace FILE
      Write the kernels of those runs (the first 100) as a Chrome trace
      (JSON, for Perfetto or chrome://tracing); implies --profile.
  -h, --help
      This text.

The report: latency min, mean, median, p90, p99 and max in milliseconds;
throughput in runs per second, and for models with a `tokens`-like input
(the token ids of a decoder, [batch, seq] integers) tokens per second at
the median; the process's peak resident memory. Nothing is written to
disk. Any failure prints one "kiln-bench: error: " line and exits 1.
KILN_MEMORY_LIMIT caps the runtime's tensor storage as for kiln-run.
)";
}

namespace {

bool parseUnsigned(const std::string &text, uint64_t max, uint64_t &out) {
  if (text.empty() || text[0] == '-' || text[0] == '+')
    return false;
  errno = 0;
  char *end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (errno || *end || value > max)
    return false;
  out = value;
  return true;
}

/// Splits "NAME=VALUE" at its first '='; false when either side is empty.
bool splitAssignment(const std::string &text, std::string &name,
                     std::string &value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    return false;
  name = text.substr(0, eq);
  value = text.substr(eq + 1);
  return true;
}

std::string parseOne(const std::string &flag, const std::string &value,
                     BenchOptions &out) {
  uint64_t n = 0;
  if (flag == "--device") {
    out.device = value;
  } else if (flag == "--threads") {
    if (!parseUnsigned(value, 4096, n))
      return "--threads takes a whole number from 0 to 4096, got '" + value +
             "'";
    out.threads = uint32_t(n);
  } else if (flag == "--warmup") {
    if (!parseUnsigned(value, 1000000, n))
      return "--warmup takes a whole number, got '" + value + "'";
    out.warmup = unsigned(n);
  } else if (flag == "--iterations") {
    if (!parseUnsigned(value, 100000000, n) || n == 0)
      return "--iterations takes a whole number >= 1, got '" + value + "'";
    out.iterations = unsigned(n);
  } else if (flag == "--duration") {
    char *end = nullptr;
    double seconds = std::strtod(value.c_str(), &end);
    if (*end || !(seconds > 0) || !std::isfinite(seconds))
      return "--duration takes a number of seconds above 0, got '" + value +
             "'";
    out.duration = seconds;
  } else if (flag == "--dim") {
    std::string name, size;
    if (!splitAssignment(value, name, size) ||
        !parseUnsigned(size, uint64_t(1) << 40, n))
      return "--dim takes NAME=N with N a whole number, got '" + value + "'";
    out.dims[name] = int64_t(n);
  } else if (flag == "--input") {
    std::string name, file;
    if (!splitAssignment(value, name, file))
      return "--input takes NAME=FILE, got '" + value + "'";
    out.inputs.emplace_back(name, file);
  } else if (flag == "--profile-top") {
    if (!parseUnsigned(value, 1000000, n))
      return "--profile-top takes a whole number, got '" + value + "'";
    out.profileTop = unsigned(n);
    out.profile = true;
  } else if (flag == "--trace") {
    out.trace = value;
    out.profile = true;
  } else if (flag == "--seed") {
    if (!parseUnsigned(value, UINT64_MAX, n))
      return "--seed takes a whole number, got '" + value + "'";
    out.seed = n;
  } else {
    return "unknown option '" + flag + "' (see kiln-bench --help)";
  }
  return "";
}

} // namespace

std::string parseBenchOptions(int argc, char **argv, BenchOptions &out) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      return "";
    }
    if (arg == "--json") {
      out.json = true;
      continue;
    }
    if (arg == "--profile") {
      out.profile = true;
      continue;
    }
    if (arg.rfind("--", 0) == 0) {
      std::string flag = arg, value;
      size_t eq = arg.find('=');
      if (eq != std::string::npos)
        flag = arg.substr(0, eq);
      static const char *const kValued[] = {
          "--device", "--threads", "--warmup", "--iterations",
          "--duration", "--dim", "--input", "--seed", "--trace",
          "--profile-top"};
      if (std::none_of(std::begin(kValued), std::end(kValued),
                       [&](const char *known) { return flag == known; }))
        return "unknown option '" + flag + "' (see kiln-bench --help)";
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return flag + " needs a value (see kiln-bench --help)";
      }
      if (std::string error = parseOne(flag, value, out); !error.empty())
        return error;
      continue;
    }
    if (!out.model.empty())
      return "more than one model given ('" + out.model + "' and '" + arg +
             "')";
    out.model = arg;
  }
  if (out.model.empty())
    return "no model given (usage: kiln-bench MODEL.kiln [options]; see "
           "--help)";
  return "";
}

} // namespace kiln::bench
