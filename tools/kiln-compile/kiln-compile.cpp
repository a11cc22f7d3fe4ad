//===- kiln-compile.cpp - Compile a model ahead of time -------------------===//
//
//   kiln-compile MODEL.onnx|MODEL.mlir -o OUT.kiln --target cpu
//                [--emit=kiln|<a stage of the target>|artifact]
//                [--input-shape NAME=DIMS ...]
//   kiln-compile MODEL|config.json --plan-only [--explain-plan]
//                [--devices N | --mesh NxD] [--machine PRESET|FILE]
//                [--parallel auto|tp=..,ep=..,pp=..,dp=..]
//
// Every error is one line on stderr, "kiln-compile: error: ...", and a
// non-zero exit; no partial output file is left behind. A model's problems
// are all reported, not only the first; --check stops before code
// generation.
//
//===----------------------------------------------------------------------===//

#include "QuantizationCheck.h"
#include "kiln/Driver/CompileCache.h"
#include "kiln/Driver/CompileDriver.h"
#include "kiln/Init.h"
#include "kiln/tensor_io.h"

#include "mlir/IR/AsmState.h"
#include "kiln/dialects/Kiln/Provenance.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

using namespace llvm;

static cl::OptionCategory kilnCategory("kiln-compile options");

static cl::opt<std::string> inputPath(
    cl::Positional, cl::desc("<model.onnx | model.onnxtxt | model.mlir>"),
    cl::Required, cl::cat(kilnCategory));

// Both descriptions are completed from the target registry in main().
static cl::opt<std::string> target("target", cl::init("cpu"),
                                   cl::value_desc("name"),
                                   cl::cat(kilnCategory));
static cl::opt<std::string> emit("emit", cl::init("artifact"),
                                 cl::value_desc("stage"),
                                 cl::cat(kilnCategory));
static cl::opt<unsigned> optLevel(
    "O", cl::desc("LLVM optimization level for host code, 0 to 3 (default 3)"),
    cl::init(3), cl::Prefix, cl::cat(kilnCategory));

// The ordinary flags: one row each in Flags.def.
#define KILN_FLAG(TYPE, VARIABLE, FLAG, VALUE, DEFAULT, HELP)                 \
  static cl::opt<TYPE> VARIABLE(FLAG, cl::value_desc(VALUE),                   \
                                cl::init(DEFAULT), cl::desc(HELP),             \
                                cl::cat(kilnCategory));
#define KILN_LIST(VARIABLE, FLAG, VALUE, HELP)                                 \
  static cl::list<std::string> VARIABLE(FLAG, cl::value_desc(VALUE),           \
                                        cl::desc(HELP), cl::cat(kilnCategory));
#include "Flags.def"
#undef KILN_FLAG
#undef KILN_LIST

static bool parseShape(StringRef text, kiln::OnnxImportOptions &opts,
                       std::string &error) {
  auto [name, dims] = text.split('=');
  if (name.empty() || dims.empty()) {
    error = "--input-shape expects NAME=DIMS (e.g. tokens=1x16), got '" +
            text.str() + "'";
    return false;
  }
  SmallVector<int64_t> shape;
  if (dims != "scalar") {
    SmallVector<StringRef> parts;
    dims.split(parts, 'x');
    for (StringRef p : parts) {
      int64_t d;
      if (p.getAsInteger(10, d) || d < 0) {
        error = "--input-shape " + text.str() + ": '" + p.str() +
                "' is not a dimension size";
        return false;
      }
      shape.push_back(d);
    }
  }
  opts.inputShapes[name] = shape;
  return true;
}

/// --dim NAME=MIN:MAX, or NAME=N for a pinned dimension.
static bool parseDimRange(StringRef text, kiln::OnnxImportOptions &opts,
                          std::string &error) {
  auto [name, range] = text.split('=');
  auto [low, high] = range.split(':');
  if (high.empty() && !range.contains(':'))
    high = low;
  kiln::DimRange r;
  if (name.empty() || low.getAsInteger(10, r.min) ||
      high.getAsInteger(10, r.max)) {
    error = "--dim expects NAME=MIN:MAX or NAME=N (e.g. seq=1:4096), got '" +
            text.str() + "'";
    return false;
  }
  if (r.min < 0 || r.min > r.max || r.max > (int64_t(1) << 40)) {
    error = "--dim " + text.str() +
            ": the range must satisfy 0 <= MIN <= MAX <= 2^40";
    return false;
  }
  if (opts.dimRanges.count(name)) {
    error = "--dim gives '" + name.str() + "' twice";
    return false;
  }
  opts.dimRanges[name] = r;
  return true;
}

static bool parseBinding(StringRef text, kiln::OnnxImportOptions &opts,
                         std::string &error) {
  auto [name, path] = text.split('=');
  if (name.empty() || path.empty()) {
    error = "--bind-input expects NAME=FILE, got '" + text.str() + "'";
    return false;
  }
  kiln::HostTensor tensor;
  std::string why = kiln::readTensorFile(path.str(), tensor);
  if (!why.empty()) {
    error = "--bind-input " + name.str() + ": " + why;
    return false;
  }
  kiln::BoundInput &bound = opts.boundInputs[name];
  bound.dtype = tensor.dtype;
  bound.dims = tensor.dims;
  bound.data.assign(tensor.data.begin(), tensor.data.end());
  return true;
}

/// Compiles the float model next to the quantized artifact, runs both on
/// `inputs` and prints the error of each output. The float artifact is a
/// temporary file, removed afterwards.
static int checkQuantization(
    mlir::MLIRContext &context, kiln::CompileOptions opts,
    const std::vector<std::pair<std::string, kiln::HostTensor>> &inputs,
    bool &hadError) {
  SmallString<128> floatPath;
  if (std::error_code ec =
          sys::fs::createTemporaryFile("kiln-float", "kiln", floatPath)) {
    errs() << "kiln-compile: error: cannot create a temporary file: "
           << ec.message() << "\n";
    return 1;
  }
  std::string quantizedPath = opts.outputPath;
  opts.outputPath = floatPath.str().str();
  opts.quantize.clear();
  opts.progress = false;
  int status = 0;
  if (failed(kiln::compile(context, opts)) || hadError) {
    errs() << "kiln-compile: error: the float model for "
              "--quantize-check-input did not compile\n";
    status = 1;
  } else if (std::string why = kiln::reportQuantizationError(
                 opts.outputPath, quantizedPath, inputs);
             !why.empty()) {
    errs() << "kiln-compile: error: --quantize-check-input: " << why << "\n";
    status = 1;
  }
  sys::fs::remove(floatPath);
  return status;
}

/// --check: every problem of the model, each on its own error line, or
/// one line on stdout saying there is none.
static int checkOnly(mlir::MLIRContext &context,
                     const kiln::CompileOptions &opts) {
  kiln::ModelCheck result;
  std::string name = sys::path::filename(opts.inputPath).str();
  if (failed(kiln::checkModel(context, opts, result))) {
    errs() << "kiln-compile: " << name << ": " << result.problems
           << (result.problems == 1 ? " problem" : " problems") << "\n";
    return 1;
  }
  outs() << name << ": " << result.nodes
         << " nodes, all supported; would raise: "
         << kiln::describeRaised(result.raised) << "\n";
  return 0;
}

/// Fills in --target's and --emit's descriptions from the registered
/// targets, and returns the "Targets and their stages" section of --help.
static std::string describeTargets() {
  static std::string targetHelp = "Code generation target:";
  static std::string emitHelp =
      "Stop after a stage and print its IR: kiln (the imported, raised "
      "graph), a stage of the target (";
  std::string section = "\nTARGETS AND THEIR --emit STAGES:\n";
  kiln::registerAllTargets();
  auto line = [&](StringRef name, StringRef description) {
    section += formatv("    {0,-10} {1}\n", name, description).str();
  };
  for (const kiln::Target *t : kiln::getRegisteredTargets()) {
    targetHelp += " " + t->getName().str() + ",";
    emitHelp += t->getName().str() + ":";
    section += formatv("\n  --target {0}: {1}\n", t->getName(),
                       t->getDescription())
                   .str();
    line("kiln", "the imported graph in the Kiln dialect, after raising");
    for (const kiln::EmitStageInfo &stage : t->getEmitStages()) {
      emitHelp += " " + stage.name.str();
      line(stage.name, stage.description);
    }
    line("artifact", "the .kiln file (default)");
    emitHelp += "; ";
  }
  targetHelp.back() = ' ';
  targetHelp += "(default cpu; see below)";
  emitHelp.resize(emitHelp.size() - 2);
  emitHelp += ") or artifact (default)";
  target.setDescription(targetHelp);
  emit.setDescription(emitHelp);
  return section;
}

/// "node 'a': " or "nodes 'a', 'b': " for the model nodes the diagnostic's
/// location names (a fused op names all of its nodes), unless the message
/// already names the first; "" when it names none.
static std::string nodesOf(mlir::Diagnostic &d) {
  kiln::Provenance provenance;
  provenance.add(d.getLocation());
  if (provenance.nodes.empty() ||
      llvm::StringRef(d.str()).contains(provenance.nodes.front()))
    return "";
  return kiln::describeNodes(d.getLocation()) + ": ";
}

/// Prints one diagnostic on one line: "kiln-compile: error: [file:line:col:
/// ]message", a warning, or (with --report-raising) a raising remark naming
/// its node; other remarks and notes are dropped. Errors set `hadError`.
static void printDiagnostic(mlir::Diagnostic &d, bool &hadError) {
  bool isRemark = d.getSeverity() == mlir::DiagnosticSeverity::Remark;
  if (isRemark && reportRaising) {
    std::string where;
    if (auto name = dyn_cast<mlir::NameLoc>(d.getLocation()))
      where = "node '" + name.getName().str() + "': ";
    errs() << "kiln-compile: " << where << d.str() << "\n";
    return;
  }
  if (d.getSeverity() == mlir::DiagnosticSeverity::Warning)
    errs() << "kiln-compile: warning: " << nodesOf(d) << d.str() << "\n";
  if (d.getSeverity() != mlir::DiagnosticSeverity::Error)
    return;
  hadError = true;
  std::string where;
  if (auto file = dyn_cast<mlir::FileLineColLoc>(d.getLocation()))
    if (file.getLine() > 0)
      where = (file.getFilename().str() + ":" + std::to_string(file.getLine()) +
               ":" + std::to_string(file.getColumn()) + ": ");
  errs() << "kiln-compile: error: " << where << nodesOf(d) << d.str() << "\n";
}

/// The compile cache's folder, or "" when this compile does not use it:
/// --no-cache, or flags whose output on stderr a stored artifact could not
/// repeat (--report-raising, and MLIR's and LLVM's own flags such as
/// --mlir-timing or --mlir-print-ir-after-all, which may also change the
/// code).
static std::string chooseCacheDir() {
  if (noCache || reportRaising)
    return "";
  for (const auto &entry : cl::getRegisteredOptions()) {
    const cl::Option *option = entry.second;
    if (option->getNumOccurrences() &&
        !llvm::is_contained(option->Categories, &kilnCategory))
      return "";
  }
  return cacheDir.getNumOccurrences() ? std::string(cacheDir)
                                      : kiln::defaultCompileCacheDir();
}

static bool parseSequenceInput(StringRef text, kiln::OnnxImportOptions &opts,
                               std::string &error) {
  auto [name, count] = text.split('=');
  int64_t n = 0;
  if (name.empty() || count.getAsInteger(10, n) || n < 0 || n > 65536) {
    error = "--sequence-input expects NAME=N with 0 <= N <= 65536, got '" +
            text.str() + "'";
    return false;
  }
  opts.sequenceInputs[name] = n;
  return true;
}

static bool parseAbsentInput(StringRef text, kiln::OnnxImportOptions &opts,
                             std::string &error) {
  if (text.empty()) {
    error = "--absent-input expects the name of an optional input";
    return false;
  }
  opts.absentInputs.insert(text);
  return true;
}

/// --bind-input, --dim, --input-shape, --sequence-input and --absent-input
/// into `import`; false after
/// printing the first malformed one.
static bool parseInputFlags(kiln::OnnxImportOptions &import) {
  using Parser = bool (*)(StringRef, kiln::OnnxImportOptions &, std::string &);
  std::pair<const cl::list<std::string> *, Parser> flags[] = {
      {std::addressof(bindInputs), parseBinding},
      {std::addressof(dimRanges), parseDimRange},
      {std::addressof(inputShapes), parseShape},
      {std::addressof(sequenceInputs), parseSequenceInput},
      {std::addressof(absentInputs), parseAbsentInput}};
  for (auto [values, parse] : flags)
    for (const std::string &value : *values) {
      std::string error;
      if (!parse(value, import, error)) {
        errs() << "kiln-compile: error: " << error << "\n";
        return false;
      }
    }
  return true;
}

/// The tensors of --quantize-check-input (NAME=FILE); false after printing
/// the first that cannot be read.
static bool readQuantizeCheckInputs(
    std::vector<std::pair<std::string, kiln::HostTensor>> &out) {
  for (StringRef spec : quantizeCheckInputs) {
    auto [name, path] = spec.split('=');
    kiln::HostTensor tensor;
    std::string why = name.empty() || path.empty()
                          ? "expects NAME=FILE, got '" + spec.str() + "'"
                          : kiln::readTensorFile(path.str(), tensor);
    if (!why.empty()) {
      errs() << "kiln-compile: error: --quantize-check-input " << why << "\n";
      return false;
    }
    out.emplace_back(name.str(), std::move(tensor));
  }
  return true;
}

/// --generate and its flags into `opts`; false after printing what is
/// wrong with them.
static bool readGenerationFlags(kiln::CompileOptions &opts) {
  opts.generate = generate;
  opts.maxSeq = maxSeq;
  if (maxSeq != 0 && !generate) {
    errs() << "kiln-compile: error: --max-seq needs --generate\n";
    return false;
  }
  opts.kvBlockSize = kvBlockSize;
  opts.kvBlocks = kvBlocks;
  opts.kvWindowBlocks = kvWindowBlocks;
  if (kvWindowBlocks != 0 && kvBlockSize == 0) {
    errs() << "kiln-compile: error: --kv-window-blocks needs "
              "--kv-block-size\n";
    return false;
  }
  if ((kvBlockSize != 0 || kvBlocks != 0) && !generate) {
    errs() << "kiln-compile: error: --kv-block-size and --kv-blocks need "
              "--generate\n";
    return false;
  }
  if (kvBlocks != 0 && kvBlockSize == 0) {
    errs() << "kiln-compile: error: --kv-blocks needs --kv-block-size\n";
    return false;
  }
  if (kvBlockSize < 0 || kvBlocks < 0) {
    errs() << "kiln-compile: error: --kv-block-size and --kv-blocks must be "
              "positive, got "
           << kvBlockSize << " and " << kvBlocks << "\n";
    return false;
  }
  if (maxSeq < 0) {
    errs() << "kiln-compile: error: --max-seq must be positive, got "
           << maxSeq << "\n";
    return false;
  }
  return true;
}

/// The parallel-planning flags into `opts.planning`. `partition` says
/// whether the artifact is partitioned: --devices N, --mesh or --parallel
/// without --plan-only. False after printing what is wrong.
static bool readPlanningFlags(kiln::CompileOptions &opts, bool &partition) {
  opts.planning.planOnly = planOnly;
  opts.planning.explain = explainPlan;
  opts.planning.devices = planDevices;
  opts.planning.mesh = planMesh;
  opts.planning.machine = planMachine;
  opts.planning.parallel = planParallel;
  opts.planning.objective = planObjective;
  opts.planning.batch = planBatch;
  opts.planning.seq = planSeq;
  opts.planning.phase = planPhase;
  opts.planning.microbatches = planMicrobatches;
  if (StringRef(inputPath).ends_with(".json") && !planOnly) {
    errs() << "kiln-compile: error: a config.json describes a model without "
              "weights: it can only be planned (--plan-only)\n";
    return false;
  }
  // --devices N, --mesh or --parallel without --plan-only: the artifact
  // is partitioned for the plan's ranks. What executes today is expert,
  // pipeline or tensor parallelism, one at a time; the planner chooses
  // between ep and pp unless --parallel names a split (one that does not
  // execute fails, saying so).
  partition = !planOnly && (planDevices.getNumOccurrences() ||
                            planMesh.getNumOccurrences() ||
                            planParallel.getNumOccurrences());
  if (!opts.planning.requested() && !partition)
    for (const cl::Option *flag :
         std::initializer_list<const cl::Option *>{
             &planMachine, &planObjective, &planBatch, &planSeq, &planPhase,
             &planMicrobatches})
      if (flag->getNumOccurrences()) {
        errs() << "kiln-compile: error: --" << flag->ArgStr
               << " sets up a parallel plan: add --plan-only, --explain-plan "
                  "or --devices N\n";
        return false;
      }
  return true;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // Passes first: --mlir-print-ir-after=<pass> resolves names against the
  // registry when the pass manager options are created.
  kiln::registerAllPasses();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  mlir::registerAsmPrinterCLOptions();
  // --help lists Kiln's flags; LLVM's and MLIR's hundreds stay available
  // (and listed by --help-hidden).
  std::string targetsHelp = describeTargets();
  cl::extrahelp targetsSection(targetsHelp);
  cl::HideUnrelatedOptions(kilnCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Kiln ahead-of-time compiler\n\n"
      "Compiles an ONNX model (opsets 7-27) or a Kiln-dialect .mlir file "
      "into one .kiln artifact that kiln-run and the runtime API execute.\n"
      "Symbolic input dimensions (ONNX dim_param) stay symbolic: one "
      "artifact runs every shape in their ranges (--dim); --input-shape "
      "or --dim NAME=N compiles a static shape instead.\n\n"
      "MLIR's debugging flags apply to every pipeline: "
      "--mlir-print-ir-after-all, --mlir-print-ir-after=<pass>, "
      "--mlir-print-ir-before=<pass>, --mlir-timing (the time of each "
      "pass, per pipeline, after the compile), --mlir-pass-statistics, "
      "... (--help-hidden lists them all). --progress times the stages; "
      "a compile with any of MLIR's flags skips the compile cache.\n");

  std::unique_ptr<mlir::MLIRContext> contextOwner = kiln::createContext();
  mlir::MLIRContext &context = *contextOwner;

  bool hadError = false;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    printDiagnostic(d, hadError);
    return mlir::success();
  });

  kiln::CompileOptions opts;
  opts.inputPath = inputPath;
  opts.target = target;
  opts.emit = emit;
  opts.import.entryName = entryName;
  opts.targetOptions.cpu = cpu;
  opts.targetOptions.optLevel = std::min(3u, (unsigned)optLevel);
  opts.targetOptions.jobs = jobs;
  opts.cacheDir = chooseCacheDir();
  SmallVector<StringRef> archs;
  StringRef(gpuArch).split(archs, ',');
  for (StringRef arch : archs)
    if (!arch.trim().empty())
      opts.targetOptions.gpuArchs.push_back(arch.trim().str());
  opts.targetOptions.cudaPath = cudaPath;
  opts.progress = progress || sys::Process::StandardErrIsDisplayed();
  opts.quantize = quantize;
  opts.raise = raise;
  if (!readGenerationFlags(opts))
    return 1;
  if (!parseInputFlags(opts.import))
    return 1;
  for (StringRef list : dumpValues) {
    SmallVector<StringRef> names;
    list.split(names, ',', -1, /*KeepEmpty=*/false);
    for (StringRef name : names)
      opts.import.dumpValues.push_back(name.trim().str());
  }
  opts.import.dumpAll = dumpAll;
  if (failed(kiln::checkTargetAndStage(context, opts)))
    return 1;
  opts.outputPath = outputPath;
  if (opts.outputPath.empty() && opts.emit == "artifact")
    opts.outputPath = sys::path::stem(inputPath).str() + ".kiln";
  mlir::DefaultTimingManager timing;
  mlir::applyDefaultTimingManagerCLOptions(timing);
  opts.configure = [&](mlir::PassManager &pm) {
    if (timing.isEnabled()) // --mlir-timing: one report per pipeline
      pm.enableTiming();
    return mlir::applyPassManagerCLOptions(pm);
  };
  if (check)
    return checkOnly(context, opts);
  bool partition = false;
  if (!readPlanningFlags(opts, partition))
    return 1;
  if (partition) {
    if (failed(kiln::choosePartition(
            context, opts, opts.planning.requested() ? outs() : nulls())) ||
        hadError)
      return 1;
  } else if (opts.planning.requested()) {
    if (failed(kiln::planParallel(context, opts, outs())) || hadError)
      return 1;
    if (planOnly)
      return 0;
  }
  if (!quantizeCheckInputs.empty() &&
      (opts.quantize.empty() || opts.emit != "artifact")) {
    errs() << "kiln-compile: error: --quantize-check-input needs --quantize "
              "and an artifact (no --emit)\n";
    return 1;
  }
  std::vector<std::pair<std::string, kiln::HostTensor>> checkInputs;
  if (!readQuantizeCheckInputs(checkInputs))
    return 1;
  if (failed(kiln::compile(context, opts)) || hadError) {
    if (!hadError)
      errs() << "kiln-compile: error: compilation failed\n";
    return 1;
  }
  if (!checkInputs.empty())
    return checkQuantization(context, opts, checkInputs, hadError);
  return 0;
}
