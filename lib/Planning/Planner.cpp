//===- Planner.cpp - Choose tp x ep x pp x dp for a device mesh -----------===//

#include "kiln/Planning/Planner.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>
#include <map>

using namespace kiln::planning;
using llvm::formatv;
using llvm::StringRef;

static constexpr double GiB = 1024.0 * 1024.0 * 1024.0;

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

llvm::Expected<Split> kiln::planning::parseParallelSpec(StringRef spec) {
  Split split{0, 0, 0, 0};
  if (spec.trim() == "auto" || spec.trim().empty())
    return split;
  llvm::SmallVector<StringRef> parts;
  spec.split(parts, ',');
  for (StringRef part : parts) {
    auto [key, value] = part.trim().split('=');
    int64_t n = 0;
    int64_t *field = key == "tp"   ? &split.tp
                     : key == "ep" ? &split.ep
                     : key == "pp" ? &split.pp
                     : key == "dp" ? &split.dp
                                   : nullptr;
    if (!field || value.getAsInteger(10, n) || n < 1)
      return llvm::createStringError(
          "--parallel expects 'auto' or a comma list of tp=N, ep=N, pp=N, "
          "dp=N (N >= 1), got '" +
          spec.str() + "'");
    if (*field)
      return llvm::createStringError("--parallel gives '" + key.str() +
                                     "' twice");
    *field = n;
  }
  return split;
}

/// The work of one device for `split` (see DeviceLoad).
static DeviceLoad deviceLoad(const LayerSummary &layer, const Workload &w,
                             int64_t microbatchSequences, int64_t ep) {
  DeviceLoad load;
  load.groupSequences = microbatchSequences;
  load.sequences = ceilDiv(microbatchSequences, ep);
  load.tokensPerSequence = w.tokensPerSequence();
  double context = w.phase == Workload::Phase::Decode ? w.seq : w.seq / 2.0;
  load.cachePositions = w.seq;
  if (layer.window > 0) {
    context = std::min<double>(context, layer.window);
    load.cachePositions = std::min<int64_t>(w.seq, layer.window);
  }
  load.context = context;
  return load;
}

static void accumulate(LayerCost &sum, const LayerCost &c) {
  sum.flops += c.flops;
  sum.bytesMoved += c.bytesMoved;
  sum.computeSeconds += c.computeSeconds;
  sum.memorySeconds += c.memorySeconds;
  sum.allReduceSeconds += c.allReduceSeconds;
  sum.allToAllSeconds += c.allToAllSeconds;
  sum.allGatherSeconds += c.allGatherSeconds;
  sum.allReduces += c.allReduces;
  sum.allToAlls += c.allToAlls;
  sum.allGathers += c.allGathers;
  sum.allReduceBytes = std::max(sum.allReduceBytes, c.allReduceBytes);
  sum.allToAllBytes = std::max(sum.allToAllBytes, c.allToAllBytes);
  sum.allGatherBytes = std::max(sum.allGatherBytes, c.allGatherBytes);
  sum.weightBytes += c.weightBytes;
  sum.kvCacheBytes += c.kvCacheBytes;
  sum.activationBytes = std::max(sum.activationBytes, c.activationBytes);
  sum.heads = std::max(sum.heads, c.heads);
  sum.experts = std::max(sum.experts, c.experts);
}

/// Layers [0, n) split into `pp` contiguous stages, minimizing the largest
/// `stageCost(begin, end, stage)` (dynamic programming over prefixes):
/// `bounds` gets the pp + 1 stage boundaries. False when every split costs
/// infinity.
template <typename StageCost>
static bool partitionLayers(size_t n, int64_t pp, StageCost &&stageCost,
                            std::vector<size_t> &bounds) {
  const double inf = std::numeric_limits<double>::infinity();
  // best[k][j]: the worst of stages 0..k covering layers [0, j).
  std::vector<std::vector<double>> best(pp, std::vector<double>(n + 1, inf));
  std::vector<std::vector<size_t>> cut(pp, std::vector<size_t>(n + 1, 0));
  for (size_t j = 1; j <= n; ++j)
    best[0][j] = stageCost(0, j, 0);
  for (int64_t k = 1; k < pp; ++k)
    for (size_t j = k + 1; j <= n; ++j)
      for (size_t i = k; i < j; ++i) {
        double t = std::max(best[k - 1][i], stageCost(i, j, k));
        if (t < best[k][j]) {
          best[k][j] = t;
          cut[k][j] = i;
        }
      }
  bounds.assign(pp + 1, 0);
  bounds[pp] = n;
  for (int64_t k = pp - 1; k > 0; --k)
    bounds[k] = cut[k][bounds[k + 1]];
  return best[pp - 1][n] < inf;
}

Candidate kiln::planning::evaluateSplit(const ModelSummary &model,
                                        const Machine &machine,
                                        const PlanRequest &request,
                                        const Split &split) {
  Candidate cand;
  cand.split = split;
  const Workload &w = request.workload;
  const Mesh &mesh = request.mesh;
  cand.replicaSequences = ceilDiv(w.batch, split.dp);
  cand.microbatches =
      request.microbatches > 0
          ? request.microbatches
          : (split.pp == 1 ? 1 : std::min(split.pp, cand.replicaSequences));
  cand.microbatches = std::min(cand.microbatches, cand.replicaSequences);
  cand.microbatchSequences = ceilDiv(cand.replicaSequences, cand.microbatches);
  cand.deviceSequences = ceilDiv(cand.microbatchSequences, split.ep);
  double residentSequences = ceilDiv(cand.replicaSequences, split.ep);

  GroupPlacement placement;
  placement.epPerNode = split.tp * split.ep <= mesh.devicesPerNode
                            ? split.ep
                            : std::max<int64_t>(1, mesh.devicesPerNode / split.tp);

  size_t n = model.layers.size();
  std::vector<LayerCost> costs;
  costs.reserve(n);
  for (const LayerSummary &layer : model.layers)
    costs.push_back(costLayer(layer, model, machine, split,
                              deviceLoad(layer, w, cand.microbatchSequences,
                                         split.ep),
                              residentSequences, placement));
  DeviceLoad headLoad = model.layers.empty()
                            ? DeviceLoad()
                            : deviceLoad(model.layers.front(), w,
                                         cand.microbatchSequences, split.ep);
  VocabularyLayerCosts vocabulary =
      costVocabularyLayers(model, machine, split, headLoad);
  const LayerCost &embedding = vocabulary.embedding,
                  &lmHead = vocabulary.lmHead;

  // Sending a micro-batch's activations to the next stage, from each
  // device to its counterpart tp * ep ranks on.
  int64_t stageSize = split.tp * split.ep;
  auto crosses = [&](int64_t stage) {
    int64_t first = stage * stageSize, last = first + stageSize - 1;
    return first / mesh.devicesPerNode !=
               (first + stageSize) / mesh.devicesPerNode ||
           last / mesh.devicesPerNode !=
               (last + stageSize) / mesh.devicesPerNode;
  };
  double sendBytes = headLoad.tokens() * model.hidden * model.activationBytes;

  // Balance the stages: minimize the slowest stage's time, layers split
  // into pp contiguous runs (dynamic programming over prefixes), among
  // the splits whose every stage fits the device's usable memory; when
  // none does, minimize the fullest stage's memory instead, so that the
  // refusal reports the least memory a pipeline of pp stages needs.
  std::vector<double> prefix(n + 1, 0), prefixMemory(n + 1, 0);
  double activations = 0;
  for (size_t i = 0; i < n; ++i) {
    prefix[i + 1] = prefix[i] + costs[i].seconds();
    prefixMemory[i + 1] =
        prefixMemory[i] + costs[i].weightBytes + costs[i].kvCacheBytes;
    activations = std::max(activations, costs[i].activationBytes);
  }
  activations = std::max({activations, embedding.activationBytes,
                          lmHead.activationBytes});
  int64_t pp = split.pp;
  auto stageTime = [&](size_t begin, size_t end, int64_t stage) {
    double t = prefix[end] - prefix[begin];
    if (stage == 0)
      t += embedding.seconds();
    if (stage == pp - 1)
      t += lmHead.seconds();
    else
      t += sendRecvTime(sendBytes,
                        crosses(stage) ? machine.interNodeBandwidth
                                       : machine.intraNodeBandwidth,
                        crosses(stage) ? machine.interNodeLatency
                                       : machine.intraNodeLatency);
    return t;
  };
  // An upper bound of the stage's memory (the largest activations of any
  // layer).
  auto stageMemory = [&](size_t begin, size_t end, int64_t stage) {
    double m = prefixMemory[end] - prefixMemory[begin] + activations;
    if (stage == 0)
      m += embedding.weightBytes;
    if (stage == pp - 1)
      m += lmHead.weightBytes;
    return m;
  };
  const double inf = std::numeric_limits<double>::infinity();
  double usable = machine.usableMemory();
  std::vector<size_t> bounds;
  bool fits = partitionLayers(
      n, pp,
      [&](size_t i, size_t j, int64_t k) {
        return stageMemory(i, j, k) > usable ? inf : stageTime(i, j, k);
      },
      bounds);
  if (!fits)
    partitionLayers(n, pp, stageMemory, bounds);

  for (int64_t k = 0; k < pp; ++k) {
    StagePlan stage;
    stage.firstLayer = bounds[k];
    stage.endLayer = bounds[k + 1];
    stage.embedding = k == 0;
    stage.lmHead = k == pp - 1;
    for (size_t i = bounds[k]; i < bounds[k + 1]; ++i) {
      accumulate(stage.cost, costs[i]);
      stage.busySeconds += costs[i].seconds();
    }
    if (stage.embedding) {
      accumulate(stage.cost, embedding);
      stage.busySeconds += embedding.seconds();
    }
    if (stage.lmHead) {
      accumulate(stage.cost, lmHead);
      stage.busySeconds += lmHead.seconds();
    } else {
      stage.sendBytes = sendBytes;
      stage.sendCrossesNodes = crosses(k);
      stage.sendSeconds = stageTime(0, 0, k) -
                          (k == 0 ? embedding.seconds() : 0);
    }
    cand.stageSeconds = std::max(cand.stageSeconds, stage.seconds());
    cand.peakMemoryBytes = std::max(cand.peakMemoryBytes, stage.memoryBytes());
    cand.stages.push_back(stage);
  }
  cand.stepSeconds = (cand.microbatches + pp - 1) * cand.stageSeconds;
  double tokens = double(w.batch) * w.tokensPerSequence();
  cand.tokensPerSecond =
      tokens / (std::max(cand.microbatches, pp) * cand.stageSeconds);
  return cand;
}

static std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i <= n; ++i)
    if (n % i == 0)
      d.push_back(i);
  return d;
}

static std::string gib(double bytes) {
  return formatv("{0:f1} GiB", bytes / GiB).str();
}

llvm::Expected<Plan> kiln::planning::planParallelism(
    const ModelSummary &model, const Machine &machine,
    const PlanRequest &request) {
  Plan plan;
  plan.model = model;
  plan.machine = machine;
  plan.request = request;
  int64_t devices = request.mesh.devices();
  const Split &fixed = request.fixed;
  if (fixed.tp && fixed.ep && fixed.pp && fixed.dp &&
      fixed.devices() != devices)
    return llvm::createStringError(
        formatv("--parallel {0} uses {1} devices; the mesh has {2}",
                fixed.str(), fixed.devices(), devices));
  double usable = machine.usableMemory();
  for (int64_t tp : divisors(devices))
    for (int64_t ep : divisors(devices / tp))
      for (int64_t pp : divisors(devices / tp / ep)) {
        Split split{tp, ep, pp, devices / tp / ep / pp};
        if ((fixed.tp && fixed.tp != split.tp) ||
            (fixed.ep && fixed.ep != split.ep) ||
            (fixed.pp && fixed.pp != split.pp) ||
            (fixed.dp && fixed.dp != split.dp))
          continue;
        std::string why = checkDivisibility(model, split, request.mesh);
        if (why.empty() && split.dp > request.workload.batch)
          why = formatv("dp={0} leaves replicas without a sequence (batch "
                        "{1})",
                        split.dp, request.workload.batch);
        if (why.empty() && request.refuse)
          why = request.refuse(split);
        if (!why.empty()) {
          Candidate c;
          c.split = split;
          c.rejected = why;
          plan.rejected.push_back(c);
          continue;
        }
        Candidate c = evaluateSplit(model, machine, request, split);
        if (c.peakMemoryBytes > usable) {
          c.overMemory = true;
          c.rejected = formatv("needs {0} on its fullest device, over the "
                               "{1} usable",
                               gib(c.peakMemoryBytes), gib(usable));
          plan.rejected.push_back(c);
          continue;
        }
        plan.ranked.push_back(c);
      }
  bool latency = request.objective == Objective::Latency;
  llvm::stable_sort(plan.ranked, [&](const Candidate &a, const Candidate &b) {
    if (latency && a.stepSeconds != b.stepSeconds)
      return a.stepSeconds < b.stepSeconds;
    if (a.tokensPerSecond != b.tokensPerSecond)
      return a.tokensPerSecond > b.tokensPerSecond;
    if (a.stepSeconds != b.stepSeconds)
      return a.stepSeconds < b.stepSeconds;
    return a.peakMemoryBytes < b.peakMemoryBytes;
  });
  if (!plan.ranked.empty())
    return plan;

  // Nothing is valid: say why.
  const Candidate *leanest = nullptr;
  for (const Candidate &c : plan.rejected)
    if (c.overMemory &&
        (!leanest || c.peakMemoryBytes < leanest->peakMemoryBytes))
      leanest = &c;
  std::string what = fixed.tp || fixed.ep || fixed.pp || fixed.dp
                         ? "--parallel " +
                               formatv("{0}", fixed.str()).str()
                         : "any plan";
  if (leanest)
    return llvm::createStringError(formatv(
        "{0} does not fit {1} x {2}: the least memory any valid split "
        "needs is {3} per device ({4}), and a device has {5} usable of "
        "{6}; the weights alone are {7} ({8} per device if spread evenly)",
        model.name, devices, machine.name, gib(leanest->peakMemoryBytes),
        leanest->split.str(), gib(usable), gib(machine.memoryBytes),
        gib(model.total().bytes), gib(model.total().bytes / devices)));
  if (plan.rejected.empty())
    return llvm::createStringError(formatv(
        "no split of {0} devices matches --parallel", devices));
  // Report the fixed split's reason (or the first of them all).
  return llvm::createStringError(formatv(
      "no valid plan for {0} on {1} devices: {2}", model.name, devices,
      plan.rejected.front().rejected));
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

/// "12.34 ms", or "56.7 us" under a millisecond.
static std::string ms(double seconds) {
  if (seconds > 0 && seconds < 1e-3)
    return formatv("{0:f1} us", seconds * 1e6).str();
  return formatv("{0:f2} ms", seconds * 1e3).str();
}

static std::string bytesText(double bytes) {
  if (bytes >= GiB)
    return formatv("{0:f1} GiB", bytes / GiB).str();
  if (bytes >= 1024.0 * 1024)
    return formatv("{0:f1} MiB", bytes / (1024.0 * 1024)).str();
  return formatv("{0:f1} KiB", bytes / 1024.0).str();
}

static std::string range(int64_t first, int64_t count) {
  if (count == 1)
    return std::to_string(first);
  return formatv("{0}-{1}", first, first + count - 1).str();
}

static void printModel(llvm::raw_ostream &os, const ModelSummary &m) {
  int64_t moe = m.moeLayers();
  os << "model: " << m.name << " (" << m.origin << "): " << m.layers.size()
     << " layers";
  if (moe) {
    const LayerSummary *first = nullptr;
    for (const LayerSummary &l : m.layers)
      if (l.moe && !first)
        first = &l;
    os << formatv(" ({0} MoE: {1} experts, top-{2}", moe, first->experts,
                  first->topK);
    if (first->sharedExperts)
      os << formatv(", {0} shared", first->sharedExperts);
    os << formatv(", expert FFN {0}", first->ffnDim);
    if (moe < int64_t(m.layers.size()))
      os << formatv("; {0} dense", m.layers.size() - moe);
    os << ")";
  }
  const LayerSummary &l0 = m.layers.front();
  os << formatv(", hidden {0}, vocab {1}, {2} heads / {3} KV heads", m.hidden,
                m.vocab, l0.heads, l0.kvHeads);
  if (l0.window)
    os << formatv(", window {0}", l0.window);
  os << "\n";
  double kvPerToken = 0;
  for (const LayerSummary &l : m.layers)
    kvPerToken += l.kvCacheElemsPerToken * m.kvCacheBytes;
  WeightBlock total = m.total();
  os << formatv("  {0:f2} B parameters, {1} of weights ({2}); KV cache {3} "
                "per token\n",
                total.params / 1e9, bytesText(total.bytes), m.weightDType,
                bytesText(kvPerToken));
  for (const std::string &note : m.notes)
    os << "  note: " << note << "\n";
}

static void printRequest(llvm::raw_ostream &os, const Plan &plan) {
  const Machine &m = plan.machine;
  const PlanRequest &r = plan.request;
  os << formatv("machine: {0}, {1} devices ({2} node{3} x {4}); per device "
                "{5} ({6} usable), {7:f0} GB/s, {8:f0} TFLOP/s {9}; links "
                "{10:f0} GB/s in a node, {11:f1} GB/s between nodes\n",
                m.name, r.mesh.devices(), r.mesh.nodes,
                r.mesh.nodes == 1 ? "" : "s", r.mesh.devicesPerNode,
                bytesText(m.memoryBytes), bytesText(m.usableMemory()),
                m.memoryBandwidth / 1e9,
                m.rate(plan.model.computeDType) / 1e12,
                plan.model.computeDType, m.intraNodeBandwidth / 1e9,
                m.interNodeBandwidth / 1e9);
  os << "  numbers: " << m.source << "\n";
  os << formatv("workload: {0}, batch {1} sequences of {2} positions; "
                "objective: {3}\n",
                r.workload.phase == Workload::Phase::Decode
                    ? "one decode step (a token per sequence)"
                    : "prefill (every position of every sequence)",
                r.workload.batch, r.workload.seq,
                r.objective == Objective::Latency ? "latency (step time)"
                                                  : "throughput (tokens/s)");
}

static std::string summary(const Candidate &c) {
  return formatv("step {0}, {1:f0} tokens/s, fullest device {2}",
                 ms(c.stepSeconds), c.tokensPerSecond,
                 bytesText(c.peakMemoryBytes))
      .str();
}

/// Compute-or-memory time and communication of the slowest stage.
static void breakdown(const Candidate &c, double &work, double &comm,
                      double &bubble) {
  const StagePlan *slow = &c.stages.front();
  for (const StagePlan &s : c.stages)
    if (s.seconds() > slow->seconds())
      slow = &s;
  comm = slow->cost.communicationSeconds() + slow->sendSeconds;
  work = slow->seconds() - comm;
  bubble = c.stepSeconds - c.microbatches * c.stageSeconds;
}

static void printStage(llvm::raw_ostream &os, const Plan &plan,
                       const Candidate &c, size_t index) {
  const StagePlan &s = c.stages[index];
  const Split &sp = c.split;
  const ModelSummary &m = plan.model;
  int64_t stageSize = sp.tp * sp.ep;
  int64_t first = index * stageSize;
  os << formatv("  stage {0}: devices {1}", index, range(first, stageSize));
  if (sp.dp > 1)
    os << formatv(" of replica 0 (replica k of {0}: these + {1}k)", sp.dp,
                  sp.pp * stageSize);
  os << "\n";
  int64_t moe = 0;
  for (int64_t i = s.firstLayer; i < s.endLayer; ++i)
    moe += m.layers[i].moe;
  os << "    layers " << range(s.firstLayer, s.endLayer - s.firstLayer);
  if (moe)
    os << formatv(" ({0} MoE)", moe);
  if (s.embedding)
    os << ", embedding";
  if (s.lmHead)
    os << ", LM head";
  os << "\n";
  const LayerSummary &l = m.layers[s.firstLayer];
  int64_t heads = l.heads / sp.tp;
  if (sp.tp > 1)
    os << formatv("    heads: {0} of {1} per device (tp rank t holds heads "
                  "{2}t..{2}t+{3})",
                  heads, l.heads, heads, heads - 1);
  else
    os << formatv("    heads: all {0} on every device", l.heads);
  if (moe) {
    int64_t e = 0;
    for (int64_t i = s.firstLayer; i < s.endLayer; ++i)
      if (m.layers[i].moe)
        e = m.layers[i].experts;
    int64_t per = e / sp.ep;
    if (sp.ep > 1)
      os << formatv("; experts: {0} of {1} per device (ep rank r holds "
                    "{0}r..{0}r+{2})",
                    per, e, per - 1);
    else
      os << formatv("; experts: all {0} on every device", e);
    if (sp.tp > 1)
      os << formatv(", each expert's FFN split {0} ways", sp.tp);
  }
  os << "\n";
  os << formatv("    sequences: {0} per device per micro-batch ({1} "
                "micro-batch{2} of {3})\n",
                c.deviceSequences, c.microbatches,
                c.microbatches == 1 ? "" : "es", c.microbatchSequences);
  os << formatv("    memory: weights {0} + KV cache {1} + activations {2} = "
                "{3} of {4} usable\n",
                bytesText(s.cost.weightBytes), bytesText(s.cost.kvCacheBytes),
                bytesText(s.cost.activationBytes), bytesText(s.memoryBytes()),
                bytesText(plan.machine.usableMemory()));
  bool memoryBound = s.cost.memorySeconds > s.cost.computeSeconds;
  os << formatv("    time per micro-batch: {0} (compute {1}, memory {2}: "
                "{3}-bound; communication {4})\n",
                ms(s.seconds()), ms(s.cost.computeSeconds),
                ms(s.cost.memorySeconds),
                memoryBound ? "memory" : "compute",
                ms(s.cost.communicationSeconds() + s.sendSeconds));
  std::vector<std::string> collectives;
  if (s.cost.allReduces)
    collectives.push_back(
        formatv("{0} all-reduce over the {1} tp devices, {2} each, {3} in all",
                s.cost.allReduces, sp.tp, bytesText(s.cost.allReduceBytes),
                ms(s.cost.allReduceSeconds)));
  if (s.cost.allToAlls) {
    bool spans = sp.tp * sp.ep > plan.request.mesh.devicesPerNode;
    collectives.push_back(
        formatv("{0} all-to-all (dispatch + combine) over the {1} ep "
                "groups{2}, {3} sent each, {4} in all",
                s.cost.allToAlls, sp.ep, spans ? " (across nodes)" : "",
                bytesText(s.cost.allToAllBytes), ms(s.cost.allToAllSeconds)));
  }
  if (s.cost.allGathers)
    collectives.push_back(formatv(
        "{0} all-gather of the logits over the {1} tp devices, {2}, {3}",
        s.cost.allGathers, sp.tp, bytesText(s.cost.allGatherBytes),
        ms(s.cost.allGatherSeconds)));
  if (!s.lmHead)
    collectives.push_back(formatv(
        "send {0} to stage {1}{2}, {3}", bytesText(s.sendBytes), index + 1,
        s.sendCrossesNodes ? " (across nodes)" : "", ms(s.sendSeconds)));
  if (index > 0)
    collectives.push_back(formatv("receive from stage {0}", index - 1));
  os << "    collectives per micro-batch:";
  for (const std::string &line : collectives)
    os << "\n      " << line;
  if (collectives.empty())
    os << " none";
  os << "\n";
}

void kiln::planning::printPlan(llvm::raw_ostream &os, const Plan &plan,
                               bool explain) {
  printModel(os, plan.model);
  printRequest(os, plan);
  const Candidate &best = plan.best();
  os << "plan: " << best.split.str() << ": " << summary(best) << "\n";
  if (!explain)
    return;

  os << "\ndevices (every device of a stage runs the same program on its "
        "own heads and experts; listed once per stage):\n";
  for (size_t i = 0; i < best.stages.size(); ++i)
    printStage(os, plan, best, i);
  if (best.split.pp > 1) {
    double work, comm, bubble;
    breakdown(best, work, comm, bubble);
    os << formatv("  pipeline: {0} micro-batches over {1} stages; the "
                  "bubble ({1} - 1) / {0} costs {2} of the {3} step\n",
                  best.microbatches, best.split.pp, ms(bubble),
                  ms(best.stepSeconds));
  }

  size_t shown = std::min<size_t>(plan.ranked.size(), 6);
  os << formatv("\ncandidates ({0} valid, {1} refused; the best {2}):\n",
                plan.ranked.size(), plan.rejected.size(), shown);
  os << formatv("  {0,-22} {1,10} {2,11} {3,11} {4,10} {5,10} {6,10}\n",
                "split", "step", "tokens/s", "memory", "work", "comm",
                "bubble");
  for (size_t i = 0; i < shown; ++i) {
    const Candidate &c = plan.ranked[i];
    double work, comm, bubble;
    breakdown(c, work, comm, bubble);
    os << formatv("  {0,-22} {1,10} {2,11:f0} {3,11} {4,10} {5,10} "
                  "{6,10}\n",
                  c.split.str(), ms(c.stepSeconds), c.tokensPerSecond,
                  bytesText(c.peakMemoryBytes), ms(work), ms(comm),
                  ms(bubble));
  }
  os << "  (work: the slowest stage's compute or memory time, whichever "
        "bounds each layer; comm: its collectives and sends; per "
        "micro-batch)\n";

  if (plan.ranked.size() > 1) {
    const Candidate &next = plan.ranked[1];
    double w1, c1, b1, w2, c2, b2;
    breakdown(best, w1, c1, b1);
    breakdown(next, w2, c2, b2);
    os << "\nwhy " << best.split.str() << " over " << next.split.str()
       << ":\n";
    if (plan.request.objective == Objective::Latency)
      os << formatv("  step {0} vs {1} ({2:f1}% faster)\n",
                    ms(best.stepSeconds), ms(next.stepSeconds),
                    100.0 * (next.stepSeconds - best.stepSeconds) /
                        next.stepSeconds);
    else
      os << formatv("  {0:f0} vs {1:f0} tokens/s ({2:f1}% more)\n",
                    best.tokensPerSecond, next.tokensPerSecond,
                    100.0 * (best.tokensPerSecond - next.tokensPerSecond) /
                        next.tokensPerSecond);
    auto readPerStep = [](const Candidate &c) {
      double bytes = 0;
      for (const StagePlan &s : c.stages)
        bytes = std::max(bytes, s.cost.bytesMoved);
      return bytes;
    };
    os << formatv("  work {0} vs {1} (the slowest device reads {2} vs {3} "
                  "per micro-batch)\n",
                  ms(w1), ms(w2), bytesText(readPerStep(best)),
                  bytesText(readPerStep(next)));
    os << formatv("  communication {0} vs {1}, pipeline bubble {2} vs {3}\n",
                  ms(c1), ms(c2), ms(b1), ms(b2));
    os << formatv("  fullest device {0} vs {1}\n",
                  bytesText(best.peakMemoryBytes),
                  bytesText(next.peakMemoryBytes));
    // The term that gained the most (per micro-batch for work and
    // communication, per step for the bubble).
    std::pair<double, const char *> gains[] = {
        {w2 - w1, "less work per device (compute or memory reads)"},
        {c2 - c1, "less communication"},
        {b2 - b1, "a smaller pipeline bubble"}};
    auto *top = std::max_element(
        std::begin(gains), std::end(gains),
        [](auto &a, auto &b) { return a.first < b.first; });
    if (top->first > 0)
      os << formatv("  the largest difference: {0} ({1})\n", top->second,
                    ms(top->first));
    else
      os << "  no single term is better: the sum is\n";
  }

  if (!plan.rejected.empty()) {
    // One line per reason, with the splits it refused.
    std::map<std::string, std::vector<std::string>> byReason;
    std::vector<std::string> order;
    for (const Candidate &c : plan.rejected) {
      std::string reason = c.overMemory ? "over memory" : c.rejected;
      if (!byReason.count(reason))
        order.push_back(reason);
      byReason[reason].push_back(
          c.overMemory ? c.split.str() + " (" + gib(c.peakMemoryBytes) + ")"
                       : c.split.str());
    }
    os << "\nrefused:\n";
    for (const std::string &reason : order) {
      const auto &splits = byReason[reason];
      os << "  " << reason << ": ";
      for (size_t i = 0; i < splits.size() && i < 4; ++i)
        os << (i ? "; " : "") << splits[i];
      if (splits.size() > 4)
        os << formatv("; and {0} more", splits.size() - 4);
      os << "\n";
    }
  }
  os << "\nestimates: peak rates, balanced experts, no overlap of compute "
        "and communication; see docs/parallel.md\n";
}
