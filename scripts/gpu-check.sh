#!/usr/bin/env bash
# Every GPU test and benchmark of Kiln, in one script (see scripts/gpu_check.py).
#
#   here, after `make build`:   scripts/gpu-check.sh prepare
#       compiles the examples, a sample of the ONNX node tests and the
#       benchmarks for --target cuda into build/gpu-check/ (a few MiB).
#   on a machine with a GPU:    scripts/gpu-check.sh
#       runs them all on cuda:0 with build/bin/kiln-run, checks every output,
#       times the benchmarks against PyTorch in the same run, and prints one
#       summary table (under 8 minutes on an H100).
#
# The device run needs only build/bin/kiln-run, build/lib/libkiln_runtime.so
# and build/gpu-check/ (carry those three with the device tool), plus a
# python3 with NumPy (and PyTorch for the peers' timings).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PY=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null && PY=/usr/bin/python3
if [ "${1:-run}" = prepare ]; then
  shift
  exec "$PY" scripts/gpu_check.py prepare --build "$BUILD" "$@"
fi
[ "${1:-}" = run ] && shift
if [ ! -f "$BUILD/gpu-check/manifest.json" ]; then
  echo "gpu-check: no $BUILD/gpu-check/manifest.json: run 'scripts/gpu-check.sh prepare' after 'make build' first" >&2
  exit 2
fi
export LD_LIBRARY_PATH="$PWD/$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
exec timeout 470 python3 scripts/gpu_check.py run --build "$BUILD" "$@"
