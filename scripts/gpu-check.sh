#!/usr/bin/env bash
# Every GPU test and benchmark of Kiln, in one script (see scripts/gpu_check.py).
#
#   here, after `make build`:   scripts/gpu-check.sh prepare
#       compiles the examples, a sample of the ONNX node tests and the
#       benchmarks for --target cuda into build/gpu-check/ (a few MiB).
#   on a machine with a GPU:    scripts/gpu-check.sh
#       runs them all on cuda:0 with build/bin/kiln-run, checks every output,
#       times the benchmarks against PyTorch in the same run, and prints one
#       summary table, then kiln-bench --profile's per-kernel table of the
#       example decoder (CUDA events around each launch; its Chrome trace
#       goes to $OUT, or /tmp) (under 9 minutes on an H100).
#
# The device run needs only build/bin/kiln-run, build/bin/kiln-bench,
# build/lib/libkiln_runtime.so and build/gpu-check/ (carry those with the
# device tool), plus a python3 with NumPy (and PyTorch for the peers'
# timings).
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
status=0
timeout 470 python3 scripts/gpu_check.py run --build "$BUILD" "$@" || status=$?

# The example decoder's per-kernel profile: where its time goes on this GPU.
# Informational: a failure here is reported, and the checks' status stands.
decoder="$BUILD/gpu-check/models/mixtral/model.kiln"
trace="${OUT:-/tmp}/kiln-decoder-trace.json"
echo
echo "== kiln-bench --profile: the example decoder (mixtral) on cuda:0 =="
if [ ! -x "$BUILD/bin/kiln-bench" ] || [ ! -f "$decoder" ]; then
  echo "gpu-check: no profile: $BUILD/bin/kiln-bench or $decoder is missing"
elif timeout 60 "$BUILD/bin/kiln-bench" "$decoder" --device cuda:0 \
  --warmup 5 --iterations 50 --profile-top 20 --trace "$trace"; then
  echo "trace: $trace (open in https://ui.perfetto.dev or chrome://tracing)"
else
  echo "gpu-check: kiln-bench --profile failed (exit $?)"
fi
exit "$status"
