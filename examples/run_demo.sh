#!/usr/bin/env bash
# `make demo`: compile examples/mlp/mlp.onnx ahead of time, run the artifact
# on a batch of inputs and show what it computed next to a NumPy reference.
set -euo pipefail
BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/$BUILD_DIR/bin
OUT=$ROOT/$BUILD_DIR/demo
mkdir -p "$OUT"
exec /usr/bin/python3 "$ROOT/examples/mlp/demo.py" --bin "$BIN" --out "$OUT"
