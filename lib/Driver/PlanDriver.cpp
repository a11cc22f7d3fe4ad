//===- PlanDriver.cpp - kiln-compile --plan-only / --explain-plan ---------===//
//
// The model summary (from a config.json, or from the raised IR of a model
// imported as compile() imports it), the machine and mesh, and the
// planner's choice, printed; choosePartition settles the split a compile
// for several devices partitions the model for (docs/parallel.md).
//
//===----------------------------------------------------------------------===//

#include "kiln/Driver/CompileDriver.h"

#include "kiln/Planning/ModelFromIR.h"
#include "kiln/Planning/Planner.h"
#include "kiln/passes/Pipelines.h"
#include "kiln/passes/Quantization/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::planning;

static LogicalResult fail(MLIRContext &ctx, llvm::Error error) {
  return emitError(UnknownLoc::get(&ctx)) << llvm::toString(std::move(error));
}

/// Imports, raises and (with --quantize) quantizes the model, then reads
/// its summary off the IR; `batch` receives axis 0 of the entry's first
/// input when it is static (the model's batch), else 0.
static llvm::Expected<ModelSummary> summarizeModel(MLIRContext &ctx,
                                                   const CompileOptions &opts,
                                                   bool &reported,
                                                   int64_t &batch) {
  llvm::StringRef path = opts.inputPath;
  std::string name = llvm::sys::path::stem(path).str();
  OwningOpRef<ModuleOp> module;
  if (path.ends_with(".mlir")) {
    llvm::SourceMgr sourceMgr;
    std::string error;
    auto file = openInputFile(path, &error);
    if (!file)
      return llvm::createStringError(error);
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  } else {
    module = importOnnxModel(path, ctx, opts.import);
  }
  reported = true; // the importer and verifier report their own errors
  if (!module || failed(verify(*module)))
    return llvm::createStringError("");
  QuantizeWeightsOptions q;
  q.format = opts.quantize;
  if (failed(runPasses(*module, opts.configure, [&](PassManager &pm) {
        if (opts.raise)
          buildRaisePipeline(pm);
        if (!q.format.empty()) {
          pm.addPass(createQuantizeWeights(q));
          pm.addPass(createCanonicalizerPass());
        }
      })))
    return llvm::createStringError("");
  reported = false;
  batch = 0;
  if (auto fn = module->lookupSymbol<func::FuncOp>(opts.import.entryName))
    if (fn.getNumArguments() > 0)
      if (auto type = dyn_cast<RankedTensorType>(fn.getArgumentTypes()[0]))
        if (type.getRank() > 0 && !type.isDynamicDim(0))
          batch = type.getDimSize(0);
  return summarizeKilnModule(*module, opts.import.entryName, name);
}

LogicalResult kiln::planParallel(MLIRContext &ctx, const CompileOptions &opts,
                                 llvm::raw_ostream &os,
                                 std::array<int64_t, 4> *chosen,
                                 std::vector<int64_t> *stageLayers) {
  const CompileOptions::Planning &p = opts.planning;
  llvm::Expected<Machine> machine = loadMachine(p.machine);
  if (!machine)
    return fail(ctx, machine.takeError());
  int64_t devices = p.devices;
  if (devices == 0 && p.mesh.empty())
    devices = 1;
  llvm::Expected<Mesh> mesh = makeMesh(*machine, devices, p.mesh);
  if (!mesh)
    return fail(ctx, mesh.takeError());
  llvm::Expected<Split> fixed = parseParallelSpec(p.parallel);
  if (!fixed)
    return fail(ctx, fixed.takeError());
  PlanRequest request;
  request.mesh = *mesh;
  request.fixed = *fixed;
  request.microbatches = p.microbatches;
  if (p.objective == "latency")
    request.objective = Objective::Latency;
  else if (p.objective == "throughput")
    request.objective = Objective::Throughput;
  else
    return emitError(UnknownLoc::get(&ctx))
           << "--objective expects latency or throughput, got '"
           << p.objective << "'";
  if (p.phase == "decode")
    request.workload.phase = Workload::Phase::Decode;
  else if (p.phase == "prefill")
    request.workload.phase = Workload::Phase::Prefill;
  else
    return emitError(UnknownLoc::get(&ctx))
           << "--plan-phase expects decode or prefill, got '" << p.phase
           << "'";
  if (p.batch < 1 || p.seq < 1 || p.microbatches < 0)
    return emitError(UnknownLoc::get(&ctx))
           << "--plan-batch and --plan-seq must be positive";
  request.workload.batch = p.batch;
  request.workload.seq = p.seq;

  llvm::Expected<ModelSummary> model =
      llvm::createStringError("no model summary");
  bool reported = false;
  if (llvm::StringRef(opts.inputPath).ends_with(".json")) {
    llvm::consumeError(model.takeError());
    model = loadHFConfig(opts.inputPath);
  } else {
    llvm::consumeError(model.takeError());
    int64_t batch = 0;
    model = summarizeModel(ctx, opts, reported, batch);
    // A model's own batch is the workload's unless --plan-batch says
    // otherwise (data parallelism splits it).
    if (p.batch == 1 && batch > 1)
      request.workload.batch = batch;
  }
  if (!model) {
    if (reported) {
      llvm::consumeError(model.takeError());
      return failure();
    }
    return fail(ctx, model.takeError());
  }
  llvm::Expected<Plan> plan = planParallelism(*model, *machine, request);
  if (!plan)
    return fail(ctx, plan.takeError());
  printPlan(os, *plan, p.explain);
  if (chosen) {
    const Split &split = plan->best().split;
    *chosen = {split.tp, split.ep, split.pp, split.dp};
  }
  if (stageLayers) {
    stageLayers->clear();
    for (const StagePlan &stage : plan->best().stages)
      stageLayers->push_back(stage.endLayer - stage.firstLayer);
  }
  return success();
}

/// The plan's one line for the artifact: "tensor parallelism over 2 ranks
/// in each of 2 expert groups (tp=2,ep=2)".
static std::string describePlan(int64_t tp, int64_t ep, int64_t pp, int64_t dp,
                                const std::vector<int64_t> &stageLayers) {
  auto n = [](int64_t v) { return std::to_string(v); };
  std::string factors;
  for (auto [name, value] : {std::pair<const char *, int64_t>{"tp", tp},
                             {"ep", ep},
                             {"pp", pp},
                             {"dp", dp}})
    if (value > 1)
      factors +=
          (factors.empty() ? "" : ",") + std::string(name) + "=" + n(value);
  // The innermost split over its ranks, then each outer one it repeats in.
  SmallVector<std::string> levels;
  if (tp > 1)
    levels.push_back("tensor parallelism over " + n(tp) + " ranks");
  if (ep > 1)
    levels.push_back(levels.empty()
                         ? "expert parallelism over " + n(ep) + " ranks"
                         : n(ep) + " expert groups");
  if (pp > 1)
    levels.push_back(levels.empty()
                         ? "pipeline parallelism over " + n(pp) + " stages"
                         : n(pp) + " pipeline stages");
  if (dp > 1)
    levels.push_back(levels.empty()
                         ? "data parallelism over " + n(dp) + " replicas"
                         : n(dp) + " data-parallel replicas");
  if (levels.empty())
    return "one device";
  std::string text = levels.front();
  for (size_t i = 1; i < levels.size(); ++i)
    text += " in each of " + levels[i];
  if (pp > 1 && tp == 1 && ep == 1) {
    std::string sizes;
    for (int64_t layers : stageLayers)
      sizes += (sizes.empty() ? "" : ", ") + n(layers);
    return text + " (" + factors + "; layers per stage " + sizes + ")";
  }
  return text + " (" + factors + ")";
}

LogicalResult kiln::choosePartition(MLIRContext &ctx, CompileOptions &opts,
                                    llvm::raw_ostream &os) {
  CompileOptions::Planning &p = opts.planning;
  // --parallel ep=4 alone: as many devices as its factors multiply to.
  if (p.devices == 0 && p.mesh.empty() && p.parallel != "auto") {
    int64_t product = 1;
    llvm::SmallVector<llvm::StringRef> factors;
    llvm::StringRef(p.parallel).split(factors, ',');
    for (llvm::StringRef factor : factors) {
      int64_t n = 1;
      if (!factor.split('=').second.getAsInteger(10, n) && n > 0)
        product *= n;
    }
    p.devices = product;
  }
  // Every split executes, alone or combined, so the planner's choice
  // (--devices alone: auto) is what the compile partitions for.
  std::array<int64_t, 4> split = {1, 1, 1, 1};
  std::vector<int64_t> stageLayers;
  if (failed(planParallel(ctx, opts, os, &split, &stageLayers)))
    return failure();
  auto [tp, ep, pp, dp] = split;
  p.expertRanks = ep;
  p.pipelineStages = pp;
  p.tensorRanks = tp;
  p.dataReplicas = dp;
  p.stageLayers = pp > 1 ? stageLayers : std::vector<int64_t>();
  p.planText = describePlan(tp, ep, pp, dp, stageLayers);
  return success();
}
