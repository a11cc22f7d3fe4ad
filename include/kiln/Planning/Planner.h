//===- Planner.h - Choose tp x ep x pp x dp for a device mesh ---*- C++ -*-===//
//
// Enumerates every factorization of the mesh's devices into tensor, expert,
// pipeline and data parallelism, rejects those the model's shapes do not
// divide or whose fullest device is over its memory, balances the pipeline
// stages by estimated time (among the partitions that fit; by memory when
// none does), and ranks the rest by step latency or by
// throughput (CostModel.h). printPlan writes what --plan-only and
// --explain-plan show.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PLANNING_PLANNER_H
#define KILN_PLANNING_PLANNER_H

#include "kiln/Planning/CostModel.h"

#include "llvm/Support/raw_ostream.h"

#include <functional>

namespace kiln::planning {

enum class Objective { Latency, Throughput };

struct PlanRequest {
  Mesh mesh;
  Workload workload;
  Objective objective = Objective::Latency;
  /// Fixed factors; 0 lets the planner choose (`--parallel tp=8` fixes tp
  /// only, `auto` none).
  Split fixed{0, 0, 0, 0};
  /// Pipeline micro-batches; 0: min(pp, sequences per replica).
  int64_t microbatches = 0;
  /// Why a split the caller cannot use is refused ("" keeps it): a
  /// compile for the plan refuses the splits that do not execute yet.
  std::function<std::string(const Split &)> refuse;
};

/// `auto`, or a comma list of tp=N, ep=N, pp=N, dp=N (factors not named
/// are chosen by the planner).
llvm::Expected<Split> parseParallelSpec(llvm::StringRef spec);

/// A contiguous run of layers on tp x ep devices of each replica.
struct StagePlan {
  int64_t firstLayer = 0, endLayer = 0;
  bool embedding = false, lmHead = false;
  /// Sums over the stage's layers (and embedding / LM head) on one device
  /// and one micro-batch; activationBytes is the largest layer's.
  LayerCost cost;
  /// max(compute, memory) + communication, summed layer by layer.
  double busySeconds = 0;
  /// Sending the activations to the next stage.
  double sendBytes = 0, sendSeconds = 0;
  bool sendCrossesNodes = false;
  double memoryBytes() const {
    return cost.weightBytes + cost.kvCacheBytes + cost.activationBytes;
  }
  double seconds() const { return busySeconds + sendSeconds; }
};

struct Candidate {
  Split split;
  int64_t microbatches = 1;
  /// Sequences per replica, per micro-batch and per ep group member.
  int64_t replicaSequences = 0, microbatchSequences = 0, deviceSequences = 0;
  std::vector<StagePlan> stages;
  /// The slowest stage's time per micro-batch, and a step: all
  /// micro-batches through all stages, (m + pp - 1) slowest-stage times.
  double stageSeconds = 0, stepSeconds = 0;
  double tokensPerSecond = 0;
  /// The fullest device's estimated memory.
  double peakMemoryBytes = 0;
  /// Why the candidate was refused, or "".
  std::string rejected;
  bool overMemory = false;
};

struct Plan {
  ModelSummary model;
  Machine machine;
  PlanRequest request;
  /// Valid candidates, best first.
  std::vector<Candidate> ranked;
  /// Refused candidates, in enumeration order.
  std::vector<Candidate> rejected;
  const Candidate &best() const { return ranked.front(); }
};

/// Costs one split (not checking memory or divisibility).
Candidate evaluateSplit(const ModelSummary &model, const Machine &machine,
                        const PlanRequest &request, const Split &split);

/// Plans `model` on `request.mesh` of `machine`. Fails, saying why, when no
/// candidate is valid: the fixed split's reason, or for a model that fits
/// no plan, the memory the least demanding candidate needs and what a
/// device has.
llvm::Expected<Plan> planParallelism(const ModelSummary &model,
                                     const Machine &machine,
                                     const PlanRequest &request);

/// The plan's summary (--plan-only); with `explain`, each stage's devices,
/// layers, heads, experts, memory, time and collectives, the top
/// candidates side by side and why the winner beat the runner-up
/// (--explain-plan).
void printPlan(llvm::raw_ostream &os, const Plan &plan, bool explain);

} // namespace kiln::planning

#endif // KILN_PLANNING_PLANNER_H
