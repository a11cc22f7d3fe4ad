#!/usr/bin/env python3
"""A small MoE decoder block built with kiln.Graph, checked against PyTorch.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/moe_decoder.py

embedding -> rms_norm -> causal GQA attention with RoPE -> residual ->
rms_norm -> MoE (softmax router, top-2 of 4 SwiGLU experts, renormalized,
as Mixtral routes) -> residual -> rms_norm -> linear head, with random
weights. The graph is built in the Kiln dialect directly (no ONNX), compiled
and run by Kiln, and compared with the same block written in PyTorch below.
Prints the largest error relative to the largest logit and exits non-zero
above 1e-4.
"""

import argparse
import sys

import numpy as np
import torch

import kiln

VOCAB, HIDDEN, HEADS, KV_HEADS, HEAD_DIM = 64, 32, 4, 2, 8
EXPERTS, TOP_K, FFN = 4, 2, 48
SEQ = 16
EPS = 1e-6
TOLERANCE = 1e-4  # max |kiln - torch| / max |torch|


def make_weights(seed=0):
    rng = np.random.default_rng(seed)

    def w(*shape, scale=None):
        scale = scale if scale is not None else 1.0 / np.sqrt(shape[-1])
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    inv_freq = 1.0 / (10000.0 ** (np.arange(0, HEAD_DIM, 2) / HEAD_DIM))
    angles = np.outer(np.arange(SEQ), inv_freq)  # [S, D/2]
    return {
        "embed": w(VOCAB, HIDDEN, scale=1.0),
        "norm1": (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32),
        "wq": w(HEADS * HEAD_DIM, HIDDEN),
        "wk": w(KV_HEADS * HEAD_DIM, HIDDEN),
        "wv": w(KV_HEADS * HEAD_DIM, HIDDEN),
        "wo": w(HIDDEN, HEADS * HEAD_DIM),
        "cos": np.cos(angles).astype(np.float32),
        "sin": np.sin(angles).astype(np.float32),
        "norm2": (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32),
        "router": w(EXPERTS, HIDDEN),
        "w_gate": w(EXPERTS, FFN, HIDDEN),
        "w_up": w(EXPERTS, FFN, HIDDEN),
        "w_down": w(EXPERTS, HIDDEN, FFN),
        "norm3": (1.0 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32),
        "head": w(VOCAB, HIDDEN),
    }


def build_graph(p):
    """The decoder block as a kiln.Graph: tokens [1, SEQ] int64 -> logits."""
    g = kiln.Graph()
    tokens = g.input("tokens", (1, SEQ), np.int64)
    x = g.embedding(p["embed"], tokens, name="embed")           # [1, S, H]

    def heads(t, n, name):                                       # [1, S, n*D] -> [1, n, S, D]
        t = g.reshape(t, (1, SEQ, n, HEAD_DIM), name=name + ".split")
        return g.transpose(t, (0, 2, 1, 3), name=name + ".heads")

    h = g.rms_norm(x, p["norm1"], eps=EPS, name="attn_norm")
    cos, sin = g.constant(p["cos"]), g.constant(p["sin"])
    q = g.rope(heads(g.linear(h, p["wq"], name="q_proj"), HEADS, "q"), cos, sin, name="q.rope")
    k = g.rope(heads(g.linear(h, p["wk"], name="k_proj"), KV_HEADS, "k"), cos, sin, name="k.rope")
    v = heads(g.linear(h, p["wv"], name="v_proj"), KV_HEADS, "v")
    a = g.attention(q, k, v, mask="causal", name="attention")   # [1, HEADS, S, D]
    a = g.reshape(g.transpose(a, (0, 2, 1, 3)), (1, SEQ, HEADS * HEAD_DIM), name="merge")
    x = x + g.linear(a, p["wo"], name="o_proj")

    h = g.reshape(g.rms_norm(x, p["norm2"], eps=EPS, name="moe_norm"), (SEQ, HIDDEN))
    m = g.moe(h, p["router"], p["w_gate"], p["w_up"], p["w_down"], TOP_K, normalize=True,
              name="moe")
    x = x + g.reshape(m, (1, SEQ, HIDDEN))

    logits = g.linear(g.rms_norm(x, p["norm3"], eps=EPS, name="final_norm"), p["head"],
                      name="lm_head")
    g.output("logits", logits)
    return g


def torch_reference(p, tokens):
    """The same block in PyTorch (float32), written independently of Kiln."""
    t = {k: torch.from_numpy(v) for k, v in p.items()}

    def rms_norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w

    def rope(x):  # rotate_half, as HF Llama/Mixtral
        cos = torch.cat([t["cos"], t["cos"]], -1)
        sin = torch.cat([t["sin"], t["sin"]], -1)
        x1, x2 = x[..., :HEAD_DIM // 2], x[..., HEAD_DIM // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    ids = torch.from_numpy(tokens)
    x = t["embed"][ids]                                          # [1, S, H]
    h = rms_norm(x, t["norm1"])
    q = (h @ t["wq"].T).view(1, SEQ, HEADS, HEAD_DIM).transpose(1, 2)
    k = (h @ t["wk"].T).view(1, SEQ, KV_HEADS, HEAD_DIM).transpose(1, 2)
    v = (h @ t["wv"].T).view(1, SEQ, KV_HEADS, HEAD_DIM).transpose(1, 2)
    q, k = rope(q), rope(k)
    k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
    v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
    scores = (q @ k.transpose(-1, -2)) / np.sqrt(HEAD_DIM)
    causal = torch.ones(SEQ, SEQ, dtype=torch.bool).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    a = torch.softmax(scores, -1) @ v
    x = x + a.transpose(1, 2).reshape(1, SEQ, HEADS * HEAD_DIM) @ t["wo"].T

    h = rms_norm(x, t["norm2"]).view(SEQ, HIDDEN)
    probs = torch.softmax(h @ t["router"].T, -1)
    top, experts = probs.topk(TOP_K, -1)
    top = top / top.sum(-1, keepdim=True)
    moe = torch.zeros_like(h)
    for token in range(SEQ):
        for c in range(TOP_K):
            e = int(experts[token, c])
            ffn = torch.nn.functional.silu(t["w_gate"][e] @ h[token]) * (t["w_up"][e] @ h[token])
            moe[token] += top[token, c] * (t["w_down"][e] @ ffn)
    x = x + moe.view(1, SEQ, HIDDEN)
    return (rms_norm(x, t["norm3"]) @ t["head"].T).numpy()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--print-mlir", action="store_true", help="print the graph's .mlir")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    p = make_weights(args.seed)
    graph = build_graph(p)
    if args.print_mlir:
        print(graph)
    model = kiln.load(kiln.compile(graph))
    tokens = np.random.default_rng(args.seed + 1).integers(0, VOCAB, (1, SEQ), dtype=np.int64)
    logits = model.run({"tokens": tokens})["logits"]
    ref = torch_reference(p, tokens)
    err = float(np.abs(logits - ref).max() / np.abs(ref).max())
    same = bool(np.array_equal(logits.argmax(-1), ref.argmax(-1)))
    print(f"{model}\nmax |kiln - torch| / max |torch| = {err:.2e} (tolerance {TOLERANCE:.0e}); "
          f"argmax {'agrees' if same else 'DIFFERS'} at all {SEQ} positions")
    return 0 if err <= TOLERANCE and same else 1


if __name__ == "__main__":
    sys.exit(main())
