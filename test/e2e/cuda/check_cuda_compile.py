#!/usr/bin/env python3
"""Compile-side checks of the CUDA target, without a GPU.

Compiles the example models and a deterministic sample of the ONNX node
tests that the CPU target passes (test/e2e/conformance/expected_pass.txt)
with `kiln-compile --target cuda --gpu-arch sm_80,sm_90a`, and checks that
every artifact has a GPU_CODE section whose images include, for each arch,
a cubin (ptxas accepted that arch's PTX: kiln-compile runs ptxas and fails
if it does not) and the PTX. Nothing runs on a device here.

Exits 77 (ctest's skip code) when the CUDA toolkit has no ptxas.
"""

import argparse
import concurrent.futures
import math
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

SCRIPT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPT_DIR.parents[2]
sys.path.insert(0, str(REPO_ROOT / "test" / "e2e" / "conformance"))
import run_conformance as conformance  # noqa: E402  (test reading, binding)

SECTION_GPU_CODE = 4
GPU_CODE_MAGIC = 0x3143474B  # "KGC1"
FORMAT_CUBIN, FORMAT_PTX = 1, 2
# The example models and the flags they need (the MLP's batch is symbolic).
MODELS = ["examples/mlp/mlp.onnx", "examples/mixtral/mixtral.onnx",
          "examples/deepseek/deepseek.onnx"]
MODEL_FLAGS = {"examples/mlp/mlp.onnx": ["--input-shape", "features=4x32"]}


def sections(data):
    """(kind, offset, size) of each section in an artifact's table."""
    count, table = struct.unpack_from("<I4xQ", data, 24)
    for i in range(count):
        kind, _, offset, size, _ = struct.unpack_from("<IIQQQ",
                                                      data, table + 32 * i)
        yield kind, offset, size


def read_gpu_code(path):
    """(workspace bytes, kernel names, [(arch, format, bytes)])."""
    data = Path(path).read_bytes()
    found = [(o, n) for k, o, n in sections(data) if k == SECTION_GPU_CODE]
    if not found:
        raise ValueError("no GPU_CODE section")
    offset, size = found[0]
    section = data[offset:offset + size]
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, section, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def string():
        nonlocal pos
        (n,) = take("I")
        s = section[pos:pos + n].decode()
        pos += n
        return s

    magic, workspace, nkernels = take("IQI")
    if magic != GPU_CODE_MAGIC:
        raise ValueError("bad GPU_CODE magic %#x" % magic)
    kernels = [string() for _ in range(nkernels)]
    (nimages,) = take("I")
    images = []
    for _ in range(nimages):
        arch = string()
        fmt, off, sz = take("IQQ")
        images.append((arch, fmt, section[off:off + sz]))
    return workspace, kernels, images


def check_images(path, archs):
    """An error message, or None when every arch has a cubin and PTX."""
    try:
        _, kernels, images = read_gpu_code(path)
    except (ValueError, struct.error) as e:
        return str(e)
    if not kernels:
        return None  # nothing to launch (no images needed)
    for arch in archs:
        cubins = [b for a, f, b in images if a == arch and f == FORMAT_CUBIN]
        ptx = [b for a, f, b in images if a == arch and f == FORMAT_PTX]
        if not cubins or not cubins[0].startswith(b"\x7fELF"):
            return "no cubin for %s" % arch
        if not ptx or not ptx[0].endswith(b"\0") or b".target " + \
                arch.encode() not in ptx[0]:
            return "no PTX for %s" % arch
    return None


def compile_artifact(kiln_compile, model, out, archs, test_dir=None,
                     flags=()):
    """Compiles `model` for cuda into `out`, binding the node test's inputs
    that decide shapes, as the CPU conformance run does, until the compiler
    names no more. Returns (error message or None, the bound input names)."""
    cmd = [kiln_compile, str(model), "-o", str(out), "--target", "cuda",
           "--gpu-arch", ",".join(archs)] + list(flags)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    bound = []
    while result.returncode == 1 and test_dir is not None:
        names, _, files, _ = conformance.read_test(test_dir)[:4]
        more = [n for n in conformance.inputs_needing_values(
            result.stderr, test_dir, names) if n not in bound]
        if not more:
            break
        bound += more
        cmd += ["--bind-input=%s=%s" % (n, files[names.index(n)])
                for n in more]
        result = subprocess.run(cmd, capture_output=True, text=True,
                                timeout=600)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return (lines[0] if lines else "exit %d" % result.returncode), bound
    return None, bound


def compile_one(kiln_compile, model, archs, work, test_dir=None, flags=()):
    """An error message, or None."""
    out = Path(work) / (Path(model).parent.name + ".kiln")
    if test_dir is not None:
        # Sequence and optional inputs need their length or absence.
        names, _, files, _, kinds, _ = conformance.read_test(test_dir)
        value_flags, _ = conformance.graph_values.prepare_inputs(
            names, kinds, files, Path(work))
        flags = list(flags) + value_flags
    error, _ = compile_artifact(kiln_compile, model, out, archs, test_dir,
                                flags)
    if error is None:
        error = check_images(out, archs)
    out.unlink(missing_ok=True)
    return error


def dump(path):
    """Prints an artifact's target and GPU_CODE section (for lit tests)."""
    data = Path(path).read_bytes()
    for kind, offset, _ in sections(data):
        if kind == 1:  # METADATA: magic, then the target string
            (n,) = struct.unpack_from("<I", data, offset + 4)
            print("target", data[offset + 8:offset + 8 + n].decode())
    workspace, kernels, images = read_gpu_code(path)
    print("workspace", workspace)
    print("kernels", len(kernels), " ".join(kernels))
    for arch, fmt, blob in images:
        ok = blob.startswith(b"\x7fELF") if fmt == FORMAT_CUBIN else \
            blob.endswith(b"\0")
        print("image", arch, {FORMAT_CUBIN: "cubin", FORMAT_PTX: "ptx"}[fmt],
              len(blob), "ok" if ok else "BAD")
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "--dump":
        return dump(argv[1])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln-compile", required=True)
    parser.add_argument("--cuda-path", default="/usr/local/cuda")
    parser.add_argument("--archs", default="sm_80,sm_90a")
    parser.add_argument("--tests-dir",
                        default=str(REPO_ROOT.parent / "shared" /
                                    "onnx-node-tests"))
    parser.add_argument("--sample", type=int, default=150,
                        help="node tests to compile, every k-th of the "
                        "sorted expected list (0: all)")
    parser.add_argument("--known-failures",
                        default=str(SCRIPT_DIR / "known_failures.txt"),
                        help="node tests the CUDA target does not compile "
                        "yet, one a line (# comments)")
    parser.add_argument("--shard", default="1/1",
                        help="I/N: only the I-th of N contiguous chunks of "
                        "the tests (the models with the first), so that a "
                        "full sweep (--sample 0) can run in pieces")
    parser.add_argument("--jobs", type=int, default=2)
    options = parser.parse_args(argv)
    if not os.access(os.path.join(options.cuda_path, "bin", "ptxas"),
                     os.X_OK):
        print("check_cuda_compile: no ptxas under %s; skipped"
              % options.cuda_path)
        return 77
    archs = options.archs.split(",")

    expected = conformance.read_list(SCRIPT_DIR.parent / "conformance" /
                                     "expected_pass.txt")
    known = set(conformance.read_list(options.known_failures)) \
        if Path(options.known_failures).exists() else set()
    tests = sorted(expected)
    if options.sample and options.sample < len(tests):
        step = math.ceil(len(tests) / options.sample)
        tests = tests[::step]
    shard, shards = (int(x) for x in options.shard.split("/"))
    if not 1 <= shard <= shards:
        parser.error("--shard %s: expected I/N with 1 <= I <= N"
                     % options.shard)
    size = math.ceil(len(tests) / shards)
    tests = tests[(shard - 1) * size:shard * size]
    models = MODELS if shard == 1 else []
    tests_dir = Path(options.tests_dir)
    if not tests_dir.is_dir():
        print("check_cuda_compile: no node tests at %s" % tests_dir)
        tests = []

    failures = []
    with tempfile.TemporaryDirectory(prefix="kiln-cuda-") as work, \
            concurrent.futures.ThreadPoolExecutor(options.jobs) as pool:
        jobs = {}
        for model in models:
            jobs[pool.submit(compile_one, options.kiln_compile,
                             REPO_ROOT / model, archs, work, None,
                             MODEL_FLAGS.get(model, []))] = model
        for name in tests:
            d = Path(work) / name
            d.mkdir()
            jobs[pool.submit(compile_one, options.kiln_compile,
                             tests_dir / name / "model.onnx", archs, d,
                             tests_dir / name)] = name
        results = {}
        for future in concurrent.futures.as_completed(jobs):
            name = jobs[future]
            try:
                results[name] = future.result()
            except Exception as e:  # a timeout, an unreadable test
                results[name] = "%s: %s" % (type(e).__name__, e)

    models_ok = sum(results[m] is None for m in models)
    tests_ok = sum(results[t] is None for t in tests)
    for name in models + tests:
        error = results[name]
        if error is None and name in known:
            print("NEWLY COMPILES %s (remove it from known_failures.txt)"
                  % name)
        elif error is not None:
            print("%s %s: %s" % ("known" if name in known else "FAIL",
                                 name, error))
            if name not in known:
                failures.append(name)
    print("cuda compile (%s, ptxas accepted every arch): models %d of %d, "
          "node tests %d of %d sampled (%d expected to pass on the CPU, "
          "shard %s)"
          % (",".join(archs), models_ok, len(models), tests_ok, len(tests),
             len(expected), options.shard))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
