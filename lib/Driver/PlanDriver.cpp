//===- PlanDriver.cpp - kiln-compile --plan-only / --explain-plan ---------===//
//
// The model summary (from a config.json, or from the raised IR of a model
// imported as compile() imports it), the machine and mesh, and the
// planner's choice, printed. Nothing is partitioned yet: the plan does not
// change the artifact (docs/parallel.md).
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
/// its summary off the IR.
static llvm::Expected<ModelSummary> summarizeModel(MLIRContext &ctx,
                                                   const CompileOptions &opts,
                                                   bool &reported) {
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
  if (p.executableOnly)
    request.refuse = [](const Split &split) -> std::string {
      // Tensor parallelism combines with either (its all-reduces run
      // over each stage's or expert group's tp group); expert and
      // pipeline parallelism together are not partitioned yet.
      if (split.ep > 1 && split.pp > 1)
        return llvm::formatv("ep={0} with pp={1} does not execute yet "
                             "(expert and pipeline parallelism do not "
                             "combine; tp combines with either)",
                             split.ep, split.pp)
            .str();
      return "";
    };
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
    model = summarizeModel(ctx, opts, reported);
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
  // What executes today is expert, pipeline or tensor parallelism, one at
  // a time. --devices alone (auto) chooses between expert and pipeline
  // parallelism, as before tensor parallelism executed, so that a plan
  // does not change under existing artifacts; --parallel tp=N asks for
  // tensor parallelism, and names of splits that do not execute fail,
  // saying so.
  if (p.parallel == "auto")
    p.parallel = "tp=1,dp=1";
  p.executableOnly = true;
  std::array<int64_t, 4> split = {1, 1, 1, 1};
  std::vector<int64_t> stageLayers;
  if (failed(planParallel(ctx, opts, os, &split, &stageLayers)))
    return failure();
  auto [tp, ep, pp, dp] = split;
  if (dp != 1)
    return emitError(UnknownLoc::get(&ctx))
           << "the plan tp=" << tp << ",ep=" << ep << ",pp=" << pp
           << ",dp=" << dp
           << " does not execute yet: expert parallelism (--parallel ep=N), "
              "pipeline parallelism (--parallel pp=N) and tensor "
              "parallelism (--parallel tp=N) are partitioned, tp alone or "
              "with ep or pp; print it with --plan-only";
  p.expertRanks = ep;
  p.pipelineStages = pp;
  p.tensorRanks = tp;
  p.stageLayers = pp > 1 ? stageLayers : std::vector<int64_t>();
  if (tp > 1 && (pp > 1 || ep > 1)) {
    bool stages = pp > 1;
    p.planText =
        "tensor parallelism over " + std::to_string(tp) + " ranks in each of " +
        std::to_string(stages ? pp : ep) +
        (stages ? " pipeline stages" : " expert groups") +
        " (tp=" + std::to_string(tp) +
        (stages ? ",pp=" + std::to_string(pp) : ",ep=" + std::to_string(ep)) +
        ")";
  } else if (pp > 1) {
    std::string sizes;
    for (int64_t n : stageLayers)
      sizes += (sizes.empty() ? "" : ", ") + std::to_string(n);
    p.planText = "pipeline parallelism over " + std::to_string(pp) +
                 " stages (pp=" + std::to_string(pp) + "; layers per stage " +
                 sizes + ")";
  } else if (tp > 1) {
    p.planText = "tensor parallelism over " + std::to_string(tp) +
                 " ranks (tp=" + std::to_string(tp) + ")";
  } else {
    p.planText = "expert parallelism over " + std::to_string(ep) +
                 " ranks (ep=" + std::to_string(ep) + ")";
  }
  return success();
}
