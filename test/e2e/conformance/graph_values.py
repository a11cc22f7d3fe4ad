"""Sequence and optional graph inputs and outputs for run_conformance.py.

Kiln compiles a sequence input for a fixed number of elements
(kiln-compile --sequence-input NAME=N, each element the tensor input
NAME[i]) and an empty optional input as no input (--absent-input NAME).
kiln-run takes a sequence input as a directory of element files 0.pb,
1.pb, ... and writes a sequence output as the directory NAME/ of 0.npy,
1.npy, ...; an empty optional output writes no file. The test data holds
them as ONNX SequenceProto and OptionalProto files. Also: the names of
the files kiln-run writes.
"""

from pathlib import Path

# --- kiln-run's output file names ------------------------------------------


def sanitize_file_name(name):
    """Mirrors sanitizeFileName() in tools/kiln-run/output_writer.cpp."""
    result = "".join(
        c if (("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9")
              or c in ".-_") else "_"
        for c in name)
    if not result or result[0] == ".":
        result = "_" + result
    return result


def output_file_bases(output_names):
    """The file names, without extension, kiln-run writes for outputs in
    this order: sanitized, with _2, _3... appended on collisions
    (OutputWriter::add). The extension is .npy, or .pb for dtypes NumPy
    lacks (bfloat16, float8, float4e2m1)."""
    used = set()
    files = []
    for name in output_names:
        # kiln-run sanitizes byte by byte; non-ASCII characters are one '_'
        # per UTF-8 byte.
        base = sanitize_file_name(
            name.encode("utf-8").decode("latin-1"))
        candidate = base
        suffix = 2
        while candidate in used:
            candidate = "%s_%d" % (base, suffix)
            suffix += 1
        used.add(candidate)
        files.append(candidate)
    return files


# SequenceProto.DataType and OptionalProto.DataType (the same numbers).
UNDEFINED, TENSOR, SEQUENCE = 0, 1, 3


def kind_of(value_info):
    """'tensor', 'sequence' or 'optional' for a graph input or output's
    ValueInfoProto; None for any other kind (maps, sparse tensors)."""
    kind = value_info.type.WhichOneof("value")
    return {"tensor_type": "tensor", "sequence_type": "sequence",
            "optional_type": "optional"}.get(kind)


def sequence_tensors(sequence, what):
    """The TensorProtos of a SequenceProto of tensors."""
    if sequence.elem_type not in (UNDEFINED, TENSOR):
        raise ValueError("%s: a sequence of elem_type %d (Kiln passes "
                         "sequences of tensors)" % (what, sequence.elem_type))
    return list(sequence.tensor_values)


def read_value(path, kind):
    """A test file of a `kind` ('sequence' or 'optional') value: ('absent',
    None), ('tensor', TensorProto) or ('sequence', [TensorProto, ...]).
    The two messages have the same field numbers, so the declared kind
    decides how the bytes are read. Raises ValueError on what Kiln does not
    pass (maps, sequences of sequences)."""
    from onnx import OptionalProto, SequenceProto

    data = Path(path).read_bytes()
    if kind == "sequence":
        sequence = SequenceProto()
        sequence.ParseFromString(data)
        return "sequence", sequence_tensors(sequence, Path(path).name)
    optional = OptionalProto()
    optional.ParseFromString(data)
    if optional.elem_type == TENSOR:
        return "tensor", optional.tensor_value
    if optional.elem_type == SEQUENCE:
        return "sequence", sequence_tensors(optional.sequence_value,
                                            Path(path).name)
    if optional.elem_type == UNDEFINED:
        return "absent", None
    raise ValueError("%s: an optional of elem_type %d" %
                     (Path(path).name, optional.elem_type))


def shape_text(tensor):
    dims = [int(d) for d in tensor.dims]
    return "x".join(str(d) for d in dims) if dims else "scalar"


def prepare_inputs(names, kinds, files, work):
    """The kiln-compile flags and kiln-run (name, path) pairs that pass the
    test's inputs: tensors as they are, sequences as directories of .pb
    element files with their length (and each element's shape) given at
    compile time, empty optionals as --absent-input."""
    compile_flags, run_inputs = [], []
    for index, (name, kind, path) in enumerate(zip(names, kinds, files)):
        if kind == "tensor":
            run_inputs.append((name, str(path)))
            continue
        what, value = read_value(path, kind)
        if what == "absent":
            compile_flags.append("--absent-input=%s" % name)
        elif what == "tensor":
            element = work / ("input_%d.pb" % index)
            element.write_bytes(value.SerializeToString())
            compile_flags.append("--input-shape=%s=%s" %
                                 (name, shape_text(value)))
            run_inputs.append((name, str(element)))
        else:
            folder = work / ("input_%d" % index)
            folder.mkdir()
            compile_flags.append("--sequence-input=%s=%d" % (name, len(value)))
            for i, tensor in enumerate(value):
                (folder / ("%d.pb" % i)).write_bytes(tensor.SerializeToString())
                compile_flags.append("--input-shape=%s[%d]=%s" %
                                     (name, i, shape_text(tensor)))
            run_inputs.append((name, str(folder)))
    return compile_flags, run_inputs


def read_output_files(out_dir, base):
    """The element files kiln-run wrote for a sequence output, in order, or
    None when it wrote no directory."""
    folder = out_dir / base
    if not folder.is_dir():
        return None
    found = []
    while True:
        for ext in (".npy", ".pb"):
            path = folder / ("%d%s" % (len(found), ext))
            if path.is_file():
                found.append(path)
                break
        else:
            break
    extra = len([p for p in folder.iterdir()]) - len(found)
    if extra:
        raise ValueError("%s/ holds %d files besides 0..%d" %
                         (base, extra, len(found) - 1))
    return found


def compare_value(out_dir, base, name, want, read_output, compare):
    """Compares a sequence or optional output with the reference: None,
    or (status, detail). `read_output(dir, base, name)` and
    `compare(name, got, want, want_type)` are run_conformance.py's."""
    what, value = want
    if what == "absent":
        written = [p.name for p in (out_dir / (base + ".npy"),
                                    out_dir / (base + ".pb"), out_dir / base)
                   if p.exists()]
        if written:
            return "mismatch", ("output '%s': expected an empty optional, "
                                "kiln-run wrote %s" % (name, written[0]))
        return None
    if what == "tensor":
        got, failure = read_output(out_dir, base, name)
        if failure:
            return failure
        problem = compare(name, got, value[0], value[1])
        return ("mismatch", problem) if problem else None
    try:
        files = read_output_files(out_dir, base)
    except ValueError as error:
        return "run-fail", str(error)
    if files is None:
        return "run-fail", ("kiln-run wrote no directory %s/ for sequence "
                            "output '%s'" % (base, name))
    if len(files) != len(value):
        return "mismatch", ("output '%s': a sequence of %d tensors, expected "
                            "%d" % (name, len(files), len(value)))
    for i, (want_array, want_type) in enumerate(value):
        element = "%s[%d]" % (name, i)
        got, failure = read_output(out_dir / base, str(i), element)
        if failure:
            return failure
        problem = compare(element, got, want_array, want_type)
        if problem:
            return "mismatch", problem
    return None
