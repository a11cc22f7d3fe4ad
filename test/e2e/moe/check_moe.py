#!/usr/bin/python3
"""kiln.moe_route + kiln.moe_experts end to end against NumPy.

Each case writes a .mlir function (route the tokens, run the experts),
compiles it with kiln-compile, runs it with kiln-run and compares the
output, the routing weights, the chosen experts and the per-expert counts
with `reference()`, written from the ops' documentation with plain loops.

Usage: check_moe.py --bin BUILD/bin [--keep DIR]
Prints one line per case and `moe: N passed, M failed`.
"""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402


def route(logits, case):
    t, e = logits.shape
    k, groups, keep = case["k"], case.get("num_groups", 1), case.get("top_groups", 1)
    if case["scoring"] == "softmax":
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        scores = z / z.sum(axis=1, keepdims=True)
    else:
        scores = 1 / (1 + np.exp(-logits))
    select = scores + case["bias"] if "bias" in case else scores.copy()
    weights = np.zeros((t, k))
    experts = np.zeros((t, k), dtype=np.int64)
    for i in range(t):
        eligible = list(range(e))
        if groups > 1:
            n = e // groups
            group_scores = []
            for g in range(groups):
                members = sorted(select[i, g * n:(g + 1) * n], reverse=True)
                group_scores.append(sum(members[:2]))
            # best groups first; ties to the lower group index
            order = sorted(range(groups), key=lambda g: (-group_scores[g], g))
            kept = set(order[:keep])
            eligible = [x for x in range(e) if x // n in kept]
        order = sorted(eligible, key=lambda x: (-select[i, x], x))[:k]
        experts[i] = order
        w = scores[i, order]
        if case.get("normalize"):
            w = w / w.sum()
        weights[i] = w * case.get("routed_scale", 1.0)
    counts = np.bincount(experts.reshape(-1), minlength=e).astype(np.int64)
    capacity = case.get("capacity", 0)
    if capacity:
        used = [0] * e
        for i in range(t):
            for c in range(k):
                x = experts[i, c]
                if used[x] < capacity:
                    used[x] += 1
                else:
                    weights[i, c] = 0
                    experts[i, c] = -1
    return weights, experts, counts


def ffn(x, gate, down, up, activation):
    h = gate @ x
    if activation == "swiglu":
        a = h / (1 + np.exp(-h)) * (up @ x)
    elif activation == "gelu":
        a = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in h])
    else:
        a = np.maximum(h, 0)
    return down @ a


def reference(arrays, case):
    x = arrays["x"].astype(np.float64)
    weights, experts, counts = route(arrays["logits"].astype(np.float64), case)
    y = np.zeros_like(x)
    for i in range(x.shape[0]):
        for c in range(case["k"]):
            e = experts[i, c]
            if e < 0:
                continue
            up = arrays["up"][e].astype(np.float64) if "up" in arrays else None
            y[i] += weights[i, c] * ffn(x[i], arrays["gate"][e].astype(np.float64),
                                        arrays["down"][e].astype(np.float64), up,
                                        case["activation"])
    return [y, weights, experts, counts]


def ttype(shape, elt="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + "x" + elt + ">"


def write_mlir(case, arrays, path):
    t, h = arrays["x"].shape
    e = arrays["logits"].shape[1]
    k = case["k"]
    attrs = [f"k = {k} : i64", f"scoring = #kiln.router_scoring<{case['scoring']}>",
             f"normalize = {'true' if case.get('normalize') else 'false'}"]
    for key in ("num_groups", "top_groups", "capacity"):
        if key in case:
            attrs.append(f"{key} = {case[key]} : i64")
    if "routed_scale" in case:
        attrs.append(f"routed_scale = {case['routed_scale']!r} : f32")
    names = list(arrays)
    types = {n: ttype(arrays[n].shape, "i64" if arrays[n].dtype == np.int64 else "f32")
             for n in names}
    # Constant expert weights take the CPU target's grouped path (packed at
    # compile time); as inputs they take the reference lowering.
    constants = [n for n in ("gate", "down", "up") if case.get("constant") and n in arrays]
    args = ", ".join(f"%{n}: {types[n]}" for n in names if n not in constants)
    results = [ttype((t, h)), ttype((t, k)), ttype((t, k), "i64"), ttype((e,), "i64")]
    bias = " bias %bias" if "bias" in arrays else ""
    route_in = "(" + types["logits"] + (", " + types["bias"] if bias else "") + ")"
    up = " up %up" if "up" in arrays else ""
    exp_in = [types["x"], results[2], results[1], types["gate"], types["down"]]
    if up:
        exp_in.append(types["up"])
    with open(path, "w") as f:
        f.write(f"func.func @main({args}) -> ({', '.join(results)}) {{\n")
        for n in constants:
            blob = arrays[n].astype("<f4").tobytes().hex().upper()
            f.write(f"  %{n} = arith.constant dense<\"0x{blob}\"> : {types[n]}\n")
        f.write(f"  %w, %e, %n = kiln.moe_route %logits{bias} {{{', '.join(attrs)}}}\n")
        f.write(f"      : {route_in} -> ({', '.join(results[1:])})\n")
        f.write(f"  %y = kiln.moe_experts %x, %e, %w, %gate, %down{up}"
                f" {{activation = #kiln.expert_activation<{case['activation']}>}}\n")
        f.write(f"      : ({', '.join(exp_in)}) -> {results[0]}\n")
        f.write(f"  return %y, %w, %e, %n : {', '.join(results)}\n}}\n")


def make_cases():
    rng = np.random.default_rng(7)

    def tensors(t, h, e, f, swiglu, logit_scale=1.0, skew=None):
        a = {"x": rng.standard_normal((t, h)).astype(np.float32),
             "logits": (logit_scale * rng.standard_normal((t, e))).astype(np.float32)}
        if skew is not None:
            a["logits"][:, skew] += 4.0  # one popular expert
        a["gate"] = (rng.standard_normal((e, f, h)) / math.sqrt(h)).astype(np.float32)
        a["down"] = (rng.standard_normal((e, h, f)) / math.sqrt(f)).astype(np.float32)
        if swiglu:
            a["up"] = (rng.standard_normal((e, f, h)) / math.sqrt(h)).astype(np.float32)
        return a

    cases = []
    cases.append(("mixtral_softmax_top2_swiglu",
                  dict(k=2, scoring="softmax", normalize=True, activation="swiglu"),
                  tensors(6, 8, 4, 12, True)))
    c = dict(k=4, scoring="sigmoid", normalize=True, activation="gelu",
             num_groups=4, top_groups=2, routed_scale=2.5)
    a = tensors(5, 8, 8, 6, False)
    a["bias"] = rng.standard_normal(8).astype(np.float32) * 0.5
    c["bias"] = a["bias"].astype(np.float64)
    cases.append(("deepseek_sigmoid_bias_grouped_gelu", c, a))
    cases.append(("one_expert_per_group",
                  dict(k=2, scoring="softmax", normalize=False, activation="relu",
                       num_groups=4, top_groups=3),
                  tensors(4, 6, 4, 5, False)))
    # Expert 1 is popular; capacity 2 drops later tokens' assignments, and
    # with k = 1 some tokens reach no expert at all (their output is 0).
    cases.append(("capacity_drops_tokens",
                  dict(k=1, scoring="softmax", normalize=False, activation="relu",
                       capacity=2),
                  tensors(6, 4, 4, 5, False, skew=1)))
    cases.append(("capacity_top2_swiglu",
                  dict(k=2, scoring="softmax", normalize=True, activation="swiglu",
                       capacity=3),
                  tensors(7, 4, 4, 6, True, skew=2)))
    # Constant weights with H and F multiples of 16: blocks of 8 tokens,
    # the last one partial (13 tokens x 2 choices over 4 experts).
    cases.append(("constant_weights_swiglu_blocks",
                  dict(k=2, scoring="softmax", normalize=True, activation="swiglu",
                       constant=True),
                  tensors(13, 32, 4, 48, True)))
    cases.append(("constant_weights_one_popular_expert_gelu",
                  dict(k=1, scoring="softmax", normalize=False, activation="gelu",
                       constant=True),
                  tensors(21, 16, 4, 32, False, skew=3)))
    cases.append(("constant_weights_capacity_relu",
                  dict(k=2, scoring="softmax", normalize=True, activation="relu",
                       capacity=3, constant=True),
                  tensors(9, 16, 4, 16, False, skew=0)))
    return cases


def run_case(name, case, arrays, bin_dir, work):
    mlir = os.path.join(work, name + ".mlir")
    write_mlir(case, arrays, mlir)
    inputs = [v for n, v in arrays.items()
              if not (case.get("constant") and n in ("gate", "down", "up"))]
    out, problem = compile_and_run(
        bin_dir, mlir, [(f"input{i}", v) for i, v in enumerate(inputs)],
        work, name)
    if problem:
        return problem
    for i, ref in enumerate(reference(arrays, case)):
        got = np.load(os.path.join(out, f"output{i}.npy"))
        if got.shape != ref.shape:
            return f"output{i}: shape {got.shape}, expected {ref.shape}"
        if ref.dtype == np.int64:
            if not np.array_equal(got, ref):
                return f"output{i}: got {got.tolist()}, expected {ref.tolist()}"
        elif not np.allclose(got, ref, rtol=1e-4, atol=1e-5):
            return f"output{i}: max abs error {np.abs(got - ref).max():.3g}"
    return None


def main():
    a = check_arguments(__doc__.splitlines()[0]).parse_args()
    return run_checks("moe", a, [
        (name, name,
         lambda work, name=name, case=case, arrays=arrays: run_case(
             name, case, arrays, a.bin, work))
        for name, case, arrays in make_cases()])


if __name__ == "__main__":
    sys.exit(main())
