#!/usr/bin/python3
"""Checks run_conformance.py's decoders of the tensor types onnx 1.12 cannot
read (bfloat16, float8, float4e2m1, int4/uint4, int2/uint2) against ONNX's
own test data: every test_cast*_<TYPE>_to_FLOAT* test pairs a tensor of such
a type with the float32 (or float16, or int8/uint8) values ONNX says it
holds, so decoding the input must give exactly the expected output.

Usage: check_decoders.py [TESTS_DIR]   (default ../shared/onnx-node-tests)
Prints "decoders: N passed, M failed" and exits 1 on a failure.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_conformance as rc  # noqa: E402

SOURCES = ("BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
           "FLOAT8E5M2FNUZ", "FLOAT8E8M0", "FLOAT4E2M1", "INT4", "UINT4",
           "INT2", "UINT2")


def check(test_dir):
    data = test_dir / "test_data_set_0"
    source, source_type = rc.read_tensor_proto(data / "input_0.pb", "input_0")
    target, _ = rc.read_tensor_proto(data / "output_0.pb", "output_0")
    if source_type not in rc.ONNX_DECODED_TYPES:
        return "input_0 is %s, not a decoded type" % source_type
    if isinstance(source, rc.Encoded):
        values = rc.to_float64(source)
    else:
        values = source.astype(np.float64)
    # Round to the target's type first: 2^-127 (float8e8m0 0x00) is 0 in
    # float16.
    with np.errstate(all="ignore"):
        values = values.astype(target.dtype).astype(np.float64)
    expected = target.astype(np.float64)
    if values.shape != expected.shape:
        return "shape %s, expected %s" % (values.shape, expected.shape)
    same = (values == expected) | (np.isnan(values) & np.isnan(expected))
    if not same.all():
        first = tuple(np.argwhere(~same)[0])
        return "at %s: decoded %r, expected %r" % (
            list(first), values[first], expected[first])
    return None


def main(argv):
    tests_dir = Path(argv[1] if len(argv) > 1 else
                     rc.REPO_ROOT.parent / "shared" / "onnx-node-tests")
    tests = sorted(
        d for d in tests_dir.glob("test_cast*_to_*")
        if d.name.split("_to_")[0].split("_")[-1] in SOURCES and
        not d.name.endswith("_expanded"))
    passed = failed = 0
    for test in tests:
        problem = check(test)
        if problem:
            failed += 1
            print("FAIL %s: %s" % (test.name, problem))
        else:
            passed += 1
            print("ok   %s" % test.name)
    print("decoders: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
