# Writes the two models of errors-sequence.test whose graph input or output
# is a sequence (the ONNX text format of this onnx version has no sequence
# type): input.onnx takes a sequence S and returns its length, output.onnx
# returns the sequence s of its input twice.
import sys

import onnx
from onnx import TensorProto, helper

directory = sys.argv[1]
element = helper.make_tensor_type_proto(TensorProto.FLOAT, [2])
sequence = helper.make_sequence_type_proto(element)


def save(name, nodes, inputs, outputs):
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, directory + "/" + name)


save("input.onnx", [helper.make_node("SequenceLength", ["S"], ["n"])],
     [helper.make_value_info("S", sequence)],
     [helper.make_tensor_value_info("n", TensorProto.INT64, [])])
save("output.onnx", [helper.make_node("SequenceConstruct", ["A", "A"], ["s"])],
     [helper.make_tensor_value_info("A", TensorProto.FLOAT, [2])],
     [helper.make_value_info("s", sequence)])
