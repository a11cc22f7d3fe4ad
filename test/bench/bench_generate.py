#!/usr/bin/python3
"""Generation with the compiler-derived KV cache against recomputing the
whole sequence for each token, on the CPU (docs/benchmarks.md,
"Generation").

Builds a Mixtral-style decoder (examples/mixtral's code: 4 layers, hidden
256, 8 query / 2 KV heads, 8 experts top-2, vocabulary 512, rotary table
1024 positions, untrained, seed 0), exports it with symbolic batch and seq,
compiles it twice (plain, and --generate --max-seq 1024), then:

  - kiln-run --generate N over a 16-token prompt: prefill and decode
    tokens/s, and the median decode step of each quarter of the N steps
    (flat when a step's cost does not grow with the sequence);
  - the plain artifact at seq = 16, 256 and 1000 (--repeat R): the cost of
    one token without a cache at those lengths.

Usage: bench_generate.py --bin BUILD/bin [--work DIR] [--steps N]
       [--repeat R] [--threads T]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "mixtral"))
sys.path.insert(0, os.path.join(ROOT, "examples", "tools"))
import make_mixtral  # noqa: E402


def build_model(path):
    config = make_mixtral.MixtralConfig()
    config.hidden_size = 256
    config.intermediate_size = 512
    config.num_hidden_layers = 4
    config.num_attention_heads = 8
    config.num_key_value_heads = 2
    config.num_local_experts = 8
    config.sliding_window = 4096  # wider than any sequence here: causal
    config.max_position_embeddings = 1024
    config.vocab_size = 512
    torch.manual_seed(0)
    net = make_mixtral.MixtralForCausalLM(config).eval()
    axes = {0: "batch", 1: "seq"}
    torch.onnx.export(net, (torch.randint(0, 512, (1, 8)),), path,
                      opset_version=17, input_names=["tokens"],
                      output_names=["y"],
                      dynamic_axes={"tokens": axes, "y": axes})


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        sys.exit("bench: %s failed: %s" % (command[0], result.stderr.strip()))
    return result.stdout


class Workspace:
    """The tools in --bin and the work folder (--work, or a new temporary
    one named after `prefix`) of one benchmark run."""

    def __init__(self, args, prefix):
        self.dir = args.work or tempfile.mkdtemp(prefix=prefix)
        os.makedirs(self.dir, exist_ok=True)
        self.compile = os.path.join(args.bin, "kiln-compile")
        self.run = os.path.join(args.bin, "kiln-run")
        self.onnx = os.path.join(self.dir, "decoder.onnx")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    space = Workspace(args, "kiln-bench-generate-")
    work, compile_, kiln_run = space.dir, space.compile, space.run
    onnx_path = space.onnx
    build_model(onnx_path)
    plain = os.path.join(work, "plain.kiln")
    step = os.path.join(work, "generate.kiln")
    run([compile_, onnx_path, "-o", plain])
    run([compile_, onnx_path, "--generate", "--max-seq", "1024", "-o", step])
    threads = ["--threads", str(args.threads)]

    prompt = os.path.join(work, "prompt.npy")
    np.save(prompt, np.arange(16, dtype=np.int64).reshape(1, 16))
    out = run([kiln_run, step, "--input", "tokens=" + prompt, "--generate",
               str(args.steps), "--quiet"] + threads)
    print("## kiln-run --generate %d, 16-token prompt, %d thread(s)\n"
          % (args.steps, args.threads))
    for line in out.splitlines():
        print("    " + line)
    print("\n## plain artifact, one run per token without a cache\n")
    print("| seq | median ms (%d runs) |" % args.repeat)
    print("| --- | --- |")
    for seq in (16, 256, 1000):
        tokens = os.path.join(work, "tokens%d.npy" % seq)
        np.save(tokens, (np.arange(seq) % 512).reshape(1, seq).astype(np.int64))
        out = run([kiln_run, plain, "--input", "tokens=" + tokens, "--repeat",
                   str(args.repeat), "--quiet"] + threads)
        median = re.search(r"median ([0-9.e+-]+) ms", out).group(1)
        print("| %d | %s |" % (seq, median))


if __name__ == "__main__":
    main()
