#!/usr/bin/python3
"""ONNX Einsum through kiln-compile and kiln-run, against numpy.einsum.

Covers the equations transformer graphs use (attention scores and
context, projections, broadcast batches with ellipses, implicit outputs,
three operands). Usage: check_einsum.py --bin BUILD/bin
Prints one line per case and `einsum: N passed, M failed`.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kiln_tools import check_arguments, compare_close, compile_and_run, run_checks  # noqa: E402

CASES = [
    ("attention_scores", "bhqd,bhkd->bhqk", [(2, 3, 4, 8), (2, 3, 5, 8)]),
    ("attention_context", "bhqk,bhkd->bhqd", [(2, 3, 4, 5), (2, 3, 5, 8)]),
    ("projection", "bsh,hd->bsd", [(2, 4, 6), (6, 3)]),
    ("heads_projection", "bshd,hdo->bso", [(2, 4, 3, 5), (3, 5, 7)]),
    ("ellipsis_broadcast", "...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("implicit_output", "ij,jk", [(3, 4), (4, 5)]),
    ("outer_product", "i,j->ij", [(3,), (4,)]),
    ("sum_one_side", "ij,k->i", [(3, 4), (5,)]),
    ("three_operands", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("permute_only", "abc->cab", [(2, 3, 4)]),
]


def run_case(name, equation, shapes, bin_dir, work):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    names = ["x%d" % i for i in range(len(arrays))]
    expected = np.einsum(equation, *[a.astype(np.float64) for a in arrays])
    node = helper.make_node("Einsum", names, ["y"], equation=equation)
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape)
         for n, a in zip(names, arrays)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(work, name + ".onnx")
    onnx.save(model, path)
    out, problem = compile_and_run(bin_dir, path, list(zip(names, arrays)),
                                   work, name)
    if problem:
        return problem
    got = np.load(os.path.join(out, "y.npy"))
    return compare_close(got, expected, rtol=1e-4, atol=1e-5)


def main():
    args = check_arguments(__doc__.splitlines()[0]).parse_args()
    checks = [(name, "%s (%s)" % (name, equation),
               lambda work, n=name, e=equation, s=shapes:
               run_case(n, e, s, args.bin, work))
              for name, equation, shapes in CASES]
    return run_checks("einsum", args, checks)


if __name__ == "__main__":
    sys.exit(main())
