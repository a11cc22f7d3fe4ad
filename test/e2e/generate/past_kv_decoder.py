"""A tiny Llama-style decoder exported the way Hugging Face's exporters
export a decoder *with* its KV cache: it takes `input_ids` [batch, seq] and
`past_key_values.{i}.key/value` [batch, kv_heads, past_len, head_dim], and
returns `logits` [batch, seq, vocab] and `present.{i}.key/value`
[batch, kv_heads, past_len + seq, head_dim].

The code follows modeling_llama.py (transformers 4.31, eager attention):
position ids `arange(past_len, past_len + seq)`, the rotary table read at
them, `present = cat(past, new)` along the sequence, repeat_kv (GQA) on
the concatenated keys and values, and `_make_causal_mask`'s additive mask
`cat(zeros(seq, past_len), causal(seq, seq))`. Built from
examples/tools/tiny_lm.py's RMSNorm, rotary table and rotate_half.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "examples", "tools"))
import tiny_lm  # noqa: E402


class Config:
    vocab_size = 128
    hidden_size = 64
    intermediate_size = 96
    num_hidden_layers = 2
    num_attention_heads = 4
    num_key_value_heads = 2
    max_position_embeddings = 64
    rope_theta = 10000.0
    rms_norm_eps = 1e-5


def make_causal_mask(bsz, tgt_len, dtype, past_key_values_length):
    """HF's _make_causal_mask: additive [bsz, 1, tgt, past + tgt]."""
    mask = torch.full((tgt_len, tgt_len), torch.finfo(dtype).min)
    mask_cond = torch.arange(mask.size(-1))
    mask.masked_fill_(mask_cond < (mask_cond + 1).view(mask.size(-1), 1), 0)
    mask = torch.cat([torch.zeros(tgt_len, past_key_values_length,
                                  dtype=dtype), mask], dim=-1)
    return mask[None, None, :, :].expand(
        bsz, 1, tgt_len, tgt_len + past_key_values_length)


def repeat_kv(hidden_states, n_rep):
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    hidden_states = hidden_states[:, :, None, :, :].expand(
        batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen,
                                 head_dim)


def apply_rotary_pos_emb(q, k, cos, sin, position_ids):
    cos = cos[position_ids].unsqueeze(1)
    sin = sin[position_ids].unsqueeze(1)
    q_embed = (q * cos) + (tiny_lm.rotate_half(q) * sin)
    k_embed = (k * cos) + (tiny_lm.rotate_half(k) * sin)
    return q_embed, k_embed


class LlamaAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.num_heads
        self.num_key_value_heads = config.num_key_value_heads
        self.groups = self.num_heads // self.num_key_value_heads
        hidden, kv = config.hidden_size, self.num_key_value_heads * self.head_dim
        self.q_proj = nn.Linear(hidden, hidden, bias=False)
        self.k_proj = nn.Linear(hidden, kv, bias=False)
        self.v_proj = nn.Linear(hidden, kv, bias=False)
        self.o_proj = nn.Linear(hidden, hidden, bias=False)
        self.rotary_emb = tiny_lm.RotaryEmbedding(
            self.head_dim, config.max_position_embeddings, config.rope_theta)

    def forward(self, hidden_states, attention_mask, position_ids,
                past_key_value):
        bsz, q_len, _ = hidden_states.size()
        q = self.q_proj(hidden_states).view(
            bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(hidden_states).view(
            bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(hidden_states).view(
            bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        kv_seq_len = k.shape[-2] + past_key_value[0].shape[-2]
        cos, sin = self.rotary_emb(v, seq_len=kv_seq_len)
        q, k = apply_rotary_pos_emb(q, k, cos, sin, position_ids)
        k = torch.cat([past_key_value[0], k], dim=2)
        v = torch.cat([past_key_value[1], v], dim=2)
        present = (k, v)
        k = repeat_kv(k, self.groups)
        v = repeat_kv(v, self.groups)
        weights = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        weights = weights + attention_mask
        weights = F.softmax(weights, dim=-1, dtype=torch.float32)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(bsz, q_len, -1)
        return self.o_proj(out), present


class LlamaMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        h, i = config.hidden_size, config.intermediate_size
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn = LlamaAttention(config)
        self.mlp = LlamaMLP(config)
        self.input_layernorm = tiny_lm.RMSNorm(config.hidden_size,
                                               config.rms_norm_eps)
        self.post_attention_layernorm = tiny_lm.RMSNorm(config.hidden_size,
                                                        config.rms_norm_eps)

    def forward(self, hidden_states, attention_mask, position_ids,
                past_key_value):
        residual = hidden_states
        hidden_states, present = self.self_attn(
            self.input_layernorm(hidden_states), attention_mask, position_ids,
            past_key_value)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.mlp(self.post_attention_layernorm(hidden_states))
        return residual + hidden_states, present


class LlamaForCausalLM(nn.Module):
    """forward(input_ids, k0, v0, k1, v1, ...) -> (logits, k0', v0', ...)."""

    def __init__(self, config=Config()):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([LlamaDecoderLayer(config)
                                     for _ in range(config.num_hidden_layers)])
        self.norm = tiny_lm.RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size,
                                 bias=False)

    def forward(self, input_ids, *past):
        bsz, seq = input_ids.shape
        past_len = past[0].shape[2]
        position_ids = torch.arange(past_len, seq + past_len,
                                    dtype=torch.long).unsqueeze(0)
        hidden_states = self.embed_tokens(input_ids)
        mask = make_causal_mask(bsz, seq, hidden_states.dtype, past_len)
        presents = []
        for i, layer in enumerate(self.layers):
            hidden_states, present = layer(hidden_states, mask, position_ids,
                                           (past[2 * i], past[2 * i + 1]))
            presents += present
        logits = self.lm_head(self.norm(hidden_states)).float()
        return (logits, *presents)

    def empty_past(self, batch):
        c = self.config
        shape = (batch, c.num_key_value_heads, 0,
                 c.hidden_size // c.num_attention_heads)
        return [torch.zeros(shape) for _ in range(2 * c.num_hidden_layers)]


def export(net, path, vocab=128):
    """torch.onnx.export at opset 17, traced with 3 past positions; batch,
    seq and the past length are symbolic."""
    layers = net.config.num_hidden_layers
    past_names = ["past_key_values.%d.%s" % (i, kv) for i in range(layers)
                  for kv in ("key", "value")]
    present_names = ["present.%d.%s" % (i, kv) for i in range(layers)
                     for kv in ("key", "value")]
    past = [torch.randn(p.shape[0], p.shape[1], 3, p.shape[3])
            for p in net.empty_past(1)]
    axes = {"input_ids": {0: "batch", 1: "seq"},
            "logits": {0: "batch", 1: "seq"}}
    for name in past_names:
        axes[name] = {0: "batch", 2: "past_seq"}
    for name in present_names:
        axes[name] = {0: "batch", 2: "total_seq"}
    torch.onnx.export(net, (torch.randint(0, vocab, (1, 5)), *past), path,
                      opset_version=17,
                      input_names=["input_ids"] + past_names,
                      output_names=["logits"] + present_names,
                      dynamic_axes=axes, do_constant_folding=True)
