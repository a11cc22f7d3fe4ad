#!/usr/bin/env bash
# `make demo`: compile the Mixtral-style MoE example (examples/mixtral)
# ahead of time, decode greedily from a prompt of token ids with kiln-run,
# and check every token against PyTorch's.
set -euo pipefail
BUILD_DIR=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/$BUILD_DIR/bin
OUT=$ROOT/$BUILD_DIR/demo
mkdir -p "$OUT"
exec /usr/bin/python3 "$ROOT/examples/mixtral/demo.py" --bin "$BIN" --out "$OUT"
