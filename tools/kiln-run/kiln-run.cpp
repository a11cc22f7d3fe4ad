//===- kiln-run.cpp - Run a compiled Kiln artifact -----------------------===//
//
// A thin CLI over the runtime's C API (the same API the Python module uses),
// so that what works here works from a program. Its contract: success writes
// complete outputs; any failure prints exactly one "kiln-run: error: " line
// on stderr, exits 1 and leaves no files behind. See --help.
//
//===----------------------------------------------------------------------===//

#include "generate.h"
#include "options.h"
#include "output_writer.h"
#include "serve.h"
#include "summary.h"
#include "values.h"

#include "kiln/artifact_format.h"
#include "kiln/runtime.h"
#include "kiln/tensor_io.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>

using namespace kiln;
using namespace kiln::run;

namespace {

/// Thrown (and caught only in main) to end the run with one error line.
struct Failure {
  std::string message;
};

[[noreturn]] void failWith(std::string message) { throw Failure{message}; }

[[noreturn]] void failWithRuntime(const std::string &context = "") {
  failWith(context + kiln_last_error());
}

struct ModelDeleter {
  void operator()(kiln_model *model) const { kiln_model_release(model); }
};
struct SessionDeleter {
  void operator()(kiln_session *session) const {
    kiln_session_release(session);
  }
};
using ModelPtr = std::unique_ptr<kiln_model, ModelDeleter>;
using SessionPtr = std::unique_ptr<kiln_session, SessionDeleter>;

/// The model's symbol names by index, for its signature's symbolic dims.
std::vector<std::string> symbolNames(const kiln_model *model) {
  std::vector<std::string> names;
  for (size_t i = 0; i < kiln_model_num_symbols(model); ++i) {
    const char *name = nullptr;
    if (kiln_model_symbol(model, i, &name, nullptr, nullptr))
      failWithRuntime();
    names.push_back(name);
  }
  return names;
}

/// One "symbol NAME: MIN..MAX" line per symbol ("computed by each run" for
/// the output dims only a run knows).
void printSymbols(const kiln_model *model) {
  size_t count = kiln_model_num_symbols(model);
  size_t bound = count - kiln_model_num_computed_symbols(model);
  for (size_t i = 0; i < count; ++i) {
    const char *name = nullptr;
    int64_t min = 0, max = 0;
    if (kiln_model_symbol(model, i, &name, &min, &max))
      failWithRuntime();
    if (i >= bound)
      std::printf("symbol %s: computed by each run\n", name);
    else
      std::printf("symbol %s: %lld..%lld\n", name, static_cast<long long>(min),
                  static_cast<long long>(max));
  }
}

void printSignature(const Options &options, kiln_model *model) {
  std::printf("model: %s\ntarget: %s\n", options.model.c_str(),
              kiln_model_target(model));
  // A "cuda-" target's kernels: one line per image, in the artifact's order
  // (the order in which the runtime prefers them), then the workspace.
  size_t images = kiln_model_num_gpu_images(model);
  for (size_t i = 0; i < images; ++i) {
    const char *arch;
    int format;
    uint64_t bytes;
    kiln_model_gpu_image(model, i, &arch, &format, &bytes);
    std::printf("gpu image %s: %s, %llu bytes\n", arch,
                format == KILN_GPU_IMAGE_CUBIN ? "cubin" : "ptx",
                static_cast<unsigned long long>(bytes));
  }
  if (images > 0)
    std::printf("gpu workspace: %llu bytes\n",
                static_cast<unsigned long long>(
                    kiln_model_gpu_workspace_bytes(model)));
  else
    std::printf("workspace: %llu bytes\n",
                static_cast<unsigned long long>(
                    kiln_model_workspace_bytes(model)));
  printSymbols(model);
  std::vector<std::string> symbols = symbolNames(model);
  kiln_tensor_desc desc;
  for (size_t i = 0; i < kiln_model_num_inputs(model); ++i) {
    kiln_model_input(model, i, &desc);
    std::printf("input %s: %s\n", desc.name,
                typeString(desc, symbols).c_str());
  }
  for (size_t i = 0; i < kiln_model_num_outputs(model); ++i) {
    kiln_model_output(model, i, &desc);
    std::printf("output %s: %s\n", desc.name,
                typeString(desc, symbols).c_str());
  }
  // The sequences and optionals those tensors form.
  for (const ModelValue &value : modelValues(model))
    std::printf("%s %s %s: %s\n", value.sequence ? "sequence" : "optional",
                value.output ? "output" : "input", value.name.c_str(),
                describeValue(model, value).c_str());
  uint32_t ranks = kiln_model_num_ranks(model);
  if (ranks > 1) {
    std::printf("ranks: %u (%s); run it with mpirun -np %u\n", ranks,
                kiln_model_plan(model), ranks);
    for (uint32_t r = 0; r < ranks; ++r)
      std::printf("rank %u: %s\n", r, kiln_model_rank_summary(model, r));
  }
  kiln_generation_info generation;
  if (kiln_model_generation_info(model, &generation) == KILN_STATUS_OK) {
    kiln_model_input(model, generation.tokens_input, &desc);
    kiln_paged_info paged;
    if (kiln_model_paged_info(model, &paged) == KILN_STATUS_OK) {
      if (paged.has_full_pools)
        std::printf("generation step: paged KV cache of %lld positions per "
                    "sequence, %lld blocks of %lld; serve it with "
                    "--serve-trace FILE\n",
                    static_cast<long long>(generation.max_seq),
                    static_cast<long long>(paged.num_blocks),
                    static_cast<long long>(paged.block_size));
      else
        std::printf("generation step: paged KV cache of %lld positions per "
                    "sequence; serve it with --serve-trace FILE\n",
                    static_cast<long long>(generation.max_seq));
      if (paged.window_blocks > 0)
        std::printf("generation step: windowed attentions keep their rings "
                    "in %lld blocks of %lld, at most %lld per sequence%s\n",
                    static_cast<long long>(paged.window_blocks),
                    static_cast<long long>(paged.block_size),
                    static_cast<long long>(paged.window_columns),
                    paged.has_full_pools ? "" : " (every cache is windowed)");
    } else
      std::printf("generation step: KV cache of %lld positions; run it with "
                  "--generate N --input %s=PROMPT.npy\n",
                  static_cast<long long>(generation.max_seq), desc.name);
  }
}

/// This process's rank in a parallel run (0 otherwise).
int32_t worldRank = 0;
/// Set before failing where every rank fails the same way (the MPI world
/// has the wrong size): each says so and ends normally, rather than the
/// first one ending the others before they could.
bool everyRankFails = false;

/// Whether mpirun (Open MPI, or a PMI/PMIx launcher) started this process.
bool startedByMpirun() {
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(name))
      return true;
  return false;
}

/// Rank 0's tensor, sent to every rank of a parallel run (a no-op when
/// the collectives are not active).
void shareTensor(HostTensor &tensor) {
  if (!kiln_collectives_active())
    return;
  // dtype, rank, byte size, then up to 16 dims.
  uint64_t header[3 + 16] = {};
  if (worldRank == 0) {
    if (tensor.dims.size() > 16)
      failWith("an input of rank > 16 cannot be sent to the other ranks");
    header[0] = uint64_t(tensor.dtype);
    header[1] = tensor.dims.size();
    header[2] = tensor.data.size();
    for (size_t i = 0; i < tensor.dims.size(); ++i)
      header[3 + i] = uint64_t(tensor.dims[i]);
  }
  if (kiln_collectives_broadcast(header, sizeof(header), 0))
    failWithRuntime();
  if (worldRank != 0) {
    tensor.dtype = kiln_dtype(header[0]);
    tensor.dims.assign(header[1], 0);
    for (size_t i = 0; i < header[1] && i < 16; ++i)
      tensor.dims[i] = int64_t(header[3 + i]);
    tensor.data.resize(header[2]);
  }
  if (kiln_collectives_broadcast(tensor.data.data(), tensor.data.size(), 0))
    failWithRuntime();
}

void setInputs(const Options &options, kiln_model *model,
               kiln_session *session) {
  std::vector<bool> given(kiln_model_num_inputs(model), false);
  // A sequence input is a directory of its elements' files.
  std::vector<std::pair<std::string, std::string>> inputs = options.inputs;
  if (std::string error = expandSequenceInputs(model, inputs); !error.empty())
    failWith(error);
  for (const auto &[name, file] : inputs) {
    size_t index;
    if (kiln_model_find_input(model, name.c_str(), &index))
      failWithRuntime();
    if (given[index])
      failWith("input '" + name + "' is given more than once");
    given[index] = true;
    HostTensor tensor;
    // In a parallel run rank 0 reads the file and sends it to the others.
    if (worldRank == 0)
      if (std::string error = readTensorFile(file, tensor); !error.empty())
        failWith("input '" + name + "': " + error);
    shareTensor(tensor);
    // NumPy has no 4- or 2-bit integers: an int8 (uint8) .npy holds an
    // int4/int2 (uint4/uint2) input one element per byte; the runtime
    // checks that every value fits.
    kiln_tensor_desc desc;
    kiln_model_input(model, index, &desc);
    if ((tensor.dtype == KILN_DTYPE_INT8 &&
         (desc.dtype == KILN_DTYPE_INT4 || desc.dtype == KILN_DTYPE_INT2)) ||
        (tensor.dtype == KILN_DTYPE_UINT8 &&
         (desc.dtype == KILN_DTYPE_UINT4 || desc.dtype == KILN_DTYPE_UINT2)))
      tensor.dtype = desc.dtype;
    if (kiln_session_set_input(session, name.c_str(), tensor.dtype,
                               tensor.dims.data(), uint32_t(tensor.dims.size()),
                               tensor.data.data(), tensor.data.size()))
      failWith(std::string(kiln_last_error()) + " (from '" + file + "')");
  }
  // Checked here rather than left to kiln_session_run so that the message
  // can say how to fix it on this command line.
  for (size_t i = 0; i < given.size(); ++i) {
    if (given[i])
      continue;
    if (std::string sequence = missingElementHint(model, i); !sequence.empty())
      failWith(sequence);
    kiln_tensor_desc desc;
    kiln_model_input(model, i, &desc);
    failWith(std::string("missing input '") + desc.name + "' (" +
             typeString(desc, symbolNames(model)) + "); pass it with --input " +
             desc.name + "=FILE.npy");
  }
}

/// Runs `repeat` times; returns each run's wall time in milliseconds.
std::vector<double> runRepeatedly(kiln_session *session, unsigned repeat) {
  std::vector<double> times;
  for (unsigned i = 0; i < repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (kiln_session_run(session))
      failWithRuntime("run failed: ");
    auto end = std::chrono::steady_clock::now();
    times.push_back(
        std::chrono::duration<double, std::milli>(end - start).count());
  }
  return times;
}

/// Which outputs to write and print: all but the kept values that --dump
/// leaves out. Fails, naming the kiln-compile flag, when the artifact keeps
/// no value of a node --dump names (or none at all).
std::vector<bool> selectOutputs(const Options &options, kiln_model *model) {
  size_t count = kiln_model_num_outputs(model);
  std::vector<bool> selected(count, true);
  if (!options.dumpAll && options.dumpNodes.empty())
    return selected;
  // Each kept value's node and value name.
  std::vector<std::pair<std::string, std::string>> kept(count);
  std::string keptNodes;
  for (size_t i = 0; i < count; ++i) {
    const char *node = nullptr;
    kiln_tensor_desc desc;
    if (kiln_model_output_dump(model, i, &node) != KILN_STATUS_OK ||
        kiln_model_output(model, i, &desc) != KILN_STATUS_OK)
      continue;
    if (keptNodes.find("'" + std::string(node) + "'") == std::string::npos)
      keptNodes += (keptNodes.empty() ? "'" : ", '") + std::string(node) + "'";
    kept[i] = {node, desc.name};
  }
  if (keptNodes.empty())
    failWith(std::string(options.dumpAll ? "--dump-all" : "--dump") + ": '" +
             options.model +
             "' keeps no intermediate values; compile it with kiln-compile "
             "--dump NODE[,NODE...] or --dump-all");
  if (options.dumpAll)
    return selected;
  for (size_t i = 0; i < count; ++i)
    selected[i] = kept[i].first.empty();
  for (const std::string &name : options.dumpNodes) {
    bool found = false;
    for (size_t i = 0; i < count; ++i)
      if (!kept[i].first.empty() &&
          (kept[i].first == name || kept[i].second == name)) {
        selected[i] = true;
        found = true;
      }
    if (!found)
      failWith("--dump: '" + options.model + "' keeps no value of node '" +
               name + "' (it keeps those of " +
               (keptNodes.size() > 200 ? keptNodes.substr(0, 200) + "..."
                                       : keptNodes) +
               "); compile with kiln-compile --dump " + name);
  }
  return selected;
}

std::vector<std::string> collectOutputs(const Options &options,
                                        const kiln_model *model,
                                        kiln_session *session,
                                        const std::vector<bool> &selected,
                                        OutputWriter *writer) {
  std::vector<std::string> summaries;
  // A sequence output is a directory of its elements (an empty one for no
  // elements); an empty optional output is no file.
  std::vector<ModelValue> values = modelValues(model);
  std::vector<std::string> subdirs(values.size());
  for (size_t v = 0; v < values.size(); ++v) {
    if (!values[v].output)
      continue;
    if (!values[v].present && !options.quiet)
      summaries.push_back(values[v].name + ": empty " + values[v].type);
    if (writer && values[v].present && values[v].sequence)
      if (std::string error =
              writer->openSubdirectory(values[v].name, subdirs[v]);
          !error.empty())
        failWith(error);
  }
  for (size_t i = 0; i < selected.size(); ++i) {
    if (!selected[i])
      continue;
    kiln_tensor_desc desc;
    const void *data;
    size_t bytes;
    if (kiln_session_output(session, i, &desc, &data, &bytes))
      failWithRuntime();
    if (!options.quiet)
      summaries.push_back(summarize(desc, data, bytes));
    if (!writer)
      continue;
    std::vector<int64_t> dims(desc.dims, desc.dims + desc.rank);
    std::string fileName, subdir, fileBase;
    size_t position = 0;
    if (const ModelValue *value = outputValueOf(values, i, position)) {
      subdir = subdirs[size_t(value - values.data())];
      fileBase = std::to_string(position);
    }
    if (std::string error = writer->add(desc.name, desc.dtype, dims, data,
                                        bytes, &fileName, subdir, fileBase);
        !error.empty())
      failWith(error);
    // Say where an output that is not a .npy went.
    if (!options.quiet && !npyCanHold(desc.dtype))
      summaries.back() += " (saved as " + fileName +
                          ", an ONNX TensorProto: NumPy has no " +
                          kiln_dtype_name(desc.dtype) + ")";
  }
  return summaries;
}

/// --generate: decode, then write generated.npy and print the speeds.
int generateMain(const Options &options, kiln_model *model,
                 kiln_session *session) {
  std::unique_ptr<OutputWriter> writer;
  if (!options.outputDir.empty()) {
    writer = std::make_unique<OutputWriter>();
    if (std::string error = writer->open(options.outputDir); !error.empty())
      failWith(error);
  }
  std::vector<std::string> lines;
  if (std::string error =
          runGeneration(options, model, session, writer.get(), lines);
      !error.empty())
    failWith(error);
  if (writer)
    if (std::string error = writer->commit(); !error.empty())
      failWith(error);
  for (const std::string &line : lines)
    std::printf("%s\n", line.c_str());
  return 0;
}

int runModel(const Options &options, kiln_model *model);

int runMain(int argc, char **argv) {
  Options options;
  if (std::string error = parseOptions(argc, argv, options); !error.empty())
    failWith(error);
  if (options.help) {
    std::fputs(helpText(), stdout);
    return 0;
  }

  // Under mpirun, this process is one rank of a partitioned model: start
  // the collectives before loading, so that the model loads this rank.
  bool parallel = startedByMpirun() && !options.printSignature;
  if (parallel) {
    int32_t size = 1;
    if (kiln_collectives_init(options.collectiveTimeout, &worldRank, &size))
      failWithRuntime();
  }
  kiln_model *rawModel = nullptr;
  if (kiln_status status = kiln_model_load(options.model.c_str(), &rawModel)) {
    everyRankFails = parallel && status == KILN_STATUS_UNSUPPORTED;
    failWithRuntime();
  }
  ModelPtr model(rawModel);
  if (options.printSignature) {
    printSignature(options, model.get());
    return 0;
  }
  uint32_t ranks = kiln_model_num_ranks(model.get());
  if (ranks > 1 && !parallel)
    failWith(options.model + " is partitioned for " + std::to_string(ranks) +
             " ranks (" + kiln_model_plan(model.get()) +
             "): run one process per rank, mpirun -np " +
             std::to_string(ranks) + " kiln-run " + options.model + " ...");
  if (ranks > 1 && options.generate)
    failWith("--generate does not run partitioned models yet; compile the "
             "model for one device");
  // Only rank 0 prints and writes the outputs.
  Options rankOptions = options;
  if (worldRank != 0) {
    rankOptions.quiet = true;
    rankOptions.outputDir.clear();
    rankOptions.repeatGiven = false;
  }
  return runModel(rankOptions, model.get());
}

int runModel(const Options &options, kiln_model *rawModel) {
  struct NoRelease {
    void operator()(kiln_model *) const {}
  };
  std::unique_ptr<kiln_model, NoRelease> model(rawModel);

  kiln_session *rawSession = nullptr;
  if (kiln_session_create(model.get(), options.device.c_str(), &rawSession))
    failWithRuntime();
  SessionPtr session(rawSession);
  if (kiln_session_set_threads(session.get(), options.threads))
    failWithRuntime();
  if (options.generate)
    return generateMain(options, model.get(), session.get());
  if (!options.serveTrace.empty()) {
    std::vector<std::string> lines;
    if (std::string error =
            runServeTrace(options, model.get(), session.get(), lines);
        !error.empty())
      failWith(error);
    for (const std::string &line : lines)
      std::printf("%s\n", line.c_str());
    return 0;
  }
  setInputs(options, model.get(), session.get());
  std::vector<bool> selected = selectOutputs(options, model.get());

  // Create the output directory before running, so a bad path fails fast.
  std::unique_ptr<OutputWriter> writer;
  if (!options.outputDir.empty()) {
    writer = std::make_unique<OutputWriter>();
    if (std::string error = writer->open(options.outputDir); !error.empty())
      failWith(error);
  }

  std::vector<double> times = runRepeatedly(session.get(), options.repeat);
  std::vector<std::string> summaries =
      collectOutputs(options, model.get(), session.get(), selected,
                     writer.get());
  if (writer)
    if (std::string error = writer->commit(); !error.empty())
      failWith(error);

  for (const std::string &line : summaries)
    std::printf("%s\n", line.c_str());
  if (options.repeatGiven) {
    std::sort(times.begin(), times.end());
    std::printf("timing: %u runs, median %.4g ms, min %.4g ms\n",
                options.repeat, times[times.size() / 2], times.front());
  }
  return 0;
}

/// One line, whatever a file name or a lower layer put in the message.
void printError(std::string message) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  if (kiln_collectives_active())
    message = "rank " + std::to_string(worldRank) + ": " + message;
  std::fprintf(stderr, "kiln-run: error: %s\n", message.c_str());
}

} // namespace

int main(int argc, char **argv) {
  // Failures unwind through main's locals, so the output writer's destructor
  // removes partial files and the model and session are released.
  std::string message;
  try {
    int status = runMain(argc, argv);
    kiln_collectives_finalize();
    return status;
  } catch (const Failure &failure) {
    message = failure.message;
  } catch (const std::bad_alloc &) {
    message = "out of memory";
  } catch (const std::exception &error) {
    message = std::string("internal error: ") + error.what();
  }
  printError(message);
  // One rank's failure ends every rank: the others would otherwise wait
  // for it in their next collective.
  if (kiln_collectives_active() && everyRankFails) {
    kiln_collectives_finalize();
  } else if (kiln_collectives_active()) {
    std::fflush(stderr);
    kiln_collectives_abort("kiln-run failed on this rank; ending every rank",
                           1);
  }
  return 1;
}
