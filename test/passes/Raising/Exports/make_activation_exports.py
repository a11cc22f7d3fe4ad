#!/usr/bin/python3
"""Writes the activation raising inputs: tiny modules exported by torch.onnx.

Each module below computes an activation the way PyTorch or Hugging Face
code writes it, exported with torch.onnx.export (opset 17, Debian's
python3-torch 1.13) to Inputs/<name>.onnx. Beside each model,
Inputs/<name>.npz keeps its inputs (under their graph input names) and the
module's own output `y`, so that test/e2e/raising/check_raise_basic.py
compares against PyTorch without needing PyTorch.

  act_silu              F.silu (exported as Sigmoid + Mul)
  act_silu_mul          torch.sigmoid(x) * x, the other operand order
  act_gelu              F.gelu: (x * (1 + erf(x / 1.4142135))) * 0.5
  act_gelu_bert         BERT's x * 0.5 * (1 + erf(x / sqrt(2)))
  act_gelu_tanh         F.gelu(approximate='tanh')
  act_gelu_new          GPT-2's NewGELU, with torch.pow(x, 3)
  act_gelu_fast         "fast" GELU: x * 0.7978845608 * (1 + 0.044715 x x)
  act_swiglu            LLaMA's MLP down(silu(gate(x)) * up(x)), no biases
  act_swiglu_bias       the same with biases on 2-D input (Gemm)
  act_near_miss_silu    x * sigmoid(1.702 x), the sigmoid GELU: not SiLU
  act_near_miss_gelu    0.5 x (1 + erf(x / 1.5)): a wrong constant
  act_near_miss_swiglu  silu(gate(x)) * up(h): gate and up read different
                        inputs (the silu is still raised)

Run from anywhere; rewrites every file it owns.
"""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from export_case import save_case

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "Inputs")


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class MLP(nn.Module):
    """LLaMA's LlamaMLP."""

    def __init__(self, hidden, inter, bias=False):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=bias)
        self.up_proj = nn.Linear(hidden, inter, bias=bias)
        self.down_proj = nn.Linear(inter, hidden, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class TwoInputGLU(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)

    def forward(self, x, h):
        return F.silu(self.gate_proj(x)) * self.up_proj(h)


def gelu_bert(x):
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(
        math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_fast(x):
    return 0.5 * x * (1.0 + torch.tanh(
        x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


# name -> (module factory, {input name: shape})
MODELS = {
    "act_silu": (lambda: Fn(F.silu), {"x": (2, 3, 8)}),
    "act_silu_mul": (lambda: Fn(lambda x: torch.sigmoid(x) * x),
                     {"x": (4, 16)}),
    "act_gelu": (lambda: Fn(F.gelu), {"x": (2, 5, 8)}),
    "act_gelu_bert": (lambda: Fn(gelu_bert), {"x": (3, 8)}),
    "act_gelu_tanh": (lambda: Fn(lambda x: F.gelu(x, approximate="tanh")),
                      {"x": (2, 3, 8)}),
    "act_gelu_new": (lambda: Fn(gelu_new), {"x": (2, 8)}),
    "act_gelu_fast": (lambda: Fn(gelu_fast), {"x": (2, 8)}),
    "act_swiglu": (lambda: MLP(8, 16), {"x": (2, 3, 8)}),
    "act_swiglu_bias": (lambda: MLP(8, 12, bias=True), {"x": (3, 8)}),
    "act_near_miss_silu": (lambda: Fn(lambda x: x * torch.sigmoid(1.702 * x)),
                           {"x": (2, 8)}),
    "act_near_miss_gelu": (
        lambda: Fn(lambda x: 0.5 * x * (1.0 + torch.erf(x / 1.5))),
        {"x": (2, 8)}),
    "act_near_miss_swiglu": (lambda: TwoInputGLU(8, 16),
                             {"x": (2, 8), "h": (2, 8)}),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, (name, (make, shapes)) in enumerate(MODELS.items()):
        torch.manual_seed(2000 + i)
        model = make().eval()
        # Inputs spread over the range where the activations bend.
        save_case(OUT, name, model,
                  {k: 3 * torch.randn(*s) for k, s in shapes.items()})


if __name__ == "__main__":
    main()
