#!/usr/bin/python3
"""ONNX DequantizeLinear and QuantizeLinear through kiln-compile and kiln-run.

Each case builds a one-node opset-21 model with onnx.helper (or a
QuantizeLinear -> DequantizeLinear chain), compiles it with kiln-compile,
runs it with kiln-run on .npy inputs and compares the output with a NumPy
reference written from the ONNX specification:

  DequantizeLinear: y = (x - x_zero_point) * x_scale, in float32, then
                    rounded to the scale's type
  QuantizeLinear:   y = saturate(round_half_to_even(x / y_scale) + y_zero_point)

for int8, uint8, int16 and uint16 (and int32 dequantization), per tensor
(rank-0 and [1] scales), per axis and blocked (block_size, including blocks
that do not divide the axis), with zero points at the ends of their range,
values at the saturation edges, infinities and exact .5 ties. Quantized
results must match exactly; dequantized ones too (the arithmetic is exact or
rounds once, in the same order as the reference).

Usage: check_quant.py --bin BUILD/bin [--keep DIR] [--filter SUBSTRING]
Prints one line per case and `quant: N passed, M failed`; exits 1 on failure.
"""
import os
import sys

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402
from onnx import TensorProto, helper, numpy_helper

ONNX_TYPE = {
    np.dtype(np.int8): TensorProto.INT8,
    np.dtype(np.uint8): TensorProto.UINT8,
    np.dtype(np.int16): TensorProto.INT16,
    np.dtype(np.uint16): TensorProto.UINT16,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float16): TensorProto.FLOAT16,
}

# Case fields:
#   op       "dq", "q" or "q_dq" (QuantizeLinear then DequantizeLinear)
#   dtype    the integer type
#   shape    the data's shape
#   gran     "tensor" (rank-0 scale), "tensor1" ([1] scale), "axis", "block"
#   axis     the ONNX axis attribute (may be negative; default 1)
#   block    block_size for gran == "block"
#   zp       "none", or how to pick zero points: "low", "high", "mixed"
#            (the ends of the range and values between), "mid"
#   scales   "pow2" (exact ties) or "random"
#   init     scale and zero point as initializers instead of graph inputs
#   output_dtype  QuantizeLinear's attribute (without a zero point)
#   sdtype   the scale's (and QuantizeLinear's input) float type
CASES = [
    # DequantizeLinear
    dict(name="dq_int8_tensor", op="dq", dtype=np.int8, shape=(3, 8),
         gran="tensor", zp="low", scales="random"),
    dict(name="dq_int8_tensor_high_zp", op="dq", dtype=np.int8, shape=(3, 8),
         gran="tensor", zp="high", scales="random"),
    dict(name="dq_int8_tensor_no_zp", op="dq", dtype=np.int8, shape=(2, 3, 4),
         gran="tensor", zp="none", scales="random"),
    dict(name="dq_uint8_tensor", op="dq", dtype=np.uint8, shape=(3, 8),
         gran="tensor", zp="high", scales="random"),
    dict(name="dq_uint8_tensor1", op="dq", dtype=np.uint8, shape=(4, 5),
         gran="tensor1", zp="mid", scales="random"),
    dict(name="dq_uint8_tensor_no_zp", op="dq", dtype=np.uint8, shape=(16,),
         gran="tensor", zp="none", scales="pow2"),
    dict(name="dq_int16_axis", op="dq", dtype=np.int16, shape=(4, 6, 5),
         gran="axis", axis=1, zp="mixed", scales="random"),
    dict(name="dq_uint16_axis_neg", op="dq", dtype=np.uint16, shape=(3, 7),
         gran="axis", axis=-1, zp="mixed", scales="random"),
    dict(name="dq_uint8_axis0_init", op="dq", dtype=np.uint8, shape=(5, 6),
         gran="axis", axis=0, zp="mixed", scales="random", init=True),
    dict(name="dq_int16_tensor", op="dq", dtype=np.int16, shape=(32,),
         gran="tensor", zp="high", scales="random"),
    dict(name="dq_uint16_tensor1_no_zp", op="dq", dtype=np.uint16,
         shape=(4, 9), gran="tensor1", zp="none", scales="random"),
    dict(name="dq_int8_block4_of10", op="dq", dtype=np.int8, shape=(3, 10),
         gran="block", axis=1, block=4, zp="mixed", scales="random"),
    dict(name="dq_uint8_block4_of10_axis0", op="dq", dtype=np.uint8,
         shape=(10, 3), gran="block", axis=0, block=4, zp="mixed",
         scales="random"),
    dict(name="dq_int16_block3", op="dq", dtype=np.int16, shape=(2, 12, 3),
         gran="block", axis=1, block=3, zp="none", scales="random"),
    dict(name="dq_uint16_block4_of10_init", op="dq", dtype=np.uint16,
         shape=(4, 10), gran="block", axis=-1, block=4, zp="mixed",
         scales="random", init=True),
    dict(name="dq_int8_block_whole_axis", op="dq", dtype=np.int8,
         shape=(3, 5), gran="block", axis=1, block=8, zp="mixed",
         scales="random"),
    dict(name="dq_int32_tensor", op="dq", dtype=np.int32, shape=(12,),
         gran="tensor", zp="none", scales="random"),
    dict(name="dq_int32_axis", op="dq", dtype=np.int32, shape=(3, 4),
         gran="axis", axis=0, zp="none", scales="random"),
    dict(name="dq_int8_f16_scale", op="dq", dtype=np.int8, shape=(3, 8),
         gran="tensor", zp="mixed", scales="random", sdtype=np.float16),
    dict(name="dq_uint8_f16_scale_axis", op="dq", dtype=np.uint8,
         shape=(3, 8), gran="axis", axis=1, zp="mixed", scales="random",
         sdtype=np.float16),
    # QuantizeLinear
    dict(name="q_uint8_tensor_default", op="q", dtype=np.uint8, shape=(64,),
         gran="tensor", zp="none", scales="pow2"),
    dict(name="q_int8_tensor_output_dtype", op="q", dtype=np.int8,
         shape=(64,), gran="tensor", zp="none", scales="pow2",
         output_dtype=TensorProto.INT8),
    dict(name="q_int8_tensor_zp", op="q", dtype=np.int8, shape=(4, 24),
         gran="tensor", zp="mid", scales="pow2"),
    dict(name="q_int8_tensor_low_zp", op="q", dtype=np.int8, shape=(4, 24),
         gran="tensor", zp="low", scales="pow2"),
    dict(name="q_uint8_tensor1_zp", op="q", dtype=np.uint8, shape=(4, 24),
         gran="tensor1", zp="mid", scales="pow2"),
    dict(name="q_uint8_tensor_high_zp", op="q", dtype=np.uint8, shape=(80,),
         gran="tensor", zp="high", scales="pow2"),
    dict(name="q_uint8_tensor_random_scale", op="q", dtype=np.uint8,
         shape=(6, 20), gran="tensor", zp="mid", scales="random"),
    dict(name="q_int16_tensor", op="q", dtype=np.int16, shape=(80,),
         gran="tensor", zp="mid", scales="pow2"),
    dict(name="q_uint16_tensor_output_dtype", op="q", dtype=np.uint16,
         shape=(80,), gran="tensor", zp="none", scales="pow2",
         output_dtype=TensorProto.UINT16),
    dict(name="q_int8_axis", op="q", dtype=np.int8, shape=(3, 5, 40),
         gran="axis", axis=1, zp="mixed", scales="pow2"),
    dict(name="q_uint8_axis_neg_init", op="q", dtype=np.uint8,
         shape=(40, 4), gran="axis", axis=-1, zp="mixed", scales="pow2",
         init=True),
    dict(name="q_int16_axis_random", op="q", dtype=np.int16, shape=(6, 40),
         gran="axis", axis=0, zp="mixed", scales="random"),
    dict(name="q_uint16_axis", op="q", dtype=np.uint16, shape=(4, 50),
         gran="axis", axis=0, zp="mixed", scales="pow2"),
    dict(name="q_int8_block4_of10", op="q", dtype=np.int8, shape=(30, 10),
         gran="block", axis=1, block=4, zp="mixed", scales="pow2"),
    dict(name="q_uint8_block4_of10_axis0", op="q", dtype=np.uint8,
         shape=(10, 30), gran="block", axis=0, block=4, zp="mixed",
         scales="pow2"),
    dict(name="q_int16_block2_no_zp", op="q", dtype=np.int16,
         shape=(2, 9, 20), gran="block", axis=1, block=2, zp="none",
         scales="pow2", output_dtype=TensorProto.INT16),
    dict(name="q_uint16_block3_of10_init", op="q", dtype=np.uint16,
         shape=(20, 10), gran="block", axis=1, block=3, zp="mixed",
         scales="pow2", init=True),
    dict(name="q_int8_block_random", op="q", dtype=np.int8, shape=(8, 12),
         gran="block", axis=1, block=5, zp="mixed", scales="random"),
    dict(name="q_int8_f16", op="q", dtype=np.int8, shape=(64,),
         gran="tensor", zp="mid", scales="pow2", sdtype=np.float16),
    dict(name="q_uint8_f16_axis", op="q", dtype=np.uint8, shape=(40, 3),
         gran="axis", axis=1, zp="mixed", scales="pow2", sdtype=np.float16),
    # QuantizeLinear -> DequantizeLinear: the unsigned type carries over.
    dict(name="q_dq_uint8_tensor", op="q_dq", dtype=np.uint8, shape=(64,),
         gran="tensor", zp="mid", scales="pow2"),
    dict(name="q_dq_uint16_block", op="q_dq", dtype=np.uint16,
         shape=(20, 10), gran="block", axis=1, block=4, zp="mixed",
         scales="random"),
    dict(name="q_dq_uint8_default_type", op="q_dq", dtype=np.uint8,
         shape=(64,), gran="tensor", zp="none", scales="pow2"),
]


def norm_axis(case):
    rank = len(case["shape"])
    axis = case.get("axis", 1)
    return axis + rank if axis < 0 else axis


def scale_shape(case):
    shape, gran = case["shape"], case["gran"]
    if gran == "tensor":
        return ()
    if gran == "tensor1":
        return (1,)
    axis = norm_axis(case)
    if gran == "axis":
        return (shape[axis],)
    s = list(shape)
    s[axis] = -(-shape[axis] // case["block"])
    return tuple(s)


def expand(param, case):
    """A scale or zero point broadcast to the data's shape."""
    shape, gran = case["shape"], case["gran"]
    if gran in ("tensor", "tensor1"):
        return np.broadcast_to(param.reshape(()), shape)
    axis = norm_axis(case)
    if gran == "axis":
        view = [1] * len(shape)
        view[axis] = shape[axis]
        return np.broadcast_to(param.reshape(view), shape)
    full = np.repeat(param, case["block"], axis=axis)
    return np.take(full, np.arange(shape[axis]), axis=axis)


def int_range(dtype):
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def make_zero_point(case, rng):
    dtype = case["dtype"]
    lo, hi = int_range(dtype)
    shape = scale_shape(case)
    n = int(np.prod(shape)) if shape else 1
    kind = case["zp"]
    if kind == "low":
        vals = [lo] * n
    elif kind == "high":
        vals = [hi] * n
    elif kind == "mid":
        vals = [(lo + hi + 1) // 2 + 3] * n
    else:  # mixed: the ends of the range first, then random values
        vals = [lo, hi, 0, lo + 1, hi - 1][:n]
        vals += [int(v) for v in rng.integers(lo, hi, size=n - len(vals),
                                              endpoint=True)]
    return np.array(vals, dtype=np.int64).reshape(shape).astype(dtype)


def make_scale(case, rng):
    shape = scale_shape(case)
    sdtype = case.get("sdtype", np.float32)
    n = int(np.prod(shape)) if shape else 1
    if case["scales"] == "pow2":
        vals = 2.0 ** rng.integers(-4, 3, size=n)
    else:
        vals = rng.uniform(0.001, 0.5, size=n)
    return vals.reshape(shape).astype(sdtype)


def make_dq_input(case, rng):
    dtype = case["dtype"]
    lo, hi = int_range(dtype)
    n = int(np.prod(case["shape"]))
    vals = [lo, hi, 0, lo + 1, hi - 1, 1, -1 if lo < 0 else 2]
    vals += [int(v) for v in rng.integers(lo, hi, size=n, endpoint=True)]
    vals = np.array(vals[:n], dtype=np.int64)
    rng.shuffle(vals)
    return vals.reshape(case["shape"]).astype(dtype)


def make_q_input(case, scale, zp, rng):
    """Floats whose quotient by the scale, plus the zero point, lands on the
    saturation edges (and just past them), on .5 ties, on infinities and on
    random values around the range."""
    dtype = case["dtype"]
    sdtype = case.get("sdtype", np.float32)
    lo, hi = int_range(dtype)
    shape = case["shape"]
    n = int(np.prod(shape))
    # Targets t: round(x / scale) + zp before saturation (as float offsets).
    edges = [lo - 1.5, lo - 1, lo - 0.5, lo, lo + 0.5, lo + 1.5,
             hi - 1.5, hi - 0.5, hi, hi + 0.5, hi + 1, hi + 1.5,
             lo - 1000.5, hi + 1000.5]
    if sdtype == np.float16:
        edges = [e for e in edges if abs(e) < 1500]
    t = np.array(edges, dtype=np.float64)
    zp_flat = (expand(zp, case) if zp is not None
               else np.zeros(shape, dtype=np.int64)).reshape(-1)
    s_flat = expand(scale, case).reshape(-1).astype(np.float64)
    ties = np.arange(-6, 6) + 0.5  # quotients x/scale of exact ties
    width = min(hi - lo, 600)
    rand = rng.uniform(-width, width, size=n)
    x = np.empty(n, dtype=np.float64)
    kinds = rng.integers(0, 4, size=n)
    for i in range(n):
        z = float(zp_flat[i])
        if i < len(t):
            q = t[i] - z  # lands on an edge after adding the zero point
        elif kinds[i] == 0:
            q = ties[rng.integers(len(ties))]
        elif kinds[i] == 1:
            q = np.round(rand[i]) + 0.5  # a tie anywhere in the range
        else:
            q = rand[i]
        x[i] = q * s_flat[i]
    if n > len(t) + 4:
        x[len(t):len(t) + 4] = [np.inf, -np.inf, -0.0, 0.0]
    return x.reshape(shape).astype(sdtype)


def reference_dq(x, scale, zp, case):
    f = x.astype(np.float32)
    if zp is not None:
        f = f - expand(zp, case).astype(np.float32)
    y = f * expand(scale, case).astype(np.float32)
    return y.astype(scale.dtype)


def reference_q(x, scale, zp, case):
    lo, hi = int_range(case["dtype"])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        q = x / expand(scale, case).astype(x.dtype)  # in the input's type
    r = np.rint(q).astype(np.float64)  # half to even
    if zp is not None:
        r = r + expand(zp, case).astype(np.float64)
    return np.clip(r, lo, hi).astype(case["dtype"])


def build_model(case, x, scale, zp, path):
    names = {"x": "x", "s": "scale", "z": "zero_point"}
    inputs = [helper.make_tensor_value_info("x", ONNX_TYPE[x.dtype], x.shape)]
    inits = []
    for key, arr in (("s", scale), ("z", zp)):
        if arr is None:
            continue
        if case.get("init"):
            inits.append(numpy_helper.from_array(arr, names[key]))
        else:
            inputs.append(helper.make_tensor_value_info(
                names[key], ONNX_TYPE[arr.dtype], arr.shape))
    attrs = {}
    if case["gran"] in ("axis", "block") or "axis" in case:
        attrs["axis"] = case.get("axis", 1)
    if case["gran"] == "block":
        attrs["block_size"] = case["block"]
    node_in = ["x", "scale"] + (["zero_point"] if zp is not None else [])
    qtype = ONNX_TYPE[np.dtype(case["dtype"])]
    nodes, outputs = [], []
    if case["op"] == "dq":
        nodes.append(helper.make_node("DequantizeLinear", node_in, ["y"],
                                      **attrs))
        outputs.append(helper.make_tensor_value_info(
            "y", ONNX_TYPE[scale.dtype], x.shape))
    else:
        q_attrs = dict(attrs)
        if "output_dtype" in case:
            q_attrs["output_dtype"] = case["output_dtype"]
        nodes.append(helper.make_node("QuantizeLinear", node_in, ["y"],
                                      **q_attrs))
        outputs.append(helper.make_tensor_value_info("y", qtype, x.shape))
        if case["op"] == "q_dq":
            nodes.append(helper.make_node(
                "DequantizeLinear", ["y"] + node_in[1:], ["d"], **attrs))
            outputs.append(helper.make_tensor_value_info(
                "d", ONNX_TYPE[scale.dtype], x.shape))
    graph = helper.make_graph(nodes, case["name"], inputs, outputs,
                              initializer=inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.save(model, path)
    feeds = {"x": x}
    if not case.get("init"):
        feeds["scale"] = scale
        if zp is not None:
            feeds["zero_point"] = zp
    return feeds


def compare(name, got, want):
    if got.dtype != want.dtype:
        return "%s: dtype %s, expected %s" % (name, got.dtype, want.dtype)
    if got.shape != want.shape:
        return "%s: shape %s, expected %s" % (name, got.shape, want.shape)
    if np.array_equal(got, want, equal_nan=True):
        return None
    bad = np.argwhere(got != want)
    i = tuple(bad[0])
    return "%s: %d of %d differ, first at %s: got %r, expected %r" % (
        name, len(bad), got.size, list(i), got[i].item(), want[i].item())


def run_case(case, bin_dir, work):
    name = case["name"]
    rng = np.random.default_rng(sum(map(ord, name)))
    dtype = np.dtype(case["dtype"])
    scale = make_scale(case, rng)
    zp = None if case["zp"] == "none" else make_zero_point(case, rng)
    expected = {}
    if case["op"] == "dq":
        x = make_dq_input(case, rng)
        expected["y"] = reference_dq(x, scale, zp, case)
    else:
        x = make_q_input(case, scale, zp, rng)
        expected["y"] = reference_q(x, scale, zp, case)
        if case["op"] == "q_dq":
            expected["d"] = reference_dq(expected["y"], scale, zp, case)
    assert all(v.shape == x.shape for v in expected.values())
    assert expected["y"].dtype == dtype or case["op"] == "dq"
    path = os.path.join(work, name + ".onnx")
    feeds = build_model(case, x, scale, zp, path)
    out_dir, problem = compile_and_run(bin_dir, path, list(feeds.items()),
                                       work, name)
    if problem:
        return problem
    problems = []
    for out, want in expected.items():
        got = np.load(os.path.join(out_dir, out + ".npy"))
        p = compare(out, got, want)
        if p:
            problems.append(p)
    return "; ".join(problems) or None


def describe(case):
    parts = [case["op"], np.dtype(case["dtype"]).name, case["gran"]]
    if case["gran"] in ("axis", "block"):
        parts.append("axis=%d" % case.get("axis", 1))
    if case["gran"] == "block":
        parts.append("block=%d of %d" % (case["block"],
                                         case["shape"][norm_axis(case)]))
    parts.append("zp=" + case["zp"])
    if "sdtype" in case:
        parts.append(np.dtype(case["sdtype"]).name)
    return ", ".join(parts)


def main():
    a = check_arguments(__doc__.splitlines()[0]).parse_args()
    return run_checks("quant", a, [
        (case["name"], "%s (%s)" % (case["name"], describe(case)),
         lambda work, case=case: run_case(case, a.bin, work))
        for case in CASES])


if __name__ == "__main__":
    sys.exit(main())
