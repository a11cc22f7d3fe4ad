#!/usr/bin/python3
"""kiln-raise-attention end to end against the PyTorch modules themselves.

For every case of test/passes/Raising/Exports/make_attention_exports.py this exports the
module afresh (torch.onnx.export, opset 17), compiles it with kiln-compile
(raising on), checks that `--emit=kiln` holds one kiln.attention (none for
the near miss, which must still compute the same thing through the generic
ops), runs the artifact with kiln-run and compares the output with the
module's own outputs: max |kiln - torch| <= 1e-5 * max |torch| for each.

The sliding-window cases are exported with a symbolic sequence length and
also run at 160 positions, where the importer no longer folds the
Range/compare mask into a constant and the pass evaluates the ops itself.

Usage: check_raise_attention.py --bin BUILD/bin [--keep DIR] [-v]
Prints one line per case and `raise-attention: N passed, M failed`.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "passes",
                                "Raising", "Exports"))
from kiln_tools import compile_and_run  # noqa: E402
import make_attention_exports as exports  # noqa: E402

RTOL = 1e-5


def runs(case):
    """(batch, sequence) sizes each case is checked at."""
    sizes = [(exports.B, exports.S)]
    if case.dynamic:
        sizes.append((2, 160))
    return sizes


def check(case, batch, seq, bin_dir, work, verbose):
    name = "%s_%dx%d" % (case.name, batch, seq)
    model = os.path.join(work, case.name + ".onnx")
    if not os.path.exists(model):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case.export(model)
    inputs = case.inputs(batch, seq, seed=1)
    shapes = ["--input-shape=%s=%s" % (n, "x".join(map(str, t.shape)))
              for n, t in inputs] if case.dynamic else []

    # The raised graph: one kiln.attention, except for the near miss.
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), model, "--emit=kiln",
         "--report-raising", *shapes], capture_output=True, text=True)
    if result.returncode:
        return name, "compile failed: " + result.stderr.strip()
    raised = len(re.findall(r"= kiln\.attention ", result.stdout))
    expected = 0 if case.name == "near_miss" else 1
    if raised != expected:
        return name, "%d kiln.attention ops, expected %d; remarks:\n%s" % (
            raised, expected, result.stderr.strip())
    if verbose:
        print(result.stderr.strip())

    with torch.no_grad():
        want = case.build()(*[t for _, t in inputs])
    want = [w.numpy() for w in (want if isinstance(want, tuple) else (want,))]
    out_dir, error = compile_and_run(
        bin_dir, model, [(n, t.numpy()) for n, t in inputs], work, name, shapes)
    if error:
        return name, error
    for output, expected in zip(case.outputs, want):
        got = np.load(os.path.join(out_dir, output + ".npy"))
        if got.shape != expected.shape:
            return name, "%s: shape %s, expected %s" % (output, got.shape, expected.shape)
        err = float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))
        if verbose:
            print("%s %s: relative error %.3g" % (name, output, err))
        if not err <= RTOL:
            return name, "%s: relative error %.3g > %g" % (output, err, RTOL)
    return name, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="directory of kiln-compile and kiln-run")
    parser.add_argument("--keep", help="keep the models and outputs in this directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the remarks")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="kiln-raise-attention-")
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    for case in exports.CASES:
        for batch, seq in runs(case):
            name, error = check(case, batch, seq, args.bin, work, args.verbose)
            if error:
                failed += 1
                print("FAIL %s: %s" % (name, error))
            else:
                passed += 1
                print("ok   %s" % name)
    print("raise-attention: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
