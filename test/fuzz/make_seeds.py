#!/usr/bin/env python3
"""Writes the seed corpora that are derived from the project's own tests.

    make_seeds.py SOURCE_DIR OUT_DIR

OUT_DIR/onnx-import/: every test/ONNX/*.onnxtxt as a binary ModelProto
(onnx.parser; the importer reads .onnx files as protobuf).
OUT_DIR/mlir/: every case of test/dialects/Kiln/*.mlir (split at
`// -----`, comment lines dropped), one file each.

Run at build time (test/fuzz/CMakeLists.txt), so the seeds follow the tests.
"""
import glob
import os
import sys

import onnx.parser


def write(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def main():
    source, out = sys.argv[1], sys.argv[2]
    onnx_dir = os.path.join(out, "onnx-import")
    mlir_dir = os.path.join(out, "mlir")
    for d in (onnx_dir, mlir_dir):
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            os.remove(os.path.join(d, old))

    models = 0
    for path in sorted(glob.glob(os.path.join(source, "test/ONNX/*.onnxtxt"))):
        try:
            model = onnx.parser.parse_model(open(path).read())
        except Exception as error:  # a test of the text parser's errors
            print(f"make_seeds: skipping {path}: {error}", file=sys.stderr)
            continue
        name = os.path.basename(path)[: -len(".onnxtxt")] + ".onnx"
        write(os.path.join(onnx_dir, name), model.SerializeToString())
        models += 1

    cases = 0
    for path in sorted(glob.glob(os.path.join(source, "test/dialects/Kiln/*.mlir"))):
        text = open(path).read()
        stem = os.path.basename(path)[: -len(".mlir")]
        for i, case in enumerate(text.split("\n// -----")):
            lines = [l for l in case.splitlines() if not l.lstrip().startswith("//")]
            body = "\n".join(lines).strip()
            if body:
                write(os.path.join(mlir_dir, f"{stem}-{i:03d}.mlir"), body + "\n")
                cases += 1
    if not models or not cases:
        sys.exit(f"make_seeds: found {models} models and {cases} .mlir cases")
    print(f"make_seeds: {models} ONNX models, {cases} .mlir cases")


if __name__ == "__main__":
    main()
