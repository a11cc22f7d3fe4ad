#!/usr/bin/python3
"""The example decoders (examples/mixtral, examples/deepseek) through
kiln-compile and kiln-run, against PyTorch and onnxruntime.

Each model is compiled with kiln-compile's default options (raising on),
with --raise=false (the generic path), and with its host code compiled as
one module (-j 1) and in three partitions on threads (-j 3), run with kiln-run on the
model's tokens.npy, and its logits [1, 16, 128] must match both
references written when the model was made (logits_torch.npy from
PyTorch, logits_ort.npy from onnxruntime):

    max |kiln - reference| <= 1e-5 * max |reference|      (float32)

and give the same argmax at every position. Measured: below 3.5e-7 * max
|reference| for both models on both paths (onnxruntime and PyTorch differ
from each other by as much).

Then each --quantize format is compiled and run (with -O1, as is the
--raise=false variant: LLVM's O3 doubles the compile time and is not what
these variants test), and its logits are compared with PyTorch's float
logits by

  - relative RMS error ||q - f|| / ||f|| over all 16 positions, bounded at
    about twice the largest error measured on the two models:

      format      measured (mixtral, deepseek)   bound
      int8        0.008, 0.008                   0.02
      fp8-block   0.043, 0.122                   0.25
      int4-g32    0.151, 0.228                   0.45
      int4-g128   0.170, 0.252                   0.50
      mxfp4       0.200, 0.308                   0.60
      nvfp4       0.168, 0.242                   0.50

  - top-1 agreement at positions 1 to 15, which must be 15 of 15: there the
    next token of the progression is determined (the models predict it
    with margins of several logits). Position 0 (one token seen, the step
    unknown) is a near-tie the 4-bit formats may flip, and is not counted.

`--measure` prints the errors without checking the quantized ones.

Usage: check_models.py --bin BUILD/bin [--model NAME] [--keep DIR]
                       [--jobs N] [--measure]
Prints one line per compilation and `models: N passed, M failed`;
exits 1 on failure.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
MODELS = ["mixtral", "deepseek"]

FLOAT_TOLERANCE = 1e-5  # max |kiln - ref| / max |ref|

# format: max relative RMS error of the logits (see the table above).
QUANT_TOLERANCE = {
    "int8": 0.02,
    "fp8-block": 0.25,
    "int4-g32": 0.45,
    "int4-g128": 0.50,
    "mxfp4": 0.60,
    "nvfp4": 0.50,
}
DETERMINED = slice(1, None)  # positions whose next token is determined


def compile_and_run(bin_dir, model, tokens, work, name, args):
    """Returns (logits, compile stderr, compile s, run s) or raises
    RuntimeError with the tool's message."""
    artifact = os.path.join(work, name + ".kiln")
    out_dir = os.path.join(work, name + "_out")
    start = time.perf_counter()
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), model, "-o", artifact, *args],
        capture_output=True, text=True)
    t_compile = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError("compile failed: " + result.stderr.strip())
    start = time.perf_counter()
    run = subprocess.run(
        [os.path.join(bin_dir, "kiln-run"), artifact, "--quiet",
         "--input", "tokens=" + tokens, "--output-dir", out_dir],
        capture_output=True, text=True)
    t_run = time.perf_counter() - start
    if run.returncode:
        raise RuntimeError("run failed: " + run.stderr.strip())
    return (np.load(os.path.join(out_dir, "logits.npy")), result.stderr,
            t_compile, t_run)


def raising_summary(report):
    """'raised attention x2, ...; left ...' from --report-raising lines
    (`kiln-compile: node 'NAME': raised rms_norm (...)`)."""
    counts = {}
    for kind, pattern in re.findall(r"': (raised|left) ([A-Za-z_]+)", report):
        counts[(kind, pattern)] = counts.get((kind, pattern), 0) + 1
    parts = []
    for kind in ("raised", "left"):
        items = ["%s x%d" % (k[1], n) for k, n in sorted(counts.items()) if k[0] == kind]
        if items:
            parts.append(kind + " " + ", ".join(items))
    return "; ".join(parts) or "nothing raised"


def check_float(logits, refs):
    """None, or what is wrong with float logits against each reference."""
    for ref_name, ref in refs.items():
        if logits.shape != ref.shape or logits.dtype != ref.dtype:
            return "%s: %s %s, reference %s %s" % (
                ref_name, logits.dtype, logits.shape, ref.dtype, ref.shape)
        err = float(np.abs(logits - ref).max()) / float(np.abs(ref).max())
        if err > FLOAT_TOLERANCE:
            return "%s: max error %.2e of max |logit| > %.0e" % (
                ref_name, err, FLOAT_TOLERANCE)
        if not np.array_equal(logits.argmax(-1), ref.argmax(-1)):
            return "%s: a different argmax" % ref_name
    return None


def float_error(logits, refs):
    return max(float(np.abs(logits - r).max()) / float(np.abs(r).max())
               for r in refs.values())


def quant_metrics(logits, ref):
    """(relative RMS error, top-1 agreements, positions compared)."""
    rel_rms = float(np.linalg.norm(logits - ref) / np.linalg.norm(ref))
    same = logits[0, DETERMINED].argmax(-1) == ref[0, DETERMINED].argmax(-1)
    return rel_rms, int(same.sum()), same.size


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--model", choices=MODELS, action="append")
    p.add_argument("--keep", help="keep artifacts and outputs in DIR")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--measure", action="store_true",
                   help="print the errors without checking the quantized ones")
    a = p.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="kiln-models-")
    os.makedirs(work, exist_ok=True)

    jobs = []  # (model, variant, kiln-compile arguments)
    for model in a.model or MODELS:
        jobs.append((model, "float", ["--report-raising"]))
        jobs.append((model, "no-raise", ["--raise=false", "-O1"]))
        # Host code compiled as one module, and split three ways (-j; -j is
        # not in the compile cache's key, so the second would reuse the
        # first's artifact).
        jobs.append((model, "j1", ["-j", "1", "--no-cache"]))
        jobs.append((model, "j3", ["-j", "3", "--no-cache"]))
        for fmt in QUANT_TOLERANCE:
            jobs.append((model, fmt, ["--quantize=" + fmt, "-O1"]))

    def run_job(job):
        model, variant, args = job
        folder = os.path.join(ROOT, "examples", model)
        try:
            return compile_and_run(a.bin, os.path.join(folder, model + ".onnx"),
                                   os.path.join(folder, "tokens.npy"), work,
                                   model + "-" + variant, args)
        except (RuntimeError, OSError) as e:
            return e

    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as pool:
        results = list(pool.map(run_job, jobs))
    for (model, variant, _), result in zip(jobs, results):
        folder = os.path.join(ROOT, "examples", model)
        refs = {"pytorch": np.load(os.path.join(folder, "logits_torch.npy")),
                "onnxruntime": np.load(os.path.join(folder, "logits_ort.npy"))}
        label = "%-8s %-9s" % (model, variant)
        if isinstance(result, Exception):
            print("FAIL %s %s" % (label, result))
            failed += 1
            continue
        logits, report, t_compile, t_run = result
        timing = "(compile %.1f s, run %.2f s)" % (t_compile, t_run)
        if variant in ("float", "no-raise", "j1", "j3"):
            error = check_float(logits, refs)
            detail = "max error %.1e of max |logit| %s" % (
                float_error(logits, refs) if logits.shape == refs["pytorch"].shape
                else float("nan"), timing)
            if variant == "float":
                detail += "; " + raising_summary(report)
        else:
            bound = QUANT_TOLERANCE[variant]
            rel_rms, top1, positions = quant_metrics(logits, refs["pytorch"])
            error = None
            if not a.measure and (rel_rms > bound or top1 < positions):
                error = "rel. RMS error %.3f (bound %.2f), top-1 %d/%d" % (
                    rel_rms, bound, top1, positions)
            detail = "rel. RMS error %.3f (bound %.2f), top-1 %d/%d %s" % (
                rel_rms, bound, top1, positions, timing)
        if error:
            print("FAIL %s %s" % (label, error))
            failed += 1
        else:
            print("ok   %s %s" % (label, detail))
            passed += 1
    print("models: %d passed, %d failed" % (passed, failed))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
