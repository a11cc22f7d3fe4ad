//===- ModelSummary.cpp - Model summaries from Hugging Face configs -------===//

#include "kiln/Planning/ModelSummary.h"

#include "JsonObject.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace kiln::planning;
using llvm::StringRef;

WeightBlock LayerSummary::total() const {
  WeightBlock t = attention;
  t += denseFfn;
  t += shared;
  t += router;
  t += norms;
  t.params += expert.params * experts;
  t.bytes += expert.bytes * experts;
  return t;
}

WeightBlock ModelSummary::total() const {
  WeightBlock t = embedding;
  t += lmHead;
  for (const LayerSummary &layer : layers)
    t += layer.total();
  return t;
}

int64_t ModelSummary::moeLayers() const {
  return llvm::count_if(layers, [](const LayerSummary &l) { return l.moe; });
}

namespace {
/// Reads integer fields of the config, remembering the first error.
struct ConfigReader {
  const llvm::json::Object &root;
  StringRef name;
  std::string error;

  /// The field, or `fallback` when absent (or null); -1 as a fallback
  /// makes it required.
  int64_t get(StringRef key, int64_t fallback = -1) {
    const llvm::json::Value *v = root.get(key);
    if (!v || v->kind() == llvm::json::Value::Null) {
      if (fallback < 0 && error.empty())
        error = (name + ": missing '" + key + "'").str();
      return fallback < 0 ? 0 : fallback;
    }
    std::optional<int64_t> i = v->getAsInteger();
    if (!i || *i < 0) {
      if (error.empty())
        error = (name + ": '" + key + "' must be a non-negative integer")
                    .str();
      return 0;
    }
    return *i;
  }
  bool has(StringRef key) {
    const llvm::json::Value *v = root.get(key);
    return v && v->kind() != llvm::json::Value::Null;
  }
};
} // namespace

/// The storage of a config's weights into `m` (compute and weight dtypes,
/// activation and KV cache bytes, notes) and the bytes of a float and of a
/// linear layer's weight: torch_dtype, with fp8 linear weights under an
/// fp8 quantization_config (DeepSeek-V3's checkpoints: e4m3, 128x128
/// blocks with an f32 scale each).
static llvm::Error readStorage(const llvm::json::Object &root, StringRef name,
                               ModelSummary &m, double &floatBytes,
                               double &linearBytes) {
  StringRef dtype = root.getString("torch_dtype")
                        .value_or(root.getString("dtype").value_or("bfloat16"));
  floatBytes = 2;
  if (dtype == "float32") {
    floatBytes = 4;
    m.computeDType = m.weightDType = "f32";
  } else if (dtype == "float16") {
    m.computeDType = m.weightDType = "f16";
  } else if (dtype != "bfloat16") {
    return llvm::createStringError(
        name.str() + ": torch_dtype '" + dtype.str() +
        "' is not supported (bfloat16, float16, float32)");
  }
  m.activationBytes = m.kvCacheBytes = floatBytes;
  linearBytes = floatBytes;
  if (const llvm::json::Object *q = root.getObject("quantization_config")) {
    StringRef method = q->getString("quant_method").value_or("");
    if (method != "fp8")
      return llvm::createStringError(
          name.str() + ": quantization_config with quant_method '" +
          method.str() + "' is not supported (fp8)");
    linearBytes = 1 + 4.0 / (128 * 128);
    m.computeDType = "fp8";
    m.weightDType = "fp8 e4m3 (128x128 block scales)";
    m.notes.push_back("linear weights in fp8 (1 byte + block scales); "
                      "embedding, LM head, router and norms in " +
                      dtype.str());
  }
  return llvm::Error::success();
}

llvm::Expected<ModelSummary>
kiln::planning::summarizeHFConfig(StringRef json, StringRef name) {
  llvm::Expected<llvm::json::Object> object = parseJsonObject(json, name);
  if (!object)
    return object.takeError();
  const llvm::json::Object *root = &*object;
  ConfigReader c{*root, name, ""};
  ModelSummary m;
  m.origin = "config.json";
  m.name = root->getString("_name_or_path").value_or(name).str();
  int64_t layers = c.get("num_hidden_layers");
  m.hidden = c.get("hidden_size");
  m.vocab = c.get("vocab_size");
  int64_t heads = c.get("num_attention_heads");
  int64_t kvHeads = c.get("num_key_value_heads", heads);
  int64_t headDim = c.get("head_dim", heads ? m.hidden / heads : 0);
  int64_t window = c.get("sliding_window", 0);
  if (root->getBoolean("use_sliding_window") == false)
    window = 0;
  int64_t experts = c.has("n_routed_experts")    ? c.get("n_routed_experts")
                    : c.has("num_local_experts") ? c.get("num_local_experts")
                                                 : c.get("num_experts", 0);
  int64_t topK = experts ? c.get("num_experts_per_tok") : 0;
  int64_t firstDense = c.get("first_k_dense_replace", 0);
  int64_t moeFreq = std::max<int64_t>(1, c.get("moe_layer_freq", 1));
  int64_t moeDim = experts ? c.get("moe_intermediate_size",
                                   c.has("intermediate_size")
                                       ? c.get("intermediate_size")
                                       : -1)
                           : 0;
  int64_t nShared = c.get("n_shared_experts", 0);
  int64_t sharedDim = nShared * moeDim;
  if (c.has("shared_expert_intermediate_size")) {
    sharedDim = c.get("shared_expert_intermediate_size");
    nShared = sharedDim ? 1 : 0;
  }
  bool anyDense = experts == 0 || firstDense > 0 || moeFreq > 1;
  int64_t ffnDim = anyDense ? c.get("intermediate_size") : 0;
  // MLA (DeepSeek-V2/V3): a compressed KV latent.
  bool mla = c.has("kv_lora_rank");
  int64_t kvLora = mla ? c.get("kv_lora_rank") : 0;
  int64_t qLora = mla ? c.get("q_lora_rank", 0) : 0;
  int64_t rope = mla ? c.get("qk_rope_head_dim") : 0;
  int64_t nope = mla ? c.get("qk_nope_head_dim") : 0;
  int64_t vDim = mla ? c.get("v_head_dim") : headDim;
  if (!c.error.empty())
    return llvm::createStringError(c.error);
  if (layers == 0 || m.hidden == 0 || heads == 0 || m.vocab == 0)
    return llvm::createStringError(
        name.str() + ": num_hidden_layers, hidden_size, num_attention_heads "
                     "and vocab_size must be positive");
  if (kvHeads == 0 || heads % kvHeads != 0)
    return llvm::createStringError(llvm::formatv(
        "{0}: num_key_value_heads ({1}) must divide num_attention_heads "
        "({2})",
        name, kvHeads, heads));
  if (experts && (topK == 0 || topK > experts))
    return llvm::createStringError(llvm::formatv(
        "{0}: num_experts_per_tok ({1}) must be between 1 and the {2} "
        "experts",
        name, topK, experts));

  double floatBytes = 2, linearBytes = 2;
  if (llvm::Error error = readStorage(*root, name, m, floatBytes, linearBytes))
    return std::move(error);
  auto linear = [&](double params) {
    return WeightBlock{params, params * linearBytes};
  };
  auto floats = [&](double params) {
    return WeightBlock{params, params * floatBytes};
  };

  double h = m.hidden;
  LayerSummary proto;
  proto.heads = heads;
  proto.kvHeads = kvHeads;
  proto.window = window;
  proto.norms = floats(2 * h);
  if (mla) {
    proto.qkHeadDim = nope + rope;
    proto.vHeadDim = vDim;
    proto.kvHeads = heads;
    double q = qLora ? h * qLora + qLora * heads * double(nope + rope) + qLora
                     : h * heads * double(nope + rope);
    double kv = h * double(kvLora + rope) + kvLora +
                double(kvLora) * heads * double(nope + vDim);
    proto.attention = linear(q + kv + double(heads) * vDim * h);
    proto.kvCacheElemsPerToken = kvLora + rope;
    proto.kvCacheSplitsWithHeads = false;
    m.notes.push_back(llvm::formatv(
        "MLA approximated as attention: {0} heads of q/k dim {1} and v dim "
        "{2} for FLOPs, caching the {3}-element latent per token (kv_lora_rank "
        "+ qk_rope_head_dim), held whole by every tensor-parallel rank",
        heads, nope + rope, vDim, kvLora + rope));
  } else {
    proto.qkHeadDim = proto.vHeadDim = headDim;
    proto.attention =
        linear(h * headDim * double(2 * heads + 2 * kvHeads));
    proto.kvCacheElemsPerToken = 2.0 * kvHeads * headDim;
  }
  for (int64_t i = 0; i < layers; ++i) {
    LayerSummary layer = proto;
    layer.moe = experts > 0 && i >= firstDense && i % moeFreq == 0;
    if (layer.moe) {
      layer.experts = experts;
      layer.topK = topK;
      layer.ffnDim = moeDim;
      layer.sharedExperts = nShared;
      layer.sharedFfnDim = sharedDim;
      layer.expert = linear(3 * h * moeDim);
      layer.shared = linear(3 * h * sharedDim);
      layer.router = floats(h * experts);
    } else {
      layer.ffnDim = ffnDim;
      layer.denseFfn = linear(3 * h * ffnDim);
    }
    m.layers.push_back(layer);
  }
  m.embedding = floats(h * m.vocab);
  m.lmHead = floats(h * m.vocab + h);
  if (root->getBoolean("tie_word_embeddings").value_or(false))
    m.notes.push_back("tied embeddings counted twice (the LM head's stage "
                      "holds its own copy)");
  if (c.get("num_nextn_predict_layers", 0) > 0)
    m.notes.push_back("multi-token prediction layers "
                      "(num_nextn_predict_layers) left out");
  m.notes.push_back("FFNs taken as SwiGLU (3 matrices); biases left out");
  return m;
}

llvm::Expected<ModelSummary> kiln::planning::loadHFConfig(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return llvm::createStringError("cannot read '" + path.str() +
                                   "': " + buffer.getError().message());
  llvm::Expected<ModelSummary> m =
      summarizeHFConfig((*buffer)->getBuffer(), llvm::sys::path::filename(path));
  if (m && m->name == llvm::sys::path::filename(path))
    m->name = llvm::sys::path::stem(path).str();
  return m;
}
