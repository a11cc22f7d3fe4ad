#!/usr/bin/python3
"""Builds examples/mlp/mlp.onnx: a two-layer perceptron classifier.

features[batch, 32] -> MatMul + Add -> GELU (erf form, as torch.onnx.export
writes it) -> MatMul + Add -> Softmax -> probs[batch, 10]

The batch dimension is symbolic: one artifact runs any batch (demo.py
compiles a static batch with `--input-shape features=BxD`). Weights come from a fixed seed; the script
also stores a NumPy reference implementation used by demo.py
(`demo.py --bin build/bin --out DIR` compiles and runs it).

Run: /usr/bin/python3 examples/mlp/make_mlp.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
IN, HIDDEN, OUT = 32, 64, 10


def weights():
    rng = np.random.default_rng(2026)
    return {
        "fc1.weight": (rng.standard_normal((IN, HIDDEN)) / np.sqrt(IN)).astype(np.float32),
        "fc1.bias": (0.1 * rng.standard_normal(HIDDEN)).astype(np.float32),
        "fc2.weight": (rng.standard_normal((HIDDEN, OUT)) / np.sqrt(HIDDEN)).astype(np.float32),
        "fc2.bias": (0.1 * rng.standard_normal(OUT)).astype(np.float32),
    }


def reference(features, w):
    """The same computation in NumPy, written independently of the graph."""
    from math import erf, sqrt
    h = features.astype(np.float64) @ w["fc1.weight"] + w["fc1.bias"]
    h = h * 0.5 * (1.0 + np.vectorize(erf)(h / sqrt(2.0)))
    logits = h @ w["fc2.weight"] + w["fc2.bias"]
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def build():
    w = weights()
    scalar = lambda name, v: numpy_helper.from_array(np.array(v, dtype=np.float32), name)
    nodes = [
        helper.make_node("MatMul", ["features", "fc1.weight"], ["h0"], name="fc1/MatMul"),
        helper.make_node("Add", ["h0", "fc1.bias"], ["h1"], name="fc1/Add"),
        helper.make_node("Div", ["h1", "sqrt2"], ["g0"], name="gelu/Div"),
        helper.make_node("Erf", ["g0"], ["g1"], name="gelu/Erf"),
        helper.make_node("Add", ["g1", "one"], ["g2"], name="gelu/Add"),
        helper.make_node("Mul", ["h1", "g2"], ["g3"], name="gelu/Mul"),
        helper.make_node("Mul", ["g3", "half"], ["h2"], name="gelu/Mul_1"),
        helper.make_node("MatMul", ["h2", "fc2.weight"], ["l0"], name="fc2/MatMul"),
        helper.make_node("Add", ["l0", "fc2.bias"], ["logits"], name="fc2/Add"),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1, name="softmax"),
    ]
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    inits += [scalar("sqrt2", np.sqrt(2.0)), scalar("one", 1.0), scalar("half", 0.5)]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", IN])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", OUT])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="kiln-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "mlp.onnx"))


if __name__ == "__main__":
    build()
    print("wrote", os.path.join(HERE, "mlp.onnx"))
