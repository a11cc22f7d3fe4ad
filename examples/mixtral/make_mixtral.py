#!/usr/bin/python3
"""Builds examples/mixtral/mixtral.onnx: a tiny Mixtral-style decoder.

The model code follows Hugging Face's modeling_mixtral.py (transformers
4.36, eager attention) with the same names, shrunk:

  vocab 128, hidden 64, 2 layers, 4 query heads and 2 KV heads (GQA,
  head_dim 16), RoPE (half rotation, theta 1e4), RMSNorm (eps 1e-5),
  causal attention with a sliding window of 6 tokens, MoE FFN: top-2 of 4
  SwiGLU experts (intermediate 96), softmax router with renormalized top-k
  weights, untied lm_head.

One deliberate difference from HF: the MoE block is written in dense form
(see MixtralSparseMoeBlock). It is trained for a few hundred steps on
arithmetic progressions (examples/tools/tiny_lm.py) so its predictions
are legible, then exported with torch.onnx.export at opset 17:
`tokens` [1, 16] int64 -> `logits` [1, 16, 128].

Writes, next to this script:
  mixtral.onnx      the model
  tokens.npy        the reference input (a full-length progression)
  logits_torch.npy  PyTorch's logits for it
  greedy_torch.npy  PyTorch's 8 greedy tokens after tiny_lm.PROMPT
The onnxruntime reference (logits_ort.npy) comes from
examples/tools/run_onnxruntime.js.

Run: /usr/bin/python3 examples/mixtral/make_mixtral.py
The 4-layer variant that pipeline parallelism splits into 2 and 4 stages
(test/e2e/parallel) is examples/mixtral4:
     /usr/bin/python3 examples/mixtral/make_mixtral.py --layers 4 --out examples/mixtral4
The batch-4 variant that data parallelism splits (test/e2e/parallel), the
same model exported with a symbolic batch (`tokens` [batch, 16], pinned
with `--dim batch=4`) and references for 4 sequences, is examples/mixtral_b4:
     /usr/bin/python3 examples/mixtral/make_mixtral.py --batch 4 --out examples/mixtral_b4
"""
import argparse
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


class MixtralConfig:
    vocab_size = 128
    hidden_size = 64
    intermediate_size = 96
    num_hidden_layers = 2
    num_attention_heads = 4
    num_key_value_heads = 2
    num_local_experts = 4
    num_experts_per_tok = 2
    sliding_window = 6
    max_position_embeddings = tiny_lm.SEQ
    rope_theta = 10000.0
    rms_norm_eps = 1e-5


def apply_rotary_pos_emb(q, k, cos, sin, position_ids, unsqueeze_dim=1):
    cos = cos[position_ids].unsqueeze(unsqueeze_dim)
    sin = sin[position_ids].unsqueeze(unsqueeze_dim)
    q_embed = (q * cos) + (tiny_lm.rotate_half(q) * sin)
    k_embed = (k * cos) + (tiny_lm.rotate_half(k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states, n_rep):
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(
        batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def make_sliding_window_causal_mask(input_ids, dtype, sliding_window):
    """HF's AttentionMaskConverter._make_causal_mask with a sliding window
    and no past: additive [bsz, 1, q, k] mask, 0 where query i may attend to
    key j (i - sliding_window < j <= i), finfo.min elsewhere."""
    bsz, tgt_len = input_ids.shape
    mask = torch.full((tgt_len, tgt_len), torch.finfo(dtype).min)
    mask_cond = torch.arange(mask.size(-1))
    mask.masked_fill_(mask_cond < (mask_cond + 1).view(mask.size(-1), 1), 0)
    context_mask = 1 - torch.triu(torch.ones_like(mask, dtype=torch.int),
                                  diagonal=1 - sliding_window)
    mask.masked_fill_(context_mask.bool(), torch.finfo(dtype).min)
    return mask[None, None, :, :].expand(bsz, 1, tgt_len, tgt_len)


class MixtralAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.hidden_size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.hidden_size // self.num_heads
        self.num_key_value_heads = config.num_key_value_heads
        self.num_key_value_groups = self.num_heads // self.num_key_value_heads
        self.q_proj = nn.Linear(self.hidden_size, self.num_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(self.hidden_size, self.num_key_value_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(self.hidden_size, self.num_key_value_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, self.hidden_size, bias=False)
        self.rotary_emb = tiny_lm.RotaryEmbedding(
            self.head_dim, config.max_position_embeddings, config.rope_theta)

    def forward(self, hidden_states, attention_mask, position_ids):
        bsz, q_len, _ = hidden_states.size()
        query_states = self.q_proj(hidden_states)
        key_states = self.k_proj(hidden_states)
        value_states = self.v_proj(hidden_states)
        query_states = query_states.view(bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)
        key_states = key_states.view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        value_states = value_states.view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)

        cos, sin = self.rotary_emb(value_states, seq_len=q_len)
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin, position_ids)

        key_states = repeat_kv(key_states, self.num_key_value_groups)
        value_states = repeat_kv(value_states, self.num_key_value_groups)

        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) / math.sqrt(self.head_dim)
        attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query_states.dtype)
        attn_output = torch.matmul(attn_weights, value_states)

        attn_output = attn_output.transpose(1, 2).contiguous()
        attn_output = attn_output.reshape(bsz, q_len, self.hidden_size)
        return self.o_proj(attn_output)


class MixtralBlockSparseTop2MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.w1 = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.w2 = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)
        self.w3 = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, hidden_states):
        current_hidden_states = self.act_fn(self.w1(hidden_states)) * self.w3(hidden_states)
        return self.w2(current_hidden_states)


class MixtralSparseMoeBlock(nn.Module):
    """HF's router, then the experts in dense form.

    HF dispatches to each expert only the tokens routed to it (torch.where
    on a one-hot mask, index_add_), which exports to NonZero: shapes that
    depend on the data. Here the top-k weights are scattered into a dense
    [tokens, experts] matrix, every expert runs on every token and its
    output is scaled by its column (zero for tokens not routed to it): the
    same sum, with static shapes.
    """

    def __init__(self, config):
        super().__init__()
        self.num_experts = config.num_local_experts
        self.top_k = config.num_experts_per_tok
        self.gate = nn.Linear(config.hidden_size, self.num_experts, bias=False)
        self.experts = nn.ModuleList(
            [MixtralBlockSparseTop2MLP(config) for _ in range(self.num_experts)])

    def forward(self, hidden_states):
        batch_size, sequence_length, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)

        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)

        dense_routing_weights = torch.zeros_like(router_logits).scatter(
            1, selected_experts, routing_weights)
        final_hidden_states = torch.zeros_like(hidden_states)
        for expert_idx in range(self.num_experts):
            expert_layer = self.experts[expert_idx]
            final_hidden_states = final_hidden_states + (
                expert_layer(hidden_states) * dense_routing_weights[:, expert_idx, None])
        return final_hidden_states.reshape(batch_size, sequence_length, hidden_dim)


def MixtralForCausalLM(config):
    return tiny_lm.CausalLM(
        config,
        lambda: tiny_lm.DecoderLayer(config, MixtralAttention(config),
                                     "block_sparse_moe",
                                     MixtralSparseMoeBlock(config)),
        lambda input_ids, dtype: make_sliding_window_causal_mask(
            input_ids, dtype, config.sliding_window))


def build(log=print, layers=MixtralConfig.num_hidden_layers):
    torch.manual_seed(0)
    config = MixtralConfig()
    config.num_hidden_layers = layers
    model = MixtralForCausalLM(config)
    tiny_lm.train(model, config.vocab_size, log=log)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int,
                        default=MixtralConfig.num_hidden_layers,
                        help="decoder layers (default 2)")
    parser.add_argument("--out", default=HERE,
                        help="the folder to write to; the model is named "
                             "after it (default: beside this script)")
    parser.add_argument("--batch", type=int, default=1,
                        help="above 1: export a symbolic batch and write "
                             "references for this many sequences")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny matrices: threads only add overhead
    model = build(layers=args.layers)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, os.path.basename(
        os.path.normpath(os.path.abspath(args.out))) + ".onnx")
    tiny_lm.export(model, path, dynamic_batch=args.batch > 1)
    tokens, logits = tiny_lm.save_reference(model, args.out,
                                            MixtralConfig.vocab_size,
                                            batch_size=args.batch)
    if args.batch > 1:
        print("wrote", path, "with", args.batch, "reference sequences")
        return
    greedy = tiny_lm.greedy(model)
    np.save(os.path.join(args.out, "greedy_torch.npy"),
            np.array(greedy, dtype=np.int64))
    print("reference tokens:", tokens[0].tolist())
    print("argmax of logits:", logits[0].argmax(-1).tolist())
    print("greedy after", tiny_lm.PROMPT, ":", greedy)
    print("wrote", path)


if __name__ == "__main__":
    main()
