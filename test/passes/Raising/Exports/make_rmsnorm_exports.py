#!/usr/bin/python3
"""Writes the RMSNorm raising inputs: tiny modules exported by torch.onnx.

Each module below is an RMSNorm written the way Hugging Face's LLaMA,
Mixtral and T5 code writes it, exported with torch.onnx.export (opset 17,
Debian's python3-torch 1.13) to Inputs/<name>.onnx. Beside each model,
Inputs/<name>.npz keeps the input `x` and the module's own output `y`, so
that test/e2e/raising/check_raise_basic.py compares against PyTorch
without needing PyTorch.

  rms_llama            LlamaRMSNorm (4.30): x * rsqrt(mean(x^2) + 1e-6) * w,
                       rsqrt exported as Div(1, Sqrt)
  rms_mixtral          MixtralRMSNorm: casts to float32 and back (no-ops on
                       float32, dropped by the exporter), eps 1e-5, w * x
  rms_f16              the same on float16: Cast to float32, normalize,
                       Cast back to float16, times a float16 weight
  rms_no_weight        x * rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
  rms_div_sqrt         x / sqrt(mean(x * x) + eps) * w: a square written as
                       a product, a division by the root
  rms_near_miss_axis   the mean over axis 1 instead of the last axis
  rms_near_miss_eps    x / (sqrt(mean(x^2)) + eps): epsilon after the root

Run from anywhere; rewrites every file it owns.
"""
import os

import torch
import torch.nn as nn

from export_case import save_case

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "Inputs")


class LlamaRMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(0.5 + torch.rand(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(
            variance + self.variance_epsilon)
        return self.weight * hidden_states


class MixtralRMSNorm(LlamaRMSNorm):
    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(
            variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class NoWeight(nn.Module):
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


class DivSqrt(LlamaRMSNorm):
    def forward(self, x):
        norm = x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5)
        return norm * self.weight


class MeanOverAxis1(LlamaRMSNorm):
    def forward(self, x):
        variance = x.pow(2).mean(1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + 1e-6))


class EpsAfterRoot(LlamaRMSNorm):
    def forward(self, x):
        rms = torch.sqrt(x.pow(2).mean(-1, keepdim=True))
        return self.weight * (x / (rms + 1e-6))


# name -> (module factory, input shape, dtype)
MODELS = {
    "rms_llama": (lambda: LlamaRMSNorm(16), (2, 3, 16), torch.float32),
    "rms_mixtral": (lambda: MixtralRMSNorm(8, eps=1e-5), (1, 4, 8),
                    torch.float32),
    "rms_f16": (lambda: MixtralRMSNorm(16, eps=1e-5).half(), (2, 3, 16),
                torch.float16),
    "rms_no_weight": (NoWeight, (4, 32), torch.float32),
    "rms_div_sqrt": (lambda: DivSqrt(8), (2, 2, 8), torch.float32),
    "rms_near_miss_axis": (lambda: MeanOverAxis1(16), (2, 3, 16),
                           torch.float32),
    "rms_near_miss_eps": (lambda: EpsAfterRoot(16), (2, 3, 16),
                          torch.float32),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, (name, (make, shape, dtype)) in enumerate(MODELS.items()):
        torch.manual_seed(3000 + i)
        model = make().eval()
        save_case(OUT, name, model, {"x": (2 * torch.randn(*shape)).to(dtype)})


if __name__ == "__main__":
    main()
