#!/usr/bin/python3
"""Kiln's GPU checks and benchmarks, in two halves (scripts/gpu-check.sh).

prepare (here, no GPU needed): compiles for --target cuda into
BUILD/gpu-check/ everything the device run needs, so that the device
machine needs only kiln-run, libkiln_runtime.so, Python with NumPy (and
PyTorch for the peers' timings):
  - the example decoders (mixtral, deepseek, mlp) with their inputs and the
    PyTorch logits / NumPy outputs they must reproduce;
  - a deterministic sample of the ONNX node tests the CPU target passes,
    with their inputs (.pb, which kiln-run reads) and expected outputs
    (converted to .npy here, where python3-onnx is);
  - the benchmark programs (GEMM, attention) as .mlir with their shapes;
  - kernel cases with NumPy references: int4/int8 quantized linears
    (test/e2e/cuda/qlinear_cases.py), decode and prefill shapes.

run (on the device machine): runs every artifact on cuda:0 through kiln-run,
compares each output with the expected one (max |a - b| <= atol + rtol |b|,
ONNX's 1e-3/1e-7 for node tests, 1e-4 relative to max |ref| for models),
then times the benchmarks with kiln-run --repeat against PyTorch's cuBLAS
matmul and scaled_dot_product_attention in the same run, and prints one
summary table. kiln-run's time covers a whole run: input upload, the
kernels and output download; the peers' times are device events around the
operation alone, so the comparison is stated with that difference.

Nothing here asserts on time.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test" / "e2e" / "conformance"))
sys.path.insert(0, str(REPO / "test" / "e2e" / "cuda"))

MODELS = {
    "mixtral": ("examples/mixtral/mixtral.onnx", [],
                {"tokens": "examples/mixtral/tokens.npy"},
                {"logits": "examples/mixtral/logits_torch.npy"}),
    "deepseek": ("examples/deepseek/deepseek.onnx", [],
                 {"tokens": "examples/deepseek/tokens.npy"},
                 {"logits": "examples/deepseek/logits_torch.npy"}),
}

# name -> (mlir text, {input: (shape, numpy dtype)}, flops)
def gemm(n):
    t = "tensor<%dx%dxf16>" % (n, n)
    text = f"""func.func @main(%a: {t} {{kiln.name = "a", kiln.dtype = 10 : i32}},
                %b: {t} {{kiln.name = "b", kiln.dtype = 10 : i32}})
    -> ({t} {{kiln.name = "c", kiln.dtype = 10 : i32}}) {{
  %c = kiln.matmul %a, %b : ({t}, {t}) -> {t}
  return %c : {t}
}}
"""
    return text, {"a": ([n, n], "float16"), "b": ([n, n], "float16")}, \
        2.0 * n ** 3


def attention(b, h, s, d, dtype="f16", kv_heads=None, keys=None,
              causal=True):
    """kiln.attention over q [b, h, s, d] and k, v [b, kv_heads, keys, d]
    (the KV length defaults to s; a decode shape is s = 1 with a long KV).
    The peer is torch SDPA on the same arrays (K and V repeated per query
    head for GQA, outside the timed call)."""
    kv_heads = kv_heads or h
    keys = keys or s
    np_dtype = {"f16": "float16", "f32": "float32"}[dtype]
    kiln_dtype = {"f16": 10, "f32": 1}[dtype]
    tq = "tensor<%dx%dx%dx%dx%s>" % (b, h, s, d, dtype)
    tkv = "tensor<%dx%dx%dx%dx%s>" % (b, kv_heads, keys, d, dtype)
    scale = 1.0 / math.sqrt(d)
    args = ", ".join('%%%s: %s {kiln.name = "%s", kiln.dtype = %d : i32}'
                     % (n, tq if n == "q" else tkv, n, kiln_dtype)
                     for n in "qkv")
    mask = ", mask_kind = #kiln.mask_kind<causal>" if causal else ""
    text = f"""func.func @main({args}) -> ({tq} {{kiln.name = "o", kiln.dtype = {kiln_dtype} : i32}}) {{
  %o, %pk, %pv = kiln.attention %q, %k, %v {{scale = {scale} : f32{mask}}}
      : ({tq}, {tkv}, {tkv}) -> ({tq}, {tkv}, {tkv})
  return %o : {tq}
}}
"""
    inputs = {"q": ([b, h, s, d], np_dtype),
              "k": ([b, kv_heads, keys, d], np_dtype),
              "v": ([b, kv_heads, keys, d], np_dtype)}
    pairs = b * h * s * keys / (2 if causal and s == keys else 1)
    peer = {"causal": causal, "group": h // kv_heads}
    return text, inputs, 2.0 * 2 * pairs * d, peer


def qlinear_int4(m, n, k, group=128):
    """y = x @ dequantize(W)^T with int4 W [n, k] in groups of `group`
    along K, f16 x [m, k] (splat weights: the time does not depend on
    them). The peer is an f16 torch linear of the same shape."""
    xt, yt = "tensor<%dx%dxf16>" % (m, k), "tensor<%dx%dxf16>" % (m, n)
    wt, st = "tensor<%dx%dxi4>" % (n, k), "tensor<%dx%dxf16>" % (n, k // group)
    text = f"""func.func @main(%x: {xt} {{kiln.name = "x", kiln.dtype = 10 : i32}})
    -> ({yt} {{kiln.name = "y", kiln.dtype = 10 : i32}}) {{
  %w = arith.constant dense<3> : {wt}
  %s = arith.constant dense<0.01> : {st}
  %y = kiln.qlinear %x, %w, %s {{block_shape = array<i64: 1, {group}>}}
      : ({xt}, {wt}, {st}) -> {yt}
  return %y : {yt}
}}
"""
    return text, {"x": ([m, k], "float16")}, 2.0 * m * n * k, \
        {"weight": [n, k]}


BENCHMARKS = {
    "gemm_f16_4096": gemm(4096) + (None,),
    "attention_causal_f16_b1h32s2048d128": attention(1, 32, 2048, 128),
    # All three take kiln-gpu-convert-attention-to-kernels (f32 math; f16
    # inputs are widened as they are loaded).
    "attention_causal_f32_b1h32s2048d128": attention(1, 32, 2048, 128, "f32"),
    "attention_decode_f32_b1h32kv8L4096d128": attention(
        1, 32, 1, 128, "f32", kv_heads=8, keys=4096, causal=False),
    # kiln-gpu-convert-quantized-linears-to-mma-kernels (decode tile).
    "qlinear_int4_g128_m1_4096x4096": qlinear_int4(1, 4096, 4096),
    "qlinear_int4_g128_m16_4096x4096": qlinear_int4(16, 4096, 4096),
}


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def prepare(options):
    import numpy as np
    import run_conformance as conformance
    import check_cuda_compile as cuda_compile
    import qlinear_cases
    out = Path(options.build) / "gpu-check"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    compile_tool = str(Path(options.build) / "bin" / "kiln-compile")
    base = [compile_tool, "--target", "cuda", "--gpu-arch", options.arch,
            "--cuda-path", options.cuda_path]
    manifest = {"arch": options.arch, "models": {}, "kernels": {},
                "node_tests": {}, "benchmarks": {}, "failed_to_compile": []}

    def compile_to(src, dst, flags=()):
        r = run(base + [str(src), "-o", str(dst)] + list(flags), timeout=900)
        if r.returncode != 0:
            manifest["failed_to_compile"].append(
                "%s: %s" % (dst.name, (r.stderr.strip().splitlines() or
                                       ["exit %d" % r.returncode])[0]))
            return False
        return True

    for name, (model, flags, inputs, expected) in MODELS.items():
        d = out / "models" / name
        d.mkdir(parents=True)
        if compile_to(REPO / model, d / "model.kiln", flags):
            for k, v in inputs.items():
                shutil.copy(REPO / v, d / ("in_" + k + ".npy"))
            for k, v in expected.items():
                shutil.copy(REPO / v, d / ("expected_" + k + ".npy"))
            manifest["models"][name] = {"inputs": list(inputs),
                                        "outputs": list(expected)}

    for name in qlinear_cases.CASES:
        d = out / "kernels" / name
        d.mkdir(parents=True)
        text, inputs, expected = qlinear_cases.make_case(name)
        (d / "model.mlir").write_text(text)
        if compile_to(d / "model.mlir", d / "model.kiln"):
            for k, v in inputs.items():
                np.save(d / ("in_" + k + ".npy"), v)
            for k, v in expected.items():
                np.save(d / ("expected_" + k + ".npy"), v)
            manifest["kernels"][name] = {
                "inputs": list(inputs), "outputs": list(expected),
                "rtol": qlinear_cases.RTOL, "atol": qlinear_cases.ATOL}

    expected_pass = sorted(conformance.read_list(
        REPO / "test" / "e2e" / "conformance" / "expected_pass.txt"))
    step = max(1, math.ceil(len(expected_pass) / options.sample))
    tests_dir = Path(options.tests_dir)
    for name in expected_pass[::step] if tests_dir.is_dir() else []:
        test = tests_dir / name
        info = conformance.read_test(test)
        input_names, output_names, input_files, output_files = info[:4]
        if any(kind != "tensor" for kind in info[4] + info[5]):
            continue  # a sequence or optional: not in this tensor manifest
        d = out / "node" / name
        d.mkdir(parents=True)
        error, bound = cuda_compile.compile_artifact(
            compile_tool, test / "model.onnx", d / "model.kiln",
            [options.arch], test, ["--cuda-path", options.cuda_path])
        if error is not None:
            manifest["failed_to_compile"].append("%s: %s" % (name, error))
            shutil.rmtree(d)
            continue
        ins = {}
        for n, f in zip(input_names, input_files):
            if n not in bound:
                shutil.copy(f, d / ("in_%d.pb" % len(ins)))
                ins[n] = "in_%d.pb" % len(ins)
        outs = {}
        try:
            for n, f in zip(output_names, output_files):
                value = conformance.read_expected(f)
                if not isinstance(value, np.ndarray) or \
                        value.dtype.kind not in "fiub":
                    raise ValueError("not a plain numeric tensor")
                fname = "expected_%d.npy" % len(outs)
                np.save(d / fname, value)
                outs[n] = fname
        except Exception:  # outputs NumPy cannot hold: skip the test
            shutil.rmtree(d)
            continue
        manifest["node_tests"][name] = {"inputs": ins, "outputs": outs}

    for name, (text, inputs, flops, peer) in BENCHMARKS.items():
        d = out / "bench" / name
        d.mkdir(parents=True)
        (d / "model.mlir").write_text(text)
        if compile_to(d / "model.mlir", d / "model.kiln"):
            manifest["benchmarks"][name] = {"inputs": inputs, "flops": flops,
                                            "peer": peer}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print("gpu-check prepare: %d models, %d kernel cases, %d node tests, "
          "%d benchmarks in %s"
          % (len(manifest["models"]), len(manifest["kernels"]),
             len(manifest["node_tests"]), len(manifest["benchmarks"]), out))
    for line in manifest["failed_to_compile"]:
        print("  did not compile:", line)
    return 0


def kiln_run(options, artifact, inputs, outdir, extra=()):
    cmd = [options.kiln_run, str(artifact), "--device", "cuda:0", "-q",
           "--output-dir", str(outdir)] + list(extra)
    for name, path in inputs.items():
        cmd += ["--input", "%s=%s" % (name, path)]
    return run(cmd, timeout=300)


def close(a, b, rtol, atol):
    import numpy as np
    if a.shape != b.shape:
        return False, "shape %s != %s" % (a.shape, b.shape)
    if b.dtype.kind in "iub" or a.dtype.kind in "iub":
        ok = np.array_equal(a, b)
        return ok, "" if ok else "integer mismatch"
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if np.isnan(a64).any() and not np.isnan(b64).any():
        return False, "NaN in output"
    err = np.abs(a64 - b64)
    bad = err > atol + rtol * np.abs(b64)
    same_nan = np.isnan(a64) & np.isnan(b64)
    bad &= ~same_nan
    return (not bad.any()), "max |diff| %.3g" % np.nanmax(err) if err.size \
        else ""


def run_checks(options):
    import numpy as np
    root = Path(options.build) / "gpu-check"
    manifest = json.loads((root / "manifest.json").read_text())
    rows = []
    work = Path(options.work)
    work.mkdir(parents=True, exist_ok=True)

    def model_close(m, got, ref):
        # Whole models: atol from the largest |ref|, and the same arg-max.
        ok, why = close(got, ref, 0.0, 1e-4 * float(np.abs(ref).max()))
        if (got.argmax(-1) == ref.argmax(-1)).all():
            return ok, why
        return False, why + ", arg-max differs"

    def kernel_close(m, got, ref):
        # Kernel cases: atol is relative to max |ref|.
        return close(got, ref, m["rtol"], m["atol"] * float(np.abs(ref).max()))

    for kind, cases, judge in (
            ("model", manifest["models"], model_close),
            ("kernel", manifest.get("kernels", {}), kernel_close)):
        for name, m in cases.items():
            d = root / (kind + "s") / name
            o = work / (kind + "s") / name
            o.mkdir(parents=True, exist_ok=True)
            r = kiln_run(options, d / "model.kiln",
                         {k: d / ("in_" + k + ".npy") for k in m["inputs"]}, o)
            if r.returncode != 0:
                rows.append((kind, name, "FAIL", r.stderr.strip()[-200:]))
                continue
            for k in m["outputs"]:
                ok, why = judge(m, np.load(o / (k + ".npy")),
                                np.load(d / ("expected_" + k + ".npy")))
                rows.append((kind, name + ":" + k, "ok" if ok else "FAIL",
                             why))

    passed = failed = 0
    failures = []
    for name, t in manifest["node_tests"].items():
        d = root / "node" / name
        o = work / "node" / name
        o.mkdir(parents=True, exist_ok=True)
        r = kiln_run(options, d / "model.kiln",
                     {k: d / v for k, v in t["inputs"].items()}, o)
        ok, why = r.returncode == 0, r.stderr.strip()[-160:]
        if ok:
            for k, v in t["outputs"].items():
                ref = np.load(d / v)
                files = [p for p in o.iterdir() if p.stem == k]
                if not files or files[0].suffix != ".npy":
                    ok, why = False, "no .npy output %s" % k
                    break
                ok, why = close(np.load(files[0]), ref, 1e-3, 1e-7)
                if not ok:
                    break
        passed += ok
        failed += not ok
        if not ok:
            failures.append("%s: %s" % (name, why))
    rows.append(("node tests", "%d sampled" % (passed + failed),
                 "%d ok" % passed, "%d failed" % failed))

    bench = []
    if not options.no_bench:
        bench = run_benchmarks(options, root, manifest, work)

    print("\n== gpu-check on %s ==" % gpu_name())
    print("%-12s %-44s %-8s %s" % ("what", "name", "result", "detail"))
    for row in rows:
        print("%-12s %-44s %-8s %s" % row)
    for line in failures[:40]:
        print("  node test failed:", line)
    if bench:
        print("\n%-40s %12s %12s %10s  %s" % ("benchmark", "kiln ms",
                                             "peer ms", "kiln/peer", "peer"))
        for b in bench:
            print("%-40s %12s %12s %10s  %s" % b)
    print("\nkiln ms: kiln-run --repeat median, whole run (upload, kernels, "
          "download); peer ms: device events around the operation only")
    bad = sum(1 for r in rows if r[2] == "FAIL") + failed
    print("gpu-check: %d passed, %d failed" % (
        sum(1 for r in rows if r[2] == "ok") + passed, bad))
    return 1 if bad else 0


def gpu_name():
    r = run(["nvidia-smi", "--query-gpu=name,driver_version",
             "--format=csv,noheader"])
    return r.stdout.strip() or "unknown GPU (nvidia-smi failed)"


def run_benchmarks(options, root, manifest, work):
    import numpy as np
    try:
        import torch
    except ImportError:
        torch = None
    results = []
    for name, b in manifest["benchmarks"].items():
        d = root / "bench" / name
        o = work / "bench" / name
        o.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        inputs = {}
        arrays = {}
        for k, (shape, dtype) in b["inputs"].items():
            arrays[k] = (rng.standard_normal(shape) * 0.1).astype(dtype)
            inputs[k] = o / (k + ".npy")
            np.save(inputs[k], arrays[k])
        r = kiln_run(options, d / "model.kiln", inputs, o,
                     ["--repeat", str(options.repeat)])
        kiln_ms = "FAIL"
        for line in r.stdout.splitlines() + r.stderr.splitlines():
            if line.startswith("timing:"):
                kiln_ms = "%.3f" % float(line.split("median")[1].split()[0])
        if r.returncode != 0:
            kiln_ms = "FAIL"
            print("benchmark %s: %s" % (name, r.stderr.strip()[-300:]))
        peer_ms, peer = "-", "-"
        if torch is not None and torch.cuda.is_available():
            t = {k: torch.from_numpy(v).cuda() for k, v in arrays.items()}
            if name.startswith("gemm"):
                fn, peer = (lambda: t["a"] @ t["b"]), "torch.matmul (cuBLAS)"
            elif name.startswith("qlinear"):
                w = torch.randn(*b["peer"]["weight"], dtype=torch.float16,
                                device="cuda")
                fn, peer = (lambda: t["x"] @ w.t()), "f16 torch linear"
            else:
                fn, peer = attention_peer(torch, t, b["peer"], o,
                                          kiln_ms != "FAIL")
            peer_ms = "%.3f" % time_torch(torch, fn, options.repeat)
        ratio = "-"
        if kiln_ms != "FAIL" and peer_ms != "-":
            ratio = "%.2f" % (float(kiln_ms) / float(peer_ms))
        results.append((name, kiln_ms, peer_ms, ratio, peer))
    return results


def attention_peer(torch, t, spec, outdir, compare):
    """torch SDPA on the benchmark's arrays, and its output compared with
    Kiln's (the only check of the attention kernels' numbers so far)."""
    import numpy as np
    F = torch.nn.functional
    k, v = t["k"], t["v"]
    if spec.get("group", 1) > 1:
        k = k.repeat_interleave(spec["group"], dim=1)
        v = v.repeat_interleave(spec["group"], dim=1)
    causal = spec.get("causal", True)

    def fn():
        return F.scaled_dot_product_attention(t["q"], k, v, is_causal=causal)

    peer = "torch SDPA"
    out = outdir / "o.npy"
    if compare and out.exists():
        ref = fn().float().cpu().numpy()
        got = np.load(out).astype(np.float32)
        err = float(np.abs(got - ref).max()) if got.shape == ref.shape \
            else float("inf")
        bound = 2e-2 if t["q"].dtype == torch.float16 else 1e-4
        bound *= max(float(np.abs(ref).max()), 1e-30)
        peer += " (max |kiln - SDPA| %.3g: %s)" % (
            err, "ok" if err <= bound else "MISMATCH")
    return fn, peer


def time_torch(torch, fn, repeat):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("prepare", help="compile everything here")
    p.add_argument("--build", default=str(REPO / "build"))
    p.add_argument("--arch", default="sm_90a")
    p.add_argument("--cuda-path", default="/usr/local/cuda")
    p.add_argument("--sample", type=int, default=200)
    p.add_argument("--tests-dir",
                   default=str(REPO.parent / "shared" / "onnx-node-tests"))
    r = sub.add_parser("run", help="run and time on cuda:0")
    r.add_argument("--build", default=str(REPO / "build"))
    r.add_argument("--kiln-run", default=None)
    r.add_argument("--work", default=os.environ.get("OUT", "/tmp") +
                   "/kiln-gpu-check")
    r.add_argument("--repeat", type=int, default=50)
    r.add_argument("--no-bench", action="store_true")
    options = parser.parse_args(argv)
    if options.mode == "prepare":
        return prepare(options)
    if options.kiln_run is None:
        options.kiln_run = str(Path(options.build) / "bin" / "kiln-run")
    return run_checks(options)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
