#!/usr/bin/python3
"""The decoder corpus against PyTorch: what Kiln raises, and the numbers.

For each model of decoders.py (tiny decoders written as the Llama, Mistral,
Qwen2, Gemma, Mixtral, Qwen2-MoE, DeepSeek-V2/V3, Phi-2, GPT-2, GPT-NeoX and
GPT-J code of Hugging Face writes them; random weights from fixed seeds)
this exports the model afresh (torch.onnx.export, opset 17), reads
`kiln-compile --report-raising` and requires exactly the remarks of the
table EXPECTED below (so many `raised <op>` and `left <op>` per model, and
for each `left` the reason the table states), then compiles the model, runs
it with kiln-run and compares the logits with the module's own:

    max |kiln - torch| <= 1e-4 * max |torch|

and the same argmax at every position whose top two logits are further
apart than that tolerance (a closer pair may swap within it).

EXPECTED states what Kiln raises today. A model that raises fewer or more
ops than it says, or whose reasons change, fails: when the raising
improves, update the table and README.md beside this script. A model in
XFAIL computes wrong numbers today (a Kiln bug); it must still fail with
the symptom written there, so that a fix shows up as an unexpected pass.

Usage: check_decoders.py --bin BUILD/bin [--keep DIR] [--filter NAME] [-j N]
Prints one line per model and `decoders: N passed, M failed`.
"""
import collections
import concurrent.futures
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402
import decoders  # noqa: E402

TOLERANCE = 1e-4  # relative to max |torch|

# Reasons --report-raising gives for what it leaves (see README.md).
QWEN_GATE = "the sigmoid's input is not the value it multiplies"

# model -> {remark: count}; a `left` remark's key carries its reason.
# Every model has 2 layers, so a per-layer op counts 2; rms_norm counts the
# 2 per layer and the final norm; rope counts q and k separately.
LLAMA_LIKE = {"raised attention": 2, "raised rope": 4, "raised rms_norm": 5,
              "raised silu": 2, "raised swiglu": 2}
EXPECTED = {
    "llama": LLAMA_LIKE,
    "mistral": LLAMA_LIKE,  # the attention raised as a sliding window (3, 0)
    "qwen2": LLAMA_LIKE,
    # GeGLU: the gelu is raised; kiln has no fused gelu-gated projection
    # (swiglu is SiLU only), so gate and up stay two MatMuls.
    "gemma": {"raised attention": 2, "raised rope": 4, "raised rms_norm": 5,
              "raised gelu": 2},
    # 4 experts + nothing shared: 8 expert SwiGLUs
    "mixtral_sparse": {"raised attention": 2, "raised rope": 4,
                       "raised rms_norm": 5, "raised moe": 2,
                       "raised silu": 8, "raised swiglu": 8},
    "mixtral_sparse_equal": {"raised attention": 2, "raised rope": 4,
                             "raised rms_norm": 5, "raised moe": 2,
                             "raised silu": 8, "raised swiglu": 8},
    "mixtral_dense": {"raised attention": 2, "raised rope": 4,
                      "raised rms_norm": 5, "raised moe": 2,
                      "raised silu": 8, "raised swiglu": 8},
    # The shared expert's output is added inside the routed experts' sum
    # (before the block's reshape): the MoE is raised and that term added
    # to its result. Its sigmoid gate is (rightly) not a SiLU. 8 routed + 1
    # shared SwiGLU per layer.
    "qwen2_moe": {"raised attention": 2, "raised rope": 4,
                  "raised rms_norm": 5, "raised moe": 2,
                  "left silu: " + QWEN_GATE: 2,
                  "raised silu": 18, "raised swiglu": 18},
    "deepseek_v3": {"raised attention": 2, "raised rope": 4,
                    "raised rms_norm": 5, "raised moe": 2,
                    "raised silu": 18, "raised swiglu": 18},
    # Groups scored by their best expert: kiln.moe_route's
    # group_scoring = max.
    "deepseek_v2": {"raised attention": 2, "raised rope": 4,
                    "raised rms_norm": 5, "raised moe": 2,
                    "raised silu": 18, "raised swiglu": 18},
    # LayerNorm is imported as kiln's layer_norm (no raising needed).
    "phi2": {"raised attention": 2, "raised rope": 4, "raised gelu": 2},
    # The divisor torch.full([], value.size(-1) ** 0.5) imports as
    # `0 + pow(16, 0.5)` on scalar constants; kiln.pow's fold makes it the
    # constant scale the matcher needs.
    "gpt2": {"raised attention": 2, "raised gelu": 2},
    # The scores are computed on [B * H, S, S] (baddbmm, + 0) and reshaped
    # to [B, H, S, S] before the torch.where: the matcher splits the heads
    # back (q and k are reshapes of [B, H, S, D]).
    "gpt_neox": {"raised attention": 2, "raised rope": 4, "raised gelu": 2},
    "gptj": {"raised attention": 2, "raised rope": 4, "raised gelu": 2},
}

# model -> the failure it shows today (a Kiln bug, see README.md)
XFAIL = {}


def raising_remarks(bin_dir, model):
    """The remarks of one compile, counted: `raised X`, or `left X: why`."""
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), model, "--emit=kiln",
         "--report-raising", "-o", os.devnull],
        capture_output=True, text=True)
    counts = collections.Counter()
    for m in re.finditer(r": (raised \w+|left \w+: [^\n]*)",
                         result.stderr):
        counts[m.group(1)] += 1
    return result.returncode, dict(counts), result.stderr


def compare(got, want):
    """(problem or None, max |diff|)."""
    if got.shape != want.shape:
        return "shape %s, torch %s" % (got.shape, want.shape), None
    scale = float(np.abs(want).max())
    err = float(np.abs(got.astype(np.float64) - want).max())
    if not err <= TOLERANCE * scale:
        return "max |kiln - torch| %.3g > %.3g (max |torch| %.3g)" % (
            err, TOLERANCE * scale, scale), err
    top2 = np.sort(want, axis=-1)[..., -2:]
    clear = (top2[..., 1] - top2[..., 0]) > 2 * TOLERANCE * scale
    differ = (got.argmax(-1) != want.argmax(-1)) & clear
    if differ.any():
        return "argmax differs at %d positions" % differ.sum(), err
    return None, err


def compile_model(bin_dir, name, onnx_path, tokens, work):
    """Remarks and the compiled run's logits (run in a worker thread)."""
    rc, remarks, stderr = raising_remarks(bin_dir, onnx_path)
    if rc:
        return None, None, "kiln-compile --report-raising failed:\n" + stderr
    out_dir, error = compile_and_run(bin_dir, onnx_path, [("tokens", tokens)],
                                     work, name)
    if error:
        return remarks, None, error
    return remarks, np.load(os.path.join(out_dir, "logits.npy")), stderr


def check_model(name, job, want):
    """None, or what is wrong with `name` (its remarks, then its numbers)."""
    remarks, got, detail = job.result()
    expected = EXPECTED[name]
    if remarks is not None and remarks != expected:
        missing = {k: v for k, v in expected.items() if remarks.get(k) != v}
        extra = {k: v for k, v in remarks.items() if expected.get(k) != v}
        return "remarks differ from the table: expected %s, got %s" % (
            missing, extra)
    if got is None:
        problem, err = detail.strip(), None
    else:
        problem, err = compare(got, want)
    if name in XFAIL:
        if problem and XFAIL[name] in problem:
            return None, "(expected failure: %s)" % problem
        return "expected failure %r, got %s" % (XFAIL[name],
                                                problem or "a pass")
    if problem:
        return problem
    return None, "(max |diff| %.2e of max |torch| %.3g)" % (
        err, float(np.abs(want).max()))


def main():
    parser = check_arguments(__doc__.splitlines()[0])
    parser.add_argument("-j", type=int, default=2,
                        help="models compiled at once (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # torch's deprecation and export notes
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.j)
    jobs, wants = {}, {}

    def start(work):
        """Exports every selected model and queues its compile."""
        for name in decoders.MODELS:
            if args.filter not in name:
                continue
            model, tokens = decoders.build(name), decoders.tokens(name)
            with torch.no_grad():
                wants[name] = model(torch.from_numpy(tokens)).numpy()
            path = os.path.join(work, name + ".onnx")
            decoders.export(model, path)
            jobs[name] = pool.submit(compile_model, args.bin, name, path,
                                     tokens, work)

    def case(name):
        def run(work):
            if not jobs:
                start(work)
            return check_model(name, jobs[name], wants[name])
        return name, "%s (%s)" % (name, decoders.MODELS[name][1]), run

    try:
        return run_checks("decoders", args,
                          [case(name) for name in decoders.MODELS])
    finally:
        pool.shutdown(cancel_futures=True)


if __name__ == "__main__":
    sys.exit(main())
