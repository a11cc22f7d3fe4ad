#!/usr/bin/env bash
# Builds test/fuzz's libFuzzer targets with clang-22, ASan and UBSan in their
# own build directory and runs each for a while; `make fuzz` calls it.
#
#   scripts/fuzz.sh [-s SECONDS] [-j JOBS] [-d BUILD_DIR] [TARGET...]
#
# SECONDS per target (default 60), JOBS compile jobs (default 2), BUILD_DIR
# (default build-fuzz; never the normal build). TARGETs default to all of
# them (artifact npy onnx-tensor onnx-import mlir). Each target starts from
# its seeds (test/fuzz/corpus/<t>, or for onnx-import and mlir the lit tests
# converted at build time into BUILD_DIR/test/fuzz/seeds/<t>), its
# regressions (test/fuzz/regressions/<t>)
# plus what earlier runs found (BUILD_DIR/corpus/<t>, which is where new
# inputs go; the checked-in corpora are never written). A crash, leak,
# sanitizer report or hang (over FUZZ_TIMEOUT s, default 10, for one
# input; raise it on a loaded machine, where a niced fuzzer can be
# starved that long) is saved under
# BUILD_DIR/findings/<t>/ and makes the script exit non-zero; to keep one
# fixed, reduce it (kiln-fuzz-<t> -minimize_crash=1 -runs=10000 FILE) and
# add it to test/fuzz/regressions/<t>/, which ctest's fuzz-replay.<t>
# replays. Prints one line per target with its run count (libFuzzer's
# stat::number_of_executed_units).
set -euo pipefail

# shellcheck source=scripts/sanitizer-build.sh
. "$(dirname "$0")/sanitizer-build.sh"

seconds=60
jobs=2
build=build-fuzz
# shellcheck disable=SC2317 # called by sanitizer_build_options
option() { seconds=$2; } # -s SECONDS
sanitizer_build_options "s:" 22 "$@"
shift $((OPTIND - 1))

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
all_targets=(artifact npy onnx-tensor onnx-import mlir)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

require_clang_22 fuzz
configure_sanitized_build "$build" "$sanitizer_flags -fsanitize=fuzzer-no-link" \
  -DKILN_FUZZ=ON -DMLIR_DIR="${MLIR_DIR:-/usr/lib/llvm-22/lib/cmake/mlir}"
cmake --build "$build" -j "$jobs" --target \
  $(printf 'kiln-fuzz-%s ' "${targets[@]}")

# Leaks are findings too; UBSan stops at the first report.
export_sanitizer_options

status=0
summary=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  mkdir -p "$corpus" "$findings"
  inputs=("$corpus")
  for seeds in "test/fuzz/corpus/$t" "$build/test/fuzz/seeds/$t"; do
    [ -d "$seeds" ] && inputs+=("$seeds")
  done
  [ -d "test/fuzz/regressions/$t" ] && inputs+=("test/fuzz/regressions/$t")
  dict=()
  [ -f "test/fuzz/$t.dict" ] && dict=(-dict="test/fuzz/$t.dict")
  log="$build/findings/$t.log"
  echo "fuzz: $t for ${seconds}s (log: $log)"
  rc=0
  "$build/bin/kiln-fuzz-$t" "${dict[@]}" -max_total_time="$seconds" \
    -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${inputs[@]}" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    result="ok"
  else
    result="FAILED (exit $rc; see $log, inputs in $findings/)"
    status=1
    grep -m3 -E "ERROR: |runtime error:|invariant broken|SUMMARY" "$log" >&2 || true
  fi
  summary+=("$(printf '%-12s %10s runs  %s' "$t" "${runs:-?}" "$result")")
done
echo "fuzz: ${seconds}s per target, ASan+UBSan, clang-22"
printf '  %s\n' "${summary[@]}"
exit $status
