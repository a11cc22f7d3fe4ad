"""Writes kiln-compare's test case into the folder given: model.onnx
(y = relu(x * w) + 1, nodes 'scale', 'relu', 'shift'), the input x.npy, the
NumPy values of every node output in ref/, and in ref-bad/ the same with the
relu's output changed in one element, so that 'relu' is the first node that
diverges (and 'shift', after it, too). collide.onnx is the same model with
its node outputs named 'v/1' and 'v:1', which both become the file name
'v_1': ref-collide/ holds them as kiln-run would name them in graph order,
v_1.npy and v_1_2.npy."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
w = np.array([[1, -2, 3], [-4, 5, -6]], dtype=np.float32)
nodes = [helper.make_node("Mul", ["x", "w"], ["scaled"], name="scale"),
         helper.make_node("Relu", ["scaled"], ["positive"], name="relu"),
         helper.make_node("Add", ["positive", "one"], ["y"], name="shift")]


def save_model(nodes, path):
    graph = helper.make_graph(
        nodes, "compare",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(w, "w"),
         numpy_helper.from_array(np.array(1, dtype=np.float32), "one")])
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, os.path.join(out, path))


save_model(nodes, "model.onnx")
save_model([helper.make_node("Mul", ["x", "w"], ["v/1"], name="scale"),
            helper.make_node("Relu", ["v/1"], ["v:1"], name="relu"),
            helper.make_node("Add", ["v:1", "one"], ["y"], name="shift")],
           "collide.onnx")

x = np.array([[0.5, 1.5, -2.0], [1.0, -0.25, 3.0]], dtype=np.float32)
np.save(os.path.join(out, "x.npy"), x)
values = {"scaled": x * w}
values["positive"] = np.maximum(values["scaled"], 0)
values["y"] = values["positive"] + 1
for folder, change in (("ref", 0.0), ("ref-bad", 0.5)):
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    for name, value in values.items():
        value = value.copy()
        if name != "scaled":
            value[1, 2] += change  # relu's output and what follows it
        np.save(os.path.join(out, folder, name + ".npy"), value)
os.makedirs(os.path.join(out, "ref-collide"), exist_ok=True)
for name, file in (("scaled", "v_1"), ("positive", "v_1_2"), ("y", "y")):
    np.save(os.path.join(out, "ref-collide", file + ".npy"), values[name])
