#!/usr/bin/python3
"""Symbolic dimensions end to end: models exported from PyTorch with
`dynamic_axes` compile once, with no shape flag, and the one artifact runs
at several shapes, each compared with PyTorch on the same inputs:

  - mlp: Linear -> GELU -> Linear over [batch, 16], batch in 1, 3, 8, 33;
  - attention: a causal self-attention block (its mask built from the
    sequence length, its heads split with view/transpose) over
    [batch, seq, 32] at 1x5, 3x12, 1x33, 2x1;
  - decoder: the Mixtral-style decoder of examples/mixtral (RoPE, GQA,
    sliding-window causal mask, dense top-2 MoE), untrained, seed 0,
    tokens [batch, seq] at 1x5, 3x12, 1x33, 2x1 (its rotary table made 64
    positions long);
  - deepseek: the DeepSeek-V3-style decoder of examples/deepseek (sigmoid
    router with a selection bias and grouped routing, a shared expert,
    HF's additive causal mask), the same way.

The decoders must also raise as their static exports do: their
`--emit=kiln --report-raising` must report kiln.attention with the static
export's mask kind, kiln.moe, rope on q and k, and weighted rms_norm
for every layer (the dynamic forms of the masks, reshapes and fills must
not send them down the generic path).

Float32 outputs must satisfy max |kiln - torch| <= 1e-4 * max(1, max
|torch|). Then a shape outside an input's contract must be refused with
one message naming the input and the dimension.

Then shapes that only the data decides: a model whose Reshape, Expand and
Range take their shapes from graph inputs, run with several values
(including 0 and -1 in the Reshape's shape, and outputs larger than the
runtime's first guess, which it must grow and run again), against NumPy.

Usage: check_dynamic.py --bin BUILD/bin [--keep DIR] [--filter NAME]
"""
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import kiln_tools  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
SHAPES = [(1, 5), (3, 12), (1, 33), (2, 1)]
TOLERANCE = 1e-4


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Linear(16, 24)
        self.down = nn.Linear(24, 8)

    def forward(self, x):
        return self.down(nn.functional.gelu(self.up(x)))


class CausalSelfAttention(nn.Module):
    """GPT-style: fused QKV, heads by view/transpose, a mask from the
    sequence length, softmax attention, output projection."""

    def __init__(self, hidden=32, heads=4):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x):
        batch, seq, hidden = x.shape
        q, k, v = self.qkv(x).split(hidden, dim=-1)
        head = hidden // self.heads

        def split(t):
            return t.view(batch, seq, self.heads, head).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        scores = q @ k.transpose(-1, -2) / head ** 0.5
        mask = torch.ones(seq, seq, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
        y = scores.softmax(-1) @ v
        return self.out(y.transpose(1, 2).reshape(batch, seq, hidden))


def decoder():
    sys.path.insert(0, os.path.join(ROOT, "examples", "mixtral"))
    sys.path.insert(0, os.path.join(ROOT, "examples", "tools"))
    import make_mixtral
    config = make_mixtral.MixtralConfig()
    config.max_position_embeddings = 64  # the example's 16 is too short
    return make_mixtral.MixtralForCausalLM(config)


def deepseek_decoder():
    sys.path.insert(0, os.path.join(ROOT, "examples", "deepseek"))
    sys.path.insert(0, os.path.join(ROOT, "examples", "tools"))
    import make_deepseek
    config = make_deepseek.DeepseekV3Config()
    config.max_position_embeddings = 64
    return make_deepseek.DeepseekV3ForCausalLM(config)


# What each decoder's raising report must contain, (remark, count): what
# its static export raises to, mask kinds included.
MIXTRAL_RAISED = [
    ("raised attention (sliding window, left 5, right 0, 4 heads on 2 kv heads", 2),
    ("raised moe (softmax router, top-2 of 4 experts", 2),
    ("raised rope (half rotation, all 16 features", 4),
    ("weight)", 5)]  # every rms_norm with its weight
DEEPSEEK_RAISED = [
    ("raised attention (causal, 4 heads", 2),
    ("raised moe (sigmoid router, top-2 of 8 experts, selection bias, 2 groups keep 1", 2),
    ("raised rope (half rotation, all 16 features", 4),
    ("weight)", 5)]


def check_raised(bin_dir, onnx_path, work, expected):
    """None when `--report-raising` lists each expected remark as often as
    required, else what is missing."""
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), onnx_path, "--emit=kiln",
         "--report-raising", "-o", os.path.join(work, "raised.mlir")],
        capture_output=True, text=True)
    if result.returncode:
        return "--emit=kiln failed: " + result.stderr.strip()
    for pattern, count in expected:
        found = result.stderr.count(pattern)
        if found < count:
            left = [line for line in result.stderr.splitlines() if " left " in line]
            return "%d x '%s' in the raising report, expected %d; left: %s" % (
                found, pattern, count, "; ".join(left) or "nothing")
    return None


def export(model, example, path, input_name, axes):
    torch.onnx.export(model, (example,), path, opset_version=17,
                      input_names=[input_name], output_names=["y"],
                      dynamic_axes={input_name: axes, "y": axes},
                      do_constant_folding=True)


def run(bin_dir, artifact, work, name, input_name, array):
    path = os.path.join(work, name + ".npy")
    np.save(path, array)
    out_dir = os.path.join(work, name + "_out")
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-run"), artifact, "--quiet",
         "--output-dir", out_dir, "--input", "%s=%s" % (input_name, path)],
        capture_output=True, text=True)
    if result.returncode:
        return None, result.stderr.strip()
    return np.load(os.path.join(out_dir, "y.npy")), None


def check_model(bin_dir, name, model, make_input, input_name, axes, shapes,
                bad_shape, bad_message, raised=()):
    def check(work):
        torch.manual_seed(0)
        net = model().eval()
        onnx_path = os.path.join(work, name + ".onnx")
        export(net, make_input(*shapes[0]), onnx_path, input_name, axes)
        if raised:
            why = check_raised(bin_dir, onnx_path, work, raised)
            if why:
                return "raising: " + why
        artifact = os.path.join(work, name + ".kiln")
        result = subprocess.run(
            [os.path.join(bin_dir, "kiln-compile"), onnx_path, "-o", artifact],
            capture_output=True, text=True)
        if result.returncode:
            return "compile failed: " + result.stderr.strip()
        errors = []
        for shape in shapes:
            x = make_input(*shape)
            with torch.no_grad():
                expected = net(x).numpy()
            tag = "%s_%s" % (name, "x".join(map(str, shape)))
            got, why = run(bin_dir, artifact, work, tag, input_name, x.numpy())
            if why:
                return "at %s: run failed: %s" % (shape, why)
            if got.shape != expected.shape:
                return "at %s: output shape %s, expected %s" % (
                    shape, got.shape, expected.shape)
            error = float(np.abs(got - expected).max()) / max(
                1.0, float(np.abs(expected).max()))
            if error > TOLERANCE:
                return "at %s: error %.3g > %g" % (shape, error, TOLERANCE)
            errors.append(error)
        _, why = run(bin_dir, artifact, work, name + "_bad", input_name,
                     make_input(*bad_shape).numpy())
        if not why or bad_message not in why:
            return "a bad shape %s gave %r, expected %r" % (
                bad_shape, why, bad_message)
        return None, "(%d shapes, max error %.2g)" % (len(shapes), max(errors))
    return name, "%s at %s" % (name, ", ".join(
        "x".join(map(str, s)) for s in shapes)), check


def runtime_shapes_model(path):
    """Y = Reshape(X, S); E = Expand(V, T); R = Range(0, N, 1)."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["X", "S"], ["Y"]),
         helper.make_node("Expand", ["V", "T"], ["E"]),
         helper.make_node("Range", ["zero", "N", "one"], ["R"])],
        "runtime_shapes",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [64, 64]),
         helper.make_tensor_value_info("S", TensorProto.INT64, [3]),
         helper.make_tensor_value_info("V", TensorProto.FLOAT, [3, 1]),
         helper.make_tensor_value_info("T", TensorProto.INT64, [2]),
         helper.make_tensor_value_info("N", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("E", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("R", TensorProto.INT64, None)],
        [helper.make_tensor("zero", TensorProto.INT64, [], [0]),
         helper.make_tensor("one", TensorProto.INT64, [], [1])])
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17)]), path)


def check_runtime_shapes(bin_dir):
    def check(work):
        model = os.path.join(work, "runtime_shapes.onnx")
        runtime_shapes_model(model)
        artifact = os.path.join(work, "runtime_shapes.kiln")
        result = subprocess.run(
            [os.path.join(bin_dir, "kiln-compile"), model, "-o", artifact],
            capture_output=True, text=True)
        if result.returncode:
            return "compile failed: " + result.stderr.strip()
        x = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
        v = np.array([[1], [2], [3]], dtype=np.float32)
        cases = [([2, 0, -1], [3, 5], 4), ([-1, 8, 16], [1, 3000], 3000),
                 ([4096, 1, 1], [3, 1], 0)]
        for shape, target, n in cases:
            inputs = {"X": x, "S": np.array(shape, np.int64), "V": v,
                      "T": np.array(target, np.int64), "N": np.array(n)}
            command = [os.path.join(bin_dir, "kiln-run"), artifact, "--quiet",
                       "--output-dir", os.path.join(work, "out")]
            for name, array in inputs.items():
                path = os.path.join(work, name + ".npy")
                np.save(path, array)
                command += ["--input", "%s=%s" % (name, path)]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode:
                return "run with %s failed: %s" % (shape, result.stderr.strip())
            expected = {"Y": x.reshape([64 if d == 0 and i < 2 else d
                                        for i, d in enumerate(shape)]),
                        "E": v * np.ones(target, np.float32),
                        "R": np.arange(n, dtype=np.int64)}
            for name, want in expected.items():
                got = np.load(os.path.join(work, "out", name + ".npy"))
                if got.shape != want.shape or not np.array_equal(got, want):
                    return "%s with shape %s: got %s, expected %s" % (
                        name, shape, got.shape, want.shape)
        return None, "(%d runs)" % len(cases)
    return ("runtime-shapes",
            "Reshape, Expand and Range of shapes given at run time", check)


def main():
    args = kiln_tools.check_arguments(__doc__.split("\n")[0]).parse_args()
    torch.set_num_threads(1)
    hidden = torch.randn
    checks = [
        check_model(args.bin, "mlp", Mlp, lambda b: hidden(b, 16), "x",
                    {0: "batch"}, [(1,), (3,), (8,), (33,)], (0,),
                    "input 'x' dim 0 (batch) is 0, outside batch's range"),
        check_model(args.bin, "attention", CausalSelfAttention,
                    lambda b, s: hidden(b, s, 32), "x",
                    {0: "batch", 1: "seq"}, SHAPES, (2, 0),
                    "input 'x' dim 1 (seq) is 0, outside seq's range"),
        check_model(args.bin, "decoder", decoder,
                    lambda b, s: torch.randint(0, 128, (b, s)), "tokens",
                    {0: "batch", 1: "seq"}, SHAPES, (2, 0),
                    "input 'tokens' dim 1 (seq) is 0, outside seq's range",
                    MIXTRAL_RAISED),
        check_model(args.bin, "deepseek", deepseek_decoder,
                    lambda b, s: torch.randint(0, 128, (b, s)), "tokens",
                    {0: "batch", 1: "seq"}, SHAPES, (2, 0),
                    "input 'tokens' dim 1 (seq) is 0, outside seq's range",
                    DEEPSEEK_RAISED),
        check_runtime_shapes(args.bin),
    ]
    return kiln_tools.run_checks("dynamic", args, checks)


if __name__ == "__main__":
    sys.exit(main())
