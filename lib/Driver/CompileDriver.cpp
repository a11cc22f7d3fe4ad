//===- CompileDriver.cpp - The kiln-compile pipeline as a library ---------===//
//
// import -> raising -> quantization -> the target (lib/Target/<name>, looked
// up by --target) -> artifact, stopping early for --emit. The pipelines are
// the registered ones, so kiln-opt reproduces any stage.
//
//===----------------------------------------------------------------------===//

#include "kiln/Driver/CompileDriver.h"

#include "kiln/Artifact/ArtifactWriter.h"
#include "kiln/Driver/CompileCache.h"
#include "kiln/Target/Target.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/Generation/Passes.h"
#include "kiln/passes/Pipelines.h"
#include "kiln/passes/Planning/Passes.h"
#include "kiln/passes/Quantization/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <chrono>

using namespace mlir;
using namespace kiln;

namespace {

/// Prints "kiln-compile: <stage> ... <seconds>" when progress is on.
class Progress {
public:
  explicit Progress(bool enabled) : enabled(enabled) {}
  void stage(llvm::StringRef name) {
    finish();
    if (!enabled)
      return;
    current = name.str();
    start = std::chrono::steady_clock::now();
    llvm::errs() << "kiln-compile: " << name << " ...";
    llvm::errs().flush();
  }
  void finish() {
    if (!enabled || current.empty())
      return;
    llvm::errs() << " " << llvm::format("%.2f", seconds(start)) << " s\n";
    current.clear();
  }
  /// A line of its own: what a step found ("compile cache hit: ...").
  void note(llvm::StringRef text) {
    finish();
    if (enabled)
      llvm::errs() << "kiln-compile: " << text << "\n";
  }
  /// The whole compile's time, since this report began.
  void total() {
    finish();
    if (enabled)
      llvm::errs() << "kiln-compile: total "
                   << llvm::format("%.2f", seconds(begin)) << " s\n";
  }
  ~Progress() { finish(); }

private:
  static double seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         since)
        .count();
  }
  bool enabled;
  std::string current;
  std::chrono::steady_clock::time_point start,
      begin = std::chrono::steady_clock::now();
};

OwningOpRef<ModuleOp> load(MLIRContext &ctx, const CompileOptions &opts) {
  llvm::StringRef path = opts.inputPath;
  if (path.ends_with(".mlir")) {
    llvm::SourceMgr sourceMgr;
    std::string error;
    auto file = openInputFile(path, &error);
    if (!file) {
      emitError(UnknownLoc::get(&ctx)) << error;
      return nullptr;
    }
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    return parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  }
  OnnxImportOptions import = opts.import;
  // Shapes read at run time need a target whose runtime sizes buffers per
  // run; the CUDA backend plans one device arena at compile time.
  import.runtimeShapeInputs = opts.target == "cpu";
  return importOnnxModel(path, ctx, import);
}

/// The symbolic dimension at axis 0 of every ONNX input ("batch" of
/// "int64[batch,16]"), or "" where an input has none or they differ.
std::string batchSymbol(const OnnxModelSummary &summary) {
  std::string symbol;
  for (const auto &[name, type] : summary.inputs) {
    llvm::StringRef dims = llvm::StringRef(type).split('[').second;
    llvm::StringRef first =
        dims.take_until([](char c) { return c == ',' || c == ']'; });
    int64_t n;
    if (first.empty() || first == "?" || !first.getAsInteger(10, n) ||
        (!symbol.empty() && symbol != first))
      return "";
    symbol = first.str();
  }
  return symbol;
}

/// Data parallelism over `opts.planning.dataReplicas` replicas: the model
/// imported again with its batch (axis 0 of every input, `whole`'s
/// inputs, a symbolic dimension of the ONNX file pinned by --dim) pinned to
/// one replica's share. `summary` is what the first import read.
OwningOpRef<ModuleOp> loadReplica(MLIRContext &ctx, const CompileOptions &opts,
                                  FunctionType whole,
                                  const OnnxModelSummary &summary) {
  int64_t dp = opts.planning.dataReplicas;
  auto error = [&]() { return emitError(UnknownLoc::get(&ctx)); };
  auto first = whole.getNumInputs() > 0
                   ? dyn_cast<RankedTensorType>(whole.getInput(0))
                   : RankedTensorType();
  int64_t batch =
      first && first.getRank() > 0 ? first.getDimSize(0) : ShapedType::kDynamic;
  if (ShapedType::isDynamic(batch)) {
    error() << "data parallelism (dp=" << dp
            << ") splits the batch, axis 0 of every input, which must be "
               "static; the first input is "
            << (first ? Type(first) : Type(NoneType::get(&ctx)))
            << " (pin the batch with --dim NAME=N)";
    return nullptr;
  }
  if (batch % dp != 0) {
    error() << "data parallelism over " << dp
            << " replicas needs the batch (axis 0 of the inputs) to be a "
               "multiple of "
            << dp << ", found " << batch;
    return nullptr;
  }
  std::string symbol = batchSymbol(summary);
  if (symbol.empty()) {
    error() << "data parallelism imports the model again at a replica's "
               "batch ("
            << batch / dp
            << "), which needs an ONNX model whose inputs share a symbolic "
               "batch at axis 0 (export it with a dynamic batch axis and "
               "pin it with --dim NAME="
            << batch << ")";
    return nullptr;
  }
  CompileOptions replica = opts;
  replica.import.summary = nullptr;
  replica.import.dimRanges[symbol] = DimRange{batch / dp, batch / dp};
  for (auto &entry : replica.import.inputShapes)
    if (!entry.second.empty())
      entry.second[0] = batch / dp;
  return load(ctx, replica);
}

/// The pattern of a raising remark ("raised rms_norm (eps 1e-06)" ->
/// "rms_norm"; see RaisingReport.h), or "" for any other diagnostic.
std::string raisedPattern(Diagnostic &d) {
  if (d.getSeverity() != DiagnosticSeverity::Remark)
    return "";
  std::string message = d.str();
  llvm::StringRef text = message;
  if (!text.consume_front("raised "))
    return "";
  return text.take_until([](char c) { return c == ' '; }).str();
}

/// Prints `module` to the output path (or stdout), atomically.
LogicalResult printTo(const CompileOptions &opts,
                      llvm::function_ref<void(llvm::raw_ostream &)> print,
                      MLIRContext &ctx) {
  std::string path = opts.outputPath.empty() ? "-" : opts.outputPath;
  std::string error;
  auto out = openOutputFile(path, &error);
  if (!out)
    return emitError(UnknownLoc::get(&ctx)) << error;
  print(out->os());
  out->keep();
  return success();
}

LogicalResult runPipeline(ModuleOp module, const CompileOptions &opts,
                          void (*build)(OpPassManager &)) {
  return runPasses(module, opts.configure, [&](PassManager &pm) { build(pm); });
}

/// Bytes of a tensor's elements (sub-byte types packed).
uint64_t storageBytes(Type type) {
  auto t = cast<RankedTensorType>(type);
  return (t.getNumElements() * t.getElementTypeBitWidth() + 7) / 8;
}

/// Runs kiln-quantize-weights and prints one line per quantized layer (or
/// stacked expert weight):
/// its name, weight shape and relative RMS weight error, then the totals.
LogicalResult quantizeWeights(ModuleOp module, const CompileOptions &opts) {
  QuantizeWeightsOptions passOptions;
  passOptions.format = opts.quantize;
  if (failed(runPasses(module, opts.configure, [&](PassManager &pm) {
        pm.addPass(createQuantizeWeights(passOptions));
        pm.addPass(createCanonicalizerPass());
      })))
    return failure();
  uint64_t quantizedBytes = 0, floatBytes = 0;
  unsigned layers = 0;
  llvm::errs() << "kiln-compile: quantized weights (" << opts.quantize
               << "), relative RMS weight error ||W - dequant(W)|| / ||W||:\n";
  module.walk([&](Operation *op) {
    auto error = op->getAttrOfType<FloatAttr>("kiln.quant_error");
    if (!error)
      return;
    ++layers;
    // A qlinear's weight, or the stored experts a dequantize reads.
    Value stored = op->getOperand(isa<QLinearOp>(op) ? 1 : 0);
    Value scale = op->getOperand(isa<QLinearOp>(op) ? 2 : 1);
    auto w = cast<RankedTensorType>(stored.getType());
    quantizedBytes += storageBytes(w) + storageBytes(scale.getType());
    floatBytes += w.getNumElements() * 4;
    std::string name = "(unnamed)";
    if (auto loc = dyn_cast<NameLoc>(op->getLoc()))
      name = loc.getName().str();
    std::string shape;
    llvm::raw_string_ostream os(shape);
    llvm::interleave(w.getShape(), os, " x ");
    llvm::errs() << llvm::formatv("  {0,-40} [{1}]  {2:e2}\n", name, shape,
                                  error.getValueAsDouble());
  });
  llvm::errs() << llvm::formatv(
      "  {0} layers: {1:f1} KiB of f32 weights -> {2:f1} KiB with scales\n",
      layers, floatBytes / 1024.0, quantizedBytes / 1024.0);
  return success();
}

/// Runs kiln-convert-decoder-to-generation-step (--generate).
LogicalResult makeGenerationStep(ModuleOp module, const CompileOptions &opts) {
  if (opts.target != "cpu")
    return emitError(module.getLoc())
           << "--generate: the " << opts.target
           << " target does not run generation steps yet; use --target cpu";
  ConvertDecoderToGenerationStepOptions passOptions;
  passOptions.entryName = opts.import.entryName;
  passOptions.maxSeq = opts.maxSeq;
  passOptions.kvBlockSize = opts.kvBlockSize;
  passOptions.kvBlocks = opts.kvBlocks;
  passOptions.kvWindowBlocks = opts.kvWindowBlocks;
  return runPasses(module, opts.configure, [&](PassManager &pm) {
    pm.addPass(createConvertDecoderToGenerationStep(passOptions));
    pm.addPass(createCanonicalizerPass());
  });
}

/// Where world rank `rank` sits in a plan of tp x ep x pp x dp ranks: tp
/// innermost, then ep, then pp, then dp (as the planner numbers them), and
/// the groups its collectives run over when splits combine.
struct RankPlace {
  int64_t t, e, s, d;
  /// The rank's place in its replica (world rank modulo tp x ep x pp).
  int64_t r;
  /// For this rank: the color of each group (kiln.collective_groups), and
  /// the index of the tp, ep and dp groups in it (-1: the whole world).
  SmallVector<int64_t> colors;
  int64_t tpGroup = -1, epGroup = -1, dpGroup = -1;

  RankPlace(int64_t rank, int64_t tp, int64_t ep, int64_t pp, int64_t dp = 1)
      : t(rank % tp), e(rank / tp % ep), s(rank / (tp * ep) % pp),
        d(rank / (tp * ep * pp)), r(rank % (tp * ep * pp)) {
    int64_t world = tp * ep * pp * dp;
    if (tp > 1 && world > tp) {
      tpGroup = colors.size();
      colors.push_back(rank / tp); // the ranks that differ in t alone
    }
    if (ep > 1 && world > ep) {
      epGroup = colors.size();
      colors.push_back(t + tp * (s + pp * d)); // differ in e alone
    }
    if (dp > 1 && world > dp) {
      // The replicas' first ranks, which return their results: the
      // others join no group (a negative color).
      dpGroup = colors.size();
      colors.push_back(r == 0 ? 0 : -1);
    }
  }
};

/// Rewrites `module` into rank `rank`'s program of the plan (expert,
/// pipeline, tensor and data parallelism over `ranks` ranks, each alone or
/// combined), its collectives as runtime calls: the pipeline stage's
/// layers first, then its tensor-parallel share, then its experts, then
/// its replica's slice of the batch.
LogicalResult partitionForRank(ModuleOp module, const CompileOptions &opts,
                               int64_t rank, int64_t ranks) {
  const CompileOptions::Planning &plan = opts.planning;
  int64_t tp = plan.tensorRanks, ep = plan.expertRanks,
          pp = plan.pipelineStages, dp = plan.dataReplicas;
  RankPlace place(rank, tp, ep, pp, dp);
  if (!place.colors.empty())
    module->setAttr("kiln.collective_groups",
                    DenseI64ArrayAttr::get(module.getContext(), place.colors));
  return runPasses(module, opts.configure, [&](PassManager &pm) {
    if (pp > 1) {
      PartitionPipelineOptions partition;
      partition.rank = place.s;
      partition.ranks = pp;
      partition.layers.assign(plan.stageLayers.begin(), plan.stageLayers.end());
      partition.stageOffset = place.t + tp * place.e + tp * ep * pp * place.d;
      partition.stageStride = tp * ep;
      partition.worldRanks = ranks;
      pm.addPass(createPartitionPipeline(partition));
    }
    if (tp > 1) {
      PartitionTensorParallelOptions partition;
      partition.rank = place.t;
      partition.ranks = tp;
      partition.group = place.tpGroup;
      pm.addNestedPass<func::FuncOp>(createPartitionTensorParallel(partition));
    }
    if (ep > 1) {
      PartitionExpertsOptions partition;
      partition.rank = place.e;
      partition.ranks = ep;
      partition.group = place.epGroup;
      pm.addNestedPass<func::FuncOp>(createPartitionExperts(partition));
    }
    if (dp > 1) {
      PartitionDataParallelOptions partition;
      partition.replica = place.d;
      partition.replicas = dp;
      partition.gather = place.r == 0;
      partition.group = place.dpGroup;
      partition.entryName = opts.import.entryName;
      pm.addPass(createPartitionDataParallel(partition));
    }
    pm.addPass(createConvertCollectivesToRuntimeCalls());
  });
}

/// What rank `rank` of expert parallelism over `ranks` holds, one line.
std::string expertRankSummary(ModuleOp module, int64_t rank, int64_t ranks) {
  int64_t layers = 0, experts = 0;
  module.walk([&](MoEExpertsOp op) {
    ++layers;
    experts = cast<RankedTensorType>(op.getWGate().getType()).getDimSize(0);
  });
  int64_t per = ranks > 0 ? experts / ranks : 0;
  return llvm::formatv("experts {0}-{1} of {2} in each of the {3} MoE "
                       "layers (weights of the others not stored); "
                       "everything else (attention, routers, shared "
                       "experts, norms, embeddings) replicated; one "
                       "all-reduce per MoE layer",
                       rank * per, rank * per + per - 1, experts, layers)
      .str();
}

/// What rank `rank` of tensor parallelism over `ranks` holds, one line
/// (read off the unpartitioned module).
std::string tensorRankSummary(ModuleOp module, int64_t rank, int64_t ranks) {
  int64_t layers = 0, heads = 0, moeLayers = 0;
  module.walk([&](AttentionOp op) {
    ++layers;
    heads = cast<RankedTensorType>(op.getQuery().getType()).getDimSize(1);
  });
  module.walk([&](MoEExpertsOp) { ++moeLayers; });
  int64_t per = ranks > 0 ? heads / ranks : 0;
  std::string text =
      llvm::formatv("attention heads {0}-{1} of {2} in each of the {3} "
                    "layers",
                    rank * per, rank * per + per - 1, heads, layers)
          .str();
  if (moeLayers)
    text += llvm::formatv(", 1/{0} of every expert's FFN columns in each of "
                          "the {1} MoE layers",
                          ranks, moeLayers)
                .str();
  return text + " (the other ranks' columns not stored); embeddings, norms, "
                "routers and LM head replicated; one all-reduce per "
                "attention, MoE or dense FFN block";
}

/// What stage `rank` of pipeline parallelism with `stageLayers` holds,
/// one line; stage s of its pipeline is world rank offset + s * stride.
std::string stageSummary(int64_t rank, ArrayRef<int64_t> stageLayers,
                         int64_t offset = 0, int64_t stride = 1) {
  int64_t first = 0, layers = 0;
  for (int64_t s = 0; s < rank; ++s)
    first += stageLayers[s];
  for (int64_t n : stageLayers)
    layers += n;
  int64_t last = first + stageLayers[rank] - 1;
  bool isFirst = rank == 0, isLast = rank + 1 == (int64_t)stageLayers.size();
  std::string text =
      first == last
          ? llvm::formatv("decoder layer {0} of {1}", first, layers).str()
          : llvm::formatv("decoder layers {0}-{1} of {2}", first, last, layers)
                .str();
  if (isFirst)
    text += " and what precedes (the embedding)";
  if (isLast)
    text += " and what follows (the final norm and LM head)";
  text += " (weights of the other stages not stored)";
  if (!isFirst)
    text += llvm::formatv("; receives the activations from rank {0}",
                          offset + (rank - 1) * stride)
                .str();
  if (!isLast)
    text += llvm::formatv("; sends its activations to rank {0}",
                          offset + (rank + 1) * stride)
                .str();
  else
    text += llvm::formatv("; sends the outputs to rank {0}", offset).str();
  return text;
}

/// What replica `replica` of `replicas` runs, one line (read off the
/// replica's module: axis 0 of its entry's first argument).
std::string replicaSummary(ModuleOp module, const CompileOptions &opts,
                           int64_t replica, int64_t replicas, bool gathers) {
  int64_t rows = 0;
  if (auto fn = module.lookupSymbol<func::FuncOp>(opts.import.entryName))
    if (fn.getNumArguments() > 0)
      if (auto type = dyn_cast<RankedTensorType>(fn.getArgumentTypes()[0]))
        rows = type.getRank() > 0 ? type.getDimSize(0) : 0;
  std::string text =
      llvm::formatv("sequences {0}-{1} of the batch of {2}", replica * rows,
                    replica * rows + rows - 1, rows * replicas)
          .str();
  return text + (gathers ? " (its replica's results summed into rank 0's "
                           "over the replicas)"
                         : "");
}

/// What world rank `rank` of the plan holds, one line (read off the
/// unpartitioned module, of one replica's batch): each split's own line,
/// and where splits combine, the rank's place in each first.
std::string rankSummary(ModuleOp module, const CompileOptions &opts,
                        int64_t rank) {
  const CompileOptions::Planning &plan = opts.planning;
  int64_t tp = plan.tensorRanks, ep = plan.expertRanks,
          pp = plan.pipelineStages, dp = plan.dataReplicas;
  RankPlace place(rank, tp, ep, pp, dp);
  SmallVector<std::string> places, parts;
  if (dp > 1) {
    places.push_back("replica " + std::to_string(place.d));
    parts.push_back(replicaSummary(module, opts, place.d, dp, place.r == 0));
  }
  if (pp > 1) {
    places.push_back("stage " + std::to_string(place.s));
    parts.push_back(
        stageSummary(place.s, plan.stageLayers,
                     place.t + tp * place.e + tp * ep * pp * place.d, tp * ep));
  }
  if (tp > 1) {
    places.push_back("tp rank " + std::to_string(place.t));
    parts.push_back(tensorRankSummary(module, place.t, tp));
  }
  if (ep > 1) {
    places.push_back("ep rank " + std::to_string(place.e));
    parts.push_back(expertRankSummary(module, place.e, ep));
  }
  if (parts.size() == 1)
    return parts.front();
  return llvm::join(places, ", ") + ": " + llvm::join(parts, "; and ");
}

/// "cpu, cuda": the registered targets' names, for error messages.
std::string targetNames() {
  std::string names;
  for (const Target *target : getRegisteredTargets())
    names += (names.empty() ? "" : ", ") + target->getName().str();
  return names;
}

} // namespace

LogicalResult kiln::checkTargetAndStage(MLIRContext &ctx,
                                        const CompileOptions &opts) {
  registerAllTargets();
  const Target *target = lookupTarget(opts.target);
  if (!target)
    return emitError(UnknownLoc::get(&ctx))
           << "unknown target '" << opts.target << "' (this build has "
           << targetNames() << ")";
  if (opts.emit == "kiln" || opts.emit == "artifact")
    return success();
  std::string stages = "kiln";
  for (const EmitStageInfo &stage : target->getEmitStages()) {
    if (stage.name == opts.emit)
      return success();
    stages += ", " + stage.name.str();
  }
  return emitError(UnknownLoc::get(&ctx))
         << "--emit=" << opts.emit << " is not a stage of --target "
         << opts.target << " (its stages: " << stages << ", artifact)";
}

LogicalResult kiln::checkModel(MLIRContext &ctx, const CompileOptions &opts,
                               ModelCheck &out) {
  // Counts what passes by, then lets the caller's handler print it.
  ScopedDiagnosticHandler counter(&ctx, [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error)
      ++out.problems;
    else if (std::string pattern = raisedPattern(d); !pattern.empty())
      ++out.raised[pattern];
    return failure();
  });
  CompileOptions importOpts = opts;
  importOpts.import.summary = &out.onnx;
  importOpts.import.reportUncheckedNodes = true;
  OwningOpRef<ModuleOp> module = load(ctx, importOpts);
  out.nodes = out.onnx.nodes;
  if (!module || failed(verify(*module)))
    return failure();
  auto entry = module->lookupSymbol<func::FuncOp>(opts.import.entryName);
  if (!entry)
    return emitError(module->getLoc())
           << "the module has no entry function @" << opts.import.entryName;
  if (llvm::StringRef(opts.inputPath).ends_with(".mlir")) // as load() decides
    entry.getBody().walk([&](Operation *op) {
      if (!op->hasTrait<mlir::OpTrait::IsTerminator>())
        ++out.nodes;
    });
  if (opts.raise && failed(runPipeline(*module, opts, buildRaisePipeline)))
    return failure();
  return failure(out.problems > 0);
}

std::string kiln::describeRaised(const std::map<std::string, size_t> &raised) {
  std::vector<std::pair<std::string, size_t>> counts(raised.begin(),
                                                     raised.end());
  llvm::stable_sort(counts,
                    [](auto &a, auto &b) { return a.second > b.second; });
  std::string text;
  for (auto &[pattern, count] : counts)
    text += (text.empty() ? "" : ", ") + std::to_string(count) + " " + pattern;
  return text.empty() ? "nothing" : text;
}

/// The compile itself: import to artifact (or the --emit stage).
static LogicalResult compileModel(MLIRContext &ctx, const CompileOptions &opts,
                                  Progress &progress) {
  const Target *target = lookupTarget(opts.target);

  progress.stage("importing " + opts.inputPath);
  CompileOptions loadOpts = opts;
  OnnxModelSummary summary;
  if (opts.planning.dataReplicas > 1)
    loadOpts.import.summary = &summary;
  OwningOpRef<ModuleOp> module = load(ctx, loadOpts);
  if (!module || failed(verify(*module)))
    return failure();
  std::string entryName = opts.import.entryName;
  auto entry = module->lookupSymbol<func::FuncOp>(entryName);
  if (!entry)
    return emitError(module->getLoc())
           << "the module has no entry function @" << entryName;
  // The whole batch's signature, which every rank of a data-parallel plan
  // keeps; the ranks' programs are built from one replica's batch.
  FunctionType whole = entry.getFunctionType();
  if (opts.planning.dataReplicas > 1) {
    progress.stage("importing one replica's share of the batch");
    module = loadReplica(ctx, opts, whole, summary);
    if (!module || failed(verify(*module)))
      return failure();
  }
  if (opts.raise) {
    progress.stage("raising attention, MoE, RoPE, norms and activations");
    if (failed(runPipeline(*module, opts, buildRaisePipeline)))
      return failure();
  }
  if (!opts.quantize.empty()) {
    progress.stage("quantizing weights to " + opts.quantize);
    if (failed(quantizeWeights(*module, opts)))
      return failure();
  }
  if (opts.generate) {
    progress.stage("deriving the KV cache of the generation step");
    if (failed(makeGenerationStep(*module, opts)))
      return failure();
  }
  auto print = [&](llvm::function_ref<void(llvm::raw_ostream &)> write) {
    progress.finish();
    return printTo(opts, write, ctx);
  };
  // What the target needs to compile a module to stage `emit`.
  auto targetContext = [&](llvm::StringRef emit) {
    TargetContext context{opts.targetOptions,
                          entryName,
                          emit.str(),
                          [&](llvm::StringRef step) { progress.stage(step); },
                          [&](ModuleOp m, void (*build)(OpPassManager &)) {
                            return runPipeline(m, opts, build);
                          },
                          print};
    context.configure = opts.configure;
    return context;
  };
  int64_t ranks = opts.planning.expertRanks * opts.planning.pipelineStages *
                  opts.planning.tensorRanks * opts.planning.dataReplicas;
  // A data-parallel rank's program widens its replica's signature back to
  // the whole batch's, which every rank shares.
  auto checkSignature = [&](ModuleOp part, int64_t rank) -> LogicalResult {
    if (opts.planning.dataReplicas == 1)
      return success();
    auto fn = part.lookupSymbol<func::FuncOp>(entryName);
    if (fn && fn.getFunctionType() == whole)
      return success();
    InFlightDiagnostic diag = emitError(module->getLoc());
    diag << "data parallelism: rank " << rank << "'s program ";
    if (fn)
      diag << "has the signature " << fn.getFunctionType();
    else
      diag << "has no entry function";
    return diag << " where the model has " << whole
                << " (axis 0 of every output must be the batch too)";
  };
  if (ranks > 1) {
    if (opts.generate)
      return emitError(module->getLoc())
             << "--generate does not run partitioned models yet; leave out "
                "--devices / --parallel";
    if (opts.target != "cpu")
      return emitError(module->getLoc())
             << "partitioned models run on the CPU target only (the "
             << opts.target << " target has no collectives yet)";
    if (opts.emit != "artifact") {
      // Show rank 0's program.
      progress.stage("partitioning for rank 0 of " + std::to_string(ranks));
      if (failed(partitionForRank(*module, opts, 0, ranks)) ||
          failed(checkSignature(*module, 0)))
        return failure();
      if (opts.emit == "kiln")
        return print([&](llvm::raw_ostream &os) { module->print(os); });
    } else {
      PartitionedArtifact artifact;
      artifact.plan = opts.planning.planText;
      for (int64_t rank = 0; rank < ranks; ++rank) {
        OwningOpRef<ModuleOp> part(cast<ModuleOp>((*module)->clone()));
        progress.stage("partitioning for rank " + std::to_string(rank) +
                       " of " + std::to_string(ranks));
        artifact.summaries.push_back(rankSummary(*part, opts, rank));
        if (failed(partitionForRank(*part, opts, rank, ranks)) ||
            failed(checkSignature(*part, rank)))
          return failure();
        TargetContext context = targetContext("artifact");
        ArtifactContents contents;
        bool stopped = false;
        if (failed(target->compile(*part, context, contents, stopped)))
          return failure();
        std::string bytes;
        if (llvm::Error error = writeArtifactToBuffer(contents, bytes))
          return emitError(module->getLoc())
                 << llvm::toString(std::move(error));
        artifact.ranks.push_back(std::move(bytes));
      }
      progress.stage("writing " + opts.outputPath);
      if (llvm::Error error =
              writePartitionedArtifact(opts.outputPath, artifact))
        return emitError(module->getLoc()) << llvm::toString(std::move(error));
      return success();
    }
  }

  if (opts.emit == "kiln")
    return print([&](llvm::raw_ostream &os) { module->print(os); });

  TargetContext context = targetContext(opts.emit);
  ArtifactContents contents;
  bool stopped = false;
  if (failed(target->compile(*module, context, contents, stopped)))
    return failure();
  if (stopped)
    return success();

  progress.stage("writing " + opts.outputPath);
  if (llvm::Error error = writeArtifact(opts.outputPath, contents))
    return emitError(module->getLoc()) << llvm::toString(std::move(error));
  return success();
}

LogicalResult kiln::compile(MLIRContext &ctx, const CompileOptions &opts) {
  if (failed(checkTargetAndStage(ctx, opts)))
    return failure();
  Progress progress(opts.progress);
  if (opts.cacheDir.empty() || !isCacheable(opts)) {
    if (failed(compileModel(ctx, opts, progress)))
      return failure();
    progress.total();
    return success();
  }
  progress.stage("looking up the compile cache " + opts.cacheDir);
  // A model that cannot be read has no key: the compile says why.
  llvm::Expected<std::string> key = compileCacheKey(opts);
  if (!key)
    llvm::consumeError(key.takeError());
  CompileCache cache(opts.cacheDir, [&](llvm::StringRef message) {
    progress.finish();
    emitWarning(UnknownLoc::get(&ctx)) << message;
  });
  if (key && cache.fetch(*key, opts.outputPath)) {
    progress.note("compile cache hit: " + opts.outputPath + " is " +
                  cache.entryPath(*key));
    progress.total();
    return success();
  }
  if (key)
    progress.note("compile cache miss: " + key->substr(0, 16));
  if (failed(compileModel(ctx, opts, progress)))
    return failure();
  if (key) {
    progress.stage("storing the artifact in the compile cache");
    cache.store(*key, opts.outputPath);
  }
  progress.total();
  return success();
}
