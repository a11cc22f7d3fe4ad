//===- planning_test.cpp - The planner's cost model by hand ---------------===//
//
// Each expectation is computed by hand from the formulas in CostModel.h
// (the arithmetic is in the comments), so a changed formula fails here.
//
//===----------------------------------------------------------------------===//

#include "kiln/Planning/Planner.h"

#include "llvm/Support/FormatVariadic.h"

#include <gtest/gtest.h>

using namespace kiln::planning;

namespace {

constexpr double GiB = 1024.0 * 1024.0 * 1024.0;

std::string errorText(llvm::Error error) {
  return llvm::toString(std::move(error));
}

/// A round-numbered machine: 100 TFLOP/s bf16, 1 TB/s, 100 GB/s and 1 us in
/// a node, 10 GB/s and 10 us between nodes, 8 devices of 10 GiB.
Machine testMachine() {
  Machine m;
  m.name = "test";
  m.devicesPerNode = 8;
  m.memoryBytes = 10 * GiB;
  m.usableMemoryFraction = 1;
  m.memoryBandwidth = 1e12;
  m.flops = {{"bf16", 100e12}};
  m.intraNodeBandwidth = 100e9;
  m.intraNodeLatency = 1e-6;
  m.interNodeBandwidth = 10e9;
  m.interNodeLatency = 10e-6;
  return m;
}

/// hidden 1024, 8 heads of 128 (MHA), dense SwiGLU FFN 4096, bf16.
ModelSummary denseModel(int layers) {
  llvm::Expected<ModelSummary> m = summarizeHFConfig(
      llvm::formatv(R"({{"num_hidden_layers": {0}, "hidden_size": 1024,
          "num_attention_heads": 8, "intermediate_size": 4096,
          "vocab_size": 1000, "torch_dtype": "bfloat16"})",
                    layers)
          .str(),
      "dense");
  EXPECT_TRUE(bool(m));
  return *m;
}

} // namespace

TEST(Collectives, RingAllReduce) {
  // 2 * 7/8 * 1 MiB / 450 GB/s + 14 * 1.5 us = 4.0778 us + 21 us.
  EXPECT_NEAR(ringAllReduceTime(1048576, 8, 450e9, 1.5e-6), 25.0778e-6,
              1e-9);
  EXPECT_EQ(ringAllReduceTime(1048576, 1, 450e9, 1.5e-6), 0);
  // 1/2 * 1 MB / 100 GB/s + 1 us.
  EXPECT_NEAR(ringAllGatherTime(1e6, 2, 100e9, 1e-6), 6e-6, 1e-12);
}

TEST(Collectives, AllToAllAcrossNodes) {
  // 8 MB over 16 ranks, 8 per node: 7/16 stays (3.5 MB / 450 GB/s =
  // 7.8 us), 8/16 leaves (4 MB / 50 GB/s = 80 us); the slower + 5 us.
  EXPECT_NEAR(allToAllTime(8e6, 16, 8, 450e9, 50e9, 5e-6), 85e-6, 1e-9);
  // In one node: 7/8 of 8 MB over 450 GB/s + 1 us.
  EXPECT_NEAR(allToAllTime(8e6, 8, 8, 450e9, 50e9, 1e-6),
              7e6 / 450e9 + 1e-6, 1e-12);
  EXPECT_EQ(allToAllTime(8e6, 1, 1, 450e9, 50e9, 1e-6), 0);
}

TEST(Collectives, PipelineAndExperts) {
  EXPECT_DOUBLE_EQ(pipelineBubbleFraction(4, 8), 3.0 / 8);
  EXPECT_DOUBLE_EQ(pipelineBubbleFraction(1, 1), 0);
  EXPECT_DOUBLE_EQ(sendRecvTime(1e6, 1e9, 1e-6), 1.001e-3);
  // 256 (1 - (255/256)^8) = 7.8915: eight tokens rarely share an expert.
  EXPECT_NEAR(expectedActiveExperts(256, 8), 7.8915, 1e-4);
  // Many assignments activate them all.
  EXPECT_NEAR(expectedActiveExperts(8, 1000), 8, 1e-9);
}

TEST(CostModel, DenseLayerTensorParallel) {
  Machine machine = testMachine();
  ModelSummary model = denseModel(1);
  const LayerSummary &layer = model.layers[0];
  // q, k, v, o: 1024 * 128 * (8 + 8 + 8 + 8) = 4194304; FFN 3 * 1024 *
  // 4096 = 12582912.
  EXPECT_EQ(layer.attention.params, 4194304);
  EXPECT_EQ(layer.denseFfn.params, 12582912);
  Split split{2, 1, 1, 1};
  DeviceLoad load;
  load.sequences = load.groupSequences = 4;
  load.context = load.cachePositions = 1000;
  LayerCost c = costLayer(layer, model, machine, split, load, 4, {1});
  // 2 * 4194304 / 2 * 4 + 2 * 4 heads * 256 * 4 tokens * 1000 keys
  // + 2 * 12582912 / 2 * 4 = 16777216 + 8192000 + 50331648.
  EXPECT_DOUBLE_EQ(c.flops, 75300864);
  EXPECT_EQ(c.heads, 4);
  // Weights: half the attention and FFN, the norms whole.
  EXPECT_DOUBLE_EQ(c.weightBytes, 8388608 / 2 + 25165824 / 2 + 4096);
  // KV: 4 of 8 heads * 256 elements * 2 bytes = 2048 B per token, 4
  // sequences of 1000 positions.
  EXPECT_DOUBLE_EQ(c.kvCacheBytes, 8192000);
  // Activations (4 * 4 * 1024 + 4 * 2 * 4096 / 2) * 2 B = 65536.
  EXPECT_DOUBLE_EQ(c.activationBytes, 65536);
  // Weights + KV + activations twice: memory-bound at 1 TB/s.
  EXPECT_DOUBLE_EQ(c.bytesMoved, 16781312 + 8192000 + 131072);
  EXPECT_NEAR(c.memorySeconds, 25.104384e-6, 1e-12);
  EXPECT_NEAR(c.computeSeconds, 0.75300864e-6, 1e-12);
  // Two all-reduces of 4 * 1024 * 2 B over 2 ranks: 2 * (1/2 * 2 * 8192 /
  // 100 GB/s + 2 * 1 us).
  EXPECT_EQ(c.allReduces, 2);
  EXPECT_NEAR(c.allReduceSeconds, 2 * (8192 / 100e9 + 2e-6), 1e-12);
  EXPECT_NEAR(c.seconds(), 25.104384e-6 + 4.16384e-6, 1e-12);
}

TEST(CostModel, MoELayerExpertParallel) {
  Machine machine = testMachine();
  llvm::Expected<ModelSummary> m = summarizeHFConfig(
      R"({"num_hidden_layers": 1, "hidden_size": 1024,
          "num_attention_heads": 8, "num_key_value_heads": 2,
          "num_local_experts": 8, "num_experts_per_tok": 2,
          "intermediate_size": 512, "vocab_size": 1000})",
      "moe");
  ASSERT_TRUE(bool(m)) << errorText(m.takeError());
  const LayerSummary &layer = m->layers[0];
  ASSERT_TRUE(layer.moe);
  EXPECT_EQ(layer.expert.params, 3 * 1024 * 512);
  Split split{1, 2, 1, 1};
  DeviceLoad load;
  load.groupSequences = 4;
  load.sequences = 2; // 4 sequences over 2 ep ranks
  load.context = load.cachePositions = 100;
  LayerCost c = costLayer(layer, *m, machine, split, load, 2, {2});
  EXPECT_EQ(c.experts, 4);
  // 8 assignments, 4 per rank: 2 * 1572864 * 4 expert FLOPs, plus
  // attention (2 * 1024 * 128 * (8 + 2 + 2 + 8) * 2 tokens + 2 * 8 * 256 *
  // 2 * 100) and the router (2 * 8192 * 2).
  double attention = 2.0 * 1024 * 128 * 20 * 2 + 2.0 * 8 * 256 * 2 * 100;
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * 1572864 * 4 + attention + 2.0 * 8192 * 2);
  // Resident: 4 experts of 3145728 B, attention, router, norms.
  EXPECT_DOUBLE_EQ(c.weightBytes,
                   4 * 3145728.0 + 2 * 1024 * 128 * 20 + 16384 + 4096);
  // Read: the expected active experts of this rank (8 (1 - (7/8)^8) / 2 =
  // 2.6256), not all four.
  double read = 2.6255643 * 3145728 + 2 * 1024 * 128 * 20 + 16384 + 4096;
  double kv = 2 * 100 * (2 * 2 * 128) * 2.0;
  EXPECT_NEAR(c.bytesMoved - 2 * c.activationBytes, read + kv, 1);
  // Dispatch and combine: 2 tokens * 2 copies * 1024 * 2 B, half leaves
  // the rank: 2 * (4096 / 100 GB/s + 1 us).
  EXPECT_EQ(c.allToAlls, 2);
  EXPECT_DOUBLE_EQ(c.allToAllBytes, 8192);
  EXPECT_NEAR(c.allToAllSeconds, 2 * (4096 / 100e9 + 1e-6), 1e-12);
  EXPECT_EQ(c.allReduces, 0);
}

TEST(CostModel, Divisibility) {
  ModelSummary model = denseModel(4);
  Mesh mesh{1, 8};
  EXPECT_EQ(checkDivisibility(model, {2, 1, 2, 2}, mesh), "");
  EXPECT_EQ(checkDivisibility(model, {3, 1, 1, 1}, Mesh{1, 3}),
            "tp=3 does not divide the 8 attention heads (layer 0)");
  EXPECT_EQ(checkDivisibility(model, {1, 2, 1, 1}, mesh),
            "ep=2 needs MoE layers; the model has none");
  EXPECT_EQ(checkDivisibility(model, {1, 1, 8, 1}, mesh),
            "pp=8 is more stages than the 4 layers");
  EXPECT_EQ(checkDivisibility(model, {16, 1, 1, 1}, Mesh{2, 8}),
            "tp=16 does not fit a node of 8 devices (tensor parallelism "
            "stays within a node)");
}

TEST(Machine, PresetsAndFiles) {
  llvm::Expected<Machine> h100 = lookupMachinePreset("h100-nvlink");
  ASSERT_TRUE(bool(h100));
  EXPECT_DOUBLE_EQ(h100->rate("bf16"), 989e12);
  EXPECT_DOUBLE_EQ(h100->rate("fp8"), 1979e12);
  EXPECT_DOUBLE_EQ(h100->memoryBandwidth, 3.35e12);
  llvm::Expected<Machine> cpu = lookupMachinePreset("cpu");
  ASSERT_TRUE(bool(cpu));
  // No fp8 rate: bf16's.
  EXPECT_DOUBLE_EQ(cpu->rate("fp8"), cpu->rate("bf16"));

  llvm::Expected<Machine> unknown = lookupMachinePreset("a100");
  ASSERT_FALSE(bool(unknown));
  EXPECT_EQ(errorText(unknown.takeError()),
            "unknown machine 'a100': a preset (h100-nvlink, h100-pcie, cpu) "
            "or a .json machine file");

  llvm::Expected<Machine> file = parseMachine(
      R"({"name": "a100", "devices_per_node": 8, "memory_gib": 80,
          "memory_bandwidth_gbs": 2039, "tflops": {"bf16": 312},
          "intra_node": {"bandwidth_gbs": 300, "latency_us": 2},
          "inter_node": {"bandwidth_gbs": 25, "latency_us": 8}})",
      "a100.json");
  ASSERT_TRUE(bool(file)) << errorText(file.takeError());
  EXPECT_EQ(file->name, "a100");
  EXPECT_DOUBLE_EQ(file->memoryBytes, 80 * GiB);
  EXPECT_DOUBLE_EQ(file->rate("f32"), 312e12);
  EXPECT_DOUBLE_EQ(file->interNodeLatency, 8e-6);

  llvm::Expected<Machine> missing = parseMachine(
      R"({"devices_per_node": 8, "memory_gib": 80, "tflops": {"bf16": 1}})",
      "m.json");
  ASSERT_FALSE(bool(missing));
  EXPECT_EQ(errorText(missing.takeError()),
            "m.json: missing 'memory_bandwidth_gbs'");
}

TEST(Machine, Mesh) {
  Machine h100 = *lookupMachinePreset("h100-nvlink");
  llvm::Expected<Mesh> one = makeMesh(h100, 4, "");
  ASSERT_TRUE(bool(one));
  EXPECT_EQ(one->nodes, 1);
  EXPECT_EQ(one->devicesPerNode, 4);
  llvm::Expected<Mesh> two = makeMesh(h100, 16, "");
  ASSERT_TRUE(bool(two));
  EXPECT_EQ(two->nodes, 2);
  llvm::Expected<Mesh> odd = makeMesh(h100, 12, "");
  ASSERT_FALSE(bool(odd));
  EXPECT_EQ(errorText(odd.takeError()),
            "--devices 12 is not a whole number of h100-nvlink's nodes of 8 "
            "devices; give --mesh NODESxDEVICES");
  llvm::Expected<Mesh> mesh = makeMesh(h100, 0, "2x4");
  ASSERT_TRUE(bool(mesh));
  EXPECT_EQ(mesh->devices(), 8);
}

TEST(ModelSummary, HuggingFaceConfigs) {
  // Mixtral 8x7B's config.json (the fields that matter).
  llvm::Expected<ModelSummary> mixtral = summarizeHFConfig(
      R"({"num_hidden_layers": 32, "hidden_size": 4096,
          "num_attention_heads": 32, "num_key_value_heads": 8,
          "intermediate_size": 14336, "num_local_experts": 8,
          "num_experts_per_tok": 2, "vocab_size": 32000,
          "torch_dtype": "bfloat16", "sliding_window": null})",
      "mixtral");
  ASSERT_TRUE(bool(mixtral)) << errorText(mixtral.takeError());
  // 32 * (4096 * 128 * 80 + 8 * 3 * 4096 * 14336 + 4096 * 8 + 2 * 4096)
  // + 2 * 32000 * 4096 + 4096 = 46.70 B: Mixtral's published 46.7 B.
  EXPECT_NEAR(mixtral->total().params / 1e9, 46.70, 0.01);
  EXPECT_EQ(mixtral->moeLayers(), 32);
  EXPECT_EQ(mixtral->layers[0].window, 0);

  llvm::Expected<ModelSummary> missing = summarizeHFConfig(
      R"({"num_hidden_layers": 2, "num_attention_heads": 4,
          "vocab_size": 10, "intermediate_size": 8})",
      "config.json");
  ASSERT_FALSE(bool(missing));
  EXPECT_EQ(errorText(missing.takeError()),
            "config.json: missing 'hidden_size'");

  llvm::Expected<ModelSummary> badType = summarizeHFConfig(
      R"({"num_hidden_layers": 2, "hidden_size": "big"})", "config.json");
  ASSERT_FALSE(bool(badType));
  EXPECT_EQ(errorText(badType.takeError()),
            "config.json: 'hidden_size' must be a non-negative integer");
}

TEST(Planner, MixtralOnTwoH100s) {
  Machine h100 = *lookupMachinePreset("h100-nvlink");
  ModelSummary model = *summarizeHFConfig(
      R"({"num_hidden_layers": 32, "hidden_size": 4096,
          "num_attention_heads": 32, "num_key_value_heads": 8,
          "intermediate_size": 14336, "num_local_experts": 8,
          "num_experts_per_tok": 2, "vocab_size": 32000})",
      "mixtral");
  PlanRequest request;
  request.mesh = Mesh{1, 2};
  request.workload.batch = 8;
  llvm::Expected<Plan> plan = planParallelism(model, h100, request);
  ASSERT_TRUE(bool(plan)) << errorText(plan.takeError());
  // 87 GiB of weights: two replicas (dp=2) cannot fit 72 GiB each.
  EXPECT_EQ(plan->best().split.dp, 1);
  for (const Candidate &c : plan->ranked)
    EXPECT_NE(c.split.dp, 2);
  // Pipeline stages cover every layer once.
  for (const Candidate &c : plan->ranked) {
    int64_t next = 0;
    for (const StagePlan &s : c.stages) {
      EXPECT_EQ(s.firstLayer, next);
      EXPECT_GT(s.endLayer, s.firstLayer);
      next = s.endLayer;
    }
    EXPECT_EQ(next, 32);
  }

  // One device cannot hold it: the error says how much is needed.
  request.mesh = Mesh{1, 1};
  llvm::Expected<Plan> none = planParallelism(model, h100, request);
  ASSERT_FALSE(bool(none));
  std::string text = errorText(none.takeError());
  EXPECT_NE(text.find("mixtral does not fit 1 x h100-nvlink: the least "
                      "memory any valid split needs is "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("a device has 72.0 GiB usable of 80.0 GiB; the "
                      "weights alone are 87.0 GiB"),
            std::string::npos)
      << text;

  // A fixed split that does not divide the heads says so.
  request.mesh = Mesh{1, 2};
  request.fixed = Split{0, 0, 0, 0};
  Mesh three{1, 3};
  request.mesh = three;
  request.fixed.tp = 3;
  llvm::Expected<Plan> bad = planParallelism(model, h100, request);
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(errorText(bad.takeError()),
            "no valid plan for mixtral on 3 devices: tp=3 does not divide "
            "the 32 attention heads (layer 0)");
}

TEST(Planner, RefusedByTheCaller) {
  // A compile for the plan refuses the splits that do not execute: they
  // are listed among the refused with the caller's reason, and none wins.
  Machine machine = testMachine();
  machine.memoryBytes = 1000 * GiB;
  ModelSummary model = *summarizeHFConfig(
      R"({"num_hidden_layers": 4, "hidden_size": 1024,
          "num_attention_heads": 8, "intermediate_size": 4096,
          "num_local_experts": 4, "num_experts_per_tok": 2,
          "vocab_size": 1000, "torch_dtype": "bfloat16"})",
      "moe");
  PlanRequest request;
  request.mesh = Mesh{1, 4};
  request.fixed = Split{1, 0, 0, 1};
  request.refuse = [](const Split &split) -> std::string {
    return split.ep > 1 && split.pp > 1 ? "not both" : "";
  };
  llvm::Expected<Plan> plan = planParallelism(model, machine, request);
  ASSERT_TRUE(bool(plan)) << errorText(plan.takeError());
  for (const Candidate &c : plan->ranked)
    EXPECT_FALSE(c.split.ep > 1 && c.split.pp > 1) << c.split.str();
  ASSERT_EQ(plan->rejected.size(), 1u);
  EXPECT_EQ(plan->rejected[0].split, (Split{1, 2, 2, 1}));
  EXPECT_EQ(plan->rejected[0].rejected, "not both");
  // Fixed to a refused split: the plan fails with the caller's reason.
  request.fixed = Split{1, 2, 2, 1};
  llvm::Expected<Plan> none = planParallelism(model, machine, request);
  ASSERT_FALSE(bool(none));
  EXPECT_EQ(errorText(none.takeError()),
            "no valid plan for moe on 4 devices: not both");
}

TEST(Planner, ParallelSpec) {
  llvm::Expected<Split> any = parseParallelSpec("auto");
  ASSERT_TRUE(bool(any));
  EXPECT_EQ(any->tp, 0);
  llvm::Expected<Split> fixed = parseParallelSpec("tp=2,ep=4,pp=2,dp=1");
  ASSERT_TRUE(bool(fixed));
  EXPECT_EQ(*fixed, (Split{2, 4, 2, 1}));
  llvm::Expected<Split> bad = parseParallelSpec("tp=2,xp=4");
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(errorText(bad.takeError()),
            "--parallel expects 'auto' or a comma list of tp=N, ep=N, pp=N, "
            "dp=N (N >= 1), got 'tp=2,xp=4'");
}

TEST(Planner, StagesBalancedAndStepTime) {
  Machine machine = testMachine();
  machine.memoryBytes = 1000 * GiB;
  ModelSummary model = denseModel(6);
  PlanRequest request;
  request.mesh = Mesh{1, 3};
  request.workload.batch = 6;
  request.workload.seq = 128;
  // Six equal layers over three stages: two each (the embedding and LM
  // head are small next to a layer).
  Candidate c = evaluateSplit(model, machine, request, Split{1, 1, 3, 1});
  ASSERT_EQ(c.stages.size(), 3u);
  for (int s = 0; s < 3; ++s) {
    EXPECT_EQ(c.stages[s].firstLayer, 2 * s);
    EXPECT_EQ(c.stages[s].endLayer, 2 * s + 2);
  }
  // min(pp, sequences) = 3 micro-batches of 2 sequences; a step is
  // (3 + 3 - 1) slowest-stage times, and throughput counts max(m, pp) = 3
  // of them for the 6 sequences' tokens.
  EXPECT_EQ(c.microbatches, 3);
  EXPECT_EQ(c.microbatchSequences, 2);
  EXPECT_DOUBLE_EQ(c.stepSeconds, 5 * c.stageSeconds);
  EXPECT_DOUBLE_EQ(c.tokensPerSecond, 6 / (3 * c.stageSeconds));
  double slowest = 0;
  for (const StagePlan &s : c.stages)
    slowest = std::max(slowest, s.seconds());
  EXPECT_DOUBLE_EQ(c.stageSeconds, slowest);

  // Data parallelism: each replica serves batch / dp sequences, no
  // pipeline: the step is one stage time.
  Candidate d = evaluateSplit(model, machine, request, Split{1, 1, 1, 3});
  EXPECT_EQ(d.replicaSequences, 2);
  EXPECT_EQ(d.microbatches, 1);
  EXPECT_DOUBLE_EQ(d.stepSeconds, d.stageSeconds);
  EXPECT_DOUBLE_EQ(d.tokensPerSecond, 6 / d.stageSeconds);
}

TEST(Planner, StagesRebalancedToFitMemory) {
  // Two dense layers (slow to read: a large FFN) then two MoE layers
  // (large to hold: 64 experts, of which a decode step reads one).
  llvm::Expected<ModelSummary> model = summarizeHFConfig(
      R"({"num_hidden_layers": 4, "hidden_size": 1024,
          "num_attention_heads": 8, "intermediate_size": 16384,
          "n_routed_experts": 64, "num_experts_per_tok": 1,
          "moe_intermediate_size": 1024, "first_k_dense_replace": 2,
          "vocab_size": 1000})",
      "mixed");
  ASSERT_TRUE(bool(model)) << errorText(model.takeError());
  Machine machine = testMachine();
  PlanRequest request;
  request.mesh = Mesh{1, 2};
  request.workload.seq = 16;
  Split split{1, 1, 2, 1};
  // Ample memory: balanced by time, the two slow dense layers apart.
  machine.memoryBytes = 100 * GiB;
  Candidate byTime = evaluateSplit(*model, machine, request, split);
  EXPECT_EQ(byTime.stages[0].endLayer, 1);
  // A dense layer holds 104 MiB (attention 8, FFN 96), a MoE layer 392
  // MiB (attention 8, experts 384): with 640 MiB per device [0, 1) | [1, 4)
  // (888 MiB in stage 1) and [0, 2) | [2, 4) (784) do not fit; only
  // [0, 3) | [3, 4) (600 and 392 MiB, plus embedding and LM head) does.
  machine.memoryBytes = 640.0 * 1024 * 1024;
  Candidate byMemory = evaluateSplit(*model, machine, request, split);
  EXPECT_EQ(byMemory.stages[0].endLayer, 3);
  EXPECT_LE(byMemory.peakMemoryBytes, machine.usableMemory());
}
