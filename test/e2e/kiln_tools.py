"""What every e2e check does with the tools: compile a model, run the
artifact on NumPy inputs, read the outputs back; and the driver that runs a
script's cases and reports them.

Inputs are named `input0`, `input1`, ... for .mlir functions without
`kiln.name` attributes; ONNX models use their graph input names.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np


def compile_and_run(bin_dir, model, inputs, work, name, extra_args=()):
    """Compiles `model` and runs it on `inputs` (a list of (name, array)).

    Returns (outputs directory, None) on success, or (None, error line).
    """
    artifact = os.path.join(work, name + ".kiln")
    out_dir = os.path.join(work, name + "_out")
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), model, "-o", artifact,
         *extra_args], capture_output=True, text=True)
    if result.returncode:
        return None, "compile failed: " + result.stderr.strip()
    command = [os.path.join(bin_dir, "kiln-run"), artifact, "--quiet",
               "--output-dir", out_dir]
    for input_name, array in inputs:
        path = os.path.join(work, "%s_%s.npy" % (name, input_name))
        np.save(path, array)
        command += ["--input", "%s=%s" % (input_name, path)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        return None, "run failed: " + result.stderr.strip()
    return out_dir, None


def compare_close(got, expected, rtol, atol):
    """None when `got` has `expected`'s shape and np.allclose holds, else
    what differs."""
    if got.shape != expected.shape:
        return "shape %s, expected %s" % (got.shape, expected.shape)
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        return "max abs error %.3g" % np.abs(got - expected).max()
    return None


def check_arguments(description,
                    keep_help="write the models and outputs here"):
    """The command line every case-driven check takes: --bin (the tools),
    --keep (a folder to keep the work in) and --filter (run only cases whose
    name has it). Returns the parser, for a script to add its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--keep", help=keep_help)
    parser.add_argument("--filter", default="",
                        help="run cases whose name has it")
    return parser


def run_checks(suite, args, checks):
    """Runs `checks`, a list of (name, title, check), in a work folder
    (args.keep, or a temporary one removed afterwards), skipping those whose
    name lacks args.filter.

    check(work) returns None when the case passes or a problem line when it
    fails; it may instead return (problem, note), the note printed after a
    pass. An exception in a check is that case's failure. Prints one line a
    case and a `<suite>: N passed, M failed` total; returns the exit status:
    1 if a case failed or none ran.
    """
    work = args.keep or tempfile.mkdtemp(prefix="kiln-%s-" % suite)
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    try:
        for name, title, check in checks:
            if args.filter not in name:
                continue
            try:
                problem = check(work)
            except Exception as e:  # a bug in the script: report, go on
                problem = "error: %s: %s" % (type(e).__name__, e)
            problem, note = (problem if isinstance(problem, tuple)
                             else (problem, ""))
            if problem is None:
                print("PASS: %s%s" % (title, " " + note if note else ""))
            else:
                print("FAIL: %s: %s" % (title, problem))
            sys.stdout.flush()
            passed += problem is None
            failed += problem is not None
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("%s: %d passed, %d failed" % (suite, passed, failed))
    return 1 if failed or not passed else 0
