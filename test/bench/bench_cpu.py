#!/usr/bin/python3
"""CPU inference time of Kiln against onnxruntime, on the same models.

For each case it compiles the ONNX model with kiln-compile (and, for the
linear layers, once more with --quantize=int4-g32), times it with
`kiln-run --repeat` (median of the runs, one thread: Kiln's CPU code is
single-threaded) and times the same model on onnxruntime's CPU provider
with 1 and with all threads (test/bench/ort_time.js; onnxruntime-node from
npm: `cd /tmp && npm install --ignore-scripts onnxruntime-node`). The
int4 rows compare with onnxruntime's MatMulNBits on the same 4-bit codes
and scales. Prints a Markdown table; docs/benchmarks.md records a run.

Usage: bench_cpu.py --bin build/bin --ort /tmp/node_modules/onnxruntime-node
                    [--repeat 50] [--filter SUBSTRING]
Not part of `make test` (tests never assert on time).
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def linear_models(work, m, k, n, seed):
    """x[m, k] @ W[k, n] in float, and the same layer as MatMulNBits with
    W quantized to 4 bits in groups of 32 (symmetric, zero point 8)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((k, n)).astype(np.float32) / np.sqrt(k)
    x = rng.standard_normal((m, k)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(w, "w")])
    float_path = os.path.join(work, "linear_%dx%dx%d.onnx" % (m, k, n))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              float_path)
    # MatMulNBits: B [n, k/32, 16] of codes q + 8 packed low nibble first.
    wt = w.T.reshape(n, k // 32, 32)
    scale = np.abs(wt).max(axis=2) / 7
    codes = np.clip(np.rint(wt / scale[..., None]), -8, 7).astype(np.int64) + 8
    packed = (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8)
    node = helper.make_node("MatMulNBits", ["x", "B", "scales"], ["y"],
                            domain="com.microsoft", K=k, N=n, bits=4,
                            block_size=32)
    graph = helper.make_graph(
        [node], "linear_int4",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(packed, "B"),
         numpy_helper.from_array(scale.astype(np.float32), "scales")])
    int4_path = os.path.join(work, "linear_int4_%dx%dx%d.onnx" % (m, k, n))
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]),
        int4_path)
    x_path = os.path.join(work, "x_%dx%d.npy" % (m, k))
    np.save(x_path, x)
    return float_path, int4_path, {"x": x_path}


def kiln_time(bin_dir, model, inputs, work, repeat, extra=()):
    artifact = os.path.join(work, os.path.basename(model) + ".kiln")
    subprocess.run([os.path.join(bin_dir, "kiln-compile"), model, "-o",
                    artifact, *extra], check=True, capture_output=True)
    command = [os.path.join(bin_dir, "kiln-run"), artifact, "--repeat",
               str(repeat), "--output-dir", os.path.join(work, "out")]
    for name, path in inputs.items():
        command += ["--input", "%s=%s" % (name, path)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    match = re.search(r"median ([0-9.]+) ms", out.stdout + out.stderr)
    return float(match.group(1))


def ort_time(ort, model, inputs, threads, repeat):
    command = ["node", os.path.join(ROOT, "test", "bench", "ort_time.js"),
               "--ort", ort, "--model", model, "--threads", str(threads),
               "--repeat", str(repeat)]
    command += ["%s=%s" % kv for kv in inputs.items()]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["median_ms"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--ort", required=True)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--filter", default="")
    args = parser.parse_args()
    threads = os.cpu_count()
    work = tempfile.mkdtemp(prefix="kiln-bench-")
    rows = []

    def row(name, model, inputs, kiln_extra=(), ort_model=None):
        if args.filter not in name:
            return
        kiln = kiln_time(args.bin, model, inputs, work, args.repeat, kiln_extra)
        ort_model = ort_model or model
        ort1 = ort_time(args.ort, ort_model, inputs, 1, args.repeat)
        ortn = ort_time(args.ort, ort_model, inputs, threads, args.repeat)
        rows.append((name, kiln, ort1, ortn))
        print("%-34s kiln %8.3f ms   onnxruntime 1 thread %8.3f ms, "
              "%d threads %8.3f ms" % (name, kiln, ort1, threads, ortn),
              file=sys.stderr)

    for example in ("mixtral", "deepseek"):
        folder = os.path.join(ROOT, "examples", example)
        row("%s example, 16 tokens" % example,
            os.path.join(folder, example + ".onnx"),
            {"tokens": os.path.join(folder, "tokens.npy")})
    for m in (1, 16):
        float_model, int4_model, inputs = linear_models(work, m, 4096, 4096, m)
        row("linear 4096x4096, %d row(s), f32" % m, float_model, inputs)
        row("linear 4096x4096, %d row(s), int4-g32" % m, float_model, inputs,
            ("--quantize=int4-g32",), ort_model=int4_model)

    print("Machine: %s, %d cores (%s); kiln-run --repeat %d and onnxruntime "
          "medians; Kiln runs on one thread." % (
              platform.processor() or platform.machine(), threads,
              platform.platform(), args.repeat))
    print()
    print("| case | Kiln (ms) | onnxruntime, 1 thread (ms) | onnxruntime, "
          "%d threads (ms) |" % threads)
    print("|---|---|---|---|")
    for name, kiln, ort1, ortn in rows:
        print("| %s | %.3f | %.3f | %.3f |" % (name, kiln, ort1, ortn))


if __name__ == "__main__":
    main()
