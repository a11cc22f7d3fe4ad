#!/usr/bin/python3
"""Exports the hand-written attention modules that kiln-raise-attention
recognizes (and a few it must leave) to test/passes/Raising/Exports/Inputs/attention_*.onnx.

Every module is written the way PyTorch 1.13 models write attention (there
is no F.scaled_dot_product_attention before 2.0): project, split the heads,
`q @ k.transpose(-2, -1)` times a scale, a mask, softmax over the keys,
`@ v`, merge the heads. They are exported with torch.onnx.export at opset 17,
as Debian's python3-torch 1.13 writes them; the e2e check
(test/e2e/raising/check_raise_attention.py) imports CASES from here and
compares kiln-run with the same modules.

Usage: make_attention_exports.py [--out DIR]   (default: Inputs/ beside it)
"""
import argparse
import math
import os

import torch
from torch import nn

B, S, E = 2, 8, 16  # batch, sequence, model width of every export
WINDOW = 3          # sliding-window size (keys a query sees, itself included)


class Attention(nn.Module):
    """Projections and head reshapes shared by the cases; `attend` is the
    part each case writes differently."""

    def __init__(self, heads=2, kv_heads=None):
        super().__init__()
        self.heads, self.kv_heads = heads, kv_heads or heads
        self.d = E // heads
        self.q = nn.Linear(E, heads * self.d, bias=False)
        self.k = nn.Linear(E, self.kv_heads * self.d, bias=False)
        self.v = nn.Linear(E, self.kv_heads * self.d, bias=False)
        self.o = nn.Linear(heads * self.d, E, bias=False)

    def split(self, x, heads):  # [B, S, H*D] -> [B, H, S, D]
        b, s, _ = x.shape
        return x.view(b, s, heads, self.d).transpose(1, 2)

    def forward(self, x, *extra):
        q = self.split(self.q(x), self.heads)
        k = self.split(self.k(x), self.kv_heads)
        v = self.split(self.v(x), self.kv_heads)
        y = self.attend(q, k, v, *extra)
        b, h, s, d = y.shape
        return self.o(y.transpose(1, 2).reshape(b, s, h * d))


class Mha(Attention):
    """No mask, the scale as a multiplication."""

    def attend(self, q, k, v):
        scores = q @ k.transpose(-2, -1) * self.d ** -0.5
        return torch.softmax(scores, dim=-1) @ v


class Causal(Attention):
    """torch.triu of ones (Trilu) as a masked_fill, the scale as a division."""

    def attend(self, q, k, v):
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        s = q.shape[2]
        future = torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(future, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v


def positions(s):
    """Query positions as a column, key positions as a row (arange)."""
    i = torch.arange(s)
    return i[:, None], i[None, :]


class SlidingWindow(Attention):
    """A band of WINDOW - 1 keys on each side, from arange and compares."""

    def attend(self, q, k, v):
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        i, j = positions(q.shape[2])
        outside = (i - j >= WINDOW) | (j - i >= WINDOW)
        scores = scores.masked_fill(outside, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v


class CausalWindow(Attention):
    """Mistral's mask: causal, and at most WINDOW keys back (itself included)."""

    def attend(self, q, k, v):
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        i, j = positions(q.shape[2])
        scores = scores.masked_fill((j > i) | (i - j >= WINDOW), float("-inf"))
        return torch.softmax(scores, dim=-1) @ v


class Softcap(Attention):
    """Gemma-2's logit softcap, cap * tanh(scores / cap), before a causal
    mask written as torch.where(tril(ones), scores, -inf)."""

    CAP = 2.0

    def attend(self, q, k, v):
        scores = q @ k.transpose(-2, -1) * self.d ** -0.5
        scores = torch.tanh(scores / self.CAP) * self.CAP
        s = q.shape[2]
        seen = torch.tril(torch.ones(s, s, dtype=torch.bool))
        scores = torch.where(seen, scores, torch.tensor(float("-inf")))
        return torch.softmax(scores, dim=-1) @ v


class Weights(Attention):
    """Also returns the attention probabilities (output_attentions)."""

    def forward(self, x):
        q = self.split(self.q(x), self.heads)
        k = self.split(self.k(x), self.kv_heads)
        v = self.split(self.v(x), self.kv_heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        s = q.shape[2]
        future = torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)
        probs = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        y = probs @ v
        b, h, s, d = y.shape
        return self.o(y.transpose(1, 2).reshape(b, s, h * d)), probs


class Padding(Attention):
    """A [B, S] float padding mask input, added as (1 - m) * finfo.min."""

    def attend(self, q, k, v, attention_mask):
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        bias = (1.0 - attention_mask[:, None, None, :]) * torch.finfo(torch.float32).min
        return torch.softmax(scores + bias, dim=-1) @ v


class PaddingCausal(Attention):
    """GPT-2's tril buffer (a sliced constant) and an int64 padding input,
    both as masked_fill with -inf."""

    def __init__(self):
        super().__init__()
        self.register_buffer("bias", torch.tril(torch.ones(S, S)).view(1, 1, S, S))

    def attend(self, q, k, v, attention_mask):
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        s = q.shape[2]
        scores = scores.masked_fill(self.bias[:, :, :s, :s] == 0, float("-inf"))
        pad = attention_mask[:, None, None, :] == 0
        scores = scores.masked_fill(pad, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v


class Llama(Attention):
    """HuggingFace Llama as of transformers 4.30: the causal mask is a
    finfo.min matrix from arange, the [B, S] padding input is expanded,
    inverted and filled with finfo.min, the two are added, the scores are
    clamped with torch.max(scores, finfo.min) and the softmax runs in f32.
    Exported with left padding in mind: a padded query loses every key and
    torch averages all of them."""

    def forward(self, x, attention_mask):
        b, s, _ = x.shape
        low = torch.finfo(x.dtype).min
        mask = torch.full((s, s), low)
        cond = torch.arange(mask.size(-1))
        mask.masked_fill_(cond < (cond + 1).view(mask.size(-1), 1), 0)
        causal = mask[None, None, :, :].expand(b, 1, s, s)
        expanded = attention_mask[:, None, None, :].expand(b, 1, s, s).to(x.dtype)
        inverted = 1.0 - expanded
        padding = inverted.masked_fill(inverted.to(torch.bool), low)
        q = self.split(self.q(x), self.heads)
        k = self.split(self.k(x), self.kv_heads)
        v = self.split(self.v(x), self.kv_heads)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.d)
        w = w + (padding + causal)
        w = torch.max(w, torch.tensor(low))
        w = torch.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        y = torch.matmul(w, v)
        return self.o(y.transpose(1, 2).reshape(b, s, self.heads * self.d))


def repeat_kv(x, n_rep):
    """HuggingFace's repeat_kv: [B, KVH, S, D] -> [B, KVH * n_rep, S, D]."""
    b, kvh, s, d = x.shape
    if n_rep == 1:
        return x
    x = x[:, :, None, :, :].expand(b, kvh, n_rep, s, d)
    return x.reshape(b, kvh * n_rep, s, d)


class Gqa(Attention):
    """4 query heads on 2 key/value heads through repeat_kv, GPT-2's causal
    tril buffer."""

    def __init__(self):
        super().__init__(heads=4, kv_heads=2)
        self.register_buffer("bias", torch.tril(torch.ones(S, S)).view(1, 1, S, S))

    def attend(self, q, k, v):
        n_rep = self.heads // self.kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
        scores = q @ k.transpose(-2, -1) * self.d ** -0.5
        s = q.shape[2]
        scores = scores.masked_fill(self.bias[:, :, :s, :s] == 0, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v


class GqaInterleave(Attention):
    """GQA through torch.repeat_interleave (exported as Split, Expand,
    Reshape and Concat), no mask."""

    def __init__(self):
        super().__init__(heads=4, kv_heads=2)

    def attend(self, q, k, v):
        n_rep = self.heads // self.kv_heads
        k = torch.repeat_interleave(k, n_rep, dim=1)
        v = torch.repeat_interleave(v, n_rep, dim=1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        return torch.softmax(scores, dim=-1) @ v


class TorchMha(nn.Module):
    """torch.nn.MultiheadAttention with a causal attn_mask: 3-D [B*H, S, D]
    matmuls, the query pre-scaled, the mask an additive -inf constant."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(E, 2, bias=False, batch_first=True)

    def forward(self, x):
        s = x.shape[1]
        future = torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)
        return self.attn(x, x, x, attn_mask=future, need_weights=False)[0]


class NearMiss(Attention):
    """Three computations that look like attention but are not
    kiln.attention: softmax over the queries, a scale after the softmax, and
    a mask computed from the scores themselves."""

    def attend(self, q, k, v):
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        over_queries = torch.softmax(scores, dim=-2) @ v
        scaled_after = (torch.softmax(scores, dim=-1) * 0.5) @ v
        low = scores < scores.mean(dim=-1, keepdim=True)
        from_scores = torch.softmax(scores.masked_fill(low, float("-inf")), dim=-1) @ v
        return over_queries + scaled_after + from_scores


class Case:
    def __init__(self, name, module, extra=(), dynamic=False, outputs=("y",),
                 left_padding=False):
        self.name, self.module, self.extra = name, module, extra
        self.dynamic, self.outputs = dynamic, outputs
        self.left_padding = left_padding

    def inputs(self, batch=B, seq=S, seed=0):
        """(name, tensor) pairs for a batch x seq input."""
        g = torch.Generator().manual_seed(seed)
        named = [("x", torch.randn(batch, seq, E, generator=g))]
        for name, dtype in self.extra:
            # Batch 1 has two padded positions, at the end or the start.
            m = torch.ones(batch, seq, dtype=dtype)
            if batch > 1 and self.left_padding:
                m[1, :2] = 0
            elif batch > 1:
                m[1, -2:] = 0
            named.append((name, m))
        return named

    def build(self):
        torch.manual_seed(0)
        return self.module().eval()

    def export(self, path):
        model = self.build()
        named = self.inputs()
        names = [n for n, _ in named]
        # The sliding-window cases are exported with a symbolic sequence
        # length, so the mask stays Range/Unsqueeze/compare ops in the file.
        axes = {n: {0: "batch", 1: "sequence"} for n in names} if self.dynamic else None
        if axes:
            axes.update({n: {0: "batch", 1: "sequence"} for n in self.outputs})
        torch.onnx.export(model, tuple(t for _, t in named), path, opset_version=17,
                          input_names=names, output_names=list(self.outputs),
                          dynamic_axes=axes)


CASES = [
    Case("mha", Mha),
    Case("causal", Causal),
    Case("sliding_window", SlidingWindow, dynamic=True),
    Case("causal_window", CausalWindow, dynamic=True),
    Case("softcap", Softcap),
    Case("weights", Weights, outputs=("y", "probs")),
    Case("padding", Padding, extra=[("attention_mask", torch.float32)]),
    Case("padding_causal", PaddingCausal, extra=[("attention_mask", torch.int64)]),
    Case("llama", Llama, extra=[("attention_mask", torch.int64)], left_padding=True),
    Case("gqa", Gqa),
    Case("gqa_interleave", GqaInterleave),
    Case("torch_mha", TorchMha),
    Case("near_miss", NearMiss),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "Inputs"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for case in CASES:
        path = os.path.join(args.out, "attention_%s.onnx" % case.name)
        case.export(path)
        print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
