#!/usr/bin/python3
"""Raised activations, RMSNorms and RoPEs against PyTorch.

Each model under test/passes/Raising/Exports/Inputs written by make_activation_exports.py,
make_rmsnorm_exports.py and make_rope_exports.py (tiny torch modules
exported at opset 17) is compiled twice, with the raising pipeline and with
--raise=false (the exported graph as is), run with kiln-run on the stored
inputs, and every output of both runs must match the torch module's own
output (stored beside the model, so this check needs no PyTorch):

    float32: |kiln - torch| <= 1e-5 * |torch| + 1e-6
    float16: |kiln - torch| <= 2e-3 * |torch| + 1e-3   (about one ulp: the
             raised f16 RMSNorm rounds once where torch rounds twice)

The absolute term only matters for outputs near zero. The check also reads
--report-raising and requires exactly the expected remarks (so many
`raised <pattern>` and `left <pattern>` per model), so that a silently
unraised model cannot pass for a raised one.

Usage: check_raise_basic.py --bin BUILD/bin [--keep DIR]
Prints one line per model and mode and `raise-basic: N passed, M failed`.
"""
import collections
import os
import re
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402

INPUTS = os.path.join(HERE, "..", "..", "passes", "Raising", "Exports", "Inputs")
TOLERANCES = {np.float32: (1e-5, 1e-6), np.float16: (2e-3, 1e-3)}

# model -> the remarks kiln-compile --report-raising must print, counted
MODELS = {
    "act_silu": {"raised silu": 1},
    "act_silu_mul": {"raised silu": 1},
    "act_gelu": {"raised gelu": 1},
    "act_gelu_bert": {"raised gelu": 1},
    "act_gelu_tanh": {"raised gelu": 1},
    "act_gelu_new": {"raised gelu": 1},
    "act_gelu_fast": {"raised gelu": 1},
    "act_swiglu": {"raised silu": 1, "raised swiglu": 1},
    "act_swiglu_bias": {"raised silu": 1, "raised swiglu": 1},
    "act_near_miss_silu": {"left silu": 1},
    "act_near_miss_gelu": {"left gelu": 1},
    "act_near_miss_swiglu": {"raised silu": 1, "left swiglu": 1},
    "rms_llama": {"raised rms_norm": 1},
    "rms_mixtral": {"raised rms_norm": 1},
    "rms_f16": {"raised rms_norm": 1},
    "rms_no_weight": {"raised rms_norm": 1},
    "rms_div_sqrt": {"raised rms_norm": 1},
    "rms_near_miss_axis": {"left rms_norm": 1},
    "rms_near_miss_eps": {"left rms_norm": 1},
    "rope_llama": {"raised rope": 2},
    "rope_llama_dyn": {"raised rope": 1},
    "rope_neox_partial": {"raised rope": 1},
    "rope_interleaved": {"raised rope": 1},
    "rope_3d": {"raised rope": 1},
    "rope_near_miss_halves": {"left rope": 1},
    "rope_computed": {"raised rope": 1},
    "rope_gptj": {"raised rope": 1},
    "rope_llama_shared_ids": {"raised rope": 2},
    "rope_reversed": {"raised rope": 1},
}


def raising_remarks(bin_dir, model):
    """The `raised X` / `left X` remarks of one compile, counted."""
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), model, "--emit=kiln",
         "--report-raising", "-o", os.devnull],
        capture_output=True, text=True)
    counts = collections.Counter(
        m.group(1) for m in re.finditer(r": ((?:raised|left) \w+)",
                                        result.stderr))
    return result.returncode, dict(counts), result.stderr


def compare(got, want):
    """(None, max |diff|) when `got` matches `want` within the tolerance of
    its type, else (the problem, None)."""
    if got.shape != want.shape or got.dtype != want.dtype:
        return "%s %s, torch %s %s" % (got.dtype, got.shape, want.dtype,
                                       want.shape), None
    rtol, atol = TOLERANCES[want.dtype.type]
    g, w = got.astype(np.float64), want.astype(np.float64)
    err = np.abs(g - w)
    ok = err <= atol + rtol * np.abs(w)
    if ok.all():
        return None, float(err.max())
    idx = np.unravel_index(np.argmin(ok), ok.shape)
    return "%d of %d differ, e.g. at %s: %r vs %r" % (
        (~ok).sum(), ok.size, idx, float(g[idx]), float(w[idx])), None


def check(bin_dir, name, expected, work):
    """(failure lines, largest |diff|) for one model; no lines: it passes."""
    model = os.path.join(INPUTS, name + ".onnx")
    data = np.load(os.path.join(INPUTS, name + ".npz"))
    graph = onnx.load(model).graph
    inputs = [(i.name, data[i.name]) for i in graph.input]
    outputs = [o.name for o in graph.output]
    rc, remarks, stderr = raising_remarks(bin_dir, model)
    if rc or remarks != expected:
        return ["%s: expected remarks %s, got %s:\n%s" % (
            name, expected, remarks, stderr.strip())], None
    problems = []
    worst = 0.0
    for mode, extra in (("raised", []), ("unraised", ["--raise=false"])):
        out_dir, error = compile_and_run(bin_dir, model, inputs, work,
                                         "%s_%s" % (name, mode), extra)
        if error:
            problems.append("%s (%s): %s" % (name, mode, error))
            continue
        for out in outputs:
            got = np.load(os.path.join(out_dir, out + ".npy"))
            problem, err = compare(got, data[out])
            if problem:
                problems.append("%s (%s) %s: %s" % (name, mode, out, problem))
            else:
                worst = max(worst, err)
    return problems, worst


def main():
    args = check_arguments(__doc__.splitlines()[0]).parse_args()

    def case(name, expected):
        def run(work):
            problems, worst = check(args.bin, name, expected, work)
            if problems:
                return "\n  ".join(problems)
            return None, "max |diff| %.2e" % worst
        kinds = ", ".join("%s x%d" % kv for kv in sorted(expected.items()))
        return name, "%s (%s)" % (name, kinds), run

    return run_checks("raise-basic", args,
                      [case(name, expected) for name, expected in MODELS.items()])


if __name__ == "__main__":
    sys.exit(main())
