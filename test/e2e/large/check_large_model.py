#!/usr/bin/python3
"""A model whose weights exceed 4 GB (ONNX external data) through
kiln-compile and kiln-run, against NumPy.

The model is made at test time and deleted afterwards: `y = Gather(table,
ids) * scale + bias`, where `table` is a [ROWS, 1024] float32 embedding of
4.4 GB, past protobuf's 2 GB limit (so it can only be external data) and
past 32-bit offsets in the artifact. Its file is sparse (truncated to size,
then a few rows written: the first, rows across 2 GiB and 4 GiB, the
last), so making it costs no disk and gathering is cheap; the artifact
writer leaves the zero MiBs as holes too. `scale` sits at offset 0 of the
same file, `table` at a page-aligned offset (mapped, not copied), `bias`
([8, 1024], 32 KB, mapped too) at an offset that is not 16-byte aligned
after the table (copied once). The reference is NumPy reading the same
file through np.memmap.

With --rss, kiln-compile runs under /usr/bin/time -v and its peak RSS is
printed. Usage: check_large_model.py --bin BUILD/bin [--keep DIR] [--rss]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

DIM = 1024
ROWS = 1_075_000                    # 4.40e9 bytes of float32
TABLE_OFFSET = 65536                # after `scale`, page aligned
TABLE_BYTES = ROWS * DIM * 4
BIAS_OFFSET = TABLE_OFFSET + TABLE_BYTES + 4   # 4 mod 16: not aligned
BIAS_BYTES = 8 * DIM * 4
FILE_BYTES = BIAS_OFFSET + BIAS_BYTES
# The first rows, the rows on each side of 2 GiB and 4 GiB (in the file and,
# about, in the artifact), the last.
WRITTEN_ROWS = [0, 1] + [(boundary - TABLE_OFFSET) // (DIM * 4) + k
                         for boundary in (2**31, 2**32) for k in (0, 1)] + [
                             ROWS - 1]


def external(name, shape, offset, length):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(shape)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "weights.bin"), ("offset", offset),
                       ("length", length)):
        entry = t.external_data.add()
        entry.key, entry.value = key, str(value)
    return t


def make_model(work):
    """Writes model.onnx and its sparse weights.bin; returns the model path."""
    rng = np.random.default_rng(7)
    with open(os.path.join(work, "weights.bin"), "wb") as f:
        f.truncate(FILE_BYTES)
        f.seek(0)
        f.write(rng.uniform(0.5, 2, DIM).astype(np.float32).tobytes())
        for row in WRITTEN_ROWS:
            f.seek(TABLE_OFFSET + row * DIM * 4)
            f.write(rng.standard_normal(DIM).astype(np.float32).tobytes())
        f.seek(BIAS_OFFSET)
        f.write(rng.standard_normal(8 * DIM).astype(np.float32).tobytes())
    nodes = [helper.make_node("Gather", ["table", "ids"], ["rows"], axis=0),
             helper.make_node("Mul", ["rows", "scale"], ["scaled"]),
             helper.make_node("Add", ["scaled", "bias"], ["y"])]
    graph = helper.make_graph(
        nodes, "large",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, DIM])],
        initializer=[external("table", [ROWS, DIM], TABLE_OFFSET, TABLE_BYTES),
                     external("scale", [DIM], 0, DIM * 4),
                     external("bias", [8, DIM], BIAS_OFFSET, BIAS_BYTES)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = os.path.join(work, "model.onnx")
    onnx.save(model, path)
    return path


def reference(work, ids):
    weights = np.memmap(os.path.join(work, "weights.bin"), np.float32, "r")
    table = weights[TABLE_OFFSET // 4:(TABLE_OFFSET + TABLE_BYTES) // 4]
    table = table.reshape(ROWS, DIM)
    scale = np.array(weights[:DIM])
    with open(os.path.join(work, "weights.bin"), "rb") as f:
        f.seek(BIAS_OFFSET)
        bias = np.frombuffer(f.read(BIAS_BYTES), np.float32).reshape(8, DIM)
    return np.array(table[ids]) * scale + bias


def peak_rss_mb(time_output):
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                      time_output)
    return int(match.group(1)) // 1024 if match else None


def run(args, work):
    model = make_model(work)
    artifact = os.path.join(work, "model.kiln")
    command = [os.path.join(args.bin, "kiln-compile"), model, "-o", artifact,
               "--no-cache"]
    if args.rss:
        command = ["/usr/bin/time", "-v"] + command
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        return "compile failed: " + result.stderr.strip()[-2000:]
    size = os.path.getsize(artifact)
    if size <= 2**32:
        return "the artifact has %d bytes, not over 4 GiB" % size
    if args.rss:
        print("kiln-compile peak RSS: %s MB; artifact %d bytes"
              % (peak_rss_mb(result.stderr), size))
    ids = np.array(WRITTEN_ROWS[::-1] + [3], np.int64)
    np.save(os.path.join(work, "ids.npy"), ids)
    out_dir = os.path.join(work, "out")
    result = subprocess.run(
        [os.path.join(args.bin, "kiln-run"), artifact, "--quiet",
         "--input", "ids=" + os.path.join(work, "ids.npy"),
         "--output-dir", out_dir], capture_output=True, text=True)
    if result.returncode:
        return "run failed: " + result.stderr.strip()
    got = np.load(os.path.join(out_dir, "y.npy"))
    expected = reference(work, ids)
    if got.shape != expected.shape:
        return "shape %s, expected %s" % (got.shape, expected.shape)
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-6):
        return "max abs error %.3g" % np.abs(got - expected).max()
    if not np.abs(expected[:len(WRITTEN_ROWS)]).min(axis=1).all():
        return "the reference rows are zeros: the test cannot fail"
    return None


def work_folder(keep):
    if keep:
        os.makedirs(keep, exist_ok=True)
        return keep
    return tempfile.mkdtemp(prefix="kiln-large-")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--keep", help="write the model and artifact here")
    p.add_argument("--rss", action="store_true",
                   help="print kiln-compile's peak RSS")
    args = p.parse_args()
    work = work_folder(args.keep)
    try:
        problem = run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("%s: a %.1f GB external-data model%s" % (
        "PASS" if problem is None else "FAIL", FILE_BYTES / 1e9,
        "" if problem is None else ": " + problem))
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())
