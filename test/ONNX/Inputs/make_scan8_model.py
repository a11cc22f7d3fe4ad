# Writes a Scan of opset 8 for scan-opset8.test: no sequence_lens (an
# empty first input), states [2, 3], scan input [2, 4, 3] read backwards
# (directions = [1]); the body adds the step to the state and outputs the
# new state and twice it.
import sys

import onnx
from onnx import TensorProto, helper

body = helper.make_graph(
    [helper.make_node("Add", ["si", "xi"], ["so"]),
     helper.make_node("Add", ["so", "so"], ["y"])],
    "step",
    [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3])
     for n in ("si", "xi")],
    [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3])
     for n in ("so", "y")])
scan = helper.make_node("Scan", ["", "S0", "X"], ["s", "ys"],
                        num_scan_inputs=1, directions=[1], body=body)
graph = helper.make_graph(
    [scan], "g",
    [helper.make_tensor_value_info("S0", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 4, 3])],
    [helper.make_tensor_value_info("s", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("ys", TensorProto.FLOAT, [2, 4, 3])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)])
model.ir_version = 4
onnx.save(model, sys.argv[1])
