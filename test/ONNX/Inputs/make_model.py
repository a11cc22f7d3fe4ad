"""Writes small binary ONNX models for the importer tests (onnx.helper only;
no numpy needed).

    python3 make_model.py KIND OUT.onnx

KIND is one of:
  weights   Y = X @ W + B, Z = X4 * S: W is float[64,64] in raw_data (above
            the inline limit, so a dense_resource); B (float[64], typed
            float_data) and S (float[4], raw_data) are small, so inline.
  external  Y = X + W with W (float[300]) stored in OUT.onnx.data beside
            the model.
  named     Y = ImageDecoder(X) in a node named "my_decoder".
  external-offset  as external, but W's offset is "x" (not a number).
  external-escape  as external, but W's location is
            "../../../../etc/passwd" (outside the model's folder).
  huge-dims Y = X + W where W claims dims [2^62, 4] and holds no data.
"""
import os
import struct
import sys

import onnx
from onnx import TensorProto, helper


def model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    m = helper.make_model(graph,
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def info(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def raw_floats(name, dims, values):
    data = struct.pack("<%df" % len(values), *values)
    return helper.make_tensor(name, TensorProto.FLOAT, dims, data, raw=True)


def main(kind, out):
    F = TensorProto.FLOAT
    if kind == "weights":
        w = raw_floats("W", [64, 64], [i / 4096.0 for i in range(64 * 64)])
        b = helper.make_tensor("B", F, [64], [0.5] * 64)
        s = raw_floats("S", [4], [1.0, 2.0, 3.0, 4.0])
        m = model(
            [helper.make_node("MatMul", ["X", "W"], ["XW"]),
             helper.make_node("Add", ["XW", "B"], ["Y"]),
             helper.make_node("Mul", ["X4", "S"], ["Z"])],
            [info("X", [2, 64]), info("X4", [4])],
            [info("Y", [2, 64]), info("Z", [4])], [w, b, s])
        onnx.save(m, out)
    elif kind == "external":
        w = raw_floats("W", [300], [0.25] * 300)
        m = model([helper.make_node("Add", ["X", "W"], ["Y"])],
                  [info("X", [300])], [info("Y", [300])], [w])
        onnx.save(m, out, save_as_external_data=True,
                  location=os.path.basename(out) + ".data",
                  size_threshold=0)
    elif kind in ("external-offset", "external-escape"):
        w = raw_floats("W", [300], [0.25] * 300)
        w.ClearField("raw_data")
        w.data_location = TensorProto.EXTERNAL
        location, offset = ((os.path.basename(out) + ".data", "x")
                            if kind == "external-offset"
                            else ("../../../../etc/passwd", "0"))
        for key, value in (("location", location), ("offset", offset)):
            entry = w.external_data.add()
            entry.key, entry.value = key, value
        with open(os.path.join(os.path.dirname(out) or ".",
                               os.path.basename(out) + ".data"), "wb") as f:
            f.write(b"\0" * 1200)
        m = model([helper.make_node("Add", ["X", "W"], ["Y"])],
                  [info("X", [300])], [info("Y", [300])], [w])
        onnx.save(m, out)
    elif kind == "huge-dims":
        w = TensorProto(name="W", data_type=F, dims=[2 ** 62, 4],
                        raw_data=b"")  # make_tensor would check the size
        m = model([helper.make_node("Add", ["X", "W"], ["Y"])],
                  [info("X", [4])], [info("Y", [4])], [w])
        onnx.save(m, out)
    elif kind == "size-mismatch":
        # Dims say 4 floats (16 bytes); raw_data holds 12.
        w = TensorProto(name="W", data_type=F, dims=[4],
                        raw_data=struct.pack("<3f", 1, 2, 3))
        m = model([helper.make_node("Add", ["X", "W"], ["Y"])],
                  [info("X", [4])], [info("Y", [4])], [w])
        onnx.save(m, out)
    elif kind == "cyclic":
        # A reads B's output and B reads A's: no order computes either.
        m = model([helper.make_node("Add", ["X", "B"], ["A"], name="a"),
                   helper.make_node("Relu", ["A"], ["B"], name="b")],
                  [info("X", [4])], [info("B", [4])])
        onnx.save(m, out)
    elif kind == "huge-input":
        # A graph input whose element count overflows int64.
        m = model([helper.make_node("Relu", ["X"], ["Y"])],
                  [info("X", [2 ** 40, 2 ** 40])], [info("Y", [2 ** 40, 2 ** 40])])
        onnx.save(m, out)
    elif kind == "deep":
        # 20,000 nodes in one chain: deep, but nothing wrong with it.
        nodes = [helper.make_node("Relu" if i % 2 else "Neg",
                                  ["X" if i == 0 else f"t{i - 1}"],
                                  ["Y" if i == 19999 else f"t{i}"])
                 for i in range(20000)]
        onnx.save(model(nodes, [info("X", [4])], [info("Y", [4])]), out)
    elif kind == "named":
        m = model([helper.make_node("ImageDecoder", ["X"], ["Y"], name="my_decoder")],
                  [info("X", [3, 3])], [info("Y", [])])
        onnx.save(m, out)
    else:
        sys.exit("unknown kind " + kind)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
