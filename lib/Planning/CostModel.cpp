//===- CostModel.cpp - Time and memory of a layer under a split -----------===//

#include "kiln/Planning/CostModel.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace kiln::planning;

std::string Split::str() const {
  return llvm::formatv("tp={0},ep={1},pp={2},dp={3}", tp, ep, pp, dp).str();
}

double kiln::planning::ringAllReduceTime(double bytes, int64_t n,
                                         double bandwidth, double latency) {
  if (n <= 1)
    return 0;
  return 2.0 * (n - 1) / n * bytes / bandwidth + 2.0 * (n - 1) * latency;
}

/// `count` all-reduces of `bytes` each over the tp devices of a node.
static void setTensorParallelAllReduces(LayerCost &c, int count, double bytes,
                                        const Split &split,
                                        const Machine &machine) {
  c.allReduces = count;
  c.allReduceBytes = bytes;
  c.allReduceSeconds =
      count * ringAllReduceTime(bytes, split.tp, machine.intraNodeBandwidth,
                                machine.intraNodeLatency);
}

double kiln::planning::ringAllGatherTime(double bytes, int64_t n,
                                         double bandwidth, double latency) {
  if (n <= 1)
    return 0;
  return double(n - 1) / n * bytes / bandwidth + double(n - 1) * latency;
}

double kiln::planning::allToAllTime(double bytes, int64_t n, int64_t perNode,
                                    double intraBandwidth,
                                    double interBandwidth, double latency) {
  if (n <= 1)
    return 0;
  perNode = std::clamp<int64_t>(perNode, 1, n);
  double intra = bytes * double(perNode - 1) / n;
  double inter = bytes * double(n - perNode) / n;
  return std::max(intra / intraBandwidth, inter / interBandwidth) + latency;
}

double kiln::planning::sendRecvTime(double bytes, double bandwidth,
                                    double latency) {
  return bytes / bandwidth + latency;
}

double kiln::planning::pipelineBubbleFraction(int64_t pp,
                                              int64_t microbatches) {
  return double(pp - 1) / double(std::max<int64_t>(1, microbatches));
}

double kiln::planning::expectedActiveExperts(double e, double assignments) {
  if (e <= 0)
    return 0;
  return e * (1.0 - std::pow(1.0 - 1.0 / e, assignments));
}

/// The fraction of the KV heads (and so of the cache) one of `tp` ranks
/// holds: kvHeads / tp of them, or one when there are fewer KV heads than
/// ranks (replicated), or all of an MLA latent.
static double kvFraction(const LayerSummary &layer, int64_t tp) {
  if (!layer.kvCacheSplitsWithHeads || layer.kvHeads == 0)
    return 1;
  int64_t held = std::max<int64_t>(1, layer.kvHeads / tp);
  return double(held) / layer.kvHeads;
}

LayerCost kiln::planning::costLayer(const LayerSummary &layer,
                                    const ModelSummary &model,
                                    const Machine &machine, const Split &split,
                                    const DeviceLoad &load,
                                    double residentSequences,
                                    const GroupPlacement &placement) {
  LayerCost c;
  double tp = split.tp, h = model.hidden, act = model.activationBytes;
  double tokens = load.tokens();
  double weightsRead = 0;

  // Attention: heads / tp per device, the projections split with them.
  c.heads = layer.heads / split.tp;
  c.flops += 2 * layer.attention.params / tp * tokens;
  c.flops += 2.0 * c.heads * double(layer.qkHeadDim + layer.vHeadDim) *
             tokens * load.context;
  c.weightBytes += layer.attention.bytes / tp;
  weightsRead += layer.attention.bytes / tp;
  double kvPerToken =
      layer.kvCacheElemsPerToken * kvFraction(layer, split.tp) *
      model.kvCacheBytes;
  c.kvCacheBytes = residentSequences * load.cachePositions * kvPerToken;
  double kvRead = load.sequences * load.context * kvPerToken;
  double intermediate = 0; // FFN intermediate elements of the micro-batch

  // Norms (replicated).
  c.weightBytes += layer.norms.bytes;
  weightsRead += layer.norms.bytes;

  if (!layer.moe) {
    c.flops += 2 * layer.denseFfn.params / tp * tokens;
    c.weightBytes += layer.denseFfn.bytes / tp;
    weightsRead += layer.denseFfn.bytes / tp;
    intermediate = tokens * 2.0 * layer.ffnDim / tp;
  } else {
    // Experts: experts / ep per device, each split over tp; balanced
    // routing, so each device computes assignments / ep of the group's.
    double assignments =
        load.groupSequences * load.tokensPerSequence * layer.topK;
    double perRank = assignments / split.ep;
    c.experts = layer.experts / split.ep;
    c.flops += 2 * layer.expert.params / tp * perRank;
    c.weightBytes += c.experts * layer.expert.bytes / tp;
    double active =
        expectedActiveExperts(layer.experts, assignments) / split.ep;
    weightsRead += active * layer.expert.bytes / tp;
    // Shared experts run on every token of the device, split over tp.
    c.flops += 2 * layer.shared.params / tp * tokens;
    c.weightBytes += layer.shared.bytes / tp;
    weightsRead += layer.shared.bytes / tp;
    // The router is replicated.
    c.flops += 2 * layer.router.params * tokens;
    c.weightBytes += layer.router.bytes;
    weightsRead += layer.router.bytes;
    intermediate = (perRank * 2.0 * layer.ffnDim +
                    tokens * 2.0 * layer.sharedFfnDim) /
                   tp;
    if (split.ep > 1) {
      // Dispatch each routed copy of a token to its expert's group, and
      // combine the results back.
      c.allToAlls = 2;
      c.allToAllBytes = tokens * layer.topK * h * act;
      bool spans = placement.epPerNode < split.ep;
      double latency =
          spans ? machine.interNodeLatency : machine.intraNodeLatency;
      c.allToAllSeconds =
          2 * allToAllTime(c.allToAllBytes, split.ep, placement.epPerNode,
                           machine.intraNodeBandwidth,
                           machine.interNodeBandwidth, latency);
    }
  }
  c.activationBytes = (tokens * 4 * h + intermediate) * act;
  c.bytesMoved = weightsRead + kvRead + 2 * c.activationBytes;
  c.computeSeconds = c.flops / machine.rate(model.computeDType);
  c.memorySeconds = c.bytesMoved / machine.memoryBandwidth;
  if (split.tp > 1) {
    // Megatron: one all-reduce after attention's output projection, one
    // after the FFN's down projection.
    setTensorParallelAllReduces(c, 2, tokens * h * act, split, machine);
  }
  return c;
}

VocabularyLayerCosts
kiln::planning::costVocabularyLayers(const ModelSummary &model,
                                     const Machine &machine, const Split &split,
                                     const DeviceLoad &load) {
  VocabularyLayerCosts costs;
  double act = model.activationBytes;

  LayerCost &embedding = costs.embedding;
  embedding.weightBytes = model.embedding.bytes / split.tp;
  embedding.activationBytes = load.tokens() * model.hidden * act;
  embedding.bytesMoved = 2 * embedding.activationBytes;
  embedding.memorySeconds = embedding.bytesMoved / machine.memoryBandwidth;
  if (split.tp > 1) {
    // Vocabulary-parallel rows: each rank looks up the tokens it holds,
    // zeros elsewhere, and an all-reduce sums them.
    setTensorParallelAllReduces(embedding, 1, embedding.activationBytes, split,
                                machine);
  }

  LayerCost &head = costs.lmHead;
  // One row of logits per sequence: the new token's (decode) or the last
  // prompt token's (prefill).
  double rows = load.sequences;
  head.flops = 2 * model.lmHead.params / split.tp * rows;
  head.weightBytes = model.lmHead.bytes / split.tp;
  head.activationBytes =
      rows * (model.hidden * act + double(model.vocab) / split.tp * 4);
  head.bytesMoved = head.weightBytes + head.activationBytes;
  head.computeSeconds = head.flops / machine.rate(model.computeDType);
  head.memorySeconds = head.bytesMoved / machine.memoryBandwidth;
  if (split.tp > 1) {
    // The vocabulary slices of f32 logits gathered.
    head.allGathers = 1;
    head.allGatherBytes = rows * model.vocab * 4.0;
    head.allGatherSeconds =
        ringAllGatherTime(head.allGatherBytes, split.tp,
                          machine.intraNodeBandwidth, machine.intraNodeLatency);
  }
  return costs;
}

std::string kiln::planning::checkDivisibility(const ModelSummary &model,
                                              const Split &split,
                                              const Mesh &mesh) {
  if (split.tp > mesh.devicesPerNode || mesh.devicesPerNode % split.tp != 0)
    return llvm::formatv("tp={0} does not fit a node of {1} devices "
                         "(tensor parallelism stays within a node)",
                         split.tp, mesh.devicesPerNode);
  if (split.pp > int64_t(model.layers.size()))
    return llvm::formatv("pp={0} is more stages than the {1} layers",
                         split.pp, model.layers.size());
  if (split.ep > 1 && model.moeLayers() == 0)
    return llvm::formatv("ep={0} needs MoE layers; the model has none",
                         split.ep);
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const LayerSummary &l = model.layers[i];
    if (l.heads % split.tp != 0)
      return llvm::formatv("tp={0} does not divide the {1} attention heads "
                           "(layer {2})",
                           split.tp, l.heads, i);
    if (l.kvCacheSplitsWithHeads && l.kvHeads % split.tp != 0 &&
        split.tp % l.kvHeads != 0)
      return llvm::formatv("tp={0} and the {1} KV heads of layer {2}: "
                           "neither divides the other",
                           split.tp, l.kvHeads, i);
    if (l.ffnDim % split.tp != 0 || l.sharedFfnDim % split.tp != 0)
      return llvm::formatv("tp={0} does not divide the FFN size {1} (layer "
                           "{2})",
                           split.tp,
                           l.ffnDim % split.tp ? l.ffnDim : l.sharedFfnDim,
                           i);
    if (l.moe && l.experts % split.ep != 0)
      return llvm::formatv("ep={0} does not divide the {1} experts (layer "
                           "{2})",
                           split.ep, l.experts, i);
  }
  return "";
}
