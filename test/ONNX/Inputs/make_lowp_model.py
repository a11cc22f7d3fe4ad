"""Writes small binary ONNX models with the low-precision element types
(float8*, int4/uint4, int2/uint2, float4e2m1: ONNX types 17-26) for the
importer tests. ONNX's text format (as parsed by the libonnx Kiln builds
with) and the onnx Python package of that version have no names for these
types, so tensors are built as TensorProto messages with the numeric
data_type (an int32 field) and hand-packed bytes; onnx.helper only
assembles the graph. No numpy needed.

    python3 make_lowp_model.py KIND OUT.onnx

KIND is one of:
  initializers  one DequantizeLinear per low-precision initializer:
                  W   int4[2,3]     raw_data, packed (1, -2, 7, -8, 0, 3)
                  U   uint4[5]      int32_data, packed (1, 15, 8, 0, 9)
                  I2  int2[5]       raw_data, packed (1, -1, -2, 0, 1)
                  U2  uint2[4]      raw_data, packed (3, 0, 1, 2)
                  F4  float4e2m1[4] raw_data, packed (1, -0.5, 6, -6)
                  F8  float8e4m3fn[3]  raw_data (1, -2, 448)
                  E5  float8e5m2[2]    int32_data (1.5, -inf)
                  E8  float8e8m0[2]    raw_data (2^0, 2^-3): the scale of F4
  inputs        DequantizeLinear of an int4 graph input X[2,8] with an int4
                zero point ZP[2,4] per block of 2, of a uint4 input with a
                scalar uint4 zero point, and of an int2 input; QuantizeLinear
                of a float input to an int4 graph output
  bad-packed    an int4[5] initializer whose raw_data has 2 bytes, not 3
"""
import struct
import sys

import onnx
from onnx import TensorProto, helper

FLOAT8E4M3FN, FLOAT8E5M2 = 17, 19
UINT4, INT4, FLOAT4E2M1, FLOAT8E8M0, UINT2, INT2 = 21, 22, 23, 24, 25, 26


def packed(values, bits):
    """ONNX's sub-byte layout: element 0 in the low bits of byte 0."""
    per_byte = 8 // bits
    out = bytearray((len(values) + per_byte - 1) // per_byte)
    for i, v in enumerate(values):
        out[i // per_byte] |= (v & ((1 << bits) - 1)) << (bits * (i % per_byte))
    return bytes(out)


def tensor(name, data_type, dims, raw=None, int32_data=None):
    t = TensorProto()
    t.name = name
    t.data_type = data_type
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    if int32_data is not None:
        t.int32_data.extend(int32_data)
    return t


def scalar(name, value):
    return helper.make_tensor(name, TensorProto.FLOAT, [], [value])


def info(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def model(nodes, inputs, outputs, initializers):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializers)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    return m


def dq(x, s, y, zp=None, **attrs):
    return helper.make_node("DequantizeLinear", [x, s] + ([zp] if zp else []),
                            [y], **attrs)


def main(kind, out):
    if kind == "initializers":
        inits = [
            tensor("W", INT4, [2, 3], raw=packed([1, -2, 7, -8, 0, 3], 4)),
            tensor("U", UINT4, [5],
                   int32_data=list(packed([1, 15, 8, 0, 9], 4))),
            tensor("I2", INT2, [5], raw=packed([1, -1, -2, 0, 1], 2)),
            tensor("U2", UINT2, [4], raw=packed([3, 0, 1, 2], 2)),
            # fp4 codes: 1.0 = 0x2, -0.5 = 0x9, 6.0 = 0x7, -6.0 = 0xF.
            tensor("F4", FLOAT4E2M1, [4], raw=packed([0x2, 0x9, 0x7, 0xF], 4)),
            # e4m3fn: 1.0 = 0x38, -2.0 = 0xC0, 448 = 0x7E.
            tensor("F8", FLOAT8E4M3FN, [3], raw=bytes([0x38, 0xC0, 0x7E])),
            # e5m2: 1.5 = 0x3E, -inf = 0xFC, one byte per int32.
            tensor("E5", FLOAT8E5M2, [2], int32_data=[0x3E, 0xFC]),
            # e8m0: 2^0 = 127, 2^-3 = 124.
            tensor("E8", FLOAT8E8M0, [2], raw=bytes([127, 124])),
            scalar("S", 0.5),
        ]
        nodes = [
            dq("W", "S", "w"), dq("U", "S", "u"), dq("I2", "S", "i2"),
            dq("U2", "S", "u2"), dq("F8", "S", "f8"), dq("E5", "S", "e5"),
            # MXFP4-style: F4 in blocks of 2 along axis 0 with e8m0 scales.
            dq("F4", "E8", "f4", axis=0, block_size=2),
        ]
        outputs = [info("w", [2, 3]), info("u", [5]), info("i2", [5]),
                   info("u2", [4]), info("f8", [3]), info("e5", [2]),
                   info("f4", [4])]
        onnx.save(model(nodes, [], outputs, inits), out)
    elif kind == "inputs":
        nodes = [
            dq("X", "S", "x", "ZP", axis=1, block_size=2),
            dq("XU", "SS", "xu", "ZU"),
            dq("X2", "SS", "x2"),
            helper.make_node("QuantizeLinear", ["F", "SS"], ["q"],
                             output_dtype=INT4),
        ]
        inputs = [info("X", [2, 8], INT4), info("S", [2, 4]),
                  info("ZP", [2, 4], INT4), info("XU", [3], UINT4),
                  info("SS", []), info("ZU", [], UINT4),
                  info("X2", [4], INT2), info("F", [4])]
        outputs = [info("x", [2, 8]), info("xu", [3]), info("x2", [4]),
                   info("q", [4], INT4)]
        onnx.save(model(nodes, inputs, outputs, []), out)
    elif kind == "bad-packed":
        inits = [tensor("W", INT4, [5], raw=bytes([0x21, 0x43])),
                 scalar("S", 1.0)]
        onnx.save(model([dq("W", "S", "w")], [], [info("w", [5])], inits), out)
    else:
        sys.exit("unknown kind " + kind)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
