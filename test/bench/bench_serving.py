#!/usr/bin/python3
"""Continuous batching over a paged KV cache against serving the same
requests one at a time, on the CPU (docs/benchmarks.md, "Serving").

Builds bench_generate.py's Mixtral-style decoder (4 layers, hidden 256, 8
query / 2 KV heads, 8 experts top-2, vocabulary 512, untrained, seed 0),
compiles it once with `--generate --max-seq 256 --kv-block-size 16`, writes
a seeded trace of R requests (prompt lengths uniform in [4, 128], outputs
uniform in [8, 128] tokens, arrivals all at once or Poisson at --rate
requests/s), and replays it with kiln-run --serve-trace twice: batched
(every arrived request decodes together, up to --max-batch) and one at a
time (--max-batch 1, the same artifact and code path). Each mode runs
--repeat times; the medians of generated tokens/s and of the per-request
latency percentiles (finish minus arrival) are printed. Both modes must
generate the same tokens (greedy).

Usage: bench_serving.py --bin BUILD/bin [--work DIR] [--requests R]
       [--rate QPS] [--repeat N] [--threads T] [--max-batch B]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_generate  # noqa: E402


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        sys.exit("bench: %s failed: %s" % (" ".join(command),
                                          result.stderr.strip()))
    return result.stdout


def write_trace(path, requests, rate, seed):
    rng = np.random.default_rng(seed)
    arrival = 0.0
    with open(path, "w") as f:
        for _ in range(requests):
            if rate > 0:
                arrival += rng.exponential(1.0 / rate)
            length = int(rng.integers(4, 129))
            steps = int(rng.integers(8, 129))
            prompt = rng.integers(0, 512, length)
            f.write("%.4f %d %s\n" % (arrival, steps,
                                      " ".join(str(int(t)) for t in prompt)))


def serve(kiln_run, artifact, trace, out_dir, threads, *flags):
    stdout = run([kiln_run, artifact, "--serve-trace", trace, "--output-dir",
                  out_dir, "--threads", str(threads), *flags])
    with open(os.path.join(out_dir, "serve.json")) as f:
        result = json.load(f)
    latencies = sorted(r["latency_ms"] for r in result["requests"])

    def pct(q):
        rank = max(1, int(np.ceil(q / 100 * len(latencies))))
        return latencies[rank - 1]
    return {"tokens_per_s": result["generated_tokens"] / result["wall_seconds"],
            "p50": pct(50), "p90": pct(90), "p99": pct(99),
            "wall": result["wall_seconds"],
            "tokens": [r["tokens"] for r in result["requests"]],
            "stats": [l for l in stdout.splitlines() if "blocks" in l]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--rate", type=float, default=0,
                        help="Poisson arrivals per second (0: all at once)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    space = bench_generate.Workspace(args, "kiln-bench-serving-")
    work, compile_, kiln_run = space.dir, space.compile, space.run
    onnx_path = space.onnx
    artifact = os.path.join(work, "paged.kiln")
    if not os.path.exists(artifact):
        bench_generate.build_model(onnx_path)
        run([compile_, onnx_path, "--generate", "--max-seq", "256",
             "--kv-block-size", "16", "--kv-blocks", "512", "-o", artifact])
    trace = os.path.join(work, "trace.txt")
    write_trace(trace, args.requests, args.rate, args.seed)
    with open("/proc/loadavg") as f:
        print("load average before: " + " ".join(f.read().split()[:3]))
    modes = [("batched", ["--max-batch", str(args.max_batch)]),
             ("one at a time", ["--max-batch", "1"])]
    results = {name: [] for name, _ in modes}
    for i in range(args.repeat):
        for name, flags in modes:
            out = os.path.join(work, "%s_%d" % (name.replace(" ", "_"), i))
            results[name].append(serve(kiln_run, artifact, trace, out,
                                       args.threads, *flags))
    if results["batched"][0]["tokens"] != results["one at a time"][0]["tokens"]:
        sys.exit("bench: batched and one-at-a-time tokens differ")
    with open("/proc/loadavg") as f:
        print("load average after: " + " ".join(f.read().split()[:3]))
    print("%d requests, %s arrivals, %d threads, median of %d runs"
          % (args.requests, "Poisson %g/s" % args.rate if args.rate else
             "simultaneous", args.threads, args.repeat))
    print("| mode | generated tokens/s | latency p50 ms | p90 ms | p99 ms "
          "| wall s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, _ in modes:
        runs = results[name]
        med = {k: statistics.median(r[k] for r in runs)
               for k in ("tokens_per_s", "p50", "p90", "p99", "wall")}
        print("| %s | %.1f | %.0f | %.0f | %.0f | %.2f |" % (
            name, med["tokens_per_s"], med["p50"], med["p90"], med["p99"],
            med["wall"]))
    for name, _ in modes:
        print("%s: %s" % (name, "; ".join(results[name][0]["stats"])))


if __name__ == "__main__":
    main()
