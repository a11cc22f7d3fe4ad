#!/usr/bin/python3
"""End-to-end ONNX conformance runner for Kiln.

For every ONNX backend node test (test_<name>/model.onnx plus
test_data_set_0/{input,output}_<i>.pb) this compiles the model with
kiln-compile, runs it with kiln-run and compares every output with the
reference, then classifies the test as one of:

  pass          every output matches
  compile-fail  kiln-compile failed (detail: its first error line)
  run-fail      kiln-run failed, or did not write an output
  mismatch      an output differs in dtype, shape or values
  skip          the test uses what Kiln does not take by design: map
                values, sparse tensors
  unreadable    the test's model or data could not be read here

Check mode (the default) compares the results with the expected list
(expected_pass.txt): a listed test that does not pass is a regression and
makes the exit status 1. Tests that pass but are not listed are reported as
newly passing. A listed test that passes only after binding an input at
compile time (--bind-input) must also be listed in expected_bound.txt;
otherwise it is a regression of what runs with every input given at run
time. --update rewrites both lists instead. See README.md.

Run with /usr/bin/python3 (it needs numpy and onnx).
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import graph_values  # noqa: E402

SCRIPT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPT_DIR.parents[2]  # test/e2e/conformance -> repo root

STATUSES = ("pass", "compile-fail", "run-fail", "mismatch", "skip",
            "unreadable")

# ONNX's own runner tolerances (onnx/backend/test/runner).
RTOL = 1e-3
ATOL = 1e-7
# The absolute tolerance ONNX's own backend test of its reference
# implementation gives the DFT tests on Linux
# (onnx/test/reference_evaluator_backend_test.py, test_kwargs): their
# expected outputs hold float32 rounding of the exact answer (see README).
TEST_ATOL = {name: 1e-6 for name in (
    "test_dft", "test_dft_axis", "test_dft_axis_opset19", "test_dft_inverse",
    "test_dft_inverse_opset19", "test_dft_opset19")}

# The detail of a test that passed with inputs bound at compile time.
BOUND_DETAIL = "bound at compile time: "

COMPILE_TIMEOUT_S = 60
RUN_TIMEOUT_S = 120

# TensorProto.DataType values.
ONNX_STRING = 8
ONNX_DTYPE_NAMES = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
    7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64",
    12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128",
    16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz",
    19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4",
    23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2",
}
# The ONNX types that have a NumPy (.npy) equivalent.
ONNX_NUMPY_TYPES = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13}
# Types onnx 1.12's numpy_helper cannot read (or, for bfloat16, reads as
# float32): decoded here by decode_tensor(). kiln-run writes the float ones
# as TensorProto .pb files and the sub-byte integers as int8/uint8 .npy.
ONNX_BFLOAT16 = 16
ONNX_FLOAT8_TYPES = {17, 18, 19, 20, 24}
ONNX_FLOAT4E2M1 = 23
ONNX_SUBBYTE_INT_TYPES = {21: (4, False), 22: (4, True), 25: (2, False),
                          26: (2, True)}  # onnx type -> (bits, signed)
ONNX_DECODED_TYPES = ({ONNX_BFLOAT16, ONNX_FLOAT4E2M1} | ONNX_FLOAT8_TYPES |
                      set(ONNX_SUBBYTE_INT_TYPES))


def try_import_deps():
    try:
        import numpy  # noqa: F401
        import onnx  # noqa: F401
        from onnx import numpy_helper  # noqa: F401
    except Exception as error:  # pragma: no cover - environment problem
        sys.stderr.write(
            "run_conformance: cannot import numpy/onnx (%s); run it with "
            "/usr/bin/python3\n" % error)
        sys.exit(2)


# --- reading a test ---------------------------------------------------------


class Skip(Exception):
    """The test uses something Kiln does not support by design."""


class Unreadable(Exception):
    """The test's files could not be read."""


def value_kind(value_info):
    """'tensor', 'sequence', 'optional', 'map', ... for a ValueInfoProto."""
    try:
        kind = value_info.type.WhichOneof("value")
    except Exception:
        kind = None
    return kind or "unknown"


def read_test(test_dir):
    """Returns (input names, output names, input files, output files,
    input kinds, output kinds) or raises Skip / Unreadable. A kind is
    'tensor', 'sequence' or 'optional' (graph_values.py)."""
    import onnx

    model_path = test_dir / "model.onnx"
    data_dir = test_dir / "test_data_set_0"
    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception as error:
        raise Unreadable("cannot load model.onnx: %s" % one_line(error))
    try:
        graph = model.graph
        initializers = {init.name for init in graph.initializer}
        initializers.update(s.values.name for s in graph.sparse_initializer)
        inputs = [i for i in graph.input if i.name not in initializers]
        outputs = list(graph.output)
        for role, values in (("input", inputs), ("output", outputs)):
            for value in values:
                kind = value_kind(value)
                if kind == "tensor_type":
                    continue  # strings too: kiln-compile refuses them
                elif kind in ("sequence_type", "optional_type"):
                    continue  # passed whole (graph_values.py)
                elif kind in ("map_type", "sparse_tensor_type"):
                    kind = kind.replace("_type", "").replace("_", " ")
                    raise Skip("%s '%s' is %s %s" % (
                        role, value.name,
                        "an" if kind[0] in "aeiou" else "a", kind))
                else:
                    raise Skip("%s '%s' has type '%s'" %
                               (role, value.name, kind))
        input_names = [i.name for i in inputs]
        output_names = [o.name for o in outputs]
        input_kinds = [graph_values.kind_of(i) for i in inputs]
        output_kinds = [graph_values.kind_of(o) for o in outputs]
    except Skip:
        raise
    except Exception as error:
        raise Unreadable("cannot read the model's graph: %s" %
                         one_line(error))

    input_files = [data_dir / ("input_%d.pb" % i)
                   for i in range(len(input_names))]
    output_files = [data_dir / ("output_%d.pb" % j)
                    for j in range(len(output_names))]
    for path in input_files + output_files:
        if not path.is_file():
            raise Unreadable("missing %s" % path.relative_to(test_dir))
    extra = sorted(p.name for p in data_dir.glob("input_*.pb")
                   if p not in input_files)
    if extra:
        raise Unreadable("test data has more inputs than the graph (%s)" %
                         ", ".join(extra))
    return (input_names, output_names, input_files, output_files,
            input_kinds, output_kinds)


# --- low-precision tensors -------------------------------------------------
#
# onnx 1.12 predates float8, float4 and the 2-bit types (and reads bfloat16
# as float32), so tensors of ONNX_DECODED_TYPES are decoded here, from the
# TensorProto fields ONNX 1.22 writes: raw_data (little-endian; sub-byte
# types packed, element 0 in the low bits) or int32_data (one element per
# value for bfloat16/float8, one packed byte per value for sub-byte types).


class Encoded:
    """A bfloat16/float8/float4 tensor as its bit patterns (uint16 for
    bfloat16, else uint8 with float4e2m1's 4-bit code in the low bits)."""

    def __init__(self, onnx_type, codes):
        self.onnx_type = onnx_type
        self.codes = codes

    @property
    def shape(self):
        return self.codes.shape

    @property
    def dtype_name(self):
        return ONNX_DTYPE_NAMES[self.onnx_type]


def unpack_bits(packed, count, bits):
    """Packed bytes (element 0 in the low bits) -> `count` uint8 codes."""
    import numpy as np
    per_byte = 8 // bits
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    codes = (packed[:, None] >> shifts[None, :]) & ((1 << bits) - 1)
    return codes.reshape(-1)[:count].astype(np.uint8)


def decode_tensor(tensor, what):
    """A TensorProto of ONNX_DECODED_TYPES -> an Encoded (bfloat16, float8,
    float4e2m1) or an int8/uint8 array, one element per byte (int4, uint4,
    int2, uint2). Raises Unreadable if the fields do not add up."""
    import numpy as np

    onnx_type = tensor.data_type
    dims = [int(d) for d in tensor.dims]
    count = int(np.prod(dims)) if dims else 1
    bits = (16 if onnx_type == ONNX_BFLOAT16 else
            8 if onnx_type in ONNX_FLOAT8_TYPES else
            4 if onnx_type == ONNX_FLOAT4E2M1 else
            ONNX_SUBBYTE_INT_TYPES[onnx_type][0])
    stored = (count * bits + 7) // 8 if bits < 8 else count
    if tensor.HasField("raw_data"):
        if bits == 16:
            if len(tensor.raw_data) != 2 * count:
                raise Unreadable("%s: raw_data has %d bytes, %d needed" %
                                 (what, len(tensor.raw_data), 2 * count))
            values = np.frombuffer(tensor.raw_data, dtype="<u2")
        else:
            if len(tensor.raw_data) != stored:
                raise Unreadable("%s: raw_data has %d bytes, %d needed" %
                                 (what, len(tensor.raw_data), stored))
            values = np.frombuffer(tensor.raw_data, dtype=np.uint8)
    else:
        if len(tensor.int32_data) != stored:
            raise Unreadable("%s: int32_data has %d values, %d needed" %
                             (what, len(tensor.int32_data), stored))
        values = np.array(tensor.int32_data, dtype=np.int64)
        values = (values & (0xffff if bits == 16 else 0xff)).astype(
            np.uint16 if bits == 16 else np.uint8)
    if bits < 8:
        values = unpack_bits(values, count, bits)
    values = values.reshape(dims)
    if onnx_type in ONNX_SUBBYTE_INT_TYPES:
        if ONNX_SUBBYTE_INT_TYPES[onnx_type][1]:  # sign-extend
            values = values.astype(np.int16)
            values = np.where(values >= 1 << (bits - 1), values - (1 << bits),
                              values).astype(np.int8)
        return values
    return Encoded(onnx_type, values.copy())


def minifloat_to_float64(codes, exponent_bits, mantissa_bits, bias, nans):
    """float8/float4 bit patterns -> float64. `nans`: "ieee" (all-ones
    exponent is inf or NaN: e5m2), "fn" (only S.1111.111 is NaN: e4m3fn),
    "fnuz" (only 0x80 is NaN, no inf: the *fnuz types), "none" (float4)."""
    import numpy as np
    codes = codes.astype(np.int64)
    total = 1 + exponent_bits + mantissa_bits
    magnitude_mask = (1 << (total - 1)) - 1
    negative = (codes >> (total - 1)) & 1
    magnitude = codes & magnitude_mask
    exponent = magnitude >> mantissa_bits
    mantissa = magnitude & ((1 << mantissa_bits) - 1)
    value = np.where(
        exponent == 0,
        np.ldexp(mantissa.astype(np.float64), 1 - bias - mantissa_bits),
        np.ldexp((mantissa | (1 << mantissa_bits)).astype(np.float64),
                 (exponent - bias - mantissa_bits).astype(np.int32)))
    value = np.where(negative == 1, -value, value)
    max_exponent = (1 << exponent_bits) - 1
    if nans == "ieee":
        value = np.where((exponent == max_exponent) & (mantissa == 0),
                         np.where(negative == 1, -np.inf, np.inf), value)
        value = np.where((exponent == max_exponent) & (mantissa != 0),
                         np.nan, value)
    elif nans == "fn":
        value = np.where(magnitude == magnitude_mask, np.nan, value)
    elif nans == "fnuz":
        value = np.where(codes == 0x80, np.nan, value)
    return value


def to_float64(encoded):
    """The values of an Encoded as float64 (NaNs where the format has
    them)."""
    import numpy as np
    codes = encoded.codes
    kind = encoded.onnx_type
    if kind == ONNX_BFLOAT16:
        return (codes.astype(np.uint32) << 16).view(np.float32).astype(
            np.float64)
    if kind == 24:  # float8e8m0: 2^(e - 127), 0xff NaN, no sign, no zero
        return np.where(codes == 0xff, np.nan,
                        np.ldexp(1.0, codes.astype(np.int32) - 127))
    formats = {17: (4, 3, 7, "fn"), 18: (4, 3, 8, "fnuz"),
               19: (5, 2, 15, "ieee"), 20: (5, 2, 16, "fnuz"),
               ONNX_FLOAT4E2M1: (2, 1, 1, "none")}
    exponent_bits, mantissa_bits, bias, nans = formats[kind]
    return minifloat_to_float64(codes, exponent_bits, mantissa_bits, bias,
                                nans)


def read_tensor_proto(path, what):
    """Reads a TensorProto file: (array or Encoded, onnx dtype)."""
    from onnx import TensorProto

    try:
        with open(path, "rb") as stream:
            data = stream.read()
        tensor = TensorProto()
        tensor.ParseFromString(data)
    except Exception as error:
        raise Unreadable("cannot parse %s: %s" % (what, one_line(error)))
    return tensor_value(tensor, what)


def tensor_value(tensor, what):
    """A TensorProto's (array or Encoded, onnx dtype)."""
    from onnx import numpy_helper

    if tensor.data_type in ONNX_DECODED_TYPES:
        try:
            return decode_tensor(tensor, what), tensor.data_type
        except Unreadable:
            raise
        except Exception as error:
            raise Unreadable("cannot decode %s: %s" % (what, one_line(error)))
    if tensor.data_type not in ONNX_NUMPY_TYPES:
        # complex, string: nothing kiln-run writes matches; the dtype alone
        # decides.
        return None, tensor.data_type
    try:
        array = numpy_helper.to_array(tensor)
    except Exception as error:
        raise Unreadable("cannot decode %s: %s" % (what, one_line(error)))
    return array, tensor.data_type


def read_expected(path, kind="tensor"):
    """Reads an output_<j>.pb: (array, Encoded or None; its onnx dtype) for
    a tensor; for a sequence or optional ('absent', None), ('tensor',
    (array, dtype)) or ('sequence', [(array, dtype), ...])."""
    if kind == "tensor":
        return read_tensor_proto(path, path.name)
    try:
        what, value = graph_values.read_value(path, kind)
    except ValueError as error:
        raise Skip(str(error))
    except Exception as error:
        raise Unreadable("cannot parse %s: %s" % (path.name, one_line(error)))
    if what == "tensor":
        return what, tensor_value(value, path.name)
    if what == "sequence":
        return what, [tensor_value(t, "%s element %d" % (path.name, i))
                      for i, t in enumerate(value)]
    return what, None


# --- comparing --------------------------------------------------------------


def type_name(value):
    """The dtype of an array or an Encoded, for messages."""
    return value.dtype_name if isinstance(value, Encoded) else str(value.dtype)


def compare(name, actual, expected, expected_type, atol=ATOL):
    """Returns None if `actual` matches, else a one-line reason. `actual` is
    what kiln-run wrote (an array from .npy, an Encoded from .pb), `expected`
    the reference (array, Encoded, or None for a dtype nothing matches)."""
    import numpy as np

    if expected is None:
        return ("output '%s': dtype %s, expected %s" %
                (name, type_name(actual), ONNX_DTYPE_NAMES.get(
                    expected_type, "onnx type %d" % expected_type)))
    if isinstance(actual, Encoded) or isinstance(expected, Encoded):
        if (not isinstance(actual, Encoded) or
                not isinstance(expected, Encoded) or
                actual.onnx_type != expected.onnx_type):
            return ("output '%s': dtype %s, expected %s" %
                    (name, type_name(actual), type_name(expected)))
    elif actual.dtype != expected.dtype:
        return ("output '%s': dtype %s, expected %s" %
                (name, actual.dtype, expected.dtype))
    if actual.shape != expected.shape:
        return ("output '%s': shape %s, expected %s" %
                (name, list(actual.shape), list(expected.shape)))
    if int(np.prod(actual.shape)) == 0:
        return None

    if isinstance(actual, Encoded):
        if actual.onnx_type == ONNX_BFLOAT16:  # a float: the usual tolerance
            return compare_floats(name, to_float64(actual),
                                  to_float64(expected), atol)
        return compare_bits(name, actual, expected)

    if actual.dtype.kind in "iub":
        different = actual != expected
        count = int(np.count_nonzero(different))
        if count == 0:
            return None
        a = actual.astype(np.float64)
        b = expected.astype(np.float64)
        abs_err = float(np.max(np.abs(a - b)[different]))
        first = tuple(int(i) for i in np.argwhere(different)[0])
        return ("output '%s': %d of %d elements differ, max abs err %.4g "
                "(first at %s: got %s, expected %s)" %
                (name, count, actual.size, abs_err, list(first),
                 actual[first], expected[first]))

    return compare_floats(name, actual.astype(np.float64),
                          expected.astype(np.float64), atol)


def compare_floats(name, a, b, atol=ATOL):
    """ONNX's tolerance on float64 values: NaNs in the same places,
    infinities equal, |a - b| <= atol + RTOL * |b| elsewhere."""
    import numpy as np

    nan_a, nan_b = np.isnan(a), np.isnan(b)
    bad = nan_a != nan_b
    inf = (np.isinf(a) | np.isinf(b)) & ~nan_a & ~nan_b
    bad |= inf & (a != b)
    finite = ~nan_a & ~nan_b & ~inf
    with np.errstate(all="ignore"):
        diff = np.where(finite, np.abs(a - b), 0.0)
        bad |= finite & (diff > atol + RTOL * np.abs(b))
        count = int(np.count_nonzero(bad))
        if count == 0:
            return None
        abs_err = float(np.max(diff)) if finite.any() else 0.0
        rel = np.where(finite & (b != 0), diff / np.abs(b), 0.0)
        rel_err = float(np.max(rel)) if finite.any() else 0.0
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return ("output '%s': %d of %d elements outside tolerance, max abs err "
            "%.4g, max rel err %.4g (first at %s: got %.7g, expected %.7g)" %
            (name, count, a.size, abs_err, rel_err, list(first),
             a[first], b[first]))


def compare_bits(name, actual, expected):
    """float8/float4: the exact bit pattern, except that any NaN matches any
    NaN (e4m3fn has two)."""
    import numpy as np

    a, b = to_float64(actual), to_float64(expected)
    bad = (actual.codes != expected.codes) & ~(np.isnan(a) & np.isnan(b))
    count = int(np.count_nonzero(bad))
    if count == 0:
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return ("output '%s': %d of %d %s elements differ (first at %s: got "
            "0x%02x = %.7g, expected 0x%02x = %.7g)" %
            (name, count, a.size, actual.dtype_name, list(first),
             int(actual.codes[first]), a[first], int(expected.codes[first]),
             b[first]))


def declared_output_types(kiln_run, artifact, output_names):
    """{output name: dtype name} from kiln-run --print-signature, or None.
    int4/int2 outputs reach .npy as int8 (uint4/uint2 as uint8), so only
    the signature tells them apart."""
    try:
        process = subprocess.run([kiln_run, str(artifact),
                                  "--print-signature"],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL,
                                 timeout=RUN_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if process.returncode != 0:
        return None
    declared = {}
    lines = process.stdout.decode("utf-8", "replace").splitlines()
    for name in output_names:
        prefix = "output %s: " % name
        for line in lines:
            if line.startswith(prefix):
                declared[name] = line[len(prefix):].split("[", 1)[0]
    return declared


# --- running one test -------------------------------------------------------


def one_line(text):
    text = str(text).strip()
    return text.splitlines()[0].strip() if text else ""


def tool_error(stderr, tool):
    """The first error line of a tool, without its 'tool: error: ' prefix."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    prefix = "%s: error: " % tool
    for line in lines:
        if line.startswith(prefix):
            return line[len(prefix):]
    for line in lines:
        if "error" in line.lower():
            return line
    return lines[0] if lines else ""


def describe_exit(returncode):
    if returncode < 0:
        try:
            return "killed by %s" % signal.Signals(-returncode).name
        except ValueError:
            return "killed by signal %d" % -returncode
    return "exit status %d" % returncode


def tool_failure(code, stderr, tool, timeout):
    """Why `tool` failed: it timed out (`code` None), or its error line, with
    how it exited unless that was the usual status 1; None when it did not
    fail."""
    if code is None:
        return "timed out after %d s" % timeout
    if code == 0:
        return None
    message = tool_error(stderr, tool)
    if code != 1:
        message = "%s%s%s" % (describe_exit(code), ": " if message else "",
                              message)
    return message or describe_exit(code)


def run_tool(command, timeout):
    """Returns (returncode or None on timeout, stderr text)."""
    try:
        process = subprocess.run(command, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, ""
    except OSError as error:
        return 127, "cannot start %s: %s" % (command[0], error)
    return process.returncode, process.stderr.decode("utf-8", "replace")


def shell_line(command):
    import shlex
    return " ".join(shlex.quote(str(part)) for part in command)


NEEDS_CONSTANT = re.compile(
    r"node '([^']*)' \(([^)]*)\): .*\(input (\d+)\) must be a constant")


def inputs_needing_values(stderr, test_dir, input_names):
    """The graph inputs that the value kiln-compile says must be a
    compile-time constant is computed from (itself, when it is one)."""
    import onnx
    match = NEEDS_CONSTANT.search(stderr)
    if not match:
        return []
    node_name, op_type, index = match.group(1), match.group(2), int(match.group(3))
    graph = onnx.load(str(test_dir / "model.onnx"), load_external_data=False).graph
    producer = {out: node for node in graph.node for out in node.output}
    wanted = None
    for position, node in enumerate(graph.node):
        # kiln-compile names unnamed nodes <OpType>_<position>.
        name = node.name or "%s_%d" % (node.op_type, position)
        if name == node_name and node.op_type == op_type and index < len(node.input):
            wanted = node.input[index]
    if wanted is None:
        return []
    found, seen, stack = [], set(), [wanted]
    while stack:
        value = stack.pop()
        if value in seen or not value:
            continue
        seen.add(value)
        if value in input_names:
            found.append(value)
        elif value in producer:
            stack.extend(producer[value].input)
    return found


def read_output(out_dir, base, name):
    """What kiln-run wrote for tensor output `name`: (array or Encoded,
    None), or (None, (status, detail)) when it cannot be read."""
    npy_path, pb_path = out_dir / (base + ".npy"), out_dir / (base + ".pb")
    file_name = npy_path.name
    try:
        if npy_path.is_file():
            import numpy as np
            got = np.load(str(npy_path), allow_pickle=False)
        elif pb_path.is_file():
            file_name = pb_path.name
            got, _ = read_tensor_proto(pb_path, file_name)
        else:
            return None, ("run-fail", "kiln-run wrote no %s.npy or %s.pb for "
                          "output '%s'" % (base, base, name))
    except Exception as error:
        return None, ("run-fail", "cannot read %s: %s" %
                      (file_name, one_line(error)))
    if got is None:
        return None, ("run-fail", "%s holds a dtype the runner cannot read" %
                      file_name)
    return got, None


def run_command(options, artifact, run_inputs, bound, out_dir):
    command = [options.kiln_run, str(artifact)]
    for name, path in run_inputs:
        if name not in bound:
            command += ["--input", "%s=%s" % (name, path)]
    return command + ["--output-dir", str(out_dir), "--quiet"]


def run_test(test_dir, options, work_root):
    """Returns (status, detail, reproduction commands)."""
    try:
        (input_names, output_names, input_files, output_files, input_kinds,
         output_kinds) = read_test(test_dir)
        expected = [read_expected(path, kind)
                    for path, kind in zip(output_files, output_kinds)]
    except Skip as reason:
        return "skip", str(reason), []
    except Unreadable as reason:
        return "unreadable", str(reason), []

    if work_root is None:
        work = Path(tempfile.mkdtemp(prefix="kiln-conf-%s-" % test_dir.name))
    else:
        work = work_root / test_dir.name
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    try:
        artifact = work / "model.kiln"
        out_dir = work / "out"
        # Sequences and optionals: element files and compile-time flags.
        value_flags, run_inputs = graph_values.prepare_inputs(
            input_names, input_kinds, input_files, work)
        compile_cmd = [options.kiln_compile, str(test_dir / "model.onnx"),
                       "-o", str(artifact), "--target", "cpu"] + value_flags
        run_cmd = run_command(options, artifact, run_inputs, [], out_dir)
        commands = [shell_line(compile_cmd), shell_line(run_cmd)]

        code, stderr = run_tool(compile_cmd, options.compile_timeout)
        # Kiln reads Reshape's, Expand's, ... shapes at run time, but a
        # graph input that decides a shape in other ways
        # (TopK's K, a Reduce's axes, OneHot's depth) is bound to its test
        # value at compile time with --bind-input and leaves the artifact's
        # inputs. Only inputs the compiler names are bound.
        bound = []
        while code == 1 and not options.no_bind:
            names = [n for n in inputs_needing_values(stderr, test_dir,
                                                      input_names)
                     if n not in bound and
                     input_kinds[input_names.index(n)] == "tensor"]
            if not names:
                break
            bound.extend(names)
            compile_cmd = compile_cmd + [
                "--bind-input=%s=%s" % (n, input_files[input_names.index(n)])
                for n in names]
            run_cmd = run_command(options, artifact, run_inputs, bound,
                                  out_dir)
            commands = [shell_line(compile_cmd), shell_line(run_cmd)]
            code, stderr = run_tool(compile_cmd, options.compile_timeout)
        failure = tool_failure(code, stderr, "kiln-compile",
                               options.compile_timeout)
        if failure:
            return "compile-fail", failure, commands

        code, stderr = run_tool(run_cmd, options.run_timeout)
        failure = tool_failure(code, stderr, "kiln-run", options.run_timeout)
        if failure:
            return "run-fail", failure, commands

        problems = []
        declared = None
        atol = TEST_ATOL.get(test_dir.name, ATOL)
        if any(kind == "tensor" and t in ONNX_SUBBYTE_INT_TYPES
               for kind, (_, t) in zip(output_kinds, expected)):
            declared = declared_output_types(options.kiln_run, artifact,
                                             output_names)
        for name, base, kind, want in zip(
                output_names, graph_values.output_file_bases(output_names),
                output_kinds,
                expected):
            if kind != "tensor":
                result = graph_values.compare_value(
                    out_dir, base, name, want, read_output,
                    lambda *args: compare(*args, atol=atol))
                if result and result[0] == "run-fail":
                    return result[0], result[1], commands
                if result:
                    problems.append(result[1])
                continue
            want, want_type = want
            got, failure = read_output(out_dir, base, name)
            if failure:
                return failure[0], failure[1], commands
            want_name = ONNX_DTYPE_NAMES.get(want_type)
            if (want_type in ONNX_SUBBYTE_INT_TYPES and
                    (declared or {}).get(name) != want_name):
                problem = ("output '%s': dtype %s, expected %s" %
                           (name, (declared or {}).get(name, "unknown"),
                            want_name))
            else:
                problem = compare(name, got, want, want_type, atol)
            if problem:
                problems.append(problem)
        if problems:
            detail = problems[0]
            if len(problems) > 1:
                detail += " (+%d more outputs differ)" % (len(problems) - 1)
            return "mismatch", detail, commands
        if bound:
            return ("pass", BOUND_DETAIL + ", ".join(bound), commands)
        return "pass", "", commands
    except Exception as error:  # a bug here must not stop the whole run
        return "unreadable", "runner error: %s: %s" % (
            type(error).__name__, one_line(error)), []
    finally:
        if work_root is None:
            shutil.rmtree(work, ignore_errors=True)


# --- the expected list ------------------------------------------------------


def read_list(path):
    names = []
    with open(path) as stream:
        for line in stream:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


def write_list(path, names):
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w") as stream:
        for name in sorted(set(names)):
            stream.write(name + "\n")
    os.replace(tmp, path)


# --- main -------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Run the ONNX backend node tests through kiln-compile "
        "and kiln-run and check the results against the expected list.")
    parser.add_argument("tests", nargs="*", metavar="TEST",
                        help="run only these tests (folder names, e.g. "
                        "test_abs)")
    parser.add_argument("--filter", metavar="REGEX",
                        help="run only tests whose name matches REGEX "
                        "(re.search)")
    parser.add_argument("--list", metavar="FILE", dest="list_file",
                        help="run only the tests named in FILE (one a line)")
    parser.add_argument("--only-expected", action="store_true",
                        help="run only the tests in the expected list")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                        help="tests run in parallel (default: %(default)s)")
    parser.add_argument("--kiln-compile",
                        default=str(REPO_ROOT / "build" / "bin" /
                                    "kiln-compile"))
    parser.add_argument("--kiln-run",
                        default=str(REPO_ROOT / "build" / "bin" / "kiln-run"))
    parser.add_argument("--tests-dir",
                        default=str(REPO_ROOT.parent / "shared" /
                                    "onnx-node-tests"))
    parser.add_argument("--expected",
                        default=str(SCRIPT_DIR / "expected_pass.txt"),
                        help="the list of tests that must pass")
    parser.add_argument("--expected-bound",
                        default=str(SCRIPT_DIR / "expected_bound.txt"),
                        help="the listed tests that may need an input bound "
                        "at compile time")
    parser.add_argument("--report", metavar="FILE",
                        help="write a TSV line per test: name, status, detail")
    parser.add_argument("--update", action="store_true",
                        help="rewrite the expected list with the tests that "
                        "pass now (tests not run keep their entries)")
    parser.add_argument("--no-bind", action="store_true",
                        help="never bind a shape-deciding input at compile "
                             "time (measures what runs with every input given "
                             "at run time)")
    parser.add_argument("--summary-only", action="store_true",
                        help="print no per-test lines")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print the commands that reproduce each "
                        "non-passing test")
    parser.add_argument("--work-dir", metavar="DIR",
                        help="keep each test's artifact and outputs in "
                        "DIR/<test> instead of a deleted temporary folder")
    parser.add_argument("--compile-timeout", type=int,
                        default=COMPILE_TIMEOUT_S, metavar="S")
    parser.add_argument("--run-timeout", type=int, default=RUN_TIMEOUT_S,
                        metavar="S")
    options = parser.parse_args(argv)
    if options.jobs < 1:
        parser.error("--jobs must be at least 1")
    return options


def select_tests(options, all_tests, expected):
    selected = all_tests
    if options.only_expected:
        selected = [t for t in selected if t in expected]
    if options.tests:
        wanted = set(options.tests)
        selected = [t for t in selected if t in wanted]
    if options.list_file:
        wanted = set(read_list(options.list_file))
        selected = [t for t in selected if t in wanted]
    if options.filter:
        pattern = re.compile(options.filter)
        selected = [t for t in selected if pattern.search(t)]
    return selected


def main(argv):
    options = parse_args(argv)
    out = sys.stdout

    tests_dir = Path(options.tests_dir)
    if not tests_dir.is_dir():
        print("run_conformance: the ONNX node tests are not at %s "
              "(pass --tests-dir; set KILN_ALLOW_MISSING_CONFORMANCE=1 to "
              "let a missing suite pass)" % tests_dir, file=out)
        if os.environ.get("KILN_ALLOW_MISSING_CONFORMANCE") == "1":
            print("conformance: 0 passed, 0 failed", file=out)
            return 0
        return 1

    try_import_deps()
    for tool in (options.kiln_compile, options.kiln_run):
        if not os.access(tool, os.X_OK):
            print("run_conformance: %s is missing or not executable" % tool,
                  file=out)
            return 1

    expected_path = Path(options.expected)
    expected = []
    if expected_path.is_file():
        expected = read_list(expected_path)
    elif not options.update:
        print("run_conformance: no expected list at %s; every test counts as "
              "new" % expected_path, file=out)
    expected_set = set(expected)
    bound_path = Path(options.expected_bound)
    allowed_bound = read_list(bound_path) if bound_path.is_file() else []
    allowed_bound_set = set(allowed_bound)

    all_tests = sorted(
        entry.name for entry in tests_dir.iterdir()
        if entry.name.startswith("test_") and (entry / "model.onnx").is_file())
    all_set = set(all_tests)
    selected = select_tests(options, all_tests, expected_set)

    # Listed tests whose folder is gone count as failures (only those the
    # selection would have named).
    missing = sorted(t for t in expected_set - all_set
                     if select_tests(options, [t], expected_set))

    work_root = None
    if options.work_dir:
        work_root = Path(options.work_dir).resolve()
        work_root.mkdir(parents=True, exist_ok=True)

    results = {}
    started = time.time()
    total = len(selected)
    with concurrent.futures.ThreadPoolExecutor(options.jobs) as pool:
        futures = {pool.submit(run_test, tests_dir / name, options,
                               work_root): name for name in selected}
        done = 0
        try:
            for future in concurrent.futures.as_completed(futures):
                name = futures[future]
                status, detail, commands = future.result()
                results[name] = (status, detail)
                done += 1
                if not options.summary_only:
                    line = "[%d/%d] %-12s %s" % (done, total, status, name)
                    if detail:
                        line += ": " + detail
                    print(line, file=out, flush=True)
                    if options.verbose and status != "pass":
                        for command in commands:
                            print("    $ " + command, file=out)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise

    for name in missing:
        results[name] = ("unreadable", "listed in %s but not in %s" %
                         (expected_path.name, tests_dir))

    if options.report:
        with open(options.report, "w") as stream:
            stream.write("name\tstatus\tdetail\n")
            for name in sorted(results):
                status, detail = results[name]
                detail = detail.replace("\t", " ").replace("\n", " ")
                stream.write("%s\t%s\t%s\n" % (name, status, detail))

    passed = sorted(n for n, (s, _) in results.items() if s == "pass")
    # Passing tests that needed an input bound at compile time.
    bound = sorted(n for n in passed if results[n][1].startswith(BOUND_DETAIL))
    regressions = sorted(n for n, (s, _) in results.items()
                         if n in expected_set and (
                             s != "pass" or (n in bound and
                                             n not in allowed_bound_set)))
    newly = sorted(n for n in passed if n not in expected_set)

    if options.update:
        ran = set(selected)
        keep = [n for n in expected
                if n not in ran and n in all_set]  # not run: unchanged
        write_list(expected_path, keep + passed)
        print("run_conformance: wrote %d tests to %s" %
              (len(set(keep + passed)), expected_path), file=out)
        if not options.no_bind:
            keep = [n for n in allowed_bound if n not in ran and n in all_set]
            write_list(bound_path, keep + bound)
            print("run_conformance: wrote %d tests to %s" %
                  (len(set(keep + bound)), bound_path), file=out)
    else:
        if regressions:
            print("\nregressions (listed in %s but not passing, or passing "
                  "only with an input bound and not listed in %s):" %
                  (expected_path.name, bound_path.name), file=out)
            for name in regressions:
                status, detail = results[name]
                print("  %s: %s%s" % (name, status,
                                      ": " + detail if detail else ""),
                      file=out)
        if newly:
            print("\n%d newly passing (add to expected_pass.txt with "
                  "--update)%s" % (len(newly), ":" if not options.summary_only
                                   else ""), file=out)
            if not options.summary_only:
                for name in newly:
                    print("  " + name, file=out)

    counts = {status: 0 for status in STATUSES}
    for status, _ in results.values():
        counts[status] += 1
    failed = 0 if options.update else len(regressions)
    print("", file=out)
    print("without binding: %d passed (%d more with an input bound at "
          "compile time)" % (len(passed) - len(bound), len(bound)), file=out)
    print("conformance: %d passed, %d failed" % (len(passed), failed),
          file=out)
    print("statuses: %s; total %d (%.0f s)" % (
        ", ".join("%s %d" % (s, counts[s]) for s in STATUSES),
        len(results), time.time() - started), file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
