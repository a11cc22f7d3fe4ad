#!/usr/bin/python3
"""Generation with a KV cache the compiler derives (kiln-compile --generate,
kiln-run --generate), against PyTorch.

The decoders of examples/mixtral (GQA, sliding window of 5, RoPE, dense
top-2 MoE) and examples/deepseek (causal MHA, sigmoid-routed MoE with a
shared expert) are exported the usual way, with no past_key_values:
`tokens [batch, seq] -> logits`, batch and seq symbolic, untrained (seed 0),
their rotary tables 64 positions long. Each is compiled once with
--generate, and kiln-run --generate N must produce exactly PyTorch's greedy
tokens, the reference recomputing the whole sequence for every new token
(no cache on its side), for several prompts: 2 x 5 tokens, 1 x 1 token, and
1 x 33 tokens (so the sliding window and the cache's far positions matter);
kiln-inspect --json and kiln-run --print-signature must describe the step,
Mixtral's caches being rings of its window (5 positions, not 48).

A hierarchical attention (2 global tokens and 3 keys back; written in the
Kiln dialect, since raising never makes one from an export) keeps a cache
of 5 positions, and its greedy tokens past both equal a NumPy reference's.

A Llama-style decoder exported *with* its KV cache (past_kv_decoder.py:
past_key_values inputs, present outputs, HF's past-aware mask and
positions) must raise with its cache recognized, and under --generate the
step must keep the cache itself and generate PyTorch's greedy tokens.

Then sampling: the same seed draws the same tokens, all inside the
vocabulary, and top-k 1 is greedy whatever the temperature. Then what must
be refused, each with one clear message: a prompt plus new tokens past the
cache, a plain artifact given --generate, --generate on a model that is not
a causal decoder, and inputs other than the prompt.

Usage: check_generate.py --bin BUILD/bin [--keep DIR] [--filter NAME]
"""
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import kiln_tools  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "dynamic"))
import check_dynamic  # noqa: E402

VOCAB = 128
PROMPTS = [(2, 5, 12), (1, 1, 10), (1, 33, 10)]  # batch, length, new tokens


def greedy_reference(net, prompt, steps):
    """PyTorch's greedy tokens, recomputing every position for each one."""
    tokens = torch.from_numpy(prompt)
    made = []
    with torch.no_grad():
        for _ in range(steps):
            logits = net(tokens)
            nxt = logits[:, -1, :].argmax(dim=-1, keepdim=True)
            made.append(nxt)
            tokens = torch.cat([tokens, nxt], dim=1)
    return torch.cat(made, dim=1).numpy()


def kiln_run(bin_dir, artifact, work, tag, prompt, *flags,
             input_name="tokens"):
    path = os.path.join(work, tag + "_prompt.npy")
    np.save(path, prompt)
    out_dir = os.path.join(work, tag + "_out")
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-run"), artifact, "--input",
         "%s=%s" % (input_name, path), "--output-dir", out_dir, *flags],
        capture_output=True, text=True)
    if result.returncode:
        return None, result.stderr.strip(), result.stdout
    return np.load(os.path.join(out_dir, "generated.npy")), None, result.stdout


def generation_differs(bin_dir, artifact, work, tag, prompt, expected,
                       reference="PyTorch", input_name="tokens"):
    """None when kiln-run --generate writes `expected` after `prompt`."""
    got, why, _ = kiln_run(bin_dir, artifact, work, tag, prompt, "--generate",
                           str(expected.shape[1]), input_name=input_name)
    if why:
        return "%s: kiln-run --generate failed: %s" % (tag, why)
    if not np.array_equal(got, expected):
        return "%s: tokens differ from %s's greedy ones:\n  kiln  %s\n" \
               "  %s %s" % (tag, reference, got.tolist(), reference,
                            expected.tolist())
    return None


def export_decoder(make_model, work, name):
    torch.manual_seed(0)
    net = make_model().eval()
    path = os.path.join(work, name + ".onnx")
    check_dynamic.export(net, torch.randint(0, VOCAB, (1, 5)), path,
                         "tokens", {0: "batch", 1: "seq"})
    return net, path


def compile_generation(bin_dir, onnx_path, artifact, *flags):
    return subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), onnx_path, "--generate",
         "-o", artifact, *flags], capture_output=True, text=True)


def check_described(bin_dir, artifact):
    """None when kiln-inspect --json and kiln-run --print-signature
    describe the generation step (48 positions, 2 layers' caches)."""
    import json
    result = subprocess.run([os.path.join(bin_dir, "kiln-inspect"), "--json",
                             artifact], capture_output=True, text=True)
    if result.returncode:
        return "kiln-inspect failed: " + result.stderr.strip()
    generation = json.loads(result.stdout).get("generation")
    expected = {"max_seq": 48, "tokens": "tokens", "positions": "past_length",
                "logits": "y", "state_inputs": ["cache.key.0", "cache.value.0",
                                                "cache.key.1", "cache.value.1"]}
    if generation != expected:
        return "kiln-inspect --json: generation %r, expected %r" % (
            generation, expected)
    result = subprocess.run([os.path.join(bin_dir, "kiln-run"), artifact,
                             "--print-signature"], capture_output=True,
                            text=True)
    line = "generation step: KV cache of 48 positions"
    if result.returncode or line not in result.stdout:
        return "kiln-run --print-signature lacks %r: %s" % (
            line, result.stdout + result.stderr)
    return None


def check_cache_shapes(bin_dir, artifact, lengths):
    """None when kiln-run --print-signature shows each layer's key and
    value caches holding `lengths[layer]` positions."""
    result = subprocess.run([os.path.join(bin_dir, "kiln-run"), artifact,
                             "--print-signature"], capture_output=True,
                            text=True)
    for layer, length in enumerate(lengths):
        for kv in ("key", "value"):
            prefix = "input cache.%s.%d: " % (kv, layer)
            line = [l for l in result.stdout.splitlines()
                    if l.startswith(prefix)]
            dims = line[0].split("[")[-1].rstrip("]").split(",") \
                if len(line) == 1 else []
            if len(dims) != 4 or dims[2] != str(length):
                return "kiln-run --print-signature: cache.%s.%d is not %d " \
                       "positions long: %r" % (kv, layer, length, line)
    return None


def check_decoder(bin_dir, name, make_model, cache_lengths):
    """`cache_lengths`: each layer's positions per cache (a sliding window
    keeps only its window)."""
    def check(work):
        net, onnx_path = export_decoder(make_model, work, name)
        artifact = os.path.join(work, name + ".kiln")
        result = compile_generation(bin_dir, onnx_path, artifact,
                                    "--max-seq", "48")
        if result.returncode:
            return "compile failed: " + result.stderr.strip()
        why = check_described(bin_dir, artifact) or \
            check_cache_shapes(bin_dir, artifact, cache_lengths)
        if why:
            return why
        rng = np.random.default_rng(7)
        speeds = []
        for batch, length, steps in PROMPTS:
            prompt = rng.integers(0, VOCAB, (batch, length), dtype=np.int64)
            expected = greedy_reference(net, prompt, steps)
            tag = "%s_%dx%d" % (name, batch, length)
            got, why, stdout = kiln_run(bin_dir, artifact, work, tag, prompt,
                                        "--generate", str(steps))
            if why:
                return "%s: kiln-run --generate failed: %s" % (tag, why)
            if got.shape != expected.shape or got.dtype != np.int64:
                return "%s: generated %s %s, expected %s int64" % (
                    tag, got.dtype, got.shape, expected.shape)
            if not np.array_equal(got, expected):
                return "%s: tokens differ from PyTorch's greedy ones:\n" \
                       "  kiln  %s\n  torch %s" % (tag, got.tolist(),
                                                   expected.tolist())
            speeds += [l for l in stdout.splitlines() if l.startswith("decode")]
        return None, "(%d prompts, tokens equal)" % len(PROMPTS)
    return name, "%s: --generate equals PyTorch's greedy tokens" % name, check


def check_exported_cache(bin_dir):
    """A decoder exported with past_key_values inputs and present outputs
    (past_kv_decoder.py): raising recognizes its cache (attention after
    past keys and values, causal; ropes by positions); with --generate the
    step keeps the cache itself, and the tokens equal PyTorch's greedy ones
    recomputed from scratch (an empty past every time)."""
    import json
    import past_kv_decoder

    def check(work):
        torch.manual_seed(0)
        net = past_kv_decoder.LlamaForCausalLM().eval()
        onnx_path = os.path.join(work, "past.onnx")
        past_kv_decoder.export(net, onnx_path)
        layers = net.config.num_hidden_layers
        past_names = ["past_key_values.%d.%s" % (i, kv)
                      for i in range(layers) for kv in ("key", "value")]
        present_names = ["present.%d.%s" % (i, kv)
                         for i in range(layers) for kv in ("key", "value")]

        # Raising recognizes the cache: each attention takes the past keys
        # and values, causal in its frame; each rope reads the whole table
        # by positions.
        why = check_dynamic.check_raised(bin_dir, onnx_path, work, [
            ("raised attention (causal, 4 heads on 2 kv heads, scale 0.25, "
             "after past keys and values)", layers),
            ("[64, 8] tables indexed by positions", 2 * layers)])
        if why:
            return "raising: " + why

        # --generate: the export's cache becomes the step's.
        artifact = os.path.join(work, "past.kiln")
        result = compile_generation(bin_dir, onnx_path, artifact,
                                    "--max-seq", "48")
        if result.returncode:
            return "--generate failed: " + result.stderr.strip()
        result = subprocess.run([os.path.join(bin_dir, "kiln-inspect"),
                                 "--json", artifact], capture_output=True,
                                text=True)
        if result.returncode:
            return "kiln-inspect failed: " + result.stderr.strip()
        generation = json.loads(result.stdout).get("generation")
        caches = ["cache.%s.%d" % (kv, i) for i in range(layers)
                  for kv in ("key", "value")]
        if not generation or generation.get("state_inputs") != caches or \
                generation.get("tokens") != "input_ids":
            return "kiln-inspect --json: generation %r" % generation

        def reference(tokens):
            return net(tokens, *net.empty_past(tokens.shape[0]))[0]
        rng = np.random.default_rng(7)
        for batch, length, steps in PROMPTS:
            prompt = rng.integers(0, VOCAB, (batch, length), dtype=np.int64)
            expected = greedy_reference(reference, prompt, steps)
            why = generation_differs(bin_dir, artifact, work,
                                     "past_%dx%d" % (batch, length), prompt,
                                     expected, input_name="input_ids")
            if why:
                return why
        return None, "(%d prompts, tokens equal)" % len(PROMPTS)
    return "exported-cache", "exported past_key_values: --generate equals " \
        "PyTorch's greedy tokens", check


HIER_VOCAB, HIER_DIM, HIER_GLOBAL, HIER_WINDOW = 16, 8, 2, 3


def hierarchical_weights():
    rng = np.random.default_rng(11)
    return {name: rng.standard_normal(shape).astype(np.float32)
            for name, shape in [("emb", (HIER_VOCAB, HIER_DIM)),
                                ("wq", (HIER_DIM, HIER_DIM)),
                                ("wk", (HIER_DIM, HIER_DIM)),
                                ("wv", (HIER_DIM, HIER_DIM)),
                                ("head", (HIER_DIM, HIER_VOCAB))]}


def hierarchical_mlir(w):
    """A one-layer decoder in the Kiln dialect (raising never makes a
    hierarchical mask from an export): embedding, q/k/v projections, one
    head of hierarchical attention (2 global tokens, 3 keys back), a
    residual, the logits."""
    def const(name):
        a = w[name]
        rows = ", ".join("[%s]" % ", ".join("%.9e" % v for v in r) for r in a)
        return "  %%%s = arith.constant dense<[%s]> : tensor<%dx%dxf32>" % (
            name, rows, a.shape[0], a.shape[1])
    d, v = HIER_DIM, HIER_VOCAB
    x3 = "tensor<?x?x%dxf32>" % d
    x4 = "tensor<?x1x?x%dxf32>" % d
    lines = [
        'func.func @main(%%tok: tensor<?x?xi64> {kiln.dim_symbols = '
        '["batch", "seq"], kiln.name = "tokens"}) -> (tensor<?x?x%dxf32> '
        '{kiln.name = "logits"}) attributes {kiln.dim_ranges = {batch = '
        'array<i64: 1, 4>, seq = array<i64: 1, 64>}} {' % v,
        "  %c0 = arith.constant 0 : index",
        "  %c1 = arith.constant 1 : index",
    ] + [const(n) for n in ("emb", "wq", "wk", "wv", "head")] + [
        "  %b = tensor.dim %tok, %c0 : tensor<?x?xi64>",
        "  %s = tensor.dim %tok, %c1 : tensor<?x?xi64>",
        "  %%x = kiln.gather %%emb, %%tok {axis = 0 : i64} : (tensor<%dx%dxf32>,"
        " tensor<?x?xi64>) -> %s" % (v, d, x3)]
    for n in ("q", "k", "v"):
        lines += [
            "  %%%s2 = kiln.matmul %%x, %%w%s : (%s, tensor<%dx%dxf32>) -> %s"
            % (n, n, x3, d, d, x3),
            "  %%%s = tensor.expand_shape %%%s2 [[0, 1], [2], [3]] "
            "output_shape [%%b, 1, %%s, %d] : %s into %s" % (n, n, d, x3, x4)]
    lines += [
        "  %%o, %%pk, %%pv = kiln.attention %%q, %%k, %%v {mask_kind = "
        "#kiln.mask_kind<hierarchical>, window_left = %d : i64, window_right"
        " = 0 : i64, num_global_tokens = %d : i64, scale = %r : f32} : "
        "(%s, %s, %s) -> (%s, %s, %s)" % (
            HIER_WINDOW, HIER_GLOBAL, float(d) ** -0.5, x4, x4, x4, x4, x4,
            x4),
        "  %%y = tensor.collapse_shape %%o [[0, 1], [2], [3]] : %s into %s"
        % (x4, x3),
        "  %%r = kiln.add %%y, %%x : (%s, %s) -> %s" % (x3, x3, x3),
        "  %%logits = kiln.matmul %%r, %%head : (%s, tensor<%dx%dxf32>) -> "
        "tensor<?x?x%dxf32>" % (x3, d, v, v),
        "  return %%logits : tensor<?x?x%dxf32>" % v,
        "}"]
    return "\n".join(lines) + "\n"


def hierarchical_reference(w, tokens):
    """The decoder above in NumPy (float64), every position recomputed."""
    x = w["emb"][tokens].astype(np.float64)
    q, k, v = x @ w["wq"], x @ w["wk"], x @ w["wv"]
    s = tokens.shape[1]
    p, j = np.arange(s)[:, None], np.arange(s)[None, :]
    keep = (j <= p) & ((p - j <= HIER_WINDOW) | (j < HIER_GLOBAL) |
                       (p < HIER_GLOBAL))
    scores = np.where(keep, q @ k.transpose(0, 2, 1) / np.sqrt(HIER_DIM),
                      -np.inf)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return (probs @ v + x) @ w["head"]


def check_hierarchical(bin_dir):
    """A hierarchical attention's cache is its 2 global tokens plus a ring
    of 3 (5 positions of --max-seq 48), and generation past both equals the
    NumPy reference's greedy tokens."""
    def check(work):
        w = hierarchical_weights()
        source = os.path.join(work, "hier.mlir")
        with open(source, "w") as f:
            f.write(hierarchical_mlir(w))
        artifact = os.path.join(work, "hier.kiln")
        result = compile_generation(bin_dir, source, artifact, "--max-seq",
                                    "48")
        if result.returncode:
            return "compile failed: " + result.stderr.strip()
        why = check_cache_shapes(bin_dir, artifact, [5])
        if why:
            return why
        rng = np.random.default_rng(5)
        for batch, length, steps in [(2, 1, 12), (1, 9, 8)]:
            prompt = rng.integers(0, HIER_VOCAB, (batch, length),
                                  dtype=np.int64)
            expected = greedy_reference(
                lambda t: torch.from_numpy(hierarchical_reference(
                    w, t.numpy())), prompt, steps)
            why = generation_differs(bin_dir, artifact, work,
                                     "hier_%dx%d" % (batch, length), prompt,
                                     expected, reference="NumPy")
            if why:
                return why
        return None, "(2 prompts, tokens equal)"
    return "hierarchical", "hierarchical attention: a cache of global " \
        "tokens + window equals NumPy's greedy tokens", check


def check_sampling(bin_dir):
    def check(work):
        _, onnx_path = export_decoder(check_dynamic.decoder, work, "sampled")
        artifact = os.path.join(work, "sampled.kiln")
        result = compile_generation(bin_dir, onnx_path, artifact)
        if result.returncode:
            return "compile failed: " + result.stderr.strip()
        prompt = np.arange(6, dtype=np.int64).reshape(2, 3)
        runs = {}
        for tag, flags in [
                ("a", ["--temperature", "1.5", "--top-p", "0.9", "--seed", "3"]),
                ("b", ["--temperature", "1.5", "--top-p", "0.9", "--seed", "3"]),
                ("c", ["--temperature", "1.5", "--top-p", "0.9", "--seed", "4"]),
                ("k1", ["--temperature", "5", "--top-k", "1", "--seed", "9"]),
                ("greedy", [])]:
            got, why, _ = kiln_run(bin_dir, artifact, work, "sample_" + tag,
                                   prompt, "--generate", "16", *flags)
            if why:
                return "%s: %s" % (tag, why)
            if got.min() < 0 or got.max() >= VOCAB:
                return "%s: tokens outside the vocabulary: %s" % (tag, got)
            runs[tag] = got
        if not np.array_equal(runs["a"], runs["b"]):
            return "the same seed drew different tokens"
        if np.array_equal(runs["a"], runs["c"]):
            return "seeds 3 and 4 drew the same 32 tokens at temperature 1.5"
        if not np.array_equal(runs["k1"], runs["greedy"]):
            return "top-k 1 is not greedy"
        # A stop token ends its sequence: the row repeats it afterwards.
        stop = int(runs["greedy"][0, 2])
        got, why, _ = kiln_run(bin_dir, artifact, work, "stop", prompt,
                               "--generate", "16", "--stop-token", str(stop))
        if why:
            return "stop token: " + why
        first = int(np.argmax(got[0] == stop))
        if not (got[0, first:] == stop).all() or \
                not np.array_equal(got[0, :first], runs["greedy"][0, :first]):
            return "after stop token %d row 0 is %s" % (stop, got[0].tolist())
        return None
    return "sampling", "sampling: seeded, top-k, top-p, stop tokens", check


def expect_failure(command, message):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode == 0:
        return "succeeded: %s" % " ".join(command)
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    if message not in result.stderr:
        return "expected %r, got %r" % (message, result.stderr.strip())
    return None


def check_refusals(bin_dir):
    def check(work):
        _, onnx_path = export_decoder(check_dynamic.decoder, work, "small")
        artifact = os.path.join(work, "small.kiln")
        result = compile_generation(bin_dir, onnx_path, artifact,
                                    "--max-seq", "8")
        if result.returncode:
            return "compile failed: " + result.stderr.strip()
        prompt = os.path.join(work, "prompt.npy")
        np.save(prompt, np.zeros((1, 5), dtype=np.int64))
        run = [os.path.join(bin_dir, "kiln-run"), artifact,
               "--input", "tokens=" + prompt]
        compile_ = [os.path.join(bin_dir, "kiln-compile")]
        mlp = os.path.join(work, "mlp.onnx")
        check_dynamic.export(check_dynamic.Mlp().eval(), torch.zeros(2, 16),
                             mlp, "x", {0: "batch"})
        plain = os.path.join(work, "plain.kiln")
        if subprocess.run(compile_ + [onnx_path, "-o", plain]).returncode:
            return "the plain decoder did not compile"
        cases = [
            (run + ["--generate", "5"],
             "a prompt of 5 tokens and 5 new ones need 9 cache positions; "
             "the model's KV cache holds 8"),
            ([os.path.join(bin_dir, "kiln-run"), plain, "--input",
              "tokens=" + prompt, "--generate", "2"],
             "the model is not a generation step"),
            (run + ["--generate", "2", "--input", "past_length=" + prompt],
             "'past_length' is managed by the generation"),
            (compile_ + [mlp, "--generate", "-o", os.path.join(work, "m.kiln")],
             "the input must be integer tokens [batch, seq]"),
            (compile_ + [onnx_path, "--generate", "--max-seq", "100",
                         "-o", os.path.join(work, "long.kiln")],
             "the rotary table holds 64 positions, fewer than --max-seq 100"),
            (compile_ + [onnx_path, "--max-seq", "16",
                         "-o", os.path.join(work, "x.kiln")],
             "--max-seq needs --generate"),
            ([os.path.join(bin_dir, "kiln-run"), artifact, "--temperature",
              "1"], "need --generate N"),
        ]
        for command, message in cases:
            problem = expect_failure(command, message)
            if problem:
                return problem
        if os.path.exists(os.path.join(work, "m.kiln")):
            return "a failed compile left its artifact behind"
        return None, "(%d refusals)" % len(cases)
    return "refusals", "refusals: each a clear message", check


def main():
    args = kiln_tools.check_arguments(__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(1)
    # Mixtral's sliding window looks 5 keys back: its caches are rings of 5
    # (the 1 x 33 prompt and the 12 new tokens after 5 run past them).
    checks = [check_decoder(args.bin, "mixtral", check_dynamic.decoder,
                            [5, 5]),
              check_decoder(args.bin, "deepseek",
                            check_dynamic.deepseek_decoder, [48, 48]),
              check_hierarchical(args.bin),
              check_exported_cache(args.bin),
              check_sampling(args.bin),
              check_refusals(args.bin)]
    return kiln_tools.run_checks("generate", args, checks)


if __name__ == "__main__":
    sys.exit(main())
