#!/usr/bin/python3
"""The PyTorch-exported models of the CPU benchmark (test/bench/bench_cpu.py).

Each model is the Mixtral code of examples/mixtral/make_mixtral.py (Hugging
Face's modeling_mixtral.py, dense MoE form) with random weights from a fixed
seed, exported by torch.onnx.export at opset 17 with static shapes, together
with a random input of that shape:

  moe_decoder      4-layer Mixtral-style decoder: vocab 1024, d_model 512,
                   8 query heads and 2 KV heads (GQA, head dim 64), RoPE,
                   RMSNorm, causal mask, MoE FFN: top-2 of 8 SwiGLU experts
                   (intermediate 1024) in the dense form PyTorch exports
                   (every expert on every token, weighted by the routing).
                   `tokens` [1, 128] int64 -> `logits` [1, 128, 1024].
  window_attention attention over 2048 tokens, 8 heads of dim 64, with the
                   additive causal + 256-token sliding-window mask HF's
                   Mixtral builds (constant-folded by the exporter):
                   `q`, `k`, `v` [1, 8, 2048, 64] -> `out` [1, 8, 2048, 64].
  mixtral_layer    one Mixtral MoE FFN: softmax router, top-2 of 8 SwiGLU
                   experts (d 1024, intermediate 1408), dense form, 32
                   tokens: `hidden` [1, 32, 1024] -> `out` [1, 32, 1024].
  resnet18_224, mobilenet_v3_small_224, squeezenet1_1_224
                   torchvision's (python3-torchvision) image classifiers,
                   random weights from the seed, eval mode:
                   `x` [1, 3, 224, 224] -> `y` [1, 1000].

Writes NAME.onnx and NAME.<input>.npy into DIR for each NAME asked for
(default: all); a model whose files exist is not rebuilt.

Run: /usr/bin/python3 test/bench/make_models.py DIR [NAME...]
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "mixtral"))
sys.path.insert(0, os.path.join(ROOT, "examples", "tools"))
import make_mixtral  # noqa: E402

SEED = 1234


class DecoderConfig(make_mixtral.MixtralConfig):
    vocab_size = 1024
    hidden_size = 512
    intermediate_size = 1024
    num_hidden_layers = 4
    num_attention_heads = 8
    num_key_value_heads = 2
    num_local_experts = 8
    num_experts_per_tok = 2
    sliding_window = 4096  # Mixtral's; longer than the sequence: causal
    max_position_embeddings = 128
    seq = 128


class LayerConfig(make_mixtral.MixtralConfig):
    hidden_size = 1024
    intermediate_size = 1408
    num_local_experts = 8
    num_experts_per_tok = 2
    seq = 32


class WindowAttention(nn.Module):
    """The attention core of MixtralAttention (after the projections and
    RoPE) under the sliding-window causal mask of make_mixtral."""

    def __init__(self, seq, window, head_dim):
        super().__init__()
        self.seq = seq
        self.window = window
        self.head_dim = head_dim

    def forward(self, q, k, v):
        mask = make_mixtral.make_sliding_window_causal_mask(
            torch.zeros((q.shape[0], self.seq), dtype=torch.int64), q.dtype,
            self.window)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        weights = F.softmax(scores + mask, dim=-1, dtype=torch.float32)
        return torch.matmul(weights.to(q.dtype), v)


def export(model, path, inputs, input_names, output_names):
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, tuple(inputs), path + ".tmp",
                          opset_version=17, input_names=input_names,
                          output_names=output_names, do_constant_folding=True)
    os.replace(path + ".tmp", path)  # the .onnx appears only when complete


def moe_decoder(out):
    torch.manual_seed(SEED)
    config = DecoderConfig()
    model = make_mixtral.MixtralForCausalLM(config)
    tokens = torch.randint(0, config.vocab_size, (1, config.seq),
                           generator=torch.Generator().manual_seed(SEED))
    np.save(out + ".tokens.npy", tokens.numpy().astype(np.int64))
    export(model, out + ".onnx", [tokens], ["tokens"], ["logits"])


def window_attention(out, seq=2048, window=256, heads=8, head_dim=64):
    gen = torch.Generator().manual_seed(SEED)
    qkv = [torch.randn((1, heads, seq, head_dim), generator=gen)
           for _ in range(3)]
    for name, value in zip("qkv", qkv):
        np.save("%s.%s.npy" % (out, name), value.numpy().astype(np.float32))
    export(WindowAttention(seq, window, head_dim), out + ".onnx", qkv,
           ["q", "k", "v"], ["out"])


class MoeLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.moe = make_mixtral.MixtralSparseMoeBlock(config)

    def forward(self, hidden):
        return self.moe(hidden)


def mixtral_layer(out):
    torch.manual_seed(SEED)
    config = LayerConfig()
    model = MoeLayer(config)
    hidden = torch.randn((1, config.seq, config.hidden_size),
                         generator=torch.Generator().manual_seed(SEED))
    np.save(out + ".hidden.npy", hidden.numpy().astype(np.float32))
    export(model, out + ".onnx", [hidden], ["hidden"], ["out"])


def torchvision_model(arch, size=224):
    def make(out):
        import torchvision
        torch.manual_seed(SEED)
        model = getattr(torchvision.models, arch)()
        x = torch.randn((1, 3, size, size),
                        generator=torch.Generator().manual_seed(SEED))
        np.save(out + ".x.npy", x.numpy().astype(np.float32))
        export(model, out + ".onnx", [x], ["x"], ["y"])
    return make


MODELS = {"moe_decoder": moe_decoder, "window_attention": window_attention,
          "mixtral_layer": mixtral_layer,
          "resnet18_224": torchvision_model("resnet18"),
          "mobilenet_v3_small_224": torchvision_model("mobilenet_v3_small"),
          "squeezenet1_1_224": torchvision_model("squeezenet1_1")}


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) >= 2 else 2
    out_dir = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for name in names:
        if name not in MODELS:
            print("make_models.py: unknown model %s (known: %s)" % (
                name, ", ".join(MODELS)), file=sys.stderr)
            return 2
        path = os.path.join(out_dir, name)
        if os.path.exists(path + ".onnx"):
            continue
        MODELS[name](path)
        print("wrote", path + ".onnx", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
