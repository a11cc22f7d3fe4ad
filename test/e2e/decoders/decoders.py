"""The decoder corpus: tiny decoders in the styles of the model families
Kiln is meant to compile, each written the way the family's Hugging Face
modeling code writes it (transformers 4.36-4.40, the code torch.onnx
exports), so that their ONNX exports carry those families' node patterns.

Every model takes `tokens` int64 [1, SEQ] and returns `logits` float32
[1, SEQ, vocab]; 2 layers, hidden 64, 4 query heads of 16, vocab 128,
random weights from a fixed seed per model (no training). `MODELS` maps a
name to (builder, the style features it exercises); `build(name)` returns
the model in eval mode and `tokens(name)` the input the check uses.

Used by check_decoders.py (export, raise, compile, run, compare); see
README.md beside it for what each model raises today.
"""
import math
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "examples", "tools"))
import tiny_lm  # noqa: E402  (HF's RMSNorm and rotate_half, as the examples)

SEQ = 12
VOCAB = 128
HIDDEN = 64
HEADS = 4
HEAD_DIM = HIDDEN // HEADS
LAYERS = 2
FFN = 128          # dense MLP width
EXPERT_FFN = 32    # MoE expert width


# ---------------------------------------------------------------- norms

class RMSNorm(tiny_lm.RMSNorm):
    """LlamaRMSNorm (tiny_lm's, as HF writes it) with random weights."""

    def __init__(self, hidden=HIDDEN, eps=1e-6):
        super().__init__(hidden, eps)
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(hidden))


class GemmaRMSNorm(nn.Module):
    """GemmaRMSNorm: the weight is stored as an offset from 1."""

    def __init__(self, dim=HIDDEN, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(0.1 * torch.randn(dim))

    def _norm(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        output = self._norm(x.float())
        output = output * (1.0 + self.weight.float())
        return output.type_as(x)


# ---------------------------------------------------------------- rotary

rotate_half = tiny_lm.rotate_half


def rotate_every_two(x):
    """GPT-J's interleaved rotation: pairs of adjacent features."""
    x1 = x[:, :, :, ::2]
    x2 = x[:, :, :, 1::2]
    x = torch.stack((-x2, x1), dim=-1)
    return x.flatten(-2)


class CachedRotary(tiny_lm.RotaryEmbedding):
    """LlamaRotaryEmbedding of transformers 4.36 (Mistral, Mixtral, Qwen2,
    Phi, DeepSeek): cos/sin caches sliced to the sequence (tiny_lm's)."""

    def __init__(self, dim, max_positions=SEQ, base=10000.0):
        super().__init__(dim, max_positions, base)


class DynamicRotary(nn.Module):
    """LlamaRotaryEmbedding of transformers 4.38+ (Llama, Gemma): no cache,
    cos/sin of inv_freq @ position_ids."""

    def __init__(self, dim, base=10000.0):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x, position_ids):
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(
            position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype=x.dtype), emb.sin().to(dtype=x.dtype)


def apply_rotary_pos_emb(q, k, cos, sin, position_ids=None, unsqueeze_dim=1):
    """HF's apply_rotary_pos_emb: 4.36 gathers the cache rows by
    position_ids, 4.38+ receives them already [B, S, D]."""
    if position_ids is not None:
        cos, sin = cos[position_ids], sin[position_ids]
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states, n_rep):
    """HF's repeat_kv: [B, KV, S, D] -> [B, KV * n_rep, S, D] by expand and
    reshape."""
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(
        batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


# ---------------------------------------------------------------- masks

def triu_mask(seq, dtype):
    """Llama 4.38+: finfo.min above the diagonal by torch.triu, added."""
    mask = torch.full((seq, seq), torch.finfo(dtype).min, dtype=dtype)
    return torch.triu(mask, diagonal=1)[None, None]


def arange_causal_mask(seq, dtype, sliding_window=None):
    """AttentionMaskConverter._make_causal_mask (transformers 4.36): the
    lower triangle zeroed through an arange comparison; with a sliding
    window, keys `sliding_window` or more behind the query masked again
    through torch.tril (Mistral)."""
    mask = torch.full((seq, seq), torch.finfo(dtype).min)
    mask_cond = torch.arange(mask.size(-1))
    mask.masked_fill_(mask_cond < (mask_cond + 1).view(mask.size(-1), 1), 0)
    mask = mask.to(dtype)
    if sliding_window is not None:
        context_mask = torch.tril(torch.ones_like(mask, dtype=torch.bool),
                                  diagonal=-sliding_window)
        mask.masked_fill_(context_mask, torch.finfo(dtype).min)
    return mask[None, None, :, :]


# ---------------------------------------------------------------- Llama family

class LlamaMLP(nn.Module):
    def __init__(self, hidden=HIDDEN, inter=FFN, act=F.silu):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)
        self.act_fn = act

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class LlamaAttention(nn.Module):
    """Llama/Mistral/Qwen2/Gemma attention: separate projections (biases on
    q, k, v for Qwen2), GQA by repeat_kv, RoPE by halves, an additive mask,
    softmax in f32."""

    def __init__(self, kv_heads=2, qkv_bias=False, rotary="cached"):
        super().__init__()
        self.num_heads, self.num_key_value_heads = HEADS, kv_heads
        self.num_key_value_groups = HEADS // kv_heads
        self.head_dim = HEAD_DIM
        self.q_proj = nn.Linear(HIDDEN, HEADS * HEAD_DIM, bias=qkv_bias)
        self.k_proj = nn.Linear(HIDDEN, kv_heads * HEAD_DIM, bias=qkv_bias)
        self.v_proj = nn.Linear(HIDDEN, kv_heads * HEAD_DIM, bias=qkv_bias)
        self.o_proj = nn.Linear(HEADS * HEAD_DIM, HIDDEN, bias=False)
        self.rotary = rotary
        self.rotary_emb = (CachedRotary(HEAD_DIM) if rotary == "cached"
                           else DynamicRotary(HEAD_DIM))

    def forward(self, hidden_states, attention_mask, position_ids):
        bsz, q_len, _ = hidden_states.size()
        query_states = self.q_proj(hidden_states).view(
            bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(
            bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(
            bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)

        if self.rotary == "cached":
            cos, sin = self.rotary_emb(value_states, seq_len=q_len)
            query_states, key_states = apply_rotary_pos_emb(
                query_states, key_states, cos, sin, position_ids)
        else:
            cos, sin = self.rotary_emb(value_states, position_ids)
            query_states, key_states = apply_rotary_pos_emb(
                query_states, key_states, cos, sin)

        key_states = repeat_kv(key_states, self.num_key_value_groups)
        value_states = repeat_kv(value_states, self.num_key_value_groups)

        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) / math.sqrt(self.head_dim)
        attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query_states.dtype)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous()
        attn_output = attn_output.reshape(bsz, q_len, HIDDEN)
        return self.o_proj(attn_output)


class LlamaLayer(nn.Module):
    def __init__(self, attn, mlp, norm=RMSNorm):
        super().__init__()
        self.self_attn = attn
        self.mlp = mlp
        self.input_layernorm = norm()
        self.post_attention_layernorm = norm()

    def forward(self, hidden_states, attention_mask, position_ids):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states = self.self_attn(hidden_states, attention_mask, position_ids)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        return residual + hidden_states


class LlamaLM(nn.Module):
    """LlamaForCausalLM and its relatives: embedding (times sqrt(hidden)
    for Gemma), the layers, a final norm, the LM head (tied for Gemma)."""

    def __init__(self, make_layer, make_mask, norm=RMSNorm, embed_scale=False,
                 tied=False):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, HIDDEN)
        self.layers = nn.ModuleList([make_layer() for _ in range(LAYERS)])
        self.norm = norm()
        self.make_mask = make_mask
        self.embed_scale = embed_scale
        self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)
        if tied:
            self.lm_head.weight = self.embed_tokens.weight

    def forward(self, input_ids):
        seq_length = input_ids.shape[1]
        position_ids = torch.arange(seq_length, dtype=torch.long).unsqueeze(0)
        hidden_states = self.embed_tokens(input_ids)
        if self.embed_scale:
            normalizer = torch.tensor(HIDDEN ** 0.5, dtype=hidden_states.dtype)
            hidden_states = hidden_states * normalizer
        attention_mask = self.make_mask(seq_length, hidden_states.dtype)
        for layer in self.layers:
            hidden_states = layer(hidden_states, attention_mask, position_ids)
        hidden_states = self.norm(hidden_states)
        return self.lm_head(hidden_states).float()


def llama():
    return LlamaLM(lambda: LlamaLayer(LlamaAttention(rotary="dynamic"), LlamaMLP()),
                   triu_mask)


def mistral():
    return LlamaLM(lambda: LlamaLayer(LlamaAttention(), LlamaMLP()),
                   lambda s, t: arange_causal_mask(s, t, sliding_window=4))


def qwen2():
    return LlamaLM(lambda: LlamaLayer(LlamaAttention(qkv_bias=True), LlamaMLP()),
                   arange_causal_mask)


def gemma():
    gelu_tanh = lambda x: F.gelu(x, approximate="tanh")  # noqa: E731
    return LlamaLM(lambda: LlamaLayer(LlamaAttention(kv_heads=1, rotary="dynamic"),
                                      LlamaMLP(act=gelu_tanh), GemmaRMSNorm),
                   triu_mask, norm=GemmaRMSNorm, embed_scale=True, tied=True)


# ---------------------------------------------------------------- MoE blocks

class MixtralSparseMoeBlock(nn.Module):
    """MixtralSparseMoeBlock.forward (transformers 4.36), verbatim: softmax
    top-k, renormalized, dispatched per expert by torch.where(mask[e]) and
    gathered back by index_add_ (`select="equal"`: each expert's tokens
    by torch.where(selected_experts == e)). `dense=True` dispatches the same routing
    in dense form instead (every expert on every token, times its column of
    a scattered [tokens, experts] weight matrix)."""

    def __init__(self, experts=4, top_k=2, dense=False, select="mask"):
        super().__init__()
        self.hidden_dim, self.num_experts, self.top_k = HIDDEN, experts, top_k
        self.dense, self.select = dense, select
        self.gate = nn.Linear(HIDDEN, experts, bias=False)
        self.experts = nn.ModuleList([MixtralExpert() for _ in range(experts)])

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)
        if self.dense:
            dense = torch.zeros_like(router_logits).scatter(1, selected_experts, routing_weights)
            final_hidden_states = torch.zeros_like(hidden_states)
            for expert_idx, expert_layer in enumerate(self.experts):
                final_hidden_states = (final_hidden_states + expert_layer(hidden_states)
                                       * dense[:, expert_idx, None])
            return final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)
        final_hidden_states = torch.zeros(
            (batch_size * sequence_length, hidden_dim), dtype=hidden_states.dtype)
        expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
        for expert_idx in range(self.num_experts):
            expert_layer = self.experts[expert_idx]
            if self.select == "equal":  # the other form HF models write
                top_x, idx = torch.where(selected_experts == expert_idx)
            else:
                idx, top_x = torch.where(expert_mask[expert_idx])
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current_hidden_states = expert_layer(current_state) * routing_weights[top_x, idx, None]
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(hidden_states.dtype))
        return final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)


class MixtralExpert(nn.Module):
    """MixtralBlockSparseTop2MLP: w2(silu(w1 x) * w3 x)."""

    def __init__(self, inter=EXPERT_FFN):
        super().__init__()
        self.w1 = nn.Linear(HIDDEN, inter, bias=False)
        self.w2 = nn.Linear(inter, HIDDEN, bias=False)
        self.w3 = nn.Linear(HIDDEN, inter, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, hidden_states):
        current_hidden_states = self.act_fn(self.w1(hidden_states)) * self.w3(hidden_states)
        return self.w2(current_hidden_states)


class Qwen2MoeSparseMoeBlock(nn.Module):
    """Qwen2MoeSparseMoeBlock (transformers 4.40): softmax top-4 of 8
    without renormalization (norm_topk_prob False), HF's where/index_add_
    dispatch, plus a shared expert scaled by sigmoid(shared_expert_gate)."""

    def __init__(self, experts=8, top_k=4):
        super().__init__()
        self.num_experts, self.top_k, self.norm_topk_prob = experts, top_k, False
        self.gate = nn.Linear(HIDDEN, experts, bias=False)
        self.experts = nn.ModuleList(
            [LlamaMLP(inter=EXPERT_FFN) for _ in range(experts)])
        self.shared_expert = LlamaMLP(inter=2 * EXPERT_FFN)
        self.shared_expert_gate = nn.Linear(HIDDEN, 1, bias=False)

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        if self.norm_topk_prob:
            routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)
        final_hidden_states = torch.zeros(
            (batch_size * sequence_length, hidden_dim), dtype=hidden_states.dtype)
        expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
        for expert_idx in range(self.num_experts):
            expert_layer = self.experts[expert_idx]
            idx, top_x = torch.where(expert_mask[expert_idx])
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current_hidden_states = expert_layer(current_state) * routing_weights[top_x, idx, None]
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(hidden_states.dtype))
        shared_expert_output = self.shared_expert(hidden_states)
        shared_expert_output = F.sigmoid(self.shared_expert_gate(hidden_states)) * shared_expert_output
        final_hidden_states = final_hidden_states + shared_expert_output
        return final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)


class DeepseekMoE(nn.Module):
    """DeepSeek's MoEGate + DeepseekV2MoE/DeepseekV3MoE with the routed
    experts dispatched in dense form (HF's moe_infer sorts tokens through
    NumPy and does not export) and a shared expert.

    v3 (topk_method noaux_tc): sigmoid scores; a selection-only bias
    (e_score_correction_bias); groups scored by the sum of their top-2
    biased scores, topk_group kept, the rest filled with 0.0; weights
    gathered from the unbiased scores, normalized, times
    routed_scaling_factor.
    v2 (topk_method group_limited_greedy): softmax scores; groups scored by
    their max; the top-k of the masked scores are the weights, not
    normalized (norm_topk_prob False), times routed_scaling_factor.
    """

    def __init__(self, version, experts=8, top_k=2, n_group=4, topk_group=2,
                 scale=2.5):
        super().__init__()
        self.version = version
        self.n_routed_experts, self.top_k = experts, top_k
        self.n_group, self.topk_group = n_group, topk_group
        self.routed_scaling_factor = scale
        self.norm_topk_prob = version == 3
        self.weight = nn.Parameter(torch.randn(experts, HIDDEN) * 0.2)
        if version == 3:
            # Positive, as trained correction biases mostly are (HF's fill
            # of 0.0 for the masked groups relies on it).
            self.register_buffer("e_score_correction_bias", torch.rand(experts) * 0.5)
        self.experts = nn.ModuleList([LlamaMLP(inter=EXPERT_FFN) for _ in range(experts)])
        self.shared_experts = LlamaMLP(inter=2 * EXPERT_FFN)

    def gate(self, hidden_states):
        bsz, seq_len, h = hidden_states.shape
        hidden_states = hidden_states.view(-1, h)
        logits = F.linear(hidden_states.type(torch.float32), self.weight.type(torch.float32), None)
        if self.version == 3:
            scores = logits.sigmoid()
            scores_for_choice = scores.view(bsz * seq_len, -1) + self.e_score_correction_bias.unsqueeze(0)
            group_scores = (scores_for_choice.view(bsz * seq_len, self.n_group, -1)
                            .topk(2, dim=-1)[0].sum(dim=-1))
        else:
            scores = logits.softmax(dim=-1, dtype=torch.float32)
            scores_for_choice = scores
            group_scores = scores.view(bsz * seq_len, self.n_group, -1).max(dim=-1).values
        group_idx = torch.topk(group_scores, k=self.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros_like(group_scores)
        group_mask.scatter_(1, group_idx, 1)
        score_mask = (group_mask.unsqueeze(-1)
                      .expand(bsz * seq_len, self.n_group, self.n_routed_experts // self.n_group)
                      .reshape(bsz * seq_len, -1))
        tmp_scores = scores_for_choice.masked_fill(~score_mask.bool(), 0.0)
        if self.version == 3:
            _, topk_idx = torch.topk(tmp_scores, k=self.top_k, dim=-1, sorted=False)
            topk_weight = scores.gather(1, topk_idx)
        else:
            topk_weight, topk_idx = torch.topk(tmp_scores, k=self.top_k, dim=-1, sorted=False)
        if self.top_k > 1 and self.norm_topk_prob:
            denominator = topk_weight.sum(dim=-1, keepdim=True) + 1e-20
            topk_weight = topk_weight / denominator
        topk_weight = topk_weight * self.routed_scaling_factor
        return topk_idx, topk_weight

    def forward(self, hidden_states):
        identity = hidden_states
        orig_shape = hidden_states.shape
        topk_idx, topk_weight = self.gate(hidden_states)
        hidden_states = hidden_states.view(-1, hidden_states.shape[-1])
        dense_weight = torch.zeros(
            (hidden_states.shape[0], self.n_routed_experts),
            dtype=topk_weight.dtype).scatter(1, topk_idx, topk_weight)
        y = torch.zeros_like(hidden_states)
        for i, expert in enumerate(self.experts):
            y = y + expert(hidden_states) * dense_weight[:, i, None]
        y = y.view(*orig_shape)
        return y + self.shared_experts(identity)


def deepseek_rotary(q, k, cos, sin, position_ids):
    """DeepSeek-V2/V3's apply_rotary_pos_emb: adjacent feature pairs are
    de-interleaved by view/transpose, then rotated by halves."""
    cos = cos[position_ids].unsqueeze(1)
    sin = sin[position_ids].unsqueeze(1)
    b, h, s, d = q.shape
    q = q.view(b, h, s, d // 2, 2).transpose(4, 3).reshape(b, h, s, d)
    b, h, s, d = k.shape
    k = k.view(b, h, s, d // 2, 2).transpose(4, 3).reshape(b, h, s, d)
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


class DeepseekAttention(LlamaAttention):
    """Plain multi-head attention (DeepSeek uses MLA) with DeepSeek's
    de-interleaving RoPE and its scale as a multiplication."""

    def __init__(self):
        super().__init__(kv_heads=HEADS)
        self.softmax_scale = self.head_dim ** (-0.5)

    def forward(self, hidden_states, attention_mask, position_ids):
        bsz, q_len, _ = hidden_states.size()
        q = self.q_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM).transpose(1, 2)
        cos, sin = self.rotary_emb(v, seq_len=q_len)
        q, k = deepseek_rotary(q, k, cos, sin, position_ids)
        attn_weights = torch.matmul(q, k.transpose(2, 3)) * self.softmax_scale
        attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(q.dtype)
        attn_output = torch.matmul(attn_weights, v)
        attn_output = attn_output.transpose(1, 2).contiguous().reshape(bsz, q_len, HIDDEN)
        return self.o_proj(attn_output)


def mixtral_sparse():
    return LlamaLM(lambda: LlamaLayer(LlamaAttention(), MixtralSparseMoeBlock()),
                   arange_causal_mask)


def mixtral_sparse_equal():
    return LlamaLM(lambda: LlamaLayer(LlamaAttention(),
                                      MixtralSparseMoeBlock(select="equal")),
                   arange_causal_mask)


def mixtral_dense():
    return LlamaLM(lambda: LlamaLayer(LlamaAttention(rotary="dynamic"),
                                      MixtralSparseMoeBlock(dense=True)),
                   triu_mask)


def qwen2_moe():
    return LlamaLM(lambda: LlamaLayer(LlamaAttention(qkv_bias=True),
                                      Qwen2MoeSparseMoeBlock()),
                   arange_causal_mask)


def deepseek_v3():
    return LlamaLM(lambda: LlamaLayer(DeepseekAttention(), DeepseekMoE(3)),
                   arange_causal_mask)


def deepseek_v2():
    return LlamaLM(lambda: LlamaLayer(DeepseekAttention(),
                                      DeepseekMoE(2, top_k=3, n_group=4, topk_group=2,
                                                  scale=2.0)),
                   arange_causal_mask)


# ---------------------------------------------------------------- GPT family

class NewGELUActivation(nn.Module):
    """gelu_new (GPT-2, Phi, GPT-J): the tanh approximation written out."""

    def forward(self, input):
        return 0.5 * input * (1.0 + torch.tanh(
            math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0))))


def causal_bias(max_positions=2 * SEQ):
    """The bool tril buffer GPT-2, GPT-NeoX and GPT-J slice their causal
    mask from."""
    return torch.tril(torch.ones((max_positions, max_positions), dtype=torch.bool)).view(
        1, 1, max_positions, max_positions)


class PhiAttention(nn.Module):
    """PhiAttention (transformers 4.37): biased projections, partial rotary
    (partial_rotary_factor 0.4: 6 of 16 features), scores in f32, the
    additive mask."""

    def __init__(self, partial_rotary_factor=0.4):
        super().__init__()
        self.q_proj = nn.Linear(HIDDEN, HIDDEN, bias=True)
        self.k_proj = nn.Linear(HIDDEN, HIDDEN, bias=True)
        self.v_proj = nn.Linear(HIDDEN, HIDDEN, bias=True)
        self.dense = nn.Linear(HIDDEN, HIDDEN, bias=True)
        self.rotary_ndims = int(partial_rotary_factor * HEAD_DIM)
        self.rotary_emb = CachedRotary(self.rotary_ndims)

    def forward(self, hidden_states, attention_mask, position_ids):
        bsz, q_len, _ = hidden_states.size()
        query_states = self.q_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(bsz, q_len, HEADS, HEAD_DIM).transpose(1, 2)
        cos, sin = self.rotary_emb(value_states, seq_len=q_len)
        query_rot, query_pass = (query_states[..., : self.rotary_ndims],
                                 query_states[..., self.rotary_ndims:])
        key_rot, key_pass = (key_states[..., : self.rotary_ndims],
                             key_states[..., self.rotary_ndims:])
        query_rot, key_rot = apply_rotary_pos_emb(query_rot, key_rot, cos, sin, position_ids)
        query_states = torch.cat((query_rot, query_pass), dim=-1)
        key_states = torch.cat((key_rot, key_pass), dim=-1)
        attn_weights = torch.matmul(
            query_states.to(torch.float32), key_states.to(torch.float32).transpose(2, 3)
        ) / math.sqrt(HEAD_DIM)
        attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(value_states.dtype)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous().reshape(bsz, q_len, HIDDEN)
        return self.dense(attn_output)


class PhiMLP(nn.Module):
    def __init__(self, act=None):
        super().__init__()
        self.activation_fn = act or NewGELUActivation()
        self.fc1 = nn.Linear(HIDDEN, FFN)
        self.fc2 = nn.Linear(FFN, HIDDEN)

    def forward(self, hidden_states):
        return self.fc2(self.activation_fn(self.fc1(hidden_states)))


class PhiDecoderLayer(nn.Module):
    """One LayerNorm, attention and MLP in parallel on it, both added to
    the residual."""

    def __init__(self):
        super().__init__()
        self.self_attn = PhiAttention()
        self.mlp = PhiMLP()
        self.input_layernorm = nn.LayerNorm(HIDDEN, eps=1e-5)

    def forward(self, hidden_states, attention_mask, position_ids):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        attn_outputs = self.self_attn(hidden_states, attention_mask, position_ids)
        feed_forward_hidden_states = self.mlp(hidden_states)
        return attn_outputs + feed_forward_hidden_states + residual


class PhiForCausalLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, HIDDEN)
        self.layers = nn.ModuleList([PhiDecoderLayer() for _ in range(LAYERS)])
        self.final_layernorm = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=True)

    def forward(self, input_ids):
        seq_length = input_ids.shape[1]
        position_ids = torch.arange(seq_length, dtype=torch.long).unsqueeze(0)
        hidden_states = self.embed_tokens(input_ids)
        attention_mask = arange_causal_mask(seq_length, hidden_states.dtype)
        for layer in self.layers:
            hidden_states = layer(hidden_states, attention_mask, position_ids)
        return self.lm_head(self.final_layernorm(hidden_states)).float()


class Conv1D(nn.Module):
    """GPT-2's Conv1D: a linear layer with its weight stored [in, out],
    applied by addmm."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.randn(nx, nf) * 0.1)
        self.bias = nn.Parameter(torch.randn(nf) * 0.05)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class GPT2Attention(nn.Module):
    """GPT2Attention: fused c_attn split in three, scores divided by a
    torch.full scalar, the causal mask sliced from a tril buffer and
    applied by torch.where with finfo.min."""

    def __init__(self):
        super().__init__()
        self.register_buffer("bias", causal_bias(), persistent=False)
        self.c_attn = Conv1D(3 * HIDDEN, HIDDEN)
        self.c_proj = Conv1D(HIDDEN, HIDDEN)
        self.split_size = HIDDEN

    def _split_heads(self, tensor):
        new_shape = tensor.size()[:-1] + (HEADS, HEAD_DIM)
        return tensor.view(new_shape).permute(0, 2, 1, 3)

    def _attn(self, query, key, value):
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        attn_weights = attn_weights / torch.full(
            [], value.size(-1) ** 0.5, dtype=attn_weights.dtype)
        query_length, key_length = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length: key_length, :key_length]
        mask_value = torch.finfo(attn_weights.dtype).min
        mask_value = torch.full([], mask_value, dtype=attn_weights.dtype)
        attn_weights = torch.where(causal_mask, attn_weights.to(attn_weights.dtype), mask_value)
        attn_weights = F.softmax(attn_weights, dim=-1)
        attn_weights = attn_weights.type(value.dtype)
        return torch.matmul(attn_weights, value)

    def forward(self, hidden_states):
        query, key, value = self.c_attn(hidden_states).split(self.split_size, dim=2)
        query, key, value = (self._split_heads(t) for t in (query, key, value))
        attn_output = self._attn(query, key, value)
        attn_output = attn_output.permute(0, 2, 1, 3).contiguous()
        attn_output = attn_output.view(attn_output.size()[:-2] + (HIDDEN,))
        return self.c_proj(attn_output)


class GPT2Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.attn = GPT2Attention()
        self.ln_2 = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.c_fc = Conv1D(4 * HIDDEN, HIDDEN)
        self.c_proj = Conv1D(HIDDEN, 4 * HIDDEN)
        self.act = NewGELUActivation()

    def forward(self, hidden_states):
        residual = hidden_states
        hidden_states = self.attn(self.ln_1(hidden_states))
        hidden_states = hidden_states + residual
        residual = hidden_states
        feed_forward = self.c_proj(self.act(self.c_fc(self.ln_2(hidden_states))))
        return residual + feed_forward


class GPT2LMHeadModel(nn.Module):
    """Learned positions added to the token embeddings; tied LM head."""

    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, HIDDEN)
        self.wpe = nn.Embedding(2 * SEQ, HIDDEN)
        self.h = nn.ModuleList([GPT2Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(HIDDEN, eps=1e-5)

    def forward(self, input_ids):
        input_shape = input_ids.size()
        position_ids = torch.arange(0, input_shape[-1], dtype=torch.long).unsqueeze(0)
        hidden_states = self.wte(input_ids) + self.wpe(position_ids)
        for block in self.h:
            hidden_states = block(hidden_states)
        hidden_states = self.ln_f(hidden_states)
        return F.linear(hidden_states, self.wte.weight).float()


class GPTNeoXAttention(nn.Module):
    """GPTNeoXAttention (transformers 4.36): one query_key_value projection
    viewed [B, S, H, 3 * D], rotary_pct 0.25 (4 of 16 features), scores by
    baddbmm on [B * H, S, D] with alpha 1/sqrt(D), the causal mask from a
    tril buffer by torch.where."""

    def __init__(self, rotary_pct=0.25):
        super().__init__()
        self.register_buffer("bias", causal_bias(), persistent=False)
        self.rotary_ndims = int(HEAD_DIM * rotary_pct)
        self.rotary_emb = CachedRotary(self.rotary_ndims)
        self.norm_factor = HEAD_DIM ** -0.5
        self.query_key_value = nn.Linear(HIDDEN, 3 * HIDDEN)
        self.dense = nn.Linear(HIDDEN, HIDDEN)

    def _attn(self, query, key, value):
        batch_size, num_attention_heads, query_length, attn_head_size = query.size()
        key_length = key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length: key_length, :key_length]
        query = query.view(batch_size * num_attention_heads, query_length, attn_head_size)
        key = key.view(batch_size * num_attention_heads, key_length, attn_head_size)
        attn_scores = torch.zeros(batch_size * num_attention_heads, query_length, key_length,
                                  dtype=query.dtype)
        attn_scores = torch.baddbmm(attn_scores, query, key.transpose(1, 2), beta=1.0,
                                    alpha=self.norm_factor)
        attn_scores = attn_scores.view(batch_size, num_attention_heads, query_length, key_length)
        mask_value = torch.finfo(attn_scores.dtype).min
        mask_value = torch.tensor(mask_value, dtype=attn_scores.dtype)
        attn_scores = torch.where(causal_mask, attn_scores, mask_value)
        attn_weights = F.softmax(attn_scores, dim=-1).to(value.dtype)
        return torch.matmul(attn_weights, value)

    def forward(self, hidden_states, position_ids):
        qkv = self.query_key_value(hidden_states)
        qkv = qkv.view(*(qkv.size()[:-1] + (HEADS, 3 * HEAD_DIM)))
        query = qkv[..., :HEAD_DIM].permute(0, 2, 1, 3)
        key = qkv[..., HEAD_DIM: 2 * HEAD_DIM].permute(0, 2, 1, 3)
        value = qkv[..., 2 * HEAD_DIM:].permute(0, 2, 1, 3)
        query_rot, query_pass = query[..., : self.rotary_ndims], query[..., self.rotary_ndims:]
        key_rot, key_pass = key[..., : self.rotary_ndims], key[..., self.rotary_ndims:]
        cos, sin = self.rotary_emb(value, seq_len=key.shape[-2])
        query, key = apply_rotary_pos_emb(query_rot, key_rot, cos, sin, position_ids)
        query = torch.cat((query, query_pass), dim=-1)
        key = torch.cat((key, key_pass), dim=-1)
        attn_output = self._attn(query, key, value)
        attn_output = attn_output.permute(0, 2, 1, 3).contiguous()
        attn_output = attn_output.view(attn_output.size(0), attn_output.size(1), HIDDEN)
        return self.dense(attn_output)


class GPTNeoXLayer(nn.Module):
    """use_parallel_residual: x + attn(ln1(x)) + mlp(ln2(x))."""

    def __init__(self):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.post_attention_layernorm = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.attention = GPTNeoXAttention()
        self.dense_h_to_4h = nn.Linear(HIDDEN, 4 * HIDDEN)
        self.dense_4h_to_h = nn.Linear(4 * HIDDEN, HIDDEN)

    def forward(self, hidden_states, position_ids):
        attn_output = self.attention(self.input_layernorm(hidden_states), position_ids)
        mlp_output = self.dense_4h_to_h(F.gelu(self.dense_h_to_4h(
            self.post_attention_layernorm(hidden_states))))
        return mlp_output + attn_output + hidden_states


class GPTNeoXForCausalLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_in = nn.Embedding(VOCAB, HIDDEN)
        self.layers = nn.ModuleList([GPTNeoXLayer() for _ in range(LAYERS)])
        self.final_layer_norm = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.embed_out = nn.Linear(HIDDEN, VOCAB, bias=False)

    def forward(self, input_ids):
        position_ids = torch.arange(input_ids.shape[1], dtype=torch.long).unsqueeze(0)
        hidden_states = self.embed_in(input_ids)
        for layer in self.layers:
            hidden_states = layer(hidden_states, position_ids)
        return self.embed_out(self.final_layer_norm(hidden_states)).float()


def create_sinusoidal_positions(num_pos, dim):
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2) / dim))
    sinusoid_inp = torch.einsum("i , j -> i j", torch.arange(num_pos, dtype=torch.float),
                                inv_freq).float()
    return torch.cat((torch.sin(sinusoid_inp), torch.cos(sinusoid_inp)), dim=1)


def gptj_rotary(tensor, sin, cos):
    sin = torch.repeat_interleave(sin[:, :, None, :], 2, 3)
    cos = torch.repeat_interleave(cos[:, :, None, :], 2, 3)
    return (tensor * cos) + (rotate_every_two(tensor) * sin)


class GPTJAttention(nn.Module):
    """GPTJAttention (transformers 4.30): q and k kept [B, S, H, D] for the
    interleaved rotary (rotary_dim 8 of 16, sin|cos table gathered by
    position_ids, repeat_interleave'd), scores in f32, masked by where,
    then divided by sqrt(D)."""

    def __init__(self, rotary_dim=8):
        super().__init__()
        self.register_buffer("bias", causal_bias(), persistent=False)
        self.rotary_dim = rotary_dim
        self.register_buffer("embed_positions",
                             create_sinusoidal_positions(2 * SEQ, rotary_dim), persistent=False)
        self.scale_attn = torch.sqrt(torch.tensor(HEAD_DIM, dtype=torch.float32))
        self.q_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.k_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.v_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.out_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)

    def _split_heads(self, tensor, rotary):
        tensor = tensor.view(tensor.size()[:-1] + (HEADS, HEAD_DIM))
        return tensor if rotary else tensor.permute(0, 2, 1, 3)

    def _attn(self, query, key, value):
        query_length, key_length = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length: key_length, :key_length]
        query = query.to(torch.float32)
        key = key.to(torch.float32)
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        mask_value = torch.finfo(attn_weights.dtype).min
        mask_value = torch.tensor(mask_value, dtype=attn_weights.dtype)
        attn_weights = torch.where(causal_mask, attn_weights, mask_value)
        attn_weights = attn_weights / self.scale_attn
        attn_weights = F.softmax(attn_weights, dim=-1).to(value.dtype)
        return torch.matmul(attn_weights, value)

    def forward(self, hidden_states, position_ids):
        query = self._split_heads(self.q_proj(hidden_states), True)
        key = self._split_heads(self.k_proj(hidden_states), True)
        value = self._split_heads(self.v_proj(hidden_states), False)
        sincos = self.embed_positions[position_ids]
        sin, cos = torch.split(sincos, sincos.shape[-1] // 2, dim=-1)
        k_rot, k_pass = key[:, :, :, : self.rotary_dim], key[:, :, :, self.rotary_dim:]
        q_rot, q_pass = query[:, :, :, : self.rotary_dim], query[:, :, :, self.rotary_dim:]
        k_rot = gptj_rotary(k_rot, sin, cos)
        q_rot = gptj_rotary(q_rot, sin, cos)
        key = torch.cat([k_rot, k_pass], dim=-1).permute(0, 2, 1, 3)
        query = torch.cat([q_rot, q_pass], dim=-1).permute(0, 2, 1, 3)
        attn_output = self._attn(query, key, value)
        attn_output = attn_output.permute(0, 2, 1, 3).contiguous()
        attn_output = attn_output.view(attn_output.size()[:-2] + (HIDDEN,))
        return self.out_proj(attn_output)


class GPTJBlock(nn.Module):
    """One LayerNorm; attention and MLP (fc_in, gelu_new, fc_out) in
    parallel."""

    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.attn = GPTJAttention()
        self.fc_in = nn.Linear(HIDDEN, 4 * HIDDEN)
        self.fc_out = nn.Linear(4 * HIDDEN, HIDDEN)
        self.act = NewGELUActivation()

    def forward(self, hidden_states, position_ids):
        residual = hidden_states
        hidden_states = self.ln_1(hidden_states)
        attn_output = self.attn(hidden_states, position_ids)
        feed_forward_hidden_states = self.fc_out(self.act(self.fc_in(hidden_states)))
        return attn_output + feed_forward_hidden_states + residual


class GPTJForCausalLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, HIDDEN)
        self.h = nn.ModuleList([GPTJBlock() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(HIDDEN, eps=1e-5)
        self.lm_head = nn.Linear(HIDDEN, VOCAB)

    def forward(self, input_ids):
        position_ids = torch.arange(input_ids.shape[-1], dtype=torch.long).unsqueeze(0)
        hidden_states = self.wte(input_ids)
        for block in self.h:
            hidden_states = block(hidden_states, position_ids)
        return self.lm_head(self.ln_f(hidden_states)).float()


# ---------------------------------------------------------------- the corpus

MODELS = {
    "llama": (llama, "RMSNorm, RoPE by rotate_half from inv_freq @ position_ids, "
              "GQA 4/2 by repeat_kv (expand+reshape), causal mask by triu added, SwiGLU"),
    "mistral": (mistral, "Llama with cached cos/sin gathered by position_ids and a "
                "sliding-window (4) mask from arange compare + tril"),
    "qwen2": (qwen2, "Llama with biases on q/k/v, GQA 4/2, arange causal mask"),
    "gemma": (gemma, "(1+w) RMSNorm, sqrt(hidden) embedding scale, GeGLU "
              "(gelu tanh), MQA (1 KV head), tied LM head"),
    "mixtral_sparse": (mixtral_sparse, "Mixtral MoE: softmax top-2 of 4, renormalized, "
                       "HF's torch.where(mask[e]) + index_add_ dispatch; GQA 4/2"),
    "mixtral_sparse_equal": (mixtral_sparse_equal, "mixtral_sparse selecting each "
                             "expert's tokens by torch.where(selected_experts == e)"),
    "mixtral_dense": (mixtral_dense, "the same routing dispatched in dense form "
                      "(scatter into [tokens, experts])"),
    "qwen2_moe": (qwen2_moe, "Qwen2-MoE: softmax top-4 of 8, norm_topk_prob False, "
                  "where/index_add_ dispatch, shared expert gated by sigmoid, qkv bias"),
    "deepseek_v3": (deepseek_v3, "DeepSeek-V3 noaux_tc: sigmoid scores, selection-only "
                    "bias, 4 groups by top-2 sum keep 2, normalized, scale 2.5, "
                    "shared expert; de-interleaving RoPE"),
    "deepseek_v2": (deepseek_v2, "DeepSeek-V2 group_limited_greedy: softmax scores, "
                    "top-3 of 8, 4 groups by max keep 2, not normalized, "
                    "scale 2.0, shared expert"),
    "phi2": (PhiForCausalLM, "LayerNorm, partial rotary 0.4, "
             "parallel attention+MLP, gelu_new, biases everywhere"),
    "gpt2": (GPT2LMHeadModel, "LayerNorm, learned positions, Conv1D fused qkv (addmm), "
             "causal mask from a tril buffer by where, gelu_new, tied head"),
    "gpt_neox": (GPTNeoXForCausalLM, "fused qkv per head, partial rotary 0.25, "
                 "baddbmm scores, tril buffer + where, parallel residual, erf gelu"),
    "gptj": (GPTJForCausalLM, "interleaved RoPE (rotate_every_two: stack/flatten, "
             "repeat_interleave'd sin|cos table), partial 8/16, parallel block, "
             "mask by where then scale"),
}


def build(name):
    """The model `name`, random weights from a seed of its name, eval mode."""
    torch.manual_seed(zlib.crc32(name.encode()))
    return MODELS[name][0]().eval()


def tokens(name):
    """The [1, SEQ] int64 input the check runs `name` on."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return rng.integers(0, VOCAB, size=(1, SEQ), dtype=np.int64)


def export(model, path):
    """torch.onnx.export at opset 17: `tokens` [1, SEQ] -> `logits`."""
    dummy = torch.zeros((1, SEQ), dtype=torch.int64)
    torch.onnx.export(model, (dummy,), path, opset_version=17,
                      input_names=["tokens"], output_names=["logits"],
                      do_constant_folding=True)
