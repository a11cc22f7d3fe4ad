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
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "passes",
                                "Raising", "Exports"))
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402
import make_attention_exports as exports  # noqa: E402

RTOL = 1e-5


def runs(case):
    """(batch, sequence) sizes each case is checked at."""
    sizes = [(exports.B, exports.S)]
    if case.dynamic:
        sizes.append((2, 160))
    return sizes


def case_name(case, batch, seq):
    return "%s_%dx%d" % (case.name, batch, seq)


def check(case, batch, seq, bin_dir, work, verbose):
    """None, or what is wrong with `case` at [batch, seq]."""
    name = case_name(case, batch, seq)
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
        return "compile failed: " + result.stderr.strip()
    raised = len(re.findall(r"= kiln\.attention ", result.stdout))
    expected = 0 if case.name == "near_miss" else 1
    if raised != expected:
        return "%d kiln.attention ops, expected %d; remarks:\n%s" % (
            raised, expected, result.stderr.strip())
    if verbose:
        print(result.stderr.strip())

    with torch.no_grad():
        want = case.build()(*[t for _, t in inputs])
    want = [w.numpy() for w in (want if isinstance(want, tuple) else (want,))]
    out_dir, error = compile_and_run(
        bin_dir, model, [(n, t.numpy()) for n, t in inputs], work, name, shapes)
    if error:
        return error
    for output, expected in zip(case.outputs, want):
        got = np.load(os.path.join(out_dir, output + ".npy"))
        if got.shape != expected.shape:
            return "%s: shape %s, expected %s" % (output, got.shape, expected.shape)
        err = float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))
        if verbose:
            print("%s %s: relative error %.3g" % (name, output, err))
        if not err <= RTOL:
            return "%s: relative error %.3g > %g" % (output, err, RTOL)
    return None


def main():
    parser = check_arguments(__doc__.splitlines()[0],
                             "keep the models and outputs in this directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the remarks")
    args = parser.parse_args()
    checks = []
    for case in exports.CASES:
        for batch, seq in runs(case):
            name = case_name(case, batch, seq)
            checks.append((name, name,
                           lambda work, c=case, b=batch, s=seq:
                           check(c, b, s, args.bin, work, args.verbose)))
    return run_checks("raise-attention", args, checks)


if __name__ == "__main__":
    sys.exit(main())
