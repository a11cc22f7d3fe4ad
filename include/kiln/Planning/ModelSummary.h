//===- ModelSummary.h - What the planner knows of a model -------*- C++ -*-===//
//
// Per decoder layer: its attention (heads, KV heads, head dims, window,
// KV-cache size per token), its FFN (dense, or MoE: experts, top-k, shared
// experts) and the parameters and bytes of each weight block; plus the
// embedding and LM head. Built from a Hugging Face config.json
// (summarizeHFConfig) or from raised Kiln IR (ModelFromIR.h).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PLANNING_MODELSUMMARY_H
#define KILN_PLANNING_MODELSUMMARY_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::planning {

/// A group of weights: parameters (for FLOPs) and stored bytes (for memory
/// and bandwidth; quantized weights take fewer bytes per parameter).
struct WeightBlock {
  double params = 0, bytes = 0;
  WeightBlock &operator+=(const WeightBlock &o) {
    params += o.params;
    bytes += o.bytes;
    return *this;
  }
};

struct LayerSummary {
  // Attention.
  int64_t heads = 0, kvHeads = 0, qkHeadDim = 0, vHeadDim = 0;
  /// Keys a query sees to its left (sliding window); 0: all of them.
  int64_t window = 0;
  /// KV-cache elements per token, over all KV heads (keys and values).
  double kvCacheElemsPerToken = 0;
  /// False when the cache is one latent shared by all heads (MLA): every
  /// tensor-parallel rank then holds all of it.
  bool kvCacheSplitsWithHeads = true;
  WeightBlock attention;
  // FFN: dense (moe false) or mixture of experts.
  bool moe = false;
  int64_t experts = 0, topK = 0, sharedExperts = 0;
  /// The dense FFN's or one routed expert's intermediate size.
  int64_t ffnDim = 0;
  /// All shared experts together (their intermediate sizes summed).
  int64_t sharedFfnDim = 0;
  WeightBlock denseFfn;
  /// One routed expert.
  WeightBlock expert;
  WeightBlock shared, router, norms;

  /// Every weight of the layer.
  WeightBlock total() const;
};

struct ModelSummary {
  std::string name;
  /// "config.json" or "raised Kiln IR".
  std::string origin;
  int64_t hidden = 0, vocab = 0;
  /// The dtype matrix products compute in ("bf16", "f32", "fp8").
  std::string computeDType = "bf16";
  /// How the weights are stored, for the reader ("bf16", "fp8 e4m3").
  std::string weightDType = "bf16";
  double activationBytes = 2, kvCacheBytes = 2;
  WeightBlock embedding, lmHead;
  std::vector<LayerSummary> layers;
  /// Approximations made while summarizing, printed with the plan.
  std::vector<std::string> notes;

  WeightBlock total() const;
  int64_t moeLayers() const;
};

/// Builds the summary from a Hugging Face config.json's text (`name` names
/// the model and errors). Reads num_hidden_layers, hidden_size,
/// num_attention_heads, num_key_value_heads, head_dim, intermediate_size,
/// vocab_size, tie_word_embeddings, torch_dtype, sliding_window; MoE:
/// num_local_experts / n_routed_experts / num_experts,
/// num_experts_per_tok, n_shared_experts, moe_intermediate_size,
/// shared_expert_intermediate_size, first_k_dense_replace, moe_layer_freq;
/// MLA: kv_lora_rank, q_lora_rank, qk_nope_head_dim, qk_rope_head_dim,
/// v_head_dim; quantization_config with quant_method fp8.
llvm::Expected<ModelSummary> summarizeHFConfig(llvm::StringRef json,
                                               llvm::StringRef name);

/// Reads and summarizes a config.json file.
llvm::Expected<ModelSummary> loadHFConfig(llvm::StringRef path);

} // namespace kiln::planning

#endif // KILN_PLANNING_MODELSUMMARY_H
