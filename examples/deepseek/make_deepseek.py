#!/usr/bin/python3
"""Builds examples/deepseek/deepseek.onnx: a tiny DeepSeek-V3-style decoder.

The MoE follows DeepSeek-V3's modeling_deepseek.py (the `noaux_tc` gate)
with the same names, shrunk:

  vocab 128, hidden 64, 2 layers, each with an MoE FFN: 8 routed SwiGLU
  experts (intermediate 32) of which each token uses 2, plus 1 shared
  expert every token uses; sigmoid router scores; a selection bias
  (`e_score_correction_bias`) that is added to the scores to choose the
  experts but not to weight them; grouped routing: the 8 experts form 2
  groups of 4, a group scores the sum of its two best biased scores, and
  only the best group (topk_group 1) is eligible; the two chosen weights
  are renormalized and scaled by routed_scaling_factor 2.5.

Attention is plain causal multi-head attention (4 heads of 16) instead of
DeepSeek's multi-head latent attention, with RoPE as DeepSeek writes it
(pairs of adjacent dimensions rotate together: q and k are de-interleaved
with view/transpose, then rotated by halves) and RMSNorm (eps 1e-6);
untied lm_head. The bias is trained the way DeepSeek-V3 balances its
experts without an auxiliary loss: after each step, each expert's bias
moves by 1e-3 toward the mean load.

Exported with torch.onnx.export at opset 17: `tokens` [1, 16] int64 ->
`logits` [1, 16, 128]; the reference files are those of
examples/mixtral/make_mixtral.py (logits_ort.npy from
examples/tools/run_onnxruntime.js).

Run: /usr/bin/python3 examples/deepseek/make_deepseek.py
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import tiny_lm  # noqa: E402


class DeepseekV3Config:
    vocab_size = 128
    hidden_size = 64
    intermediate_size = 128  # unused: every layer is MoE (no first_k_dense_replace)
    moe_intermediate_size = 32
    num_hidden_layers = 2
    num_attention_heads = 4
    n_routed_experts = 8
    n_shared_experts = 1
    num_experts_per_tok = 2
    n_group = 2
    topk_group = 1
    routed_scaling_factor = 2.5
    norm_topk_prob = True
    max_position_embeddings = tiny_lm.SEQ
    rope_theta = 10000.0
    rms_norm_eps = 1e-6
    bias_update_speed = 1e-3


def apply_rotary_pos_emb(q, k, cos, sin, position_ids, unsqueeze_dim=1):
    cos = cos[position_ids].unsqueeze(unsqueeze_dim)
    sin = sin[position_ids].unsqueeze(unsqueeze_dim)

    b, h, s, d = q.shape
    q = q.view(b, h, s, d // 2, 2).transpose(4, 3).reshape(b, h, s, d)
    b, h, s, d = k.shape
    k = k.view(b, h, s, d // 2, 2).transpose(4, 3).reshape(b, h, s, d)

    q_embed = (q * cos) + (tiny_lm.rotate_half(q) * sin)
    k_embed = (k * cos) + (tiny_lm.rotate_half(k) * sin)
    return q_embed, k_embed


def make_causal_mask(input_ids, dtype):
    """HF's AttentionMaskConverter._make_causal_mask without a past:
    additive [bsz, 1, q, k] mask, finfo.min above the diagonal."""
    bsz, tgt_len = input_ids.shape
    mask = torch.full((tgt_len, tgt_len), torch.finfo(dtype).min)
    mask_cond = torch.arange(mask.size(-1))
    mask.masked_fill_(mask_cond < (mask_cond + 1).view(mask.size(-1), 1), 0)
    return mask[None, None, :, :].expand(bsz, 1, tgt_len, tgt_len)


class DeepseekV3MLP(nn.Module):
    def __init__(self, config, intermediate_size):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, config.hidden_size, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class MoEGate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.top_k = config.num_experts_per_tok
        self.n_routed_experts = config.n_routed_experts
        self.routed_scaling_factor = config.routed_scaling_factor
        self.n_group = config.n_group
        self.topk_group = config.topk_group
        self.norm_topk_prob = config.norm_topk_prob
        self.weight = nn.Parameter(torch.empty((self.n_routed_experts, config.hidden_size)))
        # Trained by balance_experts(), not by gradients (see its comment).
        self.register_buffer("e_score_correction_bias", torch.zeros(self.n_routed_experts))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.load = None

    def forward(self, hidden_states):
        bsz, seq_len, h = hidden_states.shape
        hidden_states = hidden_states.view(-1, h)
        logits = F.linear(hidden_states.type(torch.float32), self.weight.type(torch.float32), None)
        scores = logits.sigmoid()

        # The bias only decides which experts are chosen.
        scores_for_choice = scores.view(bsz * seq_len, -1) + self.e_score_correction_bias.unsqueeze(0)
        group_scores = (
            scores_for_choice.view(bsz * seq_len, self.n_group, -1).topk(2, dim=-1)[0].sum(dim=-1)
        )  # [n, n_group]
        group_idx = torch.topk(group_scores, k=self.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros_like(group_scores)
        group_mask.scatter_(1, group_idx, 1)
        score_mask = (
            group_mask.unsqueeze(-1)
            .expand(bsz * seq_len, self.n_group, self.n_routed_experts // self.n_group)
            .reshape(bsz * seq_len, -1)
        )  # [n, e]
        # DeepSeek's code fills 0.0 here, which selects the same experts as
        # long as every eligible biased score is positive; -inf says what
        # is meant (only the chosen groups are eligible) without that proviso.
        tmp_scores = scores_for_choice.masked_fill(~score_mask.bool(), float("-inf"))
        _, topk_idx = torch.topk(tmp_scores, k=self.top_k, dim=-1, sorted=False)
        topk_weight = scores.gather(1, topk_idx)

        if self.top_k > 1 and self.norm_topk_prob:
            denominator = topk_weight.sum(dim=-1, keepdim=True) + 1e-20
            topk_weight = topk_weight / denominator
        topk_weight = topk_weight * self.routed_scaling_factor
        if self.training:
            self.load = torch.bincount(topk_idx.view(-1), minlength=self.n_routed_experts)
        return topk_idx, topk_weight


class DeepseekV3MoE(nn.Module):
    """DeepSeek's gate, then the routed experts in dense form, plus the
    shared experts.

    DeepSeek's moe_infer sorts the tokens by expert and runs each expert on
    its own tokens: shapes that depend on the data. Here the top-k weights
    are scattered into a dense [tokens, experts] matrix and every expert
    runs on every token, scaled by its column (zero where not routed): the
    same sum, with static shapes.
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.experts = nn.ModuleList(
            [DeepseekV3MLP(config, config.moe_intermediate_size)
             for _ in range(config.n_routed_experts)])
        self.gate = MoEGate(config)
        self.shared_experts = DeepseekV3MLP(
            config, config.moe_intermediate_size * config.n_shared_experts)

    def forward(self, hidden_states):
        identity = hidden_states
        orig_shape = hidden_states.shape
        topk_idx, topk_weight = self.gate(hidden_states)
        hidden_states = hidden_states.view(-1, hidden_states.shape[-1])

        dense_weight = torch.zeros(
            (hidden_states.shape[0], self.config.n_routed_experts),
            dtype=topk_weight.dtype).scatter(1, topk_idx, topk_weight)
        y = torch.zeros_like(hidden_states)
        for i, expert in enumerate(self.experts):
            y = y + expert(hidden_states) * dense_weight[:, i, None]
        y = y.view(*orig_shape)

        return y + self.shared_experts(identity)


class DeepseekV3Attention(nn.Module):
    """Plain causal multi-head attention (DeepSeek-V3 uses MLA)."""

    def __init__(self, config):
        super().__init__()
        self.hidden_size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.hidden_size // self.num_heads
        self.softmax_scale = self.head_dim ** (-0.5)
        self.q_proj = nn.Linear(self.hidden_size, self.hidden_size, bias=False)
        self.k_proj = nn.Linear(self.hidden_size, self.hidden_size, bias=False)
        self.v_proj = nn.Linear(self.hidden_size, self.hidden_size, bias=False)
        self.o_proj = nn.Linear(self.hidden_size, self.hidden_size, bias=False)
        self.rotary_emb = tiny_lm.RotaryEmbedding(
            self.head_dim, config.max_position_embeddings, config.rope_theta)

    def forward(self, hidden_states, attention_mask, position_ids):
        bsz, q_len, _ = hidden_states.size()
        q = self.q_proj(hidden_states).view(bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(hidden_states).view(bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(hidden_states).view(bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)

        cos, sin = self.rotary_emb(v, seq_len=q_len)
        q, k = apply_rotary_pos_emb(q, k, cos, sin, position_ids)

        attn_weights = torch.matmul(q, k.transpose(2, 3)) * self.softmax_scale
        attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(q.dtype)
        attn_output = torch.matmul(attn_weights, v)

        attn_output = attn_output.transpose(1, 2).contiguous()
        attn_output = attn_output.reshape(bsz, q_len, self.hidden_size)
        return self.o_proj(attn_output)


def DeepseekV3ForCausalLM(config):
    return tiny_lm.CausalLM(
        config,
        lambda: tiny_lm.DecoderLayer(config, DeepseekV3Attention(config),
                                     "mlp", DeepseekV3MoE(config)),
        make_causal_mask)


def balance_experts(model):
    """DeepSeek-V3's auxiliary-loss-free balancing: after each step, raise
    the selection bias of experts that got fewer tokens than the mean and
    lower it for those that got more."""
    with torch.no_grad():
        for layer in model.layers:
            gate = layer.mlp.gate
            load = gate.load.float()
            gate.e_score_correction_bias += (
                model.config.bias_update_speed * torch.sign(load.mean() - load))


def bias_changes_selection(model, tokens):
    """How many (layer, token) routings on `tokens` would choose other
    experts without the selection bias: the bias must matter, or a wrong
    treatment of it would go unnoticed."""
    changed = []

    def hook(gate, inputs, output):
        bias = gate.e_score_correction_bias.clone()
        gate.e_score_correction_bias.zero_()
        unbiased = gate.forward(*inputs)[0]  # forward(): no hooks, no recursion
        gate.e_score_correction_bias.copy_(bias)
        changed.append(int((output[0].sort(-1)[0] != unbiased.sort(-1)[0]).any(-1).sum()))

    handles = [layer.mlp.gate.register_forward_hook(hook) for layer in model.layers]
    with torch.no_grad():
        model(torch.from_numpy(tokens))
    for h in handles:
        h.remove()
    return changed


def build(log=print):
    torch.manual_seed(0)
    config = DeepseekV3Config()
    model = DeepseekV3ForCausalLM(config)
    tiny_lm.train(model, config.vocab_size, after_step=balance_experts, log=log)
    return model


def main():
    torch.set_num_threads(1)  # tiny matrices: threads only add overhead
    model = build()
    tiny_lm.export(model, os.path.join(HERE, "deepseek.onnx"))
    tokens, logits = tiny_lm.save_reference(model, HERE, DeepseekV3Config.vocab_size)
    greedy = tiny_lm.greedy(model)
    np.save(os.path.join(HERE, "greedy_torch.npy"), np.array(greedy, dtype=np.int64))
    print("selection biases:", [
        [round(b, 3) for b in layer.mlp.gate.e_score_correction_bias.tolist()]
        for layer in model.layers])
    print("routings the bias changes, per layer, of %d tokens:" % tokens.shape[1],
          bias_changes_selection(model, tokens))
    print("reference tokens:", tokens[0].tolist())
    print("argmax of logits:", logits[0].argmax(-1).tolist())
    print("greedy after", tiny_lm.PROMPT, ":", greedy)
    print("wrote", os.path.join(HERE, "deepseek.onnx"))


if __name__ == "__main__":
    main()
