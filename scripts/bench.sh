#!/usr/bin/env bash
# `make bench`: Kiln against onnxruntime 1.30 on the CPU, in one run.
#
#   scripts/bench.sh BUILD_DIR [bench_cpu.py options: --quick, --filter ...]
#
# Installs npm's onnxruntime-node 1.30.x into BUILD_DIR/bench/ort unless a
# 1.30.x that loads is already there (or at $KILN_ORT, a .../onnxruntime-node
# folder), then runs test/bench/bench_cpu.py with BUILD_DIR/bin's tools and
# BUILD_DIR/bench/work as its work folder. The Markdown table goes to stdout
# and to BUILD_DIR/bench/results.md; progress to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:?usage: scripts/bench.sh BUILD_DIR [bench_cpu.py options]}"
shift
BUILD="$(cd "$BUILD" && pwd)"
ORT_VERSION="1.30"

ort_ok() {  # $1: an onnxruntime-node folder; true if it is 1.30.x and loads
  node -e '
    const dir = process.argv[1], want = process.argv[2];
    const v = require(dir + "/package.json").version;
    if (!v.startsWith(want + ".")) {
      console.error("bench: " + dir + " is onnxruntime-node " + v +
                    ", not " + want + ".x");
      process.exit(1);
    }
    require(dir);' "$1" "$ORT_VERSION" 2>/dev/null
}

if [ -n "${KILN_ORT:-}" ]; then
  ORT="$(cd "$KILN_ORT" 2>/dev/null && pwd)" || ORT="$KILN_ORT"
  ort_ok "$ORT" || { echo "bench: KILN_ORT=$KILN_ORT is not a loadable" \
    "onnxruntime-node $ORT_VERSION.x" >&2; exit 1; }
else
  PREFIX="$BUILD/bench/ort"
  ORT="$PREFIX/node_modules/onnxruntime-node"
  if ! ort_ok "$ORT"; then
    command -v npm >/dev/null || { echo "bench: npm is needed to install" \
      "onnxruntime-node (apt-get install npm)" >&2; exit 1; }
    echo "bench: installing onnxruntime-node@~$ORT_VERSION.0 into $PREFIX" >&2
    mkdir -p "$PREFIX"
    # --ignore-scripts: the package's install script only fetches CUDA and
    # TensorRT binaries; the CPU provider ships in the package.
    npm install --prefix "$PREFIX" --ignore-scripts --no-audit --no-fund \
      --loglevel=error "onnxruntime-node@~$ORT_VERSION.0" >&2
    ort_ok "$ORT" || { echo "bench: onnxruntime-node $ORT_VERSION.x did not" \
      "install into $PREFIX" >&2; exit 1; }
  fi
fi
echo "bench: onnxruntime-node $(node -p "require('$ORT/package.json').version")" \
  "at $ORT" >&2

mkdir -p "$BUILD/bench"
/usr/bin/python3 "$ROOT/test/bench/bench_cpu.py" --bin "$BUILD/bin" \
  --ort "$ORT" --work "$BUILD/bench/work" \
  --command "make bench${*:+ BENCH_ARGS=\"$*\"}" "$@" \
  | tee "$BUILD/bench/results.md"
