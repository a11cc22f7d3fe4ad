# Writes the models of sequence-io.test and errors-sequence.test whose graph
# inputs or outputs are sequences or optionals (the ONNX text format of this
# onnx version has no such types), and the test data (.npy) they run on:
#   input.onnx     takes a sequence S of float[2] and returns its length n
#   output.onnx    returns the sequence s = [A, A] of its input A
#   concat.onnx    takes a sequence S of float[?] and returns y, its elements
#                  concatenated, and t = [S[0] + 1, S[0] * 2]
#   optional.onnx  takes an optional tensor O (float[2]); returns whether it
#                  holds one (has) and O itself (o, an optional output)
#   string.onnx    compares two string tensors (Equal)
# With "--data DIR": also DIR/seq/0.npy, 1.npy (a sequence of two float
# tensors) and DIR/o.npy.
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

directory = sys.argv[1]
element = helper.make_tensor_type_proto(TensorProto.FLOAT, [2])
sequence = helper.make_sequence_type_proto(element)
any_element = helper.make_tensor_type_proto(TensorProto.FLOAT, ["n"])
any_sequence = helper.make_sequence_type_proto(any_element)
optional = helper.make_optional_type_proto(element)


def save(name, nodes, inputs, outputs):
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, directory + "/" + name)


save("input.onnx", [helper.make_node("SequenceLength", ["S"], ["n"])],
     [helper.make_value_info("S", sequence)],
     [helper.make_tensor_value_info("n", TensorProto.INT64, [])])
save("output.onnx", [helper.make_node("SequenceConstruct", ["A", "A"], ["s"])],
     [helper.make_tensor_value_info("A", TensorProto.FLOAT, [2])],
     [helper.make_value_info("s", sequence)])
zero = helper.make_tensor("zero", TensorProto.INT64, [], [0])
save("concat.onnx",
     [helper.make_node("ConcatFromSequence", ["S"], ["y"], axis=0),
      helper.make_node("Constant", [], ["z"], value=zero),
      helper.make_node("SequenceAt", ["S", "z"], ["first"]),
      helper.make_node("Constant", [], ["one"],
                       value=helper.make_tensor("one", TensorProto.FLOAT, [],
                                                [1.0])),
      helper.make_node("Add", ["first", "one"], ["plus"]),
      helper.make_node("Add", ["first", "first"], ["twice"]),
      helper.make_node("SequenceConstruct", ["plus", "twice"], ["t"])],
     [helper.make_value_info("S", any_sequence)],
     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m"]),
      helper.make_value_info("t", any_sequence)])
save("optional.onnx",
     [helper.make_node("OptionalHasElement", ["O"], ["has"]),
      helper.make_node("Identity", ["O"], ["o"])],
     [helper.make_value_info("O", optional)],
     [helper.make_tensor_value_info("has", TensorProto.BOOL, []),
      helper.make_value_info("o", optional)])
save("string.onnx", [helper.make_node("Equal", ["x", "y"], ["z"])],
     [helper.make_tensor_value_info("x", TensorProto.STRING, [2]),
      helper.make_tensor_value_info("y", TensorProto.STRING, [2])],
     [helper.make_tensor_value_info("z", TensorProto.BOOL, [2])])

if len(sys.argv) > 3 and sys.argv[2] == "--data":
    data = sys.argv[3]
    os.makedirs(data + "/seq", exist_ok=True)
    np.save(data + "/seq/0.npy", np.array([1.5, -2.0, 3.0], np.float32))
    np.save(data + "/seq/1.npy", np.array([4.0, 0.25], np.float32))
    np.save(data + "/o.npy", np.array([7.0, -1.0], np.float32))
