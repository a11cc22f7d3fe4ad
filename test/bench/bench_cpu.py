#!/usr/bin/python3
"""CPU inference time of Kiln against onnxruntime, on the same models.

For each case, in one run: compiles the ONNX model with kiln-compile (the
linear layers once more with --quantize=int4-g32), runs it once on Kiln
(kiln-run) and once on onnxruntime's CPU provider (test/bench/ort_time.js,
npm's onnxruntime-node) on the same inputs and compares the outputs (max
abs difference), then times both at each thread count (1 and all cores by
default): ROUNDS rounds that alternate Kiln and onnxruntime, each a
repeated run whose median is taken; a row's time is the median of its
rounds' medians. Kiln gets `kiln-run --threads N` when kiln-run has that
flag; without it Kiln runs single-threaded and the table says so. The int4
rows compare with onnxruntime's MatMulNBits on the same 4-bit codes and
scales; the int8 rows run the same model on both. The MoE decoder's kiln-compile wall time is the median of
--compile-repeat compilations.

Cases (--list prints them; --filter picks by id or name):
  the example decoders (examples/mixtral, examples/deepseek; 16 tokens),
  4096x4096 linear layers, f32, int4-g32 and int8 with dynamically
  quantized activations (DynamicQuantizeLinear + MatMulInteger, which
  onnxruntime fuses into DynamicQuantizeMatMul), on 1 and 16 rows,
  and the PyTorch-exported models of test/bench/make_models.py: a
  Mixtral MoE layer (d 1024, top-2 of 8 SwiGLU experts, 32 tokens),
  attention over 2048 tokens with a 256-token sliding window, and a
  4-layer MoE decoder (d 512, GQA 8/2 heads, 8 experts top-2, 128 tokens).

How many runs: about --budget seconds of timed runs per runtime and row
(at most --repeat, but at least --min-runs in each round), estimated from
the first run (the one whose outputs are compared).
Progress goes to stderr; the Markdown table (docs/benchmarks.md records
one) to stdout.

Usage: bench_cpu.py --bin build/bin --ort PATH/node_modules/onnxruntime-node
           [--work DIR] [--quick] [--filter ID,...] [--threads 1,2] ...
`make bench` runs it through scripts/bench.sh, which installs
onnxruntime-node 1.30 first. Not part of `make test` (tests never assert
on time).
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def log(*args):
    print(*args, file=sys.stderr, flush=True)


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


def int8_linear_model(work, m, k, n, seed):
    """A dynamically quantized linear layer as onnxruntime's
    quantize_dynamic writes it: x[m, k] -> DynamicQuantizeLinear (uint8,
    per tensor) -> MatMulInteger with W[k, n] stored as int8 (symmetric, per
    tensor) -> Cast to float -> times x_scale * w_scale. onnxruntime fuses
    it into DynamicQuantizeMatMul; Kiln runs the product as its int8
    dot-product kernel (vpdpbusd where the CPU has AVX-512 VNNI)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((k, n)).astype(np.float32) / np.sqrt(k)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w_scale = np.float32(np.abs(w).max() / 127)
    w_codes = np.clip(np.rint(w / w_scale), -127, 127).astype(np.int8)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("MatMulInteger", ["xq", "w", "xz"], ["yi"]),
        helper.make_node("Cast", ["yi"], ["yf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["xs", "w_scale"], ["scale"]),
        helper.make_node("Mul", ["yf", "scale"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "linear_int8_dynamic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(w_codes, "w"),
         numpy_helper.from_array(np.array(w_scale), "w_scale")])
    path = os.path.join(work, "linear_int8dq_%dx%dx%d.onnx" % (m, k, n))
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17)]), path)
    x_path = os.path.join(work, "x8_%dx%d.npy" % (m, k))
    np.save(x_path, x)
    return path, {"x": x_path}


class Case:
    """One benchmark: `prepare(dirs)` makes the files and returns
    (kiln model, onnxruntime model, {input: .npy}); `kiln_flags` go to
    kiln-compile; `timed_compile` asks for the median compile time."""

    def __init__(self, ident, name, prepare, kiln_flags=(), timed_compile=False):
        self.ident = ident
        self.name = name
        self.prepare = prepare
        self.kiln_flags = list(kiln_flags)
        self.timed_compile = timed_compile


def torch_model(name, inputs):
    """A model of make_models.py, built (once) into the models folder."""
    def prepare(dirs):
        base = os.path.join(dirs["models"], name)
        if not os.path.exists(base + ".onnx"):
            log("bench: exporting %s with PyTorch (make_models.py)" % name)
            subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"),
                            dirs["models"], name], check=True,
                           stdout=subprocess.DEVNULL)
        return (base + ".onnx", base + ".onnx",
                {i: "%s.%s.npy" % (base, i) for i in inputs})
    return prepare


def example_model(example):
    def prepare(dirs):
        folder = os.path.join(ROOT, "examples", example)
        model = os.path.join(folder, example + ".onnx")
        return model, model, {"tokens": os.path.join(folder, "tokens.npy")}
    return prepare


def linear_model(m, int4):
    def prepare(dirs):
        float_model, int4_model, inputs = linear_models(dirs["run"], m, 4096,
                                                        4096, m)
        return float_model, int4_model if int4 else float_model, inputs
    return prepare


def int8_linear(m):
    def prepare(dirs):
        model, inputs = int8_linear_model(dirs["run"], m, 4096, 4096, m)
        return model, model, inputs
    return prepare


def all_cases():
    cases = [Case("%s-example" % e, "%s example, 16 tokens" % e, example_model(e))
             for e in ("mixtral", "deepseek")]
    for m in (1, 16):
        rows = "%d row%s" % (m, "" if m == 1 else "s")
        cases.append(Case("linear-f32-m%d" % m, "linear 4096x4096, %s, f32" % rows,
                          linear_model(m, False)))
        cases.append(Case("linear-int4-m%d" % m,
                          "linear 4096x4096, %s, int4-g32" % rows,
                          linear_model(m, True), ["--quantize=int4-g32"]))
        cases.append(Case("linear-int8dq-m%d" % m,
                          "linear 4096x4096, %s, int8 dynamic quantization "
                          "(DynamicQuantizeLinear + MatMulInteger)" % rows,
                          int8_linear(m)))
    cases.append(Case("moe-layer",
                      "Mixtral MoE layer (d 1024, ffn 1408, top-2 of 8), 32 tokens",
                      torch_model("mixtral_layer", ["hidden"])))
    cases.append(Case("attention-window",
                      "attention 8x64, 2048 tokens, causal window 256",
                      torch_model("window_attention", ["q", "k", "v"])))
    cases.append(Case("moe-decoder",
                      "MoE decoder (4 layers, d 512, GQA 8/2, top-2 of 8), 128 tokens",
                      torch_model("moe_decoder", ["tokens"]), timed_compile=True))
    for arch, ident in (("resnet18", "resnet18"),
                        ("mobilenet_v3_small", "mobilenet-v3-small"),
                        ("squeezenet1_1", "squeezenet1-1")):
        cases.append(Case(ident, "torchvision %s, 1x3x224x224" % arch,
                          torch_model(arch + "_224", ["x"]),
                          timed_compile=True))
    return cases


def run(command, **kwargs):
    """subprocess.run that says what failed, with the tool's stderr."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (
            os.path.basename(command[0]) if command[0] != "node" else command[1],
            result.returncode,
            (result.stderr.strip() or result.stdout.strip())[-2000:]))
    return result


def kiln_has_threads(bin_dir):
    out = run([os.path.join(bin_dir, "kiln-run"), "--help"])
    return re.search(r"--threads\b", out.stdout + out.stderr) is not None


def kiln_compile(bin_dir, model, flags, artifact, times):
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        # Timed compiles must compile: the cache would answer the repeats.
        run([os.path.join(bin_dir, "kiln-compile"), model, "-o", artifact,
             "--no-cache", *flags])
        seconds.append(time.perf_counter() - start)
    return seconds


def kiln_run(bin_dir, artifact, inputs, repeat, threads, out_dir=None):
    """Median ms of `kiln-run --repeat`; threads None: no --threads."""
    command = [os.path.join(bin_dir, "kiln-run"), artifact, "--repeat",
               str(repeat), "--quiet"]
    if threads is not None:
        command += ["--threads", str(threads)]
    if out_dir:
        command += ["--output-dir", out_dir]
    for name, path in inputs.items():
        command += ["--input", "%s=%s" % (name, path)]
    out = run(command)
    match = re.search(r"median ([0-9.eE+-]+) ms", out.stdout)
    if not match:
        raise RuntimeError("no timing in kiln-run's output: " + out.stdout[-500:])
    return float(match.group(1))


def ort_run(ort, model, inputs, threads, repeat, warmup, out_dir=None):
    command = ["node", os.path.join(HERE, "ort_time.js"), "--ort", ort,
               "--model", model, "--threads", str(threads), "--repeat",
               str(repeat), "--warmup", str(warmup)]
    if out_dir:
        command += ["--output-dir", out_dir]
    command += ["%s=%s" % kv for kv in inputs.items()]
    return json.loads(run(command).stdout)["median_ms"]


def compare(kiln_dir, ort_dir):
    """(max |kiln - ort|, max |ort|) over every output onnxruntime wrote."""
    names = sorted(f for f in os.listdir(ort_dir) if f.endswith(".npy"))
    if not names:
        raise RuntimeError("onnxruntime wrote no outputs")
    err, scale = 0.0, 0.0
    for name in names:
        ref = np.load(os.path.join(ort_dir, name)).astype(np.float64)
        kiln_path = os.path.join(kiln_dir, name)
        if not os.path.exists(kiln_path):
            raise RuntimeError("Kiln wrote no %s (it wrote %s)" % (
                name, ", ".join(sorted(os.listdir(kiln_dir)))))
        got = np.load(kiln_path).astype(np.float64)
        if got.shape != ref.shape:
            raise RuntimeError("%s: Kiln %s, onnxruntime %s" % (
                name, got.shape, ref.shape))
        err = max(err, float(np.max(np.abs(got - ref))))
        scale = max(scale, float(np.max(np.abs(ref))))
    return err, scale


def sources_hash():
    digest = hashlib.sha1()
    for path in (os.path.join(HERE, "make_models.py"),
                 os.path.join(ROOT, "examples", "mixtral", "make_mixtral.py")):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:12]


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        match = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if match:
            return match.group(1).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def os_name():
    try:
        with open("/etc/os-release") as f:
            match = re.search(r'^PRETTY_NAME="?([^"\n]+)', f.read(), re.M)
            if match:
                return match.group(1)
    except OSError:
        pass
    return platform.system()


def ort_version(ort):
    try:
        with open(os.path.join(ort, "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return "unknown"


class Bench:
    def __init__(self, args, dirs, threaded):
        self.args = args
        self.dirs = dirs
        self.threaded = threaded
        self.rows = []      # (case, threads, kiln, ort, runs, error text)
        self.compiles = []  # (case name, [seconds])
        self.failed = []

    def runs_per_round(self, ms):
        """Timed runs in each round's kiln-run or node call: about --budget
        seconds over all rounds, at most --repeat in all, and at least
        --min-runs per call (so that one cold run is not a round's
        median)."""
        args = self.args
        total = min(args.repeat, int(args.budget * 1000.0 / max(ms, 1e-3)))
        return max(args.min_runs, math.ceil(total / args.rounds))

    def case(self, case):
        args, dirs = self.args, self.dirs
        kiln_model, ort_model, inputs = case.prepare(dirs)
        artifact = os.path.join(dirs["run"], case.ident + ".kiln")
        times = args.compile_repeat if case.timed_compile else 1
        log("bench: %s: kiln-compile%s" % (
            case.ident, "" if times == 1 else " x%d" % times))
        seconds = kiln_compile(args.bin, kiln_model, case.kiln_flags, artifact,
                               times)
        self.compiles.append((case, seconds))
        kiln_single = None  # Kiln's time when kiln-run has no --threads
        for threads in args.thread_list:
            kiln_threads = threads if self.threaded else None
            out = os.path.join(dirs["run"], "%s-t%d" % (case.ident, threads))
            kiln_out, ort_out = out + "-kiln", out + "-ort"
            for d in (kiln_out, ort_out):
                shutil.rmtree(d, ignore_errors=True)
            measure_kiln = self.threaded or kiln_single is None
            # One run of each, outputs kept: the check, and the time of one
            # run, from which the number of timed runs is chosen.
            if measure_kiln or threads == args.thread_list[0]:
                kiln_first = kiln_run(args.bin, artifact, inputs, 1,
                                      kiln_threads, kiln_out)
            else:
                kiln_out = os.path.join(dirs["run"], "%s-t%d-kiln" % (
                    case.ident, args.thread_list[0]))
            ort_first = ort_run(args.ort, ort_model, inputs, threads, 1, 1,
                                ort_out)
            err, scale = compare(kiln_out, ort_out)
            kiln_runs = self.runs_per_round(kiln_first) if measure_kiln else 0
            ort_runs = self.runs_per_round(ort_first)
            rounds = args.rounds
            kiln_medians, ort_medians = [], []
            for _ in range(rounds):
                if measure_kiln:
                    kiln_medians.append(kiln_run(
                        args.bin, artifact, inputs, kiln_runs, kiln_threads))
                ort_medians.append(ort_run(
                    args.ort, ort_model, inputs, threads, ort_runs,
                    args.warmup))
            if measure_kiln:
                kiln = statistics.median(kiln_medians)
                kiln_total = kiln_runs * rounds
                if not self.threaded:
                    kiln_single = (kiln, kiln_total)
            else:
                kiln, kiln_total = kiln_single
            ort = statistics.median(ort_medians)
            ort_total = ort_runs * rounds
            self.rows.append((case, threads, kiln, ort,
                              (kiln_total, ort_total, rounds), (err, scale)))
            log("bench: %-18s %2d thread(s): Kiln %9.3f ms  onnxruntime %9.3f ms"
                "  ratio %6.2f  max|diff| %.2e (max|out| %.3g)  runs %d/%d in "
                "%d round(s)" % (case.ident, threads, kiln, ort, kiln / ort, err,
                                 scale, kiln_total, ort_total, rounds))

    def report(self, started, load_before, load_after, command):
        args = self.args
        cores = os.cpu_count()
        out = []
        out.append("Run of %s, `%s`, on %s (%d cores), %s; onnxruntime-node "
                   "%s (CPU provider, graph optimizations all, inter-op 1 "
                   "thread). Load average (1/5/15 min) before the run: %s, "
                   "after: %s." % (
                       started.strftime("%Y-%m-%d %H:%M UTC"), command,
                       cpu_model(), cores, os_name(),
                       ort_version(args.ort),
                       " / ".join("%.2f" % x for x in load_before),
                       " / ".join("%.2f" % x for x in load_after)))
        out.append("")
        if self.threaded:
            out.append("Kiln ran with `kiln-run --threads N`, N the row's "
                       "thread count.")
        else:
            out.append("kiln-run has no `--threads` flag in this build: Kiln "
                       "ran single-threaded in every row (†: the one-thread "
                       "time, compared with onnxruntime on N threads).")
        out.append("Times are medians in ms: each row alternates Kiln and "
                   "onnxruntime in %d round(s) (runs column: Kiln runs / "
                   "onnxruntime runs, rounds), onnxruntime after %d "
                   "warm-up run(s) per round, and takes the median of the "
                   "rounds' medians. max \\|diff\\|: largest absolute difference between "
                   "Kiln's and onnxruntime's outputs, and the largest \\|output\\| "
                   "for scale." % (args.rounds, args.warmup))
        out.append("")
        out.append("| case | threads | Kiln (ms) | onnxruntime (ms) | Kiln / ORT "
                   "| max \\|diff\\| (max \\|out\\|) | runs |")
        out.append("|---|---|---|---|---|---|---|")
        for case, threads, kiln, ort, runs, (err, scale) in self.rows:
            dagger = "" if self.threaded or threads == 1 else " †"
            out.append("| %s | %d | %s%s | %s | %.2f | %.1e (%.3g) | %d/%d, %d |" % (
                case.name, threads, fmt_ms(kiln), dagger, fmt_ms(ort), kiln / ort,
                err, scale, runs[0], runs[1], runs[2]))
        for case, error in self.failed:
            out.append("| %s | | failed: %s | | | | |" % (
                case.name, error.replace("|", "\\|").replace("\n", " ")[:300]))
        if self.compiles:
            out.append("")
            out.append("| kiln-compile, wall clock | seconds |")
            out.append("|---|---|")
            for case, seconds in self.compiles:
                if len(seconds) > 1:
                    what = "median of %d (%s)" % (
                        len(seconds), ", ".join("%.1f" % s for s in seconds))
                    value = statistics.median(seconds)
                else:
                    what, value = "", seconds[0]
                out.append("| %s%s | %.2f%s |" % (
                    case.name, " " + " ".join(case.kiln_flags) if case.kiln_flags
                    else "", value, " " + what if what else ""))
        return "\n".join(out)


def fmt_ms(ms):
    if ms >= 100:
        return "%.1f" % ms
    if ms >= 1:
        return "%.2f" % ms
    return "%.3f" % ms


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"),
                        help="folder of kiln-compile and kiln-run (build/bin)")
    parser.add_argument("--ort", help="onnxruntime-node's folder "
                        "(.../node_modules/onnxruntime-node)")
    parser.add_argument("--work", help="work folder; models exported by "
                        "PyTorch are kept there between runs (default: a "
                        "temporary folder, removed at the end)")
    parser.add_argument("--filter", default="",
                        help="comma-separated substrings of case ids or names")
    parser.add_argument("--list", action="store_true", help="list the cases")
    parser.add_argument("--threads", default="1,%d" % os.cpu_count(),
                        help="comma-separated thread counts (default 1,nproc)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer runs: --repeat 10 --budget 1 --rounds 1 "
                        "--warmup 1 --compile-repeat 1 unless given")
    parser.add_argument("--repeat", type=int, help="most timed runs per "
                        "runtime and row (default 30)")
    parser.add_argument("--min-runs", type=int, default=3,
                        help="fewest timed runs per runtime, row and round (3)")
    parser.add_argument("--budget", type=float, help="seconds of timed runs "
                        "per runtime and row, within --min-runs x --rounds.."
                        "--repeat (default 4)")
    parser.add_argument("--rounds", type=int, help="rounds alternating Kiln "
                        "and onnxruntime (default 3)")
    parser.add_argument("--warmup", type=int, help="onnxruntime warm-up runs "
                        "per round (default 3)")
    parser.add_argument("--compile-repeat", type=int, help="compilations of "
                        "the MoE decoder timed (default 3)")
    parser.add_argument("--command", default=None,
                        help="how the run was started, for the report")
    args = parser.parse_args()
    defaults = dict(repeat=(10, 30), budget=(1.0, 4.0), rounds=(1, 3),
                    warmup=(1, 3), compile_repeat=(1, 3))
    for key, (quick, full) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    if min(args.repeat, args.min_runs, args.rounds, args.compile_repeat) < 1:
        parser.error("--repeat, --min-runs, --rounds and --compile-repeat "
                     "must be at least 1")
    args.thread_list = [int(t) for t in args.threads.split(",") if t]
    args.thread_list = sorted(set(args.thread_list), key=args.thread_list.index)

    filters = [f.strip().lower() for f in args.filter.split(",") if f.strip()]
    ids = {c.ident for c in all_cases()}
    # A filter that is a case's id picks that case only (linear-f32-m1 is
    # not linear-f32-m16); any other filter is a substring of ids or names.
    cases = [c for c in all_cases() if not filters or any(
        f == c.ident if f in ids else f in c.ident.lower() or f in c.name.lower()
        for f in filters)]
    if args.list:
        for c in all_cases():
            print("%-18s %s" % (c.ident, c.name))
        return 0
    if not cases:
        parser.error("--filter %r matches no case (--list lists them)" % args.filter)
    if not args.ort:
        parser.error("--ort is required (scripts/bench.sh installs "
                     "onnxruntime-node and passes it)")
    args.ort = os.path.abspath(args.ort)
    for tool in ("kiln-compile", "kiln-run"):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            parser.error("no %s in %s (make build; --bin names the folder)" % (
                tool, args.bin))

    temporary = args.work is None
    work = tempfile.mkdtemp(prefix="kiln-bench-") if temporary else args.work
    dirs = {"models": os.path.join(work, "models-" + sources_hash()),
            "run": os.path.join(work, "run")}
    shutil.rmtree(dirs["run"], ignore_errors=True)
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)

    threaded = kiln_has_threads(args.bin)
    log("bench: %d case(s), threads %s; kiln-run --threads: %s" % (
        len(cases), args.threads, "yes" if threaded else
        "absent (Kiln runs single-threaded)"))
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    bench = Bench(args, dirs, threaded)
    for case in cases:
        try:
            bench.case(case)
        except (RuntimeError, subprocess.CalledProcessError, OSError,
                ValueError) as e:
            log("bench: %s failed: %s" % (case.ident, e))
            bench.failed.append((case, str(e)))
    load_after = os.getloadavg()
    command = args.command or " ".join(
        [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    print(bench.report(started, load_before, load_after, command))
    if temporary:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bench.failed else 0


if __name__ == "__main__":
    sys.exit(main())
