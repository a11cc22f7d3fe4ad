#!/usr/bin/python3
"""onnxruntime's contrib operators through kiln-compile and kiln-run.

Each case under cases/ (written by make_contrib_cases.py) is a small ONNX
graph of com.microsoft operators: SimplifiedLayerNormalization,
SkipSimplifiedLayerNormalization, SkipLayerNormalization, Gelu, BiasGelu,
FastGelu, MatMulNBits (2/4/8 bits, zero points packed, float or absent,
K not a multiple of block_size, bias, g_idx, run-time scales),
GroupQueryAttention (first prompt with padding, past KV with rotary and a
local window, shared buffers with ragged lengths, packed QKV, softcap,
attention_bias, partial rotary, causal = 0), MoE (SwiGLU fused, GPT-OSS SwiGLU, SiLU, GELU, ReLU,
identity; top-1/2/3, normalized or not, biases) and QMoE (4-bit blocked
with zero points, 4-bit per row, 8-bit per row).

The expected outputs in cases/<name>/expected/ come from onnxruntime 1.30's
CPU kernels (run_onnxruntime.js) and are checked in, so this check needs no
Node. Each case is compiled with kiln-compile, run with kiln-run on the
stored inputs, and every output must satisfy

    |kiln - onnxruntime| <= atol + rtol * |onnxruntime|

elementwise, with atol/rtol from case.json: 1e-5/1e-5 for the float
cases (norms, GELU, attention, MoE), 1e-4/1e-5 for MatMulNBits (8-bit
products reach a few hundred) and 2e-5/1e-4 for QMoE (its weights are
dequantized once at import; onnxruntime dequantizes per kernel). Present
KV caches are compared over each batch entry's valid prefix only
(seqlens_k + 1 positions): onnxruntime leaves the rest undefined.

Usage: check_contrib.py --bin BUILD/bin [--keep DIR] [--filter SUBSTRING]
Prints one line per case and `contrib: N passed, M failed`; exits 1 on
failure.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402


def compare(name, got, want, atol, rtol, valid):
    """None when `got` matches `want`, else a description of the worst miss."""
    if got.shape != want.shape:
        return "%s: shape %s, onnxruntime %s" % (name, got.shape, want.shape)
    if got.dtype != want.dtype:
        return "%s: dtype %s, onnxruntime %s" % (name, got.dtype, want.dtype)
    got = got.astype(np.float64)
    want = want.astype(np.float64)
    ok = np.abs(got - want) <= atol + rtol * np.abs(want)
    if valid:  # per batch entry, positions [0, valid[b]) along axis 2
        for b, length in enumerate(valid):
            ok[b, :, length:] = True
    if ok.all():
        return None
    idx = np.unravel_index(np.argmin(ok), ok.shape)
    return "%s: %d of %d elements differ, e.g. at %s: %r vs %r" % (
        name, (~ok).sum(), ok.size, tuple(int(i) for i in idx),
        float(got[idx]), float(want[idx]))


def run_case(case_dir, bin_dir, work):
    with open(os.path.join(case_dir, "case.json")) as f:
        meta = json.load(f)
    name = os.path.basename(case_dir)
    inputs = [(n, np.load(os.path.join(case_dir, "inputs", n + ".npy")))
              for n in meta["inputs"]]
    out_dir, error = compile_and_run(
        bin_dir, os.path.join(case_dir, "model.onnx"), inputs, work, name)
    if error:
        return error, 0.0
    worst = 0.0
    for out in meta["outputs"]:
        want = np.load(os.path.join(case_dir, "expected", out + ".npy"))
        path = os.path.join(out_dir, out + ".npy")
        if not os.path.exists(path):
            return "kiln-run wrote no %s" % out, worst
        got = np.load(path)
        valid = meta["compare"].get(out)
        problem = compare(out, got, want, meta["atol"], meta["rtol"], valid)
        if problem:
            return problem, worst
        diff = np.abs(got.astype(np.float64) - want)
        if valid:
            diff = np.concatenate([diff[b, :, :n].ravel()
                                   for b, n in enumerate(valid)])
        worst = max(worst, float(diff.max()) if diff.size else 0.0)
    return None, worst


def check(case_dir, bin_dir):
    """The case in `case_dir` as run_checks takes it: its name, its title
    with the case's note, and the check, which notes the largest difference
    after a pass."""
    name = os.path.basename(case_dir)
    with open(os.path.join(case_dir, "case.json")) as f:
        note = json.load(f)["note"]

    def run(work):
        problem, worst = run_case(case_dir, bin_dir, work)
        return problem, "max |diff| %.2e" % worst

    return name, "%s (%s)" % (name, note), run


def main():
    p = check_arguments(__doc__.splitlines()[0],
                        keep_help="write the artifacts and outputs here")
    p.add_argument("--cases", default=os.path.join(HERE, "cases"))
    a = p.parse_args()
    case_dirs = [os.path.join(a.cases, name)
                 for name in sorted(os.listdir(a.cases))]
    return run_checks("contrib", a, [
        check(case_dir, a.bin) for case_dir in case_dirs
        if os.path.exists(os.path.join(case_dir, "case.json"))])


if __name__ == "__main__":
    sys.exit(main())
