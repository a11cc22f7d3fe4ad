#!/usr/bin/python3
"""Raised MoE blocks against PyTorch: kiln-raise-moe must not change numbers.

Each model under test/passes/Raising/Exports/Inputs (written by make_moe_exports.py from
tiny Mixtral- and DeepSeek-style torch modules) is compiled twice, with the
raising pipeline (the MoE becomes kiln.moe_route + kiln.moe_experts) and
with --raise=false (the exported graph as is), run with kiln-run on the
stored input, and both outputs must match the torch module's own output
(stored beside the model, so this check needs no PyTorch):

    |kiln - torch| <= 1e-5 * |torch| + 1e-6

(the absolute term only matters for outputs near zero). The check also
reads --report-raising to make sure each model was raised or left as
expected, so that a silently unraised model cannot pass for a raised one.

Usage: check_raise_moe.py --bin BUILD/bin [--keep DIR]
Prints one line per model and mode and `raise-moe: N passed, M failed`.
"""
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402

INPUTS = os.path.join(HERE, "..", "..", "passes", "Raising", "Exports", "Inputs")
RTOL, ATOL = 1e-5, 1e-6

# model -> whether kiln-raise-moe raises it
MODELS = {
    "moe_mixtral_dense": True,
    "moe_mixtral_onehot": True,
    "moe_mixtral_reference": True,
    "moe_mixtral_sparse": True,
    "moe_mixtral_sparse_equal": True,
    "moe_deepseek_sparse": True,
    "moe_deepseek": True,
    "moe_near_miss_shapes": False,
    "moe_near_miss_axis": False,
    "moe_near_miss_fill": False,
    "moe_near_miss_biased_weights": False,
}


def raising_report(bin_dir, model):
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), model, "--emit=kiln",
         "--report-raising", "-o", os.devnull],
        capture_output=True, text=True)
    return result.returncode, result.stderr


def check_mode(bin_dir, name, mode, x, want, work):
    """None, or what is wrong with `name` compiled in `mode`."""
    extra = ["--raise=false"] if mode == "unraised" else []
    out_dir, error = compile_and_run(bin_dir, os.path.join(INPUTS, name + ".onnx"),
                                     [("x", x)], work, "%s_%s" % (name, mode),
                                     extra)
    if error:
        return error
    got = np.load(os.path.join(out_dir, "y.npy"))
    if got.shape != want.shape:
        return "shape %s, torch %s" % (got.shape, want.shape)
    err = np.abs(got.astype(np.float64) - want)
    ok = err <= ATOL + RTOL * np.abs(want)
    if not ok.all():
        idx = np.unravel_index(np.argmin(ok), ok.shape)
        return "%d of %d differ, e.g. at %s: %r vs %r" % (
            (~ok).sum(), ok.size, idx, float(got[idx]), float(want[idx]))
    return None


def main():
    args = check_arguments("Raised MoE blocks against PyTorch").parse_args()

    def case(name, raised, mode):
        def run(work):
            data = np.load(os.path.join(INPUTS, name + ".npz"))
            rc, report = raising_report(args.bin,
                                        os.path.join(INPUTS, name + ".onnx"))
            if rc or ("raised moe" in report) != raised:
                return "expected it %s; kiln-compile said:\n%s" % (
                    "raised" if raised else "left", report.strip())
            return check_mode(args.bin, name, mode, data["x"], data["y"], work)
        return "%s_%s" % (name, mode), "%s (%s)" % (name, mode), run

    checks = [case(name, raised, mode) for name, raised in MODELS.items()
              for mode in (("raised", "unraised") if raised else ("unraised",))]
    return run_checks("raise-moe", args, checks)


if __name__ == "__main__":
    sys.exit(main())
