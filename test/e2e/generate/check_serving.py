#!/usr/bin/python3
"""Continuous batching over a paged KV cache (kiln-compile --generate
--kv-block-size, kiln-run --serve-trace, kiln_batch_*), against PyTorch.

The Mixtral-style decoder of check_generate.py (GQA, sliding window of 5,
RoPE, top-2 MoE; untrained, seed 0) is compiled with a paged cache: blocks
of 8 positions, --max-seq 48, and a pool of only 12 blocks (96 positions).
Requests with different prompt lengths (1 to 33 tokens) and output lengths
are served by kiln-run --serve-trace: some all at once, some arriving while
others run, so requests join and leave between decode steps and each
decode step batches sequences of different lengths. Every request must
produce exactly PyTorch's greedy tokens for its prompt alone (the reference
recomputes the whole sequence for every token, no cache). The trace needs
more positions in all than the pool holds, so finished requests' blocks
must be reused (serve.json's blocks_handed_out exceeds the pool and the
peak stays within it). The same trace served one at a time (--max-batch 1)
gives the same tokens. The first four requests alone fill the pool's 12
blocks, so the later ones wait for finished requests' blocks and join at
later steps whatever the timing. Then the refusals, each one clear
message.

Usage: check_serving.py --bin BUILD/bin [--keep DIR] [--filter NAME]
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_generate  # noqa: E402
from check_generate import (VOCAB, check_dynamic, expect_failure,  # noqa: E402
                            export_decoder, greedy_reference, kiln_tools)

# (arrival seconds, prompt length, new tokens)
REQUESTS = [(0.0, 5, 8), (0.0, 1, 10), (0.0, 33, 6), (0.0, 12, 12),
            (0.02, 7, 9), (0.05, 20, 5), (0.08, 2, 16), (0.1, 40, 4),
            (0.12, 9, 11), (0.15, 16, 7)]


def write_trace(path, prompts):
    with open(path, "w") as f:
        f.write("# arrival max_new prompt...\n")
        for (arrival, _, steps), prompt in zip(REQUESTS, prompts):
            f.write("%g %d %s\n" % (arrival, steps,
                                    " ".join(str(int(t)) for t in prompt)))


def serve(bin_dir, artifact, trace, out_dir, *flags):
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-run"), artifact, "--serve-trace", trace,
         "--output-dir", out_dir, *flags], capture_output=True, text=True)
    if result.returncode:
        return None, result.stderr.strip()
    with open(os.path.join(out_dir, "serve.json")) as f:
        return json.load(f), None


def check_paged(bin_dir):
    def check(work):
        net, onnx_path = export_decoder(check_dynamic.decoder, work, "paged")
        artifact = os.path.join(work, "paged.kiln")
        result = check_generate.compile_generation(
            bin_dir, onnx_path, artifact, "--max-seq", "48",
            "--kv-block-size", "8", "--kv-blocks", "12")
        if result.returncode:
            return "compile failed: " + result.stderr.strip()
        signature = subprocess.run(
            [os.path.join(bin_dir, "kiln-run"), artifact,
             "--print-signature"], capture_output=True, text=True)
        line = ("generation step: paged KV cache of 48 positions per "
                "sequence, 12 blocks of 8")
        if signature.returncode or line not in signature.stdout:
            return "kiln-run --print-signature lacks %r: %s" % (
                line, signature.stdout + signature.stderr)
        if "input block_table: int64[batch,6]" not in signature.stdout:
            return "no block_table input in the signature: " + \
                signature.stdout
        rng = np.random.default_rng(11)
        prompts = [rng.integers(0, VOCAB, (length,), dtype=np.int64)
                   for _, length, _ in REQUESTS]
        expected = [greedy_reference(net, p[None, :], steps)[0].tolist()
                    for p, (_, _, steps) in zip(prompts, REQUESTS)]
        trace = os.path.join(work, "trace.txt")
        write_trace(trace, prompts)
        positions = sum(length + steps - 1 for _, length, steps in REQUESTS)
        if positions <= 12 * 8:
            return "the trace must need more positions than the pool holds"
        for tag, flags in [("batched", []), ("one_at_a_time",
                                             ["--max-batch", "1"])]:
            got, why = serve(bin_dir, artifact, trace,
                             os.path.join(work, tag), *flags)
            if why:
                return "%s: kiln-run --serve-trace failed: %s" % (tag, why)
            for i, (request, want) in enumerate(zip(got["requests"],
                                                    expected)):
                if request["tokens"] != want:
                    return ("%s: request %d (prompt of %d) differs from "
                            "PyTorch's greedy tokens:\n  kiln  %s\n  torch %s"
                            % (tag, i, REQUESTS[i][1], request["tokens"],
                               want))
            if got["total_blocks"] != 12 or got["peak_used_blocks"] > 12:
                return "%s: pool %d blocks, peak %d" % (
                    tag, got["total_blocks"], got["peak_used_blocks"])
            if got["blocks_handed_out"] <= 12:
                return "%s: only %d blocks handed out; no block was reused" % (
                    tag, got["blocks_handed_out"])
        return None, "(%d requests, tokens equal, blocks reused)" % len(
            REQUESTS)
    return "paged", "paged: batched requests equal PyTorch's greedy tokens", \
        check


def check_refusals(bin_dir):
    def check(work):
        _, onnx_path = export_decoder(check_dynamic.decoder, work, "small")
        compile_ = [os.path.join(bin_dir, "kiln-compile"), onnx_path,
                    "--generate"]
        paged = os.path.join(work, "paged.kiln")
        if subprocess.run(compile_ + ["--max-seq", "16", "--kv-block-size",
                                      "4", "--kv-blocks", "3", "-o", paged],
                          capture_output=True).returncode:
            return "the paged decoder did not compile"
        contiguous = os.path.join(work, "contiguous.kiln")
        if subprocess.run(compile_ + ["--max-seq", "16", "-o", contiguous],
                          capture_output=True).returncode:
            return "the contiguous decoder did not compile"
        trace = os.path.join(work, "long.txt")
        with open(trace, "w") as f:
            f.write("0 8 " + " ".join(["1"] * 12) + "\n")
        big = os.path.join(work, "big.txt")
        with open(big, "w") as f:
            f.write("0 6 " + " ".join(["1"] * 10) + "\n")
        bad = os.path.join(work, "bad.txt")
        with open(bad, "w") as f:
            f.write("0 0 1 2\n")
        with open(os.path.join(work, "one.txt"), "w") as f:
            f.write("0 2 1 2 3\n")
        prompt = os.path.join(work, "prompt.npy")
        np.save(prompt, np.zeros((1, 3), dtype=np.int64))
        run = os.path.join(bin_dir, "kiln-run")
        cases = [
            (compile_ + ["--max-seq", "16", "--kv-block-size", "5", "-o",
                         os.path.join(work, "x.kiln")],
             "--kv-block-size 5 must divide the cache's positions per "
             "sequence 16"),
            (compile_ + ["--max-seq", "16", "--kv-blocks", "4", "-o",
                         os.path.join(work, "y.kiln")],
             "--kv-blocks needs --kv-block-size"),
            ([run, contiguous, "--serve-trace", bad.replace("bad", "one")],
             "the model has no paged KV cache"),
            ([run, paged, "--input", "tokens=" + prompt, "--generate", "2"],
             "the model's KV cache is paged"),
            ([run, paged, "--serve-trace", trace],
             "a prompt of 12 tokens and 8 new ones need 19 cache positions; "
             "a sequence holds 16"),
            ([run, paged, "--serve-trace", big],
             "the request needs 4 blocks; the pool has 3"),
            ([run, paged, "--serve-trace", bad],
             "trace line 1: max new tokens must be a positive integer"),
            ([run, paged, "--max-batch", "2"], "--max-batch needs --serve-trace"),
        ]
        for command, message in cases:
            problem = expect_failure(command, message)
            if problem:
                return problem
        return None, "(%d refusals)" % len(cases)
    return "serving-refusals", "serving refusals: each a clear message", check


def main():
    args = kiln_tools.check_arguments(__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(1)
    return kiln_tools.run_checks("serving", args, [check_paged(args.bin),
                                                   check_refusals(args.bin)])


if __name__ == "__main__":
    sys.exit(main())
