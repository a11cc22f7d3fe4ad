//===- CostModel.h - Time and memory of a layer under a split ---*- C++ -*-===//
//
// The estimates the planner compares. All are ideals: peak rates, balanced
// experts, no overlap of compute with communication; docs/parallel.md
// states the formulas and their limits.
//
// A split is tp x ep x pp x dp devices. Ranks are numbered with tp
// innermost, then ep, pp and dp, so a tensor-parallel group is
// consecutive devices of one node:
//
//   tp  each layer's attention heads, dense FFN columns/rows and each
//       expert's FFN are split over tp devices (Megatron-style); two
//       all-reduces of the activations per layer.
//   ep  the experts of a MoE layer are divided among ep groups; outside
//       the experts the ep groups are data parallel (each holds the
//       attention and dense weights and serves 1/ep of the sequences,
//       DeepSeek's "DP attention"); an all-to-all dispatches the routed
//       tokens and another combines them.
//   pp  contiguous stages of layers, one send/recv of activations between
//       stages, micro-batches scheduled so stages overlap (the bubble is
//       (pp - 1) / microbatches).
//   dp  whole replicas, each serving batch / dp sequences; no
//       communication during inference.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PLANNING_COSTMODEL_H
#define KILN_PLANNING_COSTMODEL_H

#include "kiln/Planning/Machine.h"
#include "kiln/Planning/ModelSummary.h"

#include <algorithm>
#include <string>

namespace kiln::planning {

struct Split {
  int64_t tp = 1, ep = 1, pp = 1, dp = 1;
  int64_t devices() const { return tp * ep * pp * dp; }
  /// "tp=2,ep=4,pp=1,dp=1".
  std::string str() const;
  bool operator==(const Split &o) const {
    return tp == o.tp && ep == o.ep && pp == o.pp && dp == o.dp;
  }
};

/// What is being served: `batch` sequences in flight over the whole mesh,
/// each holding `seq` positions of KV cache. A decode step runs one new
/// token per sequence; a prefill runs `seq` tokens per sequence.
struct Workload {
  enum class Phase { Decode, Prefill };
  Phase phase = Phase::Decode;
  int64_t batch = 1;
  int64_t seq = 4096;
  int64_t tokensPerSequence() const {
    return phase == Phase::Decode ? 1 : seq;
  }
};

//===--------------------------------------------------------------------===//
// Collectives (seconds)
//===--------------------------------------------------------------------===//

/// A ring all-reduce of `bytes` per rank over `n` ranks:
/// 2 (n - 1) / n * bytes / bandwidth + 2 (n - 1) * latency; 0 for n = 1.
double ringAllReduceTime(double bytes, int64_t n, double bandwidth,
                         double latency);

/// An all-to-all in which each of `n` ranks holds `bytes` destined evenly
/// to all ranks (itself included): the (n - 1) / n that leave it, split
/// into what stays in its node (`perNode` ranks share one) over
/// `intraBandwidth` and what leaves it over `interBandwidth`, the two
/// concurrently; plus one `latency` (all messages are posted at once).
double allToAllTime(double bytes, int64_t n, int64_t perNode,
                    double intraBandwidth, double interBandwidth,
                    double latency);

/// A ring all-gather in which each of `n` ranks ends with `bytes`:
/// (n - 1) / n * bytes / bandwidth + (n - 1) * latency; 0 for n = 1.
double ringAllGatherTime(double bytes, int64_t n, double bandwidth,
                         double latency);

/// One point-to-point message: bytes / bandwidth + latency.
double sendRecvTime(double bytes, double bandwidth, double latency);

/// The fraction of a pipeline's time lost to its bubble:
/// (pp - 1) / microbatches of the ideal time (GPipe / 1F1B).
double pipelineBubbleFraction(int64_t pp, int64_t microbatches);

/// Of `e` experts, the expected number that at least one of `assignments`
/// uniformly random token-to-expert assignments picks:
/// e (1 - (1 - 1/e)^assignments). A decode step reads only these experts'
/// weights.
double expectedActiveExperts(double e, double assignments);

//===--------------------------------------------------------------------===//
// One layer on one device
//===--------------------------------------------------------------------===//

/// The work one device does for one micro-batch.
struct DeviceLoad {
  /// Sequences whose attention this device computes (ceil(micro-batch
  /// sequences / ep)), and the tokens of each this step.
  double sequences = 1;
  double tokensPerSequence = 1;
  /// Sequences in the whole micro-batch of the ep group (for the experts).
  double groupSequences = 1;
  /// Keys each query attends to (context, or window; half the context on
  /// average in a causal prefill).
  double context = 1;
  /// Positions of KV cache each sequence holds (seq, or the window).
  double cachePositions = 1;
  double tokens() const { return sequences * tokensPerSequence; }
};

/// Where an ep group's ranks sit: ranks of one group per node.
struct GroupPlacement {
  /// ep ranks that share a node (at least 1).
  int64_t epPerNode = 1;
};

struct LayerCost {
  double flops = 0;
  /// Bytes read from device memory: weights (only the experts the step
  /// activates), the KV cache, activations.
  double bytesMoved = 0;
  double computeSeconds = 0; // flops / rate
  double memorySeconds = 0;  // bytesMoved / bandwidth
  double allReduceSeconds = 0, allToAllSeconds = 0, allGatherSeconds = 0;
  /// Collectives this layer runs and each one's bytes per rank.
  int allReduces = 0, allToAlls = 0, allGathers = 0;
  double allReduceBytes = 0, allToAllBytes = 0, allGatherBytes = 0;
  /// Resident bytes on the device: weights, and KV cache for all the
  /// sequences it serves (not just one micro-batch).
  double weightBytes = 0, kvCacheBytes = 0;
  /// Peak activations of one micro-batch (rough: a few hidden-sized
  /// buffers plus the FFN's intermediate).
  double activationBytes = 0;
  /// Heads and experts this device holds.
  int64_t heads = 0, experts = 0;

  /// max(compute, memory) + communication: the step is either
  /// compute-bound or memory-bound, and nothing overlaps communication.
  double seconds() const {
    return std::max(computeSeconds, memorySeconds) + communicationSeconds();
  }
  double communicationSeconds() const {
    return allReduceSeconds + allToAllSeconds + allGatherSeconds;
  }
};

/// The cost of `layer` on one device of `split`. `residentSequences` is
/// how many sequences' KV cache the device holds in total.
LayerCost costLayer(const LayerSummary &layer, const ModelSummary &model,
                    const Machine &machine, const Split &split,
                    const DeviceLoad &load, double residentSequences,
                    const GroupPlacement &placement);

/// The layers indexed by vocabulary: the embedding (first stage) and the
/// LM head (last stage).
struct VocabularyLayerCosts {
  LayerCost embedding, lmHead;
};

/// The embedding and LM head on one device: both split over tp by
/// vocabulary rows.
VocabularyLayerCosts costVocabularyLayers(const ModelSummary &model,
                                          const Machine &machine,
                                          const Split &split,
                                          const DeviceLoad &load);

/// Why `split` cannot hold `model` regardless of memory (a tp that does not
/// divide the heads, an ep that does not divide the experts, more stages
/// than layers, tp across nodes), or "" when it can.
std::string checkDivisibility(const ModelSummary &model, const Split &split,
                              const Mesh &mesh);

} // namespace kiln::planning

#endif // KILN_PLANNING_COSTMODEL_H
