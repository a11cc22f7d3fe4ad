#!/usr/bin/python3
"""MatMulInteger, QLinearMatMul and DynamicQuantizeLinear + MatMulInteger
with constant weights through kiln-compile and kiln-run, against NumPy.

Each case builds a small opset-21 model with onnx.helper whose weight B is
an initializer (the form kiln-cpu-convert-integer-matmuls-to-vector-kernels
packs at compile time), compiles it twice, for --cpu=native and for
--cpu=x86-64-v3, and compares the outputs with a NumPy reference written
from the ONNX specification:

  MatMulInteger:  y = (A - a_zero_point) @ (B - b_zero_point) in int32
  QLinearMatMul:  y = saturate(round_half_to_even(that product (as float32)
                  * (a_scale * b_scale / y_scale)) + y_zero_point)
  DynamicQuantizeLinear + MatMulInteger: the product of the quantized
                  activations the model also outputs (checked against
                  NumPy's own quantization to within one step) with B

Shapes cover the kernel's remainders: M = 1, 7, 16 and a 3-D batch; K a
multiple of 4 or not (13, 67); N a multiple of the 64-column panel or not
(17, 40, 48, 96); one product large enough for threads. uint8 and int8
activations and weights, zero points per tensor, per row (A) and per
column (B), at the ends of their range. Integer results must match exactly.

Before running, each compile's --emit=linalg is checked for the kernel it
should have chosen: vpdpbusd for a CPU with avx512vnni (the host, when it
has it); for x86-64-v3 the generic int8 kernel from 4 rows on and the
reference loop below, so that a case cannot pass through another path
unnoticed.

Usage: check_matmul_integer.py --bin BUILD/bin [--keep DIR] [--filter SUBSTRING]
Prints one line per case and CPU and `matmul-integer: N passed, M failed`;
exits 1 on failure.
"""
import os
import subprocess
import sys
import zlib

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402
from onnx import TensorProto, helper, numpy_helper

ONNX_TYPE = {np.dtype(np.int8): TensorProto.INT8,
             np.dtype(np.uint8): TensorProto.UINT8}

# Case fields:
#   op     "mmi" (MatMulInteger), "qlmm" (QLinearMatMul), "dq" (Dynamic-
#          QuantizeLinear + MatMulInteger + the float scaling ORT fuses)
#   a, b   activation and weight dtypes
#   shape  (A's shape, N)
#   azp    "none", "tensor" or "row" (A's zero point)
#   bzp    "none", "tensor" or "column" (B's zero point)
#   edge   zero points at the ends of their range instead of random
CASES = [
    dict(name="u8u8_m1", op="mmi", a=np.uint8, b=np.uint8, shape=((1, 64), 96),
         azp="tensor", bzp="tensor"),
    dict(name="u8s8_m7_k13_n17", op="mmi", a=np.uint8, b=np.int8,
         shape=((7, 13), 17), azp="tensor", bzp="none"),
    dict(name="s8s8_m16_k67_n40", op="mmi", a=np.int8, b=np.int8,
         shape=((16, 67), 40), azp="none", bzp="none"),
    dict(name="s8u8_m7_k64_n48_col", op="mmi", a=np.int8, b=np.uint8,
         shape=((7, 64), 48), azp="tensor", bzp="column"),
    dict(name="u8u8_row_col_edge", op="mmi", a=np.uint8, b=np.uint8,
         shape=((5, 36), 130), azp="row", bzp="column", edge=True),
    dict(name="u8s8_square_row_col", op="mmi", a=np.uint8, b=np.int8,
         shape=((48, 48), 48), azp="row", bzp="column"),
    dict(name="s8s8_edge", op="mmi", a=np.int8, b=np.int8,
         shape=((3, 20), 33), azp="tensor", bzp="tensor", edge=True),
    dict(name="u8u8_batched", op="mmi", a=np.uint8, b=np.uint8,
         shape=((2, 3, 44), 64), azp="tensor", bzp="tensor"),
    dict(name="u8_vector", op="mmi", a=np.uint8, b=np.int8,
         shape=((50,), 32), azp="tensor", bzp="none"),
    dict(name="u8u8_threads", op="mmi", a=np.uint8, b=np.uint8,
         shape=((8, 512), 512), azp="tensor", bzp="tensor"),
    dict(name="qlmm_u8u8", op="qlmm", a=np.uint8, b=np.uint8,
         shape=((7, 45), 40), azp="tensor", bzp="tensor"),
    dict(name="qlmm_s8s8_col", op="qlmm", a=np.int8, b=np.int8,
         shape=((4, 64), 80), azp="tensor", bzp="column"),
    dict(name="dq_m1", op="dq", a=np.uint8, b=np.uint8, shape=((1, 128), 96),
         azp="tensor", bzp="tensor"),
    dict(name="dq_m16_k70_n50", op="dq", a=np.uint8, b=np.int8,
         shape=((16, 70), 50), azp="tensor", bzp="none"),
]

CPUS = ["native", "x86-64-v3"]


def host_has_vnni():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512_vnni" in f.read()
    except OSError:
        return False


def limits(dtype):
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def random_ints(rng, dtype, shape):
    lo, hi = limits(dtype)
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


def zero_point(rng, dtype, kind, n, edge):
    if kind == "none":
        return None
    lo, hi = limits(dtype)
    count = 1 if kind == "tensor" else n
    if edge:
        values = np.array([lo, hi] * count, dtype=np.int64)[:count]
    else:
        values = rng.integers(lo, hi + 1, size=count)
    values = values.astype(dtype)
    return values.reshape(()) if kind == "tensor" else values


def centred_weights(b, zp):
    """B minus its zero point: one value, or one per column ([N] broadcasts
    along the last axis)."""
    v = b.astype(np.int64)
    return v if zp is None else v - zp.astype(np.int64)


def int_product(a, azp, b, bzp, row_zp):
    lhs = a.astype(np.int64)
    if azp is not None:
        z = azp.astype(np.int64)
        lhs = lhs - (z.reshape(-1, 1) if row_zp else z)
    rhs = centred_weights(b, bzp)
    y = np.matmul(lhs, rhs)
    return (y & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def build(case, rng):
    (a_shape, n) = case["shape"]
    k = a_shape[-1]
    edge = case.get("edge", False)
    b = random_ints(rng, case["b"], (k, n))
    rows = a_shape[0] if len(a_shape) == 2 else 1
    azp = zero_point(rng, case["a"], case["azp"], rows, edge)
    bzp = zero_point(rng, case["b"], case["bzp"], n, edge)
    inits = [numpy_helper.from_array(b, "B")]
    inputs, feeds, outputs = [], [], []
    op = case["op"]
    if op == "dq":
        x = rng.standard_normal(a_shape).astype(np.float32)
        inputs.append(helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                    a_shape))
        feeds.append(("x", x))
        names = ["xq", "B", "xz"]
        if bzp is not None:
            inits.append(numpy_helper.from_array(bzp, "bz"))
            names.append("bz")
        w_scale = np.float32(0.0125)
        inits.append(numpy_helper.from_array(np.array(w_scale), "ws"))
        nodes = [
            helper.make_node("DynamicQuantizeLinear", ["x"],
                             ["xq", "xs", "xz"]),
            helper.make_node("MatMulInteger", names, ["y"]),
            helper.make_node("Cast", ["y"], ["yf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["xs", "ws"], ["s"]),
            helper.make_node("Mul", ["yf", "s"], ["out"]),
        ]
        outputs = [
            helper.make_tensor_value_info("y", TensorProto.INT32, None),
            helper.make_tensor_value_info("out", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("xq", TensorProto.UINT8, None),
            helper.make_tensor_value_info("xz", TensorProto.UINT8, None),
            helper.make_tensor_value_info("xs", TensorProto.FLOAT, None),
        ]
        reference = dict(b=b, bzp=bzp, x=x, ws=w_scale)
    else:
        a = random_ints(rng, case["a"], a_shape)
        inputs.append(helper.make_tensor_value_info(
            "A", ONNX_TYPE[np.dtype(case["a"])], a_shape))
        feeds.append(("A", a))
        if azp is not None:
            inputs.append(helper.make_tensor_value_info(
                "az", ONNX_TYPE[np.dtype(case["a"])], list(azp.shape)))
            feeds.append(("az", azp))
        if bzp is not None:
            inits.append(numpy_helper.from_array(bzp, "bz"))
        product = int_product(a, azp, b, bzp, case["azp"] == "row")
        if op == "mmi":
            names = ["A", "B", "az" if azp is not None else "",
                     "bz" if bzp is not None else ""]
            while names and not names[-1]:
                names.pop()
            nodes = [helper.make_node("MatMulInteger", names, ["y"])]
            outputs = [helper.make_tensor_value_info("y", TensorProto.INT32,
                                                     None)]
            reference = dict(y=product)
        else:
            if azp is None or bzp is None:
                raise ValueError("QLinearMatMul cases need both zero points")
            a_scale, y_scale = np.float32(0.02), np.float32(0.5)
            b_scale = (np.float32(0.01) if case["bzp"] == "tensor" else
                       rng.uniform(0.005, 0.02, n).astype(np.float32))
            y_zp = np.array(3 if case["a"] == np.uint8 else -3,
                            dtype=case["a"])
            inits += [numpy_helper.from_array(np.array(a_scale), "as"),
                      numpy_helper.from_array(np.asarray(b_scale), "bs"),
                      numpy_helper.from_array(np.array(y_scale), "ys"),
                      numpy_helper.from_array(y_zp, "yz")]
            nodes = [helper.make_node(
                "QLinearMatMul", ["A", "as", "az", "B", "bs", "bz", "ys", "yz"],
                ["y"])]
            outputs = [helper.make_tensor_value_info(
                "y", ONNX_TYPE[np.dtype(case["a"])], None)]
            multiplier = (a_scale * np.asarray(b_scale, np.float32)) / y_scale
            scaled = product.astype(np.float32) * multiplier.astype(np.float32)
            lo, hi = limits(case["a"])
            y = np.clip(np.rint(scaled) + int(y_zp), lo, hi).astype(case["a"])
            reference = dict(y=y)
    graph = helper.make_graph(nodes, case["name"], inputs, outputs, inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model, feeds, reference


def check_dq(out_dir, case, ref):
    y = np.load(os.path.join(out_dir, "y.npy"))
    out = np.load(os.path.join(out_dir, "out.npy"))
    xq = np.load(os.path.join(out_dir, "xq.npy")).view(np.uint8)
    xz = np.load(os.path.join(out_dir, "xz.npy")).view(np.uint8)
    xs = np.float32(np.load(os.path.join(out_dir, "xs.npy")))
    x = ref["x"]
    # The quantization, by the ONNX definition, to within one step.
    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = np.float32((hi - lo) / 255.0)
    zp = np.clip(np.rint(-lo / scale), 0, 255)
    q = np.clip(np.rint(x / scale) + zp, 0, 255)
    if abs(float(xs) - float(scale)) > 1e-6 * abs(float(scale)):
        return "scale %g, expected %g" % (xs, scale)
    if abs(int(xz) - zp) > 1 or np.abs(xq.astype(np.int64) - q).max() > 1:
        return "quantized activations off by more than one step"
    # The product, exactly, on the activations the model quantized.
    expected = int_product(xq, np.array(xz), ref["b"], ref["bzp"], False)
    if y.shape != expected.shape or not np.array_equal(y, expected):
        bad = np.argwhere(y != expected) if y.shape == expected.shape else []
        return "y differs at %d places (first %s)" % (
            len(bad), bad[0].tolist() if len(bad) else "shape %s" % (y.shape,))
    scaled = expected.astype(np.float32) * (xs * ref["ws"])
    if not np.allclose(out, scaled, rtol=1e-6, atol=0):
        return "scaled output differs"
    return None


def uses(bin_dir, model_path, cpu, needle):
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), model_path, "--emit=linalg",
         "--cpu=" + cpu], capture_output=True, text=True)
    if result.returncode:
        return None, "emit failed: " + result.stderr.strip()
    return needle in result.stdout, None


def run_case(case, cpu, bin_dir, work, vnni_host):
    rng = np.random.default_rng(zlib.crc32(case["name"].encode()))
    model, feeds, ref = build(case, rng)
    name = "%s_%s" % (case["name"], cpu.replace("-", "_"))
    path = os.path.join(work, name + ".onnx")
    onnx.save(model, path)
    # Which kernel this CPU gets: vpdpbusd with avx512vnni; else the
    # generic one from 4 rows on, the reference loop below that.
    vnni = cpu != "x86-64-v3" and vnni_host
    rows = int(np.prod(case["shape"][0][:-1]))
    generic = not vnni and rows >= 4
    for needle, wanted, what in (
            ("llvm.x86.avx512.vpdpbusd.512", vnni, "vpdpbusd"),
            ("vector.shuffle", generic, "the generic int8 kernel")):
        found, problem = uses(bin_dir, path, cpu, needle)
        if problem:
            return problem
        if found != wanted:
            return "%s %s in the linalg IR" % (
                what, "missing" if wanted else "unexpected")
    out_dir, problem = compile_and_run(bin_dir, path, feeds, work, name,
                                       ["--cpu=" + cpu])
    if problem:
        return problem
    if case["op"] == "dq":
        return check_dq(out_dir, case, ref)
    y = np.load(os.path.join(out_dir, "y.npy"))
    expected = ref["y"]
    if y.dtype != expected.dtype:
        y = y.view(expected.dtype)
    if y.shape != expected.shape:
        return "shape %s, expected %s" % (y.shape, expected.shape)
    if not np.array_equal(y, expected):
        bad = np.argwhere(y != expected)
        i = tuple(bad[0])
        return "differs at %d places (first %s: %s, expected %s)" % (
            len(bad), list(i), y[i], expected[i])
    return None


def main():
    a = check_arguments(__doc__.splitlines()[0]).parse_args()
    vnni_host = host_has_vnni()
    return run_checks("matmul-integer", a, [
        (case["name"], "%s --cpu=%s" % (case["name"], cpu),
         lambda work, case=case, cpu=cpu: run_case(case, cpu, a.bin, work,
                                                   vnni_host))
        for case in CASES for cpu in CPUS])


if __name__ == "__main__":
    sys.exit(main())
