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
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from kiln_tools import compile_and_run  # noqa: E402

INPUTS = os.path.join(HERE, "..", "..", "passes", "Raising", "Exports", "Inputs")
RTOL, ATOL = 1e-5, 1e-6

# model -> whether kiln-raise-moe raises it
MODELS = {
    "moe_mixtral_dense": True,
    "moe_mixtral_onehot": True,
    "moe_mixtral_reference": True,
    "moe_mixtral_sparse": True,
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--keep")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="kiln-raise-moe-")
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    for name, raised in MODELS.items():
        model = os.path.join(INPUTS, name + ".onnx")
        data = np.load(os.path.join(INPUTS, name + ".npz"))
        x, want = data["x"], data["y"]
        rc, report = raising_report(args.bin, model)
        said_raised = "raised moe" in report
        if rc or said_raised != raised:
            print("FAIL %s: expected it %s; kiln-compile said:\n%s" % (
                name, "raised" if raised else "left", report.strip()))
            failed += 1
            continue
        for mode, extra in (("raised", []), ("unraised", ["--raise=false"])):
            if mode == "raised" and not raised:
                continue
            out_dir, error = compile_and_run(
                args.bin, model, [("x", x)], work, "%s_%s" % (name, mode),
                extra)
            if error:
                print("FAIL %s (%s): %s" % (name, mode, error))
                failed += 1
                continue
            got = np.load(os.path.join(out_dir, "y.npy"))
            if got.shape != want.shape:
                print("FAIL %s (%s): shape %s, torch %s" % (
                    name, mode, got.shape, want.shape))
                failed += 1
                continue
            err = np.abs(got.astype(np.float64) - want)
            ok = err <= ATOL + RTOL * np.abs(want)
            if ok.all():
                print("ok   %s (%s): max |diff| %.2e" % (name, mode, err.max()))
                passed += 1
            else:
                idx = np.unravel_index(np.argmin(ok), ok.shape)
                print("FAIL %s (%s): %d of %d differ, e.g. at %s: %r vs %r" % (
                    name, mode, (~ok).sum(), ok.size, idx,
                    float(got[idx]), float(want[idx])))
                failed += 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("raise-moe: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
