#!/usr/bin/python3
"""Writes the onnxruntime contrib-op cases that check_contrib.py runs.

Each case is a small ONNX graph built with onnx.helper around one or a few
com.microsoft operators (opset 17 + com.microsoft 1), with random inputs:

  cases/<name>/model.onnx       the graph
  cases/<name>/case.json        input and output names, tolerances, notes
  cases/<name>/inputs/<n>.npy   one file per graph input
  cases/<name>/expected/*.npy   written by run_onnxruntime.js (onnxruntime
                                1.30's CPU kernels), not by this script

Weights are initializers (MatMulNBits and QMoE need them to be); the
runtime inputs are activations, router logits, KV caches and seqlens_k.
Every case is deterministic (fixed seeds), so rerunning this script
rewrites identical files. See README.md for the regeneration steps.

Usage: make_contrib_cases.py [--out DIR] [--filter SUBSTRING]
"""
import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NP_TO_ONNX = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float16): TensorProto.FLOAT16,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.uint8): TensorProto.UINT8,
}


def make_case(name, nodes, inputs, inits, outputs, atol, rtol, note,
              compare=None):
    """A case: nodes over graph `inputs` (name -> array) and initializers.

    `outputs` maps each graph output to its ONNX element type. `compare`
    optionally restricts an output to a region (see check_contrib.py).
    """
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, NP_TO_ONNX[a.dtype], a.shape)
         for n, a in inputs.items()],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs.items()],
        [numpy_helper.from_array(a, n) for n, a in inits.items()])
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    return dict(name=name, model=model, inputs=inputs,
                outputs=list(outputs), atol=atol, rtol=rtol, note=note,
                compare=compare or {})


def ms(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, domain="com.microsoft", **attrs)


def f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


F = TensorProto.FLOAT

# ---------------------------------------------------------------------------
# Normalizations and GELU forms
# ---------------------------------------------------------------------------


def norm_cases():
    rng = np.random.default_rng(1)
    x, skip = f32(rng, 2, 3, 16), f32(rng, 2, 3, 16)
    gamma, beta, bias = f32(rng, 16), f32(rng, 16), f32(rng, 16)
    yield make_case(
        "simplified_layer_norm",
        [helper.make_node("SimplifiedLayerNormalization", ["x", "gamma"],
                          ["y", "inv_std_var"]),
         helper.make_node("SimplifiedLayerNormalization", ["x", "gamma2"],
                          ["y2"], axis=1, epsilon=1e-3)],
        {"x": x}, {"gamma": gamma, "gamma2": f32(rng, 3, 16)},
        {"y": F, "inv_std_var": F, "y2": F}, 1e-5, 1e-5,
        "ONNX-domain RMS norm over the last axis with inv_std_var, and over "
        "axes 1..2")
    yield make_case(
        "skip_simplified_layer_norm",
        [ms("SkipSimplifiedLayerNormalization", ["x", "skip", "gamma", "bias"],
            ["y", "", "inv_std_var", "sum"], epsilon=1e-6),
         ms("SkipSimplifiedLayerNormalization", ["x", "skip", "gamma"],
            ["y2"])],
        {"x": x, "skip": skip}, {"gamma": gamma, "bias": bias},
        {"y": F, "inv_std_var": F, "sum": F, "y2": F}, 1e-5, 1e-5,
        "residual + bias, RMS norm, inv_std_var and input_skip_bias_sum; "
        "default epsilon 1e-12")
    yield make_case(
        "skip_layer_norm",
        [ms("SkipLayerNormalization", ["x", "skip2d", "gamma", "beta", "bias"],
            ["y", "mean", "inv_std_var", "sum"], epsilon=1e-5),
         ms("SkipLayerNormalization", ["x", "skip", "gamma"], ["y2"])],
        {"x": x, "skip": skip, "skip2d": f32(rng, 3, 16)},
        {"gamma": gamma, "beta": beta, "bias": bias},
        {"y": F, "mean": F, "inv_std_var": F, "sum": F, "y2": F}, 1e-5, 1e-5,
        "skip broadcast from [S, H], beta and bias, all statistics; no beta")
    g = f32(rng, 4, 24, scale=2.0)
    b = f32(rng, 24)
    yield make_case(
        "gelu_forms",
        [ms("Gelu", ["x"], ["gelu"]), ms("BiasGelu", ["x", "b"], ["bias_gelu"]),
         ms("FastGelu", ["x", "b"], ["fast_gelu_bias"]),
         ms("FastGelu", ["x"], ["fast_gelu"])],
        {"x": g}, {"b": b},
        {"gelu": F, "bias_gelu": F, "fast_gelu_bias": F, "fast_gelu": F},
        1e-5, 1e-5, "erf GELU, GELU of x + bias, tanh GELU with and without "
        "bias")


# ---------------------------------------------------------------------------
# MatMulNBits
# ---------------------------------------------------------------------------


def pack_bits(codes, bits):
    """Packs unsigned codes along the last axis, low bits first."""
    per = 8 // bits
    flat = codes.reshape(codes.shape[:-1] + (-1, per)).astype(np.uint32)
    out = np.zeros(flat.shape[:-1], np.uint32)
    for i in range(per):
        out |= flat[..., i] << (bits * i)
    return out.astype(np.uint8)


def nbits_case(name, rng, bits, bs, k, n, a_shape, zp, bias=False,
               g_idx=False, note="", runtime_scales=False):
    kb = (k + bs - 1) // bs
    qmax = (1 << bits) - 1
    codes = rng.integers(0, qmax + 1, (n, kb * bs))
    b = pack_bits(codes, bits).reshape(n, kb, bs * bits // 8)
    scales = (rng.random((n, kb)) * 0.05 + 0.01).astype(np.float32)
    inits = {"B": b, "scales": scales}
    ins = ["A", "B", "scales"]
    if zp == "packed":
        z = rng.integers(0, qmax + 1, (n, kb))
        zb = (kb * bits + 7) // 8
        padded = np.zeros((n, zb * 8 // bits), np.int64)
        padded[:, :kb] = z
        inits["zero_points"] = pack_bits(padded, bits)
        ins.append("zero_points")
    elif zp == "float":
        inits["zero_points"] = (rng.random((n, kb)) * qmax).astype(np.float32)
        ins.append("zero_points")
    else:
        ins.append("")
    if g_idx == "act_order":
        # GPTQ act-order: every group still has block_size columns, but
        # spread over K in a random order.
        inits["g_idx"] = (rng.permutation(k) // bs).astype(np.int32)
    elif g_idx:
        inits["g_idx"] = (np.arange(k) // bs).astype(np.int32)
    ins.append("g_idx" if g_idx else "")
    if bias:
        inits["bias"] = f32(rng, n)
    ins.append("bias" if bias else "")
    while ins[-1] == "":
        ins.pop()
    # accuracy_level stays 0: at 4 onnxruntime quantizes A to int8, which
    # Kiln (exact float arithmetic) does not imitate.
    node = ms("MatMulNBits", ins, ["Y"], K=k, N=n, bits=bits, block_size=bs)
    # 8-bit products of up to 64 terms reach a few hundred: relative tolerance.
    inputs = {"A": f32(rng, *a_shape)}
    if runtime_scales:
        inputs["scales"] = inits.pop("scales")
    return make_case(name, [node], inputs, inits, {"Y": F}, 1e-4, 1e-5, note)


def nbits_cases():
    rng = np.random.default_rng(2)
    yield nbits_case("matmul_nbits_4bit", rng, 4, 32, 64, 24, (2, 3, 64),
                     None, note="4-bit, default zero point 8, 3-D A")
    yield nbits_case("matmul_nbits_4bit_zp_k_tail", rng, 4, 32, 72, 20, (5, 72),
                     "packed", bias=True,
                     note="4-bit, packed zero points (odd k_blocks), K = 72 "
                     "not a multiple of block_size 32, bias")
    yield nbits_case("matmul_nbits_8bit", rng, 8, 16, 48, 24, (4, 48), None,
                     note="8-bit, default zero point 128")
    yield nbits_case("matmul_nbits_8bit_zp", rng, 8, 32, 80, 16, (1, 3, 80),
                     "packed", bias=True,
                     note="8-bit with zero points and K = 80 (tail), bias")
    yield nbits_case("matmul_nbits_2bit_zp", rng, 2, 16, 56, 24, (3, 56),
                     "packed", note="2-bit, zero points packed 4 to a byte")
    yield nbits_case("matmul_nbits_4bit_float_zp", rng, 4, 16, 40, 24, (3, 40),
                     "float", note="float zero points (dequantized at import)")
    yield nbits_case("matmul_nbits_4bit_g_idx", rng, 4, 16, 48, 24, (3, 48),
                     None, g_idx=True,
                     note="trivial g_idx (k / block_size)")
    yield nbits_case("matmul_nbits_4bit_runtime_scales", rng, 4, 32, 64, 16,
                     (2, 64), "packed", runtime_scales=True,
                     note="scales as a graph input (B and zero points stay "
                     "initializers)")
    # Its own generator, so the cases above keep their data.
    yield nbits_case("matmul_nbits_4bit_act_order", np.random.default_rng(7),
                     4, 16, 64, 24, (3, 64), None, g_idx="act_order",
                     note="act-order g_idx (a permutation of the groups)")


# ---------------------------------------------------------------------------
# GroupQueryAttention
# ---------------------------------------------------------------------------


def rope_cache(max_len, rot):
    inv = 1.0 / (10000 ** (np.arange(0, rot, 2) / rot))
    angles = np.arange(max_len)[:, None] * inv[None]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def gqa_case(name, seed, b, s, hq, hkv, d, past, seqlens, total, note,
             window=-1, rotary=False, interleaved=False, rot=None,
             packed=False, softcap=0.0, bias=False, seqlens_const=False,
             causal=1, scale=None):
    rng = np.random.default_rng(seed)
    seqlens = np.array(seqlens, np.int32)
    inputs, inits = {}, {"total_sequence_length": np.array(total, np.int32)}
    if packed:
        inputs["qkv"] = f32(rng, b, s, (hq + 2 * hkv) * d)
        ins = ["qkv", "", ""]
    else:
        inputs["query"] = f32(rng, b, s, hq * d)
        inputs["key"] = f32(rng, b, s, hkv * d)
        inputs["value"] = f32(rng, b, s, hkv * d)
        ins = ["query", "key", "value"]
    compare = {}
    present = max(past, total) if past else s
    if past:
        pk, pv = f32(rng, b, hkv, past, d), f32(rng, b, hkv, past, d)
        # A cache holds zeros past each entry's valid length, as a runtime
        # that shares the past and present buffers leaves it.
        for i in range(b):
            valid = seqlens[i] + 1 - s
            pk[i, :, valid:] = 0
            pv[i, :, valid:] = 0
        inputs["past_key"], inputs["past_value"] = pk, pv
        ins += ["past_key", "past_value"]
        # Only the valid prefix of each present cache is defined.
        compare = {o: [int(x) + 1 for x in seqlens]
                   for o in ("present_key", "present_value")}
    else:
        ins += ["", ""]
    (inits if seqlens_const else inputs)["seqlens_k"] = seqlens
    ins += ["seqlens_k", "total_sequence_length"]
    attrs = dict(num_heads=hq, kv_num_heads=hkv, local_window_size=window)
    if causal != 1:
        attrs["causal"] = causal
    if rotary:
        cos, sin = rope_cache(32, rot or d)
        inits["cos_cache"], inits["sin_cache"] = cos, sin
        ins += ["cos_cache", "sin_cache"]
        attrs.update(do_rotary=1, rotary_interleaved=int(interleaved))
    if softcap:
        attrs["softcap"] = softcap
    if scale is not None:
        attrs["scale"] = scale
    if bias:
        while len(ins) < 10:
            ins.append("")
        inputs["attention_bias"] = f32(rng, 1, hq, s, present)
        ins.append("attention_bias")
    outs = {"output": F, "present_key": F, "present_value": F}
    return make_case(name, [ms("GroupQueryAttention", ins, list(outs),
                               **attrs)],
                     inputs, inits, outs, 1e-5, 1e-5, note, compare)


def gqa_cases():
    yield gqa_case("gqa_prompt_padded_rotary_window", 11, 2, 6, 4, 2, 16, 0,
                   [5, 3], 6, window=3, rotary=True,
                   note="first prompt, right-padded batch (seqlens 5 and 3), "
                   "rotary, local window 3")
    yield gqa_case("gqa_past_rotary_window", 12, 1, 3, 4, 2, 16, 6, [8], 9,
                   window=4, rotary=True, interleaved=True,
                   note="past 6 + 3 new tokens, interleaved rotary, local "
                   "window 4, seqlens_k at run time")
    yield gqa_case("gqa_past_const_seqlens", 13, 2, 1, 8, 2, 16, 5, [5, 5], 6,
                   window=3, rotary=True, seqlens_const=True,
                   note="decode with a full past and constant seqlens_k: "
                   "kiln.attention's own cache and sliding-window kind")
    yield gqa_case("gqa_decode_shared_ragged", 14, 2, 1, 4, 1, 16, 8, [5, 2], 6,
                   window=4, rotary=True,
                   note="decode into a shared 8-entry buffer, different "
                   "lengths per batch entry, MQA")
    yield gqa_case("gqa_packed_softcap", 15, 1, 5, 4, 2, 16, 0, [4], 5,
                   packed=True, softcap=3.0, scale=0.3,
                   note="packed QKV, softcap 3, scale 0.3")
    yield gqa_case("gqa_past_bias_partial_rotary", 16, 1, 2, 2, 2, 32, 4, [5],
                   6, rotary=True, rot=16, bias=True,
                   note="attention_bias with a past, rotary on 16 of 32 "
                   "features, MHA")
    yield gqa_case("gqa_bidirectional", 17, 2, 4, 4, 2, 16, 0, [3, 2], 4,
                   causal=0, note="causal = 0 with a padded batch")


# ---------------------------------------------------------------------------
# MoE and QMoE
# ---------------------------------------------------------------------------


def moe_case(name, seed, act, normalize, note, tokens=6, h=16, f=12, e=4, k=2,
             biases=False, shape3d=False, **attrs):
    rng = np.random.default_rng(seed)
    fs = 2 if act == "swiglu" else 1
    inits = {"fc1": f32(rng, e, fs * f, h, scale=0.4),
             "fc2": f32(rng, e, h, f, scale=0.4)}
    ins = ["input", "router", "fc1", "", "fc2"]
    if biases:
        inits["fc1_bias"] = f32(rng, e, fs * f, scale=0.5)
        inits["fc2_bias"] = f32(rng, e, h, scale=0.5)
        ins = ["input", "router", "fc1", "fc1_bias", "fc2", "fc2_bias"]
    if act == "swiglu":
        attrs.setdefault("swiglu_fusion", 1)
    x = f32(rng, 2, tokens // 2, h) if shape3d else f32(rng, tokens, h)
    node = ms("MoE", ins, ["output"], k=k, activation_type=act,
              normalize_routing_weights=int(normalize), **attrs)
    return make_case(name, [node], {"input": x, "router": f32(rng, tokens, e)},
                     inits, {"output": F}, 1e-5, 1e-5, note)


def qmoe_case(name, seed, act, bits, block, zero_points, note, tokens=6, h=32,
              f=32, e=4, k=2):
    # onnxruntime 1.30's CPU QMoE always normalizes the top-k weights
    # (normalize_routing_weights = 0 is ignored), so the cases set it to 1;
    # Kiln honours the attribute as documented.
    normalize = True
    rng = np.random.default_rng(seed)
    fs = 2 if act == "swiglu" else 1
    pack = 8 // bits
    qmax = (1 << bits) - 1

    def weight(rows, cols):
        codes = rng.integers(0, qmax + 1, (e, rows, cols))
        groups = cols // block if block else 1
        scales = (rng.random((e, rows, groups)) * 0.4 / (1 << bits) + 0.002)
        scales = scales.astype(np.float32)
        out = {"w": pack_bits(codes, bits),
               "s": scales if block else scales[:, :, 0]}
        if zero_points:
            z = rng.integers(0, qmax + 1, (e, rows, groups))
            out["z"] = pack_bits(z, bits) if block else \
                pack_bits(z[:, :, 0], bits)
        return out

    fc1, fc2 = weight(fs * f, h), weight(h, f)
    inits = {"fc1": fc1["w"], "fc1_scales": fc1["s"], "fc2": fc2["w"],
             "fc2_scales": fc2["s"]}
    ins = ["input", "router", "fc1", "fc1_scales", "", "fc2", "fc2_scales"]
    if zero_points:
        inits["fc1_zp"], inits["fc2_zp"] = fc1["z"], fc2["z"]
        ins += ["", "", "", "", "fc1_zp", "fc2_zp"]
    attrs = dict(k=k, activation_type=act, normalize_routing_weights=int(
        normalize), expert_weight_bits=bits)
    if block:
        attrs["block_size"] = block
    if act == "swiglu":
        attrs["swiglu_fusion"] = 1
    node = ms("QMoE", ins, ["output"], **attrs)
    return make_case(name, [node], {"input": f32(rng, tokens, h),
                                    "router": f32(rng, tokens, e)},
                     inits, {"output": F}, 2e-5, 1e-4, note)


def moe_cases():
    yield moe_case("moe_swiglu_top2of4", 21, "swiglu", True,
                   "top-2 of 4, SwiGLU with fused interleaved FC1 "
                   "(swiglu_fusion 1), normalized weights, biases",
                   biases=True)
    yield moe_case("moe_silu_top2of4", 22, "silu", False,
                   "top-2 of 4, SiLU experts, weights not normalized")
    yield moe_case("moe_swiglu_gpt_oss", 23, "swiglu", True,
                   "SwiGLU with alpha 1.702, beta 1, limit 7 and biases, "
                   "3-D input", biases=True, shape3d=True,
                   activation_alpha=1.702, activation_beta=1.0,
                   swiglu_limit=7.0)
    yield moe_case("moe_gelu_top1", 24, "gelu", False,
                   "top-1 of 4, GELU experts (onnxruntime's CPU kernel: tanh "
                   "approximation), biases", k=1, biases=True)
    yield moe_case("moe_relu_identity", 25, "relu", True,
                   "top-3 of 6, ReLU experts", k=3, e=6)
    yield moe_case("moe_identity", 26, "identity", True,
                   "top-2 of 4, identity experts")
    yield qmoe_case("qmoe_4bit_block_swiglu", 31, "swiglu", 4, 16, True,
                    "4-bit, block_size 16 with zero points, SwiGLU (fused, "
                    "interleaved), normalized")
    yield qmoe_case("qmoe_4bit_rowwise_silu", 32, "silu", 4, 0, False,
                    "4-bit, one scale per row, default zero point 8, SiLU")
    yield qmoe_case("qmoe_8bit_rowwise_relu", 33, "relu", 8, 0, True,
                    "8-bit, per-row scales and zero points, ReLU")


def all_cases():
    for family in (norm_cases, nbits_cases, gqa_cases, moe_cases):
        yield from family()


def write_case(case, root):
    d = os.path.join(root, case["name"])
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "inputs"))
    onnx.save(case["model"], os.path.join(d, "model.onnx"))
    for n, a in case["inputs"].items():
        np.save(os.path.join(d, "inputs", n + ".npy"), a)
    meta = {k: case[k] for k in ("inputs", "outputs", "atol", "rtol", "note",
                                 "compare")}
    meta["inputs"] = list(case["inputs"])
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--out", default=os.path.join(here, "cases"))
    p.add_argument("--filter", default="")
    a = p.parse_args()
    n = 0
    for case in all_cases():
        if a.filter in case["name"]:
            write_case(case, a.out)
            n += 1
    print("wrote %d cases to %s" % (n, a.out))


if __name__ == "__main__":
    main()
