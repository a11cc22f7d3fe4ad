#!/usr/bin/python3
"""Matrix products through kiln-compile and kiln-run, against NumPy.

The CPU target packs constant weights into column panels and runs matmuls
as register-blocked vector code (kiln-cpu-pack-matmul-weights,
kiln-cpu-vectorize-contractions). These cases are sized so that every
path of that code runs: sizes the blocks divide and sizes they do not (a
row, column or K remainder), weights stored [K, N] and transposed [N, K]
(Gemm transB=1, with a bias), products of two activations, batched
products, half precision, and a decode-shaped single row.
Usage: check_matmul.py --bin BUILD/bin
Prints one line per case and `matmul: N passed, M failed`.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kiln_tools import check_arguments, compare_close, compile_and_run, run_checks  # noqa: E402

ONNX_TYPE = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16}


def weight_matmul(m, k, n, dtype=np.float32):
    """x[m, k] @ W[k, n], W a constant."""
    def build(rng):
        x = rng.standard_normal((m, k)).astype(dtype)
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
        nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
        return nodes, [("x", x)], [numpy_helper.from_array(w, "w")], \
            x.astype(np.float64) @ w.astype(np.float64)
    return build


def gemm_transposed(m, k, n):
    """Gemm(x, W^T) + b with W[n, k] constant, as PyTorch's Linear."""
    def build(rng):
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)]
        inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
        return nodes, [("x", x)], inits, \
            x.astype(np.float64) @ w.T.astype(np.float64) + b
    return build


def activation_matmul(a_shape, b_shape):
    """Two graph inputs multiplied (batched when rank > 2)."""
    def build(rng):
        a = rng.standard_normal(a_shape).astype(np.float32)
        b = rng.standard_normal(b_shape).astype(np.float32)
        nodes = [helper.make_node("MatMul", ["a", "b"], ["y"])]
        return nodes, [("a", a), ("b", b)], [], \
            a.astype(np.float64) @ b.astype(np.float64)
    return build


def gelu(x):
    from math import erf
    return 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))


def silu(x):
    return x / (1 + np.exp(-x))


def epilogue_matmul(m, k, n, epilogue, bias=False):
    """x[m, k] @ W[k, n] (+ b[n]) followed by an elementwise consumer that
    kiln-cpu-vectorize-contractions{epilogues=1} applies to the accumulator
    tile before its store (the pipeline keeps it a loop nest of its own
    for now; both paths passed these cases): "none", "gelu" (erf form), "silu" (x * sigmoid(x)),
    "residual" (+ r[m, n], a graph input), "scale" (* 0.5) or "swiglu"
    (silu(x @ Wg) * (x @ Wu): two products meeting in one consumer, which
    stays a loop nest of its own)."""
    def build(rng):
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        x64, w64 = x.astype(np.float64), w.astype(np.float64)
        inits = [numpy_helper.from_array(w, "w")]
        inputs = [("x", x)]
        nodes = [helper.make_node("MatMul", ["x", "w"], ["p"])]
        y = x64 @ w64
        last = "p"
        if bias:
            b = rng.standard_normal(n).astype(np.float32)
            inits.append(numpy_helper.from_array(b, "b"))
            nodes.append(helper.make_node("Add", ["p", "b"], ["pb"]))
            y = y + b
            last = "pb"
        if epilogue == "gelu":
            nodes.append(helper.make_node("Gelu", [last], ["y"]))
            y = gelu(y)
        elif epilogue == "silu":
            nodes += [helper.make_node("Sigmoid", [last], ["s"]),
                      helper.make_node("Mul", [last, "s"], ["y"])]
            y = silu(y)
        elif epilogue == "residual":
            r = rng.standard_normal((m, n)).astype(np.float32)
            inputs.append(("r", r))
            nodes.append(helper.make_node("Add", ["r", last], ["y"]))
            y = y + r
        elif epilogue == "scale":
            inits.append(numpy_helper.from_array(np.float32(0.5), "half"))
            nodes.append(helper.make_node("Mul", [last, "half"], ["y"]))
            y = y * 0.5
        elif epilogue == "swiglu":
            wu = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
            inits.append(numpy_helper.from_array(wu, "wu"))
            nodes += [helper.make_node("MatMul", ["x", "wu"], ["u"]),
                      helper.make_node("Sigmoid", [last], ["s"]),
                      helper.make_node("Mul", [last, "s"], ["g"]),
                      helper.make_node("Mul", ["g", "u"], ["y"])]
            y = silu(y) * (x64 @ wu.astype(np.float64))
        else:
            nodes[-1].output[0] = "y"
        return nodes, inputs, inits, y
    return build


CASES = [
    ("weight_blocks_divide", weight_matmul(16, 64, 64)),
    ("weight_row_remainder", weight_matmul(13, 64, 96)),
    ("weight_one_row", weight_matmul(1, 256, 512)),
    ("weight_odd_k", weight_matmul(9, 37, 48)),
    ("weight_n_not_panelled", weight_matmul(8, 32, 20)),
    ("weight_n_column_remainder", weight_matmul(5, 16, 100)),
    ("weight_f16", weight_matmul(12, 64, 48, np.float16)),
    ("gemm_transposed_bias", gemm_transposed(11, 48, 80)),
    ("activations", activation_matmul((19, 24), (24, 40))),
    ("activations_batched", activation_matmul((3, 10, 16), (3, 16, 36))),
    # Epilogues: remainder rows (M = 1, 5, 13), N not a multiple of the
    # 16-lane vector (40, 100) or of the panel pair (48), K odd.
    ("epilogue_bias", epilogue_matmul(5, 64, 96, "none", bias=True)),
    ("epilogue_bias_gelu", epilogue_matmul(13, 48, 64, "gelu", bias=True)),
    ("epilogue_bias_gelu_one_row", epilogue_matmul(1, 64, 48, "gelu", bias=True)),
    ("epilogue_silu", epilogue_matmul(5, 37, 100, "silu")),
    ("epilogue_silu_n_remainder", epilogue_matmul(9, 32, 40, "silu")),
    ("epilogue_residual", epilogue_matmul(5, 64, 64, "residual")),
    ("epilogue_residual_one_row", epilogue_matmul(1, 32, 100, "residual")),
    ("epilogue_bias_residual", epilogue_matmul(13, 40, 48, "residual", bias=True)),
    ("epilogue_scale", epilogue_matmul(8, 64, 32, "scale")),
    ("epilogue_swiglu", epilogue_matmul(5, 64, 96, "swiglu")),
    ("epilogue_swiglu_one_row", epilogue_matmul(1, 48, 40, "swiglu")),
]


def run_case(name, build, bin_dir, work):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    nodes, inputs, inits, expected = build(rng)
    dtype = inputs[0][1].dtype.type
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, ONNX_TYPE[a.dtype.type], a.shape)
         for n, a in inputs],
        [helper.make_tensor_value_info("y", ONNX_TYPE[dtype], None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(work, name + ".onnx")
    onnx.save(model, path)
    out, problem = compile_and_run(bin_dir, path, inputs, work, name)
    if problem:
        return problem
    got = np.load(os.path.join(out, "y.npy")).astype(np.float64)
    rtol, atol = (2e-2, 2e-2) if dtype == np.float16 else (1e-4, 1e-4)
    return compare_close(got, expected, rtol, atol)


def main():
    args = check_arguments(__doc__.splitlines()[0]).parse_args()
    checks = [(name, name,
               lambda work, n=name, b=build: run_case(n, b, args.bin, work))
              for name, build in CASES]
    return run_checks("matmul", args, checks)


if __name__ == "__main__":
    sys.exit(main())
