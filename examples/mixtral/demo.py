#!/usr/bin/python3
"""The MoE demo: compile the Mixtral-style example ahead of time, then
decode greedily with kiln-run and check each token against PyTorch.

The model (make_mixtral.py) was trained on arithmetic progressions modulo
128, so the continuation of 5 8 11 14 should read 17 20 23 ...
PyTorch's greedy tokens were saved when the model was made
(greedy_torch.npy, decoded the same way), so the demo needs no torch.
"""
import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROMPT = [5, 8, 11, 14]  # tiny_lm.PROMPT; tiny_lm itself imports torch
SEQ = 16
STEPS = 8


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    model = os.path.join(HERE, "mixtral.onnx")
    artifact = os.path.join(a.out, "mixtral.kiln")
    torch_tokens = np.load(os.path.join(HERE, "greedy_torch.npy")).tolist()

    print("Mixtral-style MoE decoder (examples/mixtral): 2 layers, hidden 64, GQA 4/2 heads,\n"
          "RoPE, RMSNorm, sliding window 6, top-2 of 4 SwiGLU experts, vocab 128, trained\n"
          "on arithmetic progressions mod 128 (so 5 8 11 14 should go on 17 20 23 ...).")
    command = [os.path.join(a.bin, "kiln-compile"), model, "-o", artifact,
               "--report-raising"]
    print("$", " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT + os.sep) else c
                        for c in command), flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    t_compile = time.perf_counter() - start
    if result.returncode:
        sys.stderr.write(result.stderr)
        return 1
    raised = {}
    for pattern in re.findall(r"': raised ([A-Za-z_]+)", result.stderr):
        raised[pattern] = raised.get(pattern, 0) + 1
    print("raised: " + ", ".join("%s x%d" % kv for kv in sorted(raised.items())))

    # Kiln compiles static shapes: the artifact always takes [1, 16] tokens.
    # To decode, the tokens so far are right-padded with zeros to 16 and
    # the logits are read at the last real position. Attention is causal,
    # so positions after it (the padding) cannot change those logits, and
    # the MoE routes each token on its own (no capacity limit), so padding
    # tokens do not compete with real ones for experts either. (Each step
    # recomputes the whole prefix: there is no KV cache in this demo.)
    tokens = list(PROMPT)
    tokens_file = os.path.join(a.out, "tokens.npy")
    t_run = 0.0
    print("prompt:", " ".join(map(str, PROMPT)))
    agree = 0
    for step in range(STEPS):
        padded = np.zeros((1, SEQ), dtype=np.int64)
        padded[0, :len(tokens)] = tokens
        np.save(tokens_file, padded)
        start = time.perf_counter()
        subprocess.run([os.path.join(a.bin, "kiln-run"), artifact, "--quiet",
                        "--input", "tokens=" + tokens_file, "--output-dir", a.out],
                       check=True)
        t_run += time.perf_counter() - start
        logits = np.load(os.path.join(a.out, "logits.npy"))[0, len(tokens) - 1]
        token = int(logits.argmax())
        same = token == torch_tokens[step]
        agree += same
        print("  step %d: next token %3d   PyTorch: %3d  %s" % (
            step + 1, token, torch_tokens[step], "agree" if same else "DIFFERENT"))
        tokens.append(token)

    # The forward pass alone, without kiln-run's process start.
    timing = subprocess.run([os.path.join(a.bin, "kiln-run"), artifact, "--quiet",
                             "--input", "tokens=" + tokens_file, "--repeat", "50"],
                            check=True, capture_output=True, text=True).stdout
    median = re.search(r"median ([0-9.]+) ms", timing).group(1)
    print("continuation:", " ".join(map(str, tokens[len(PROMPT):])),
          "(%d of %d tokens agree with PyTorch)" % (agree, STEPS))
    print("compile %.2f s; run %.2f s for %d kiln-run calls (process start included), "
          "%s ms per forward pass (median of 50)" % (t_compile, t_run, STEPS, median))
    if agree != STEPS:
        print("demo: Kiln's greedy tokens differ from PyTorch's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
