//===- options.cpp - kiln-run's command line -----------------------------===//

#include "options.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>

namespace kiln::run {

const char *helpText() {
  return R"(usage: kiln-run MODEL.kiln [--input NAME=FILE]... [options]

Runs a model compiled by kiln-compile. Every input of the model must be given
exactly once; its dtype and shape must match the model's signature (see
--print-signature), where a symbolic dim, shown by its name ("[batch,seq]"),
takes any value in its symbol's range, the same in every input that names it;
outputs then have the shapes those values give. Outputs are summarized on
stdout, one line each:
  NAME: DTYPE[SHAPE] min=... max=... mean=... values=[first few...]
(float8, float4 and bfloat16 values decoded; NaNs counted as nan=N).

Options:
  --input NAME=FILE, -i NAME=FILE
      Value of input NAME. FILE is a NumPy .npy array (little-endian bool,
      int8-64, uint8-64, float16/32/64; C order) or an ONNX TensorProto .pb
      file (any ONNX dtype Kiln knows, bfloat16, float8 and the packed 4- and
      2-bit types included); the format is chosen by extension (else .npy is
      detected). An int4 or int2 input may be an int8 .npy, a uint4 or uint2
      input a uint8 .npy, one element per byte; values must fit the type.
      A sequence input (kiln-compile --sequence-input NAME=N) is a
      directory holding one file per element, 0.npy (or 0.pb), 1.npy, ...,
      exactly N of them; its elements are the inputs NAME[0] .. NAME[N-1].
      An optional input compiled empty (--absent-input) takes no value.
  --output-dir DIR, -o DIR
      Also write every output to DIR/NAME.npy. DIR is created if missing.
      Outputs whose dtype NumPy lacks (bfloat16, float8e4m3fn, float8e4m3fnuz,
      float8e5m2, float8e5m2fnuz, float8e8m0, float4e2m1) are written as ONNX
      TensorProto files, DIR/NAME.pb (raw_data little-endian, float4e2m1
      packed two per byte), and their summary line says so. int4/int2 and
      uint4/uint2 outputs are written as int8 and uint8 .npy files, one
      element per byte (sign- or zero-extended).
      Characters other than letters, digits, '.', '-' and '_' in NAME (and a
      leading '.') become '_'; names that then collide get a suffix _2, _3...
      Files are written under temporary names and renamed once all outputs
      are written; on any failure nothing this run created is left behind.
      Without --output-dir no files are written.
      A sequence output is written as the directory DIR/NAME holding 0.npy,
      1.npy, ... (an empty directory for an empty sequence); it must not
      exist or be empty. An empty optional output writes no file (its
      summary line says "NAME: empty optional<...>").
  --dump NODE[,NODE...], --dump-all
      For an artifact of kiln-compile --dump / --dump-all, which keeps
      intermediate values as extra outputs: write (with --output-dir) and
      print only the kept values of these ONNX nodes (a node name, or the
      name of one of its output values), or all of them; the model's own
      outputs always. Without either flag every kept value is written. An
      artifact that keeps none, or no value of a named node, is an error
      naming the kiln-compile flag that keeps it. Comma-separated or
      repeated.
  --device DEV
      Where to run: "cpu" (default) for a CPU artifact; "cuda" or "cuda:N"
      (GPU N, from 0) for a CUDA artifact. The CUDA driver is loaded at run
      time from $KILN_CUDA_DRIVER, else "libcuda.so.1"; without a driver or
      a GPU, or without code in the artifact for the GPU's architecture,
      kiln-run says so and exits 1.
  --repeat N
      Run N times (N >= 1) and print "timing: N runs, median ... ms, min ...
      ms" on stdout. Outputs are those of the last run.
  --threads N
      Host threads the model may use (N >= 1; default: every core of this
      machine). CPU artifacts run their large matrix products on this many
      threads; --threads 1 runs everything on the calling thread.
  --generate N
      For an artifact of kiln-compile --generate: decode N tokens after the
      prompt, the tokens input (--input tokens=PROMPT.npy, integers [batch,
      length]; the only input to give). The prompt runs once (the prefill),
      then each step computes one new position per sequence over the KV
      cache. Writes DIR/generated.npy (int64 [batch, N]) with --output-dir,
      and prints the tokens and the prefill's and the decode's tokens/s.
  --temperature T, --top-k K, --top-p P, --seed S
      With --generate: sampling. T = 0 (default) is greedy (the first
      largest logit); T > 0 divides the logits by T and draws from the
      softmax, restricted to the K most likely tokens (K >= 1) and to the
      smallest set of most likely tokens whose probability reaches P (0 < P
      < 1). S (default 0) seeds the draws: the same seed draws the same.
  --stop-token ID
      With --generate: a token that ends a sequence (repeat for several).
      After it, the sequence's row of generated.npy repeats it; decoding
      ends once every sequence has stopped.
  --serve-trace FILE
      For an artifact of kiln-compile --generate --kv-block-size (a paged KV
      cache): serve the requests of FILE with continuous batching
      (kiln_batch_*), one request per line, "ARRIVAL MAX_NEW TOKEN...":
      ARRIVAL is seconds after the start (0 for all at once), MAX_NEW the
      tokens to generate at most, then the prompt's tokens; '#' starts a
      comment. Each step admits the requests that have arrived (while blocks
      and --max-batch allow), prefills each alone and decodes every running
      request together. Prints the generated tokens/s and the latency
      (finish minus arrival) percentiles p50/p90/p99; with --output-dir also
      writes DIR/serve.json (each request, in arrival order: prompt length,
      latency_ms, generated tokens). Takes no --input. The sampling flags
      and --stop-token apply to every request.
  --max-batch N
      With --serve-trace: at most N requests decode together (N >= 1;
      default: the model's batch range's maximum). --max-batch 1 serves the
      requests one at a time, in arrival order.
  --collective-timeout S
      For a partitioned model (kiln-compile --devices N), run as
      `mpirun -np N kiln-run model.kiln ...`: how long (seconds, default
      300) each collective waits for the other ranks. Past it, or when a
      rank dies, every rank ends with one "kiln: rank R: ..." line and a
      non-zero exit instead of waiting forever. Rank 0 reads the inputs,
      sends them to the others, and prints and writes the outputs. The
      MPI world must have exactly the model's rank count; a partitioned
      model started without mpirun says how to start it.
  --print-signature
      Print the model's target, inputs and outputs, then exit without
      running. Needs no --input. A model with symbolic dims also lists each
      symbol and its range, "symbol NAME: MIN..MAX"; a generation step (kiln-compile
      --generate) ends with "generation step: KV cache of N positions; ...".
      Inputs and outputs that are ONNX sequences or optionals add a line
      each, such as "sequence input x: sequence<tensor<float>>, 2 tensors
      (x[0], x[1]) " and "optional output y: optional<tensor<float>>, empty".
      For a CPU artifact also "workspace: N
      bytes", the memory each session allocates once for the intermediates.
      For a CUDA artifact (target "cuda-sm_90a,sm_80" and the like) instead
      one line per GPU code image, "gpu image ARCH: cubin|ptx, N bytes", and
      "gpu workspace: N bytes". A partitioned model adds a line "ranks:
      N ..." naming its plan, and one "rank R: ..." line per rank saying
      what that rank holds.
  --quiet, -q
      Do not print output summaries (timing is still printed with --repeat).
  --help, -h
      Print this help and exit.

Environment: KILN_MEMORY_LIMIT caps the tensor storage the runtime holds
(bytes, or with a K/M/G/T suffix; default: this machine's physical memory);
past it a run fails with a message naming the limit instead of the process
being killed for memory. KILN_CUDA_DRIVER: see --device.

Exit status: 0 on success; 1 on any error (bad arguments, unreadable or
corrupt model or input file, dtype/shape mismatch, missing input, failure to
write outputs). An error prints exactly one line on stderr, starting with
"kiln-run: error: ".
)";
}

namespace {

/// Matches "--flag VALUE" and "--flag=VALUE" (and a short alias with a
/// separate value). Returns false if `argv[i]` is not this flag; sets
/// `error` if it is but the value is missing.
bool takeValue(int argc, char **argv, int &i, const char *flag,
               const char *alias, std::string &value, std::string &error) {
  const char *arg = argv[i];
  size_t length = std::strlen(flag);
  if (std::strncmp(arg, flag, length) == 0 && arg[length] == '=') {
    value = arg + length + 1;
    return true;
  }
  if (std::strcmp(arg, flag) != 0 && !(alias && std::strcmp(arg, alias) == 0))
    return false;
  if (i + 1 >= argc) {
    error = std::string(flag) + " needs a value";
    return true;
  }
  value = argv[++i];
  return true;
}

/// Parses a float in [min, max] for `flag`; returns "" or the usage error.
std::string parseReal(const char *flag, const std::string &text, double min,
                      double max, float &out) {
  char *end = nullptr;
  errno = 0;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !(value >= min) ||
      !(value <= max))
    return std::string(flag) + " expects a number from " +
           std::to_string(min) + " to " + std::to_string(max) + ", got '" +
           text + "'";
  out = float(value);
  return "";
}

/// Parses a non-negative integer for `flag`.
std::string parseInteger(const char *flag, const std::string &text,
                         unsigned long long &out) {
  char *end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || text[0] == '-' || errno != 0)
    return std::string(flag) + " expects a non-negative integer, got '" +
           text + "'";
  out = value;
  return "";
}

/// Parses a positive integer up to `max` for `flag`; returns "" or the
/// usage error.
std::string parseCount(const char *flag, const std::string &text,
                       unsigned long max, unsigned &out) {
  char *end = nullptr;
  errno = 0;
  unsigned long value = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || text[0] == '-' || value == 0 ||
      value > max || errno != 0)
    return std::string(flag) + " expects an integer from 1 to " +
           std::to_string(max) + ", got '" + text + "'";
  out = unsigned(value);
  return "";
}

} // namespace

std::string parseOptions(int argc, char **argv, Options &out) {
  // The options that take a value, each with what stores it ("" or the
  // usage error).
  struct ValueOption {
    const char *flag, *alias;
    std::function<std::string(const std::string &)> store;
  };
  // The plain numeric options: a count up to `max`, a real in [min, max].
  auto count = [](const char *flag, unsigned long max, unsigned &target) {
    return ValueOption{flag, nullptr, [=, &target](const std::string &value) {
                         return parseCount(flag, value, max, target);
                       }};
  };
  auto real = [](const char *flag, double min, double max, float &target) {
    return ValueOption{flag, nullptr, [=, &target](const std::string &value) {
                         return parseReal(flag, value, min, max, target);
                       }};
  };
  // A string that must not be empty: a path.
  auto path = [](const char *flag, const char *alias, const char *what,
                 std::string &target) {
    return ValueOption{flag, alias,
                       [=, &target](const std::string &value) -> std::string {
                         if (value.empty())
                           return std::string(flag) + " needs " + what;
                         target = value;
                         return "";
                       }};
  };
  const ValueOption valueOptions[] = {
      {"--input", "-i",
       [&](const std::string &value) -> std::string {
         size_t equals = value.find('=');
         if (equals == std::string::npos || equals == 0 ||
             equals + 1 == value.size())
           return "--input expects NAME=FILE, got '" + value + "'";
         out.inputs.emplace_back(value.substr(0, equals),
                                 value.substr(equals + 1));
         return "";
       }},
      path("--output-dir", "-o", "a non-empty directory", out.outputDir),
      {"--device", nullptr,
       [&](const std::string &value) -> std::string {
         out.device = value;
         return "";
       }},
      path("--serve-trace", nullptr, "a file", out.serveTrace),
      {"--max-batch", nullptr,
       [&](const std::string &value) {
         return parseCount("--max-batch", value, 1u << 20, out.maxBatch);
       }},
      {"--repeat", nullptr,
       [&](const std::string &value) {
         out.repeatGiven = true;
         return parseCount("--repeat", value, 1000000, out.repeat);
       }},
      count("--threads", 4096, out.threads),
      count("--generate", 1u << 30, out.generate),
      real("--temperature", 0, 1e6, out.temperature),
      count("--top-k", 1u << 30, out.topK),
      real("--top-p", 0, 1, out.topP),
      real("--collective-timeout", 0, 1e7, out.collectiveTimeout),
      {"--dump", nullptr,
       [&](const std::string &value) -> std::string {
         size_t start = 0;
         while (start <= value.size()) {
           size_t comma = std::min(value.find(',', start), value.size());
           if (comma == start)
             return "--dump expects NODE[,NODE...], got '" + value + "'";
           out.dumpNodes.push_back(value.substr(start, comma - start));
           start = comma + 1;
         }
         return "";
       }},
      {"--seed", nullptr,
       [&](const std::string &value) {
         return parseInteger("--seed", value, out.seed);
       }},
      {"--stop-token", nullptr,
       [&](const std::string &value) {
         unsigned long long token = 0;
         std::string error = parseInteger("--stop-token", value, token);
         out.stopTokens.push_back((long long)token);
         return error;
       }},
  };

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value, error;
    const ValueOption *taken = nullptr;
    for (const ValueOption &option : valueOptions)
      if (takeValue(argc, argv, i, option.flag, option.alias, value, error)) {
        taken = &option;
        break;
      }
    if (taken) {
      if (error.empty())
        error = taken->store(value);
      if (!error.empty())
        return error;
    } else if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (arg == "--quiet" || arg == "-q") {
      out.quiet = true;
    } else if (arg == "--dump-all") {
      out.dumpAll = true;
    } else if (arg == "--print-signature") {
      out.printSignature = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      return "unknown option '" + arg + "'; see kiln-run --help";
    } else if (!out.model.empty()) {
      return "more than one model given ('" + out.model + "' and '" + arg +
             "')";
    } else {
      out.model = arg;
    }
  }
  bool sampling = out.temperature != 0 || out.topK != 0 || out.topP != 0 ||
                  out.seed != 0 || !out.stopTokens.empty();
  bool serving = !out.serveTrace.empty();
  if (sampling && out.generate == 0 && !serving)
    return "--temperature, --top-k, --top-p, --seed and --stop-token need "
           "--generate N or --serve-trace";
  if (out.maxBatch && !serving)
    return "--max-batch needs --serve-trace";
  if (serving && (out.generate || out.repeatGiven || !out.inputs.empty()))
    return "--serve-trace takes its prompts from the trace; it does not go "
           "with --generate, --repeat or --input";
  if ((out.dumpAll || !out.dumpNodes.empty()) && (out.generate || serving))
    return "--dump and --dump-all go with a plain run, not with --generate "
           "or --serve-trace";
  if (out.dumpAll && !out.dumpNodes.empty())
    return "--dump-all already writes every kept value; give --dump NODE or "
           "--dump-all, not both";
  if (out.generate && out.repeatGiven)
    return "--generate and --repeat do not go together (--generate prints "
           "its own timing)";
  if (!out.help && out.model.empty())
    return "no model given; usage: kiln-run MODEL.kiln --input NAME=FILE... "
           "(see --help)";
  return "";
}

} // namespace kiln::run
