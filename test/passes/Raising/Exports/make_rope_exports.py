#!/usr/bin/python3
"""Writes the RoPE raising inputs: tiny modules exported by torch.onnx.

Each module below applies rotary position embeddings the way Hugging Face
code writes them, exported with torch.onnx.export (opset 17, Debian's
python3-torch 1.13) to Inputs/<name>.onnx. Beside each model,
Inputs/<name>.npz keeps its inputs (under their graph input names) and the
module's own outputs (`y`, or `q_embed` and `k_embed`), so that
test/e2e/raising/check_raise_basic.py compares against PyTorch without
needing PyTorch.

  rope_llama            HF LLaMA 4.30: [1, 1, P, D] cos/sin caches gathered
                        by position_ids, rotate_half, q (4 heads) and k
                        (2 heads, GQA)
  rope_llama_dyn        HF LLaMA 4.38+: cos/sin computed from
                        inv_freq @ position_ids, cat(freqs, freqs)
  rope_neox_partial     GPT-NeoX with rotary_pct 0.5: the first 8 of 16
                        features rotated by [S, 8] cached tables, the rest
                        concatenated through
  rope_interleaved      GPT-J's rotate_every_two (step-2 slices, stack,
                        flatten) with repeat_interleave'd tables gathered
                        by position_ids, on [B, H, S, D]
  rope_3d               one head without a head axis: x [B, S, D] with
                        [S, D] tables
  rope_near_miss_halves a table built from cat(freqs, freqs / 2): its two
                        halves differ, so it is not a rotation kiln.rope
                        can express
  rope_computed         GPT-NeoX's RotaryEmbedding computing its tables in
                        forward: cos/sin of cat(f, f), f = einsum of
                        arange(S) and inv_freq (constants)
  rope_gptj             GPT-J's own code: [B, S, H, D] keys, the first 4 of
                        8 features rotated, sincos = table[position_ids]
                        split into sin | cos, repeat_interleave (exported
                        as one Expand per angle)
  rope_llama_shared_ids rope_llama with one row of position_ids [1, S] for
                        a batch of 2 (HF's default position_ids)
  rope_reversed         rotate_half written cat(x2, -x1), the rotation the
                        other way (kiln.rope with sin negated)

Run from anywhere; rewrites every file it owns.
"""
import os

import torch
import torch.nn as nn

from export_case import save_case

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "Inputs")


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rotate_every_two(x):
    x1 = x[..., ::2]
    x2 = x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


def inv_freq(dim, base=10000.0):
    return 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))


def freqs(dim, positions):
    return torch.einsum("i,j->ij", torch.arange(positions).float(),
                        inv_freq(dim))


class LlamaRope(nn.Module):
    """LlamaRotaryEmbedding + apply_rotary_pos_emb, transformers 4.30."""

    def __init__(self, dim, max_positions=16):
        super().__init__()
        f = freqs(dim, max_positions)
        emb = torch.cat((f, f), dim=-1)
        self.register_buffer("cos_cached", emb.cos()[None, None], False)
        self.register_buffer("sin_cached", emb.sin()[None, None], False)

    def forward(self, q, k, position_ids):
        cos = self.cos_cached.squeeze(1).squeeze(0)  # [P, D]
        sin = self.sin_cached.squeeze(1).squeeze(0)
        cos = cos[position_ids].unsqueeze(1)  # [B, 1, S, D]
        sin = sin[position_ids].unsqueeze(1)
        q_embed = (q * cos) + (rotate_half(q) * sin)
        k_embed = (k * cos) + (rotate_half(k) * sin)
        return q_embed, k_embed


class LlamaDynamicRope(nn.Module):
    """LlamaRotaryEmbedding, transformers 4.38+: no cache."""

    def __init__(self, dim):
        super().__init__()
        self.register_buffer("inv_freq", inv_freq(dim), False)

    def forward(self, q, position_ids):
        inv = self.inv_freq[None, :, None].expand(position_ids.shape[0], -1, 1)
        pos = position_ids[:, None, :].float()
        f = (inv @ pos).transpose(1, 2)
        emb = torch.cat((f, f), dim=-1)
        cos = emb.cos().unsqueeze(1)
        sin = emb.sin().unsqueeze(1)
        return (q * cos) + (rotate_half(q) * sin)


class NeoXPartialRope(nn.Module):
    """GPTNeoXAttention's rotary part with rotary_pct = 0.5."""

    def __init__(self, rotary_ndims, max_positions=16):
        super().__init__()
        f = freqs(rotary_ndims, max_positions)
        emb = torch.cat((f, f), dim=-1)
        self.register_buffer("cos_cached", emb.cos()[None, None], False)
        self.register_buffer("sin_cached", emb.sin()[None, None], False)
        self.rotary_ndims = rotary_ndims

    def forward(self, q):
        seq_len = q.shape[-2]
        cos = self.cos_cached[:, :, :seq_len]
        sin = self.sin_cached[:, :, :seq_len]
        q_rot = q[..., : self.rotary_ndims]
        q_pass = q[..., self.rotary_ndims:]
        q_rot = (q_rot * cos) + (rotate_half(q_rot) * sin)
        return torch.cat((q_rot, q_pass), dim=-1)


class InterleavedRope(nn.Module):
    """GPT-J's rotate_every_two with duplicate-interleaved tables."""

    def __init__(self, dim, max_positions=16):
        super().__init__()
        f = freqs(dim, max_positions)
        self.register_buffer("cos", torch.repeat_interleave(f.cos(), 2, -1))
        self.register_buffer("sin", torch.repeat_interleave(f.sin(), 2, -1))

    def forward(self, x, position_ids):
        cos = self.cos[position_ids].unsqueeze(1)
        sin = self.sin[position_ids].unsqueeze(1)
        return x * cos + rotate_every_two(x) * sin


class HeadlessRope(nn.Module):
    def __init__(self, dim, seq):
        super().__init__()
        f = freqs(dim, seq)
        emb = torch.cat((f, f), dim=-1)
        self.register_buffer("cos", emb.cos())
        self.register_buffer("sin", emb.sin())

    def forward(self, x):
        return x * self.cos + rotate_half(x) * self.sin


class UnequalHalvesRope(HeadlessRope):
    def __init__(self, dim, seq):
        super().__init__(dim, seq)
        f = freqs(dim, seq)
        emb = torch.cat((f, f / 2), dim=-1)
        self.cos = emb.cos()
        self.sin = emb.sin()


class ComputedRope(nn.Module):
    """Tables from arange(seq) and inv_freq at each call, as GPT-NeoX's
    RotaryEmbedding does past its cache."""

    def __init__(self, dim):
        super().__init__()
        self.register_buffer("inv_freq", inv_freq(dim), False)

    def forward(self, q):
        t = torch.arange(q.shape[-2], dtype=self.inv_freq.dtype)
        f = torch.einsum("i,j->ij", t, self.inv_freq)
        emb = torch.cat((f, f), dim=-1)
        cos = emb.cos()[None, None, :, :]
        sin = emb.sin()[None, None, :, :]
        return q * cos + rotate_half(q) * sin


class GPTJRope(nn.Module):
    """GPTJAttention's rotary part (transformers 4.30) on the keys."""

    def __init__(self, rotary_dim, max_positions=16):
        super().__init__()
        f = freqs(rotary_dim, max_positions)
        self.register_buffer("embed_positions",
                             torch.cat((torch.sin(f), torch.cos(f)), dim=1))
        self.rotary_dim = rotary_dim

    def forward(self, key, position_ids):
        sincos = self.embed_positions[position_ids]
        sin, cos = torch.split(sincos, sincos.shape[-1] // 2, dim=-1)
        sin = torch.repeat_interleave(sin[:, :, None, :], 2, 3)
        cos = torch.repeat_interleave(cos[:, :, None, :], 2, 3)
        k_rot = key[:, :, :, : self.rotary_dim]
        k_pass = key[:, :, :, self.rotary_dim:]
        k_rot = (k_rot * cos) + (rotate_every_two(k_rot) * sin)
        return torch.cat([k_rot, k_pass], dim=-1)


class ReversedRope(HeadlessRope):
    def forward(self, x):
        half = x.shape[-1] // 2
        rot = torch.cat((x[..., half:], -x[..., :half]), dim=-1)
        return x * self.cos + rot * self.sin


def positions(batch, seq, starts):
    return torch.stack([torch.arange(s, s + seq) for s in starts[:batch]])


# name -> (module factory, {input name: tensor}, output names)
MODELS = {
    "rope_llama": (
        lambda: LlamaRope(8),
        lambda: {"q": torch.randn(2, 4, 5, 8), "k": torch.randn(2, 2, 5, 8),
                 "position_ids": positions(2, 5, [0, 3])},
        ["q_embed", "k_embed"]),
    "rope_llama_dyn": (
        lambda: LlamaDynamicRope(8),
        lambda: {"q": torch.randn(2, 3, 5, 8),
                 "position_ids": positions(2, 5, [4, 0])},
        ["y"]),
    "rope_neox_partial": (
        lambda: NeoXPartialRope(8),
        lambda: {"q": torch.randn(1, 2, 6, 16)},
        ["y"]),
    "rope_interleaved": (
        lambda: InterleavedRope(8),
        lambda: {"x": torch.randn(2, 2, 4, 8),
                 "position_ids": positions(2, 4, [1, 7])},
        ["y"]),
    "rope_3d": (
        lambda: HeadlessRope(8, 5),
        lambda: {"x": torch.randn(2, 5, 8)},
        ["y"]),
    "rope_near_miss_halves": (
        lambda: UnequalHalvesRope(8, 5),
        lambda: {"x": torch.randn(2, 5, 8)},
        ["y"]),
    "rope_computed": (
        lambda: ComputedRope(8),
        lambda: {"q": torch.randn(1, 2, 5, 8)},
        ["y"]),
    "rope_gptj": (
        lambda: GPTJRope(4),
        lambda: {"key": torch.randn(2, 5, 2, 8),
                 "position_ids": positions(2, 5, [2, 9])},
        ["y"]),
    "rope_llama_shared_ids": (
        lambda: LlamaRope(8),
        lambda: {"q": torch.randn(2, 2, 4, 8), "k": torch.randn(2, 1, 4, 8),
                 "position_ids": positions(1, 4, [6])},
        ["q_embed", "k_embed"]),
    "rope_reversed": (
        lambda: ReversedRope(8, 5),
        lambda: {"x": torch.randn(1, 2, 5, 8)},
        ["y"]),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, (name, (make, make_inputs, outputs)) in enumerate(MODELS.items()):
        torch.manual_seed(4000 + i)
        model = make().eval()
        save_case(OUT, name, model, make_inputs(), outputs)


if __name__ == "__main__":
    main()
