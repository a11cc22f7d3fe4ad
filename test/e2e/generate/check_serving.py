#!/usr/bin/python3
"""Continuous batching over a paged KV cache (kiln-compile --generate
--kv-block-size, kiln-run --serve-trace, kiln_batch_*), against PyTorch.

The Mixtral-style decoder of check_generate.py (GQA, RoPE, top-2 MoE;
untrained, seed 0), with its first layer's attention made causal over
every position and its second keeping the sliding window of 5 keys back,
is compiled with a paged cache: blocks of 8 positions, --max-seq 48, a
pool of only 12 blocks (96 positions) for the causal layer, and 4 blocks
for the windowed one, whose ring (5 positions) a sequence keeps in one
block however long it grows. Requests with different prompt lengths (1 to
40 tokens) and output lengths are served by kiln-run --serve-trace: some
all at once, some arriving while others run, so requests join and leave
between decode steps and each decode step batches sequences of different
lengths. Every request must produce exactly PyTorch's greedy tokens for its
prompt alone (the reference recomputes the whole sequence for every token,
no cache). The trace needs more positions in all than the pool holds, so
finished requests' blocks must be reused (serve.json's blocks_handed_out
exceeds the pool and the peak stays within it), and every request takes
exactly one block of the windowed pool (its memory is bounded by the
window, not the length). The same trace served one at a time (--max-batch
1) gives the same tokens. The first four requests alone fill the pool's 12
blocks, so the later ones wait for finished requests' blocks and join at
later steps whatever the timing.

The decoder as exported (both layers windowed) keeps no full pool at all:
its signature has only the windowed pools (4 blocks of 8 positions per
cache, where a full pool would need 6 per sequence), requests take no
block_table blocks, at most 4 run at once (one ring block each), and the
tokens are still PyTorch's. Then the refusals, each one clear message.

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


def causal_mask(input_ids, dtype):
    """HF's additive causal mask without a past (as examples/deepseek's)."""
    bsz, n = input_ids.shape
    mask = torch.full((n, n), torch.finfo(dtype).min)
    cond = torch.arange(n)
    mask.masked_fill_(cond < (cond + 1).view(n, 1), 0)
    return mask[None, None, :, :].expand(bsz, 1, n, n)


class MixedWindows(torch.nn.Module):
    """check_dynamic's Mixtral-style decoder with its first layer causal
    over every position; the second keeps the sliding window."""

    def __init__(self):
        super().__init__()
        self.net = check_dynamic.decoder()

    def forward(self, input_ids):
        net = self.net
        seq = input_ids.shape[1]
        position_ids = torch.arange(seq, dtype=torch.long).unsqueeze(0)
        hidden = net.embed_tokens(input_ids)
        masks = [causal_mask(input_ids, hidden.dtype),
                 net.make_mask(input_ids, hidden.dtype)]
        for layer, mask in zip(net.layers, masks):
            hidden = layer(hidden, mask, position_ids)
        return net.lm_head(net.norm(hidden)).float()


def signature_problem(bin_dir, artifact, lines):
    """None when kiln-run --print-signature prints every one of `lines`."""
    signature = subprocess.run(
        [os.path.join(bin_dir, "kiln-run"), artifact, "--print-signature"],
        capture_output=True, text=True)
    for line in lines:
        if signature.returncode or line not in signature.stdout:
            return "kiln-run --print-signature lacks %r: %s" % (
                line, signature.stdout + signature.stderr)
    return None


def serve_problem(bin_dir, artifact, work, expected, check_stats):
    """Serves the trace batched and one at a time: None when every
    request's tokens are `expected`'s and check_stats(tag, serve.json)
    finds nothing wrong."""
    for tag, flags in [("batched", []), ("one_at_a_time",
                                         ["--max-batch", "1"])]:
        got, why = serve(bin_dir, artifact, os.path.join(work, "trace.txt"),
                         os.path.join(work, tag), *flags)
        if why:
            return "%s: kiln-run --serve-trace failed: %s" % (tag, why)
        for i, (request, want) in enumerate(zip(got["requests"], expected)):
            if request["tokens"] != want:
                return ("%s: request %d (prompt of %d) differs from "
                        "PyTorch's greedy tokens:\n  kiln  %s\n  torch %s"
                        % (tag, i, REQUESTS[i][1], request["tokens"], want))
        problem = check_stats(tag, got)
        if problem:
            return problem
    return None


def trace_and_expected(net, work):
    """Writes the trace's prompts to work/trace.txt; returns PyTorch's
    greedy tokens for each request alone."""
    rng = np.random.default_rng(11)
    prompts = [rng.integers(0, VOCAB, (length,), dtype=np.int64)
               for _, length, _ in REQUESTS]
    write_trace(os.path.join(work, "trace.txt"), prompts)
    return [greedy_reference(net, p[None, :], steps)[0].tolist()
            for p, (_, _, steps) in zip(prompts, REQUESTS)]


def check_paged(bin_dir):
    def check(work):
        net, onnx_path = export_decoder(MixedWindows, work, "paged")
        artifact = os.path.join(work, "paged.kiln")
        result = check_generate.compile_generation(
            bin_dir, onnx_path, artifact, "--max-seq", "48",
            "--kv-block-size", "8", "--kv-blocks", "12",
            "--kv-window-blocks", "4")
        if result.returncode:
            return "compile failed: " + result.stderr.strip()
        problem = signature_problem(bin_dir, artifact, [
            "generation step: paged KV cache of 48 positions per sequence, "
            "12 blocks of 8",
            "generation step: windowed attentions keep their rings in 4 "
            "blocks of 8, at most 1 per sequence\n",
            "input block_table: int64[batch,6]",
            "input window_block_table: int64[batch,1]",
            "input cache.key.0: float32[12,2,8,16]",
            "input cache.key.1: float32[4,2,8,16]",
            "input cache.value.1: float32[4,2,8,16]"])
        if problem:
            return problem
        expected = trace_and_expected(net, work)
        positions = sum(length + steps - 1 for _, length, steps in REQUESTS)
        if positions <= 12 * 8:
            return "the trace must need more positions than the pool holds"

        def stats(tag, got):
            if got["total_blocks"] != 12 or got["peak_used_blocks"] > 12:
                return "%s: pool %d blocks, peak %d" % (
                    tag, got["total_blocks"], got["peak_used_blocks"])
            if got["blocks_handed_out"] <= 12:
                return "%s: only %d blocks handed out; no block was reused" % (
                    tag, got["blocks_handed_out"])
            # One ring block per request, however long it is.
            if (got["window_total_blocks"] != 4 or
                    got["window_peak_used_blocks"] > 4 or
                    got["window_blocks_handed_out"] != len(REQUESTS)):
                return ("%s: windowed pool of %d blocks, peak %d, %d handed "
                        "out (expected 4, <= 4, one per request)" % (
                            tag, got["window_total_blocks"],
                            got["window_peak_used_blocks"],
                            got["window_blocks_handed_out"]))
            return None
        problem = serve_problem(bin_dir, artifact, work, expected, stats)
        if problem:
            return problem
        return None, "(%d requests, tokens equal, blocks reused)" % len(
            REQUESTS)
    return "paged", "paged: batched requests equal PyTorch's greedy tokens", \
        check


def check_windowed(bin_dir):
    def check(work):
        net, onnx_path = export_decoder(check_dynamic.decoder, work,
                                        "windowed")
        artifact = os.path.join(work, "windowed.kiln")
        result = check_generate.compile_generation(
            bin_dir, onnx_path, artifact, "--max-seq", "48",
            "--kv-block-size", "8", "--kv-window-blocks", "4")
        if result.returncode:
            return "compile failed: " + result.stderr.strip()
        problem = signature_problem(bin_dir, artifact, [
            "generation step: windowed attentions keep their rings in 4 "
            "blocks of 8, at most 1 per sequence (every cache is windowed)",
            "input cache.key.0: float32[4,2,8,16]",
            "input cache.value.1: float32[4,2,8,16]"])
        if problem:
            return problem
        expected = trace_and_expected(net, work)

        def stats(tag, got):
            if got["blocks_handed_out"] != 0 or got["total_blocks"] != 0:
                return "%s: %d blocks of a full pool handed out" % (
                    tag, got["blocks_handed_out"])
            if (got["window_total_blocks"] != 4 or
                    got["window_peak_used_blocks"] > 4 or
                    got["window_blocks_handed_out"] != len(REQUESTS)):
                return ("%s: windowed pool of %d blocks, peak %d, %d handed "
                        "out" % (tag, got["window_total_blocks"],
                                 got["window_peak_used_blocks"],
                                 got["window_blocks_handed_out"]))
            return None
        problem = serve_problem(bin_dir, artifact, work, expected, stats)
        if problem:
            return problem
        return None, "(%d requests in 4 ring blocks)" % len(REQUESTS)
    return "windowed", "windowed: rings in blocks equal PyTorch's greedy " \
        "tokens in bounded memory", check


def check_refusals(bin_dir):
    def check(work):
        _, onnx_path = export_decoder(MixedWindows, work, "small")
        compile_ = [os.path.join(bin_dir, "kiln-compile"), onnx_path,
                    "--generate"]
        paged = os.path.join(work, "paged.kiln")
        if subprocess.run(compile_ + ["--max-seq", "16", "--kv-block-size",
                                      "4", "--kv-blocks", "3", "-o", paged],
                          capture_output=True).returncode:
            return "the paged decoder did not compile"
        tiny_window = os.path.join(work, "tiny_window.kiln")
        if subprocess.run(compile_ + ["--max-seq", "16", "--kv-block-size",
                                      "4", "--kv-window-blocks", "1", "-o",
                                      tiny_window],
                          capture_output=True).returncode:
            return "the paged decoder with one window block did not compile"
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
            (compile_ + ["--max-seq", "16", "--kv-window-blocks", "4", "-o",
                         os.path.join(work, "z.kiln")],
             "--kv-window-blocks needs --kv-block-size"),
            ([run, tiny_window, "--serve-trace", big],
             "the request needs 2 blocks of the windowed pools; they have 1 "
             "(compile with more --kv-window-blocks)"),
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
                                                   check_windowed(args.bin),
                                                   check_refusals(args.bin)])


if __name__ == "__main__":
    sys.exit(main())
