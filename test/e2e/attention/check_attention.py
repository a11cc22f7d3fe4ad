#!/usr/bin/python3
"""kiln.attention end to end against an independent NumPy reference.

Each case writes a one-op .mlir function, compiles it with kiln-compile,
runs it with kiln-run and compares the output, the present KV cache and,
when a case asks for one, the scores result with `reference()` below, which
decides every (query, key) pair with plain Python conditions written from
the op's documentation, not from Kiln's code.

Usage: check_attention.py --bin BUILD/bin [--keep DIR] [-v]
Prints one line per case and `attention: N passed, M failed`.
"""
import math
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402


def allowed(kind, p, j, keys, a):
    """Whether query position p may attend key position j."""
    left, right = a.get("window_left", -1), a.get("window_right", -1)

    def in_window():
        return (right < 0 or j <= p + right) and (left < 0 or j >= p - left)

    def is_global(x):
        return x < a.get("num_global_tokens", 0) or x in a.get("global_indices", ())

    if kind == "none":
        return True
    if kind == "causal":
        return j <= p
    if kind == "sliding_window":
        return in_window()
    if kind == "hierarchical":
        reach = right < 0 or j <= p + right
        return in_window() or ((is_global(j) or is_global(p)) and reach)
    if kind == "block_sparse":
        bs = a["block_size"]
        n = -(-keys // bs)
        qb, kb = p // bs, j // bs
        return qb < n and bool(a["block_layout"][qb * n + kb])
    raise ValueError(kind)


def reference(q, k, v, case):
    """Attention in float64 with explicit loops over positions; returns the
    output, the present key and value, and the scores at the case's
    score_stage (None without one)."""
    a = case.get("attrs", {})
    stage = case.get("score_stage")
    kv_seqlen = case.get("kv_seqlen")
    past_k, past_v = case.get("past_k"), case.get("past_v")
    if past_k is not None:
        k = np.concatenate([past_k, k], axis=2)
        v = np.concatenate([past_v, v], axis=2)
    present_k, present_v = k, v
    b, hq, s, d = q.shape
    hkv, keys = k.shape[1], k.shape[2]
    past = 0 if past_k is None else past_k.shape[2]
    mask = case.get("mask")
    out = np.zeros((b, hq, s, v.shape[3]))
    kept = np.zeros((b, hq, s, keys))  # the scores at `stage`
    for bi in range(b):
        for h in range(hq):
            kh = h // (hq // hkv)
            for i in range(s):
                p = past + i
                scores = []
                for j in range(keys):
                    x = float(np.dot(q[bi, h, i].astype(np.float64),
                                     k[bi, kh, j].astype(np.float64))) * a["scale"]
                    if stage == "scaled":
                        kept[bi, h, i, j] = x
                    if a.get("softcap", 0) > 0:
                        x = a["softcap"] * math.tanh(x / a["softcap"])
                    if stage == "softcapped":
                        kept[bi, h, i, j] = x
                    ok = allowed(case["kind"], p, j, keys, a)
                    if kv_seqlen is not None:
                        ok = ok and j < kv_seqlen[bi]
                    if mask is not None:
                        m = np.broadcast_to(mask, (b, hq, s, keys))[bi, h, i, j]
                        if mask.dtype == np.bool_:
                            ok = ok and bool(m)
                        else:
                            x += float(m)
                    scores.append(x if ok else -math.inf)
                scores = np.array(scores)
                if stage == "masked":
                    kept[bi, h, i] = scores
                if np.all(np.isneginf(scores)):
                    continue  # no key left: zeros (probabilities too)
                w = np.exp(scores - scores.max())
                w /= w.sum()
                if stage == "probs":
                    kept[bi, h, i] = w
                out[bi, h, i] = w @ v[bi, kh].astype(np.float64)
    return out, present_k, present_v, (kept if stage else None)


def mlir_type(shape, dtype):
    elt = {np.float32: "f32", np.float16: "f16", np.bool_: "i1", np.int64: "i64",
           np.int32: "i32"}[dtype]
    return "tensor<" + "x".join(str(d) for d in shape) + "x" + elt + ">"


def write_mlir(case, arrays, path):
    names = list(arrays)
    types = {n: mlir_type(arrays[n].shape, arrays[n].dtype.type) for n in names}
    a = dict(case.get("attrs", {}))
    attrs = [f"scale = {a['scale']!r} : f32",
             f"mask_kind = #kiln.mask_kind<{case['kind']}>"]
    for key in ("window_left", "window_right", "num_global_tokens", "block_size"):
        if key in a:
            attrs.append(f"{key} = {a[key]} : i64")
    if "softcap" in a:
        attrs.append(f"softcap = {a['softcap']!r} : f32")
    if "block_layout" in a:
        attrs.append("block_layout = array<i1: " +
                     ", ".join("true" if x else "false" for x in a["block_layout"]) + ">")
    if "score_stage" in case:
        attrs.append(f"score_stage = #kiln.score_stage<{case['score_stage']}>")
    operands = "%query, %key, %value"
    if "mask" in arrays:
        operands += " mask %mask"
    if "past_k" in arrays:
        operands += " past %past_k, %past_v"
    if "global_indices" in arrays:
        operands += " global %global_indices"
    if "kv_seqlen" in arrays:
        operands += " kv_seqlen %kv_seqlen"
    q, k, v = arrays["query"], arrays["key"], arrays["value"]
    past = arrays["past_k"].shape[2] if "past_k" in arrays else 0
    total = past + k.shape[2]
    dt = q.dtype.type
    out_t = mlir_type((q.shape[0], q.shape[1], q.shape[2], v.shape[3]), dt)
    pk_t = mlir_type((k.shape[0], k.shape[1], total, k.shape[3]), dt)
    pv_t = mlir_type((v.shape[0], v.shape[1], total, v.shape[3]), dt)
    results, values = [out_t, pk_t, pv_t], ["%o", "%pk", "%pv"]
    if "score_stage" in case:
        results.append(mlir_type((q.shape[0], q.shape[1], q.shape[2], total), dt))
        values.append("%s")
    res = ", ".join(results)
    args = ", ".join(f"%{n}: {types[n]}" for n in names)
    with open(path, "w") as f:
        f.write(f"func.func @main({args}) -> ({res}) {{\n")
        f.write(f"  {', '.join(values)} = kiln.attention {operands} {{{', '.join(attrs)}}}\n")
        f.write(f"      : ({', '.join(types[n] for n in names)}) -> ({res})\n")
        f.write(f"  return {', '.join(values)} : {res}\n}}\n")


def make_cases():
    rng = np.random.default_rng(1234)

    def qkv(b, hq, hkv, s, t, d, dv=None, dtype=np.float32):
        dv = dv or d
        return (rng.standard_normal((b, hq, s, d)).astype(dtype),
                rng.standard_normal((b, hkv, t, d)).astype(dtype),
                rng.standard_normal((b, hkv, t, dv)).astype(dtype))

    cases = []

    def add(name, kind, tensors, attrs, **extra):
        attrs.setdefault("scale", 1 / math.sqrt(tensors[0].shape[3]))
        cases.append(dict(name=name, kind=kind, q=tensors[0], k=tensors[1],
                          v=tensors[2], attrs=attrs, **extra))

    add("mha_no_mask", "none", qkv(2, 2, 2, 5, 7, 8), {})
    add("causal", "causal", qkv(1, 2, 2, 6, 6, 8), {})
    add("causal_with_cache", "causal", qkv(1, 2, 2, 2, 2, 8),
        {}, past_k=rng.standard_normal((1, 2, 3, 8)).astype(np.float32),
        past_v=rng.standard_normal((1, 2, 3, 8)).astype(np.float32))
    add("window_left_2", "sliding_window", qkv(1, 1, 1, 7, 7, 4),
        {"window_left": 2, "window_right": 0})
    add("window_larger_than_sequence", "sliding_window", qkv(1, 1, 1, 5, 5, 4),
        {"window_left": 100, "window_right": 0})
    add("window_both_sides", "sliding_window", qkv(1, 2, 1, 6, 6, 4, dv=3),
        {"window_left": 1, "window_right": 1})
    add("hierarchical_sinks_causal", "hierarchical", qkv(1, 2, 2, 9, 9, 4),
        {"window_left": 1, "window_right": 0, "num_global_tokens": 2})
    add("hierarchical_indices_bidirectional", "hierarchical",
        qkv(1, 1, 1, 10, 10, 4),
        {"window_left": 1, "window_right": 1, "global_indices": (5, 9)},
        global_indices=np.array([5, 9], dtype=np.int64))
    # 7 keys in blocks of 3: a 3x3 layout; query block 1 sees nothing.
    add("block_sparse_with_empty_rows", "block_sparse", qkv(1, 2, 2, 7, 7, 4),
        {"block_size": 3, "block_layout": [1, 0, 0, 0, 0, 0, 1, 1, 1]})
    gqa = qkv(2, 4, 2, 3, 5, 8)
    add("gqa_softcap_bool_mask", "none", gqa, {"softcap": 2.0},
        mask=rng.integers(0, 2, (2, 1, 3, 5)).astype(np.bool_))
    add("mqa_additive_mask", "causal", qkv(1, 4, 1, 4, 4, 8), {},
        mask=rng.standard_normal((4, 4)).astype(np.float32))
    all_false = np.ones((1, 1, 3, 4), dtype=np.bool_)
    all_false[0, 0, 1, :] = False
    add("fully_masked_row", "none", qkv(1, 1, 1, 3, 4, 4), {}, mask=all_false)
    add("float16", "causal", qkv(1, 2, 2, 5, 5, 8, dtype=np.float16), {})
    # A padded batch: entry 0 has 3 valid keys of 6, entry 1 all 6, entry 2
    # none (its output is zeros).
    add("kv_seqlen_padded_batch", "none", qkv(3, 4, 2, 2, 6, 8, dv=5), {},
        kv_seqlen=np.array([3, 6, 0], dtype=np.int64))
    # kv_seqlen with a cache, causal and a bool mask (i32 lengths counting
    # the cache: 4 + 3 keys, entry 0 keeps 5).
    add("kv_seqlen_causal_cache_mask", "causal", qkv(2, 2, 1, 3, 3, 4), {},
        past_k=rng.standard_normal((2, 1, 4, 4)).astype(np.float32),
        past_v=rng.standard_normal((2, 1, 4, 4)).astype(np.float32),
        mask=rng.integers(0, 2, (1, 1, 3, 7)).astype(np.bool_),
        kv_seqlen=np.array([5, 7], dtype=np.int32))
    # The scores result at each stage, with GQA, softcap, a float mask and
    # kv_seqlen (masked scores hold -inf for removed pairs).
    for stage in ("scaled", "softcapped", "masked", "probs"):
        add(f"scores_{stage}", "causal", qkv(2, 4, 2, 3, 5, 8), {"softcap": 3.0},
            mask=rng.standard_normal((3, 5)).astype(np.float32),
            kv_seqlen=np.array([4, 2], dtype=np.int64), score_stage=stage)

    # Shapes for the CPU's tiled kernel (kiln-cpu-convert-attention-to-
    # tiled-loops, blocks of 32 queries x 8 keys): many blocks, lengths
    # and head sizes that the blocks do not divide, windows whose edges
    # cross blocks, prefill and decoding. `tiled` also checks that the
    # kernel, not the reference lowering, compiled the case.
    def cache(b, hkv, p, d):
        return rng.standard_normal((b, hkv, p, d)).astype(np.float32)

    add("tiled_no_mask_remainders", "none", qkv(2, 3, 3, 37, 45, 24, dv=20),
        {}, tiled=True)
    add("tiled_causal_200", "causal", qkv(1, 4, 4, 200, 200, 64), {},
        tiled=True)
    # Big enough to run on threads (scf.forall).
    add("tiled_window_37_200", "sliding_window", qkv(1, 8, 8, 200, 200, 64),
        {"window_left": 37, "window_right": 0}, tiled=True)
    add("tiled_gqa_window_both_sides", "sliding_window",
        qkv(1, 4, 2, 150, 150, 32, dv=40),
        {"window_left": 20, "window_right": 13}, tiled=True)
    add("tiled_gqa_causal_cache", "causal", qkv(1, 8, 2, 40, 40, 16), {},
        past_k=cache(1, 2, 90, 16), past_v=cache(1, 2, 90, 16), tiled=True)
    add("tiled_kv_seqlen_prefill", "none", qkv(2, 2, 1, 50, 50, 8), {},
        kv_seqlen=np.array([50, 23], dtype=np.int64), tiled=True)
    add("tiled_softcap_causal", "causal", qkv(1, 2, 2, 70, 70, 16),
        {"softcap": 5.0, "scale": 0.9}, tiled=True)
    # Decoding: one query per head, GQA heads sharing a block (4 query
    # heads per KV head), a 300-key cache seen through a 100-key window.
    add("decode_gqa_window_cache", "sliding_window", qkv(1, 8, 2, 1, 1, 64),
        {"window_left": 100, "window_right": 0},
        past_k=cache(1, 2, 300, 64), past_v=cache(1, 2, 300, 64), tiled=True)
    # A padded batch of caches: lengths 131 (all), 57 and 0 (zeros).
    add("decode_mha_kv_seqlen", "causal", qkv(3, 4, 4, 1, 1, 32), {},
        past_k=cache(3, 4, 130, 32), past_v=cache(3, 4, 130, 32),
        kv_seqlen=np.array([131, 57, 0], dtype=np.int32), tiled=True)
    # Three new queries per head, 4 heads per KV head: 12 rows in a block,
    # each lane at its own position.
    add("decode_gqa_3_queries", "causal", qkv(2, 4, 1, 3, 3, 16), {},
        past_k=cache(2, 1, 21, 16), past_v=cache(2, 1, 21, 16), tiled=True)
    # Hierarchical (a window plus leading global tokens): the key loop
    # visits the global keys' blocks, then the window's; blocks holding a
    # global query attend every key up to the right bound.
    add("tiled_hierarchical_sinks_causal", "hierarchical",
        qkv(1, 4, 4, 200, 200, 32),
        {"window_left": 20, "window_right": 0, "num_global_tokens": 4},
        tiled=True)
    add("tiled_hierarchical_bidirectional_gqa", "hierarchical",
        qkv(1, 4, 2, 150, 150, 16, dv=24),
        {"window_left": 10, "window_right": 10, "num_global_tokens": 35},
        tiled=True)
    add("tiled_hierarchical_open_right_kv_seqlen", "hierarchical",
        qkv(2, 2, 2, 90, 90, 8),
        {"window_left": 15, "window_right": -1, "num_global_tokens": 5},
        kv_seqlen=np.array([90, 41], dtype=np.int64), tiled=True)
    add("tiled_hierarchical_threaded", "hierarchical",
        qkv(1, 8, 8, 256, 256, 64),
        {"window_left": 64, "window_right": 0, "num_global_tokens": 8},
        tiled=True)
    add("decode_hierarchical_gqa_cache", "hierarchical",
        qkv(1, 8, 2, 1, 1, 32),
        {"window_left": 50, "window_right": 0, "num_global_tokens": 4},
        past_k=cache(1, 2, 300, 32), past_v=cache(1, 2, 300, 32), tiled=True)
    # Block-sparse with cells that hold whole blocks (64 positions: two
    # query blocks, eight key blocks each): the key loop visits only the
    # allowed cells of its row, from a table built at compile time. Row 2
    # of the layout is empty (zeros).
    sparse4 = [1, 0, 0, 0,
               1, 1, 0, 0,
               0, 0, 0, 0,
               1, 0, 1, 1]
    add("tiled_block_sparse_64", "block_sparse", qkv(1, 4, 4, 256, 256, 32),
        {"block_size": 64, "block_layout": sparse4}, tiled=True)
    add("tiled_block_sparse_kv_seqlen_gqa", "block_sparse",
        qkv(2, 4, 2, 128, 128, 16),
        {"block_size": 32, "block_layout": sparse4},
        kv_seqlen=np.array([128, 77], dtype=np.int64), tiled=True)
    add("decode_block_sparse_cache", "block_sparse", qkv(1, 8, 2, 1, 1, 16),
        {"block_size": 32, "block_layout": sparse4},
        past_k=cache(1, 2, 127, 16), past_v=cache(1, 2, 127, 16), tiled=True)
    return cases


def compiled_by_tiled_kernel(bin_dir, mlir):
    """Whether the CPU target's tensor IR of `mlir` has the tiled kernel's
    vector FMAs (the reference lowering has none)."""
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), mlir, "--emit=linalg"],
        capture_output=True, text=True)
    return result.returncode == 0 and "vector.fma" in result.stdout


def run_case(case, bin_dir, work, verbose):
    arrays = {"query": case["q"], "key": case["k"], "value": case["v"]}
    for extra in ("mask", "past_k", "past_v", "global_indices", "kv_seqlen"):
        if extra in case:
            arrays[extra] = case[extra]
    mlir = os.path.join(work, case["name"] + ".mlir")
    write_mlir(case, arrays, mlir)
    if case.get("tiled") and not compiled_by_tiled_kernel(bin_dir, mlir):
        return "not compiled by the tiled attention kernel (no vector.fma at --emit=linalg)"
    out, problem = compile_and_run(
        bin_dir, mlir, [(f"input{i}", v) for i, v in enumerate(arrays.values())],
        work, case["name"])
    if problem:
        return problem
    expect = reference(case["q"], case["k"], case["v"], case)
    tol = 3e-3 if case["q"].dtype == np.float16 else 1e-5
    for i, ref in enumerate(expect):
        if ref is None:
            continue
        got = np.load(os.path.join(out, f"output{i}.npy")).astype(np.float64)
        ref = np.asarray(ref, dtype=np.float64)
        if got.shape != ref.shape:
            return f"output{i}: shape {got.shape}, expected {ref.shape}"
        if not np.array_equal(np.isneginf(got), np.isneginf(ref)):
            return f"output{i}: -inf in other places than expected"
        got, ref = np.where(np.isneginf(ref), 0, got), np.where(np.isneginf(ref), 0, ref)
        err = np.abs(got - ref)
        if not np.all(err <= tol + tol * np.abs(ref)):
            return f"output{i}: max abs error {err.max():.3g} (tolerance {tol})"
    if verbose:
        print("   ", mlir)
    return None


def main():
    p = check_arguments(__doc__.splitlines()[0],
                        keep_help="keep the files of every case in this "
                                  "directory")
    p.add_argument("-v", action="store_true")
    a = p.parse_args()
    return run_checks("attention", a, [
        (case["name"], case["name"],
         lambda work, case=case: run_case(case, a.bin, work, a.v))
        for case in make_cases()])


if __name__ == "__main__":
    sys.exit(main())
