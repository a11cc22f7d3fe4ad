#!/usr/bin/env bash
# The runtime and its tests under AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer: `make test-asan` calls it.
#
#   scripts/test-asan.sh [-j JOBS] [-d BUILD_DIR] [CTEST_REGEX]
#
# Builds, with clang-22, in BUILD_DIR (default build-asan; never the normal
# build) only the runtime (KILN_BUILD_COMPILER=OFF), its GoogleTest suite,
# kiln-run and the fuzz targets' replays, and runs every test that build
# has through ctest: the runtime's and kiln-run's unit tests, kiln-run's CLI
# tests and the replays of the runtime readers' fuzz corpora (CTEST_REGEX
# selects some). Any ASan,
# LSan or UBSan report fails the test that triggered it.
# kiln_runtime.dependencies is left out: a sanitized library links the
# sanitizer runtime by design.
set -euo pipefail

jobs=2
build=build-asan
while getopts "j:d:h" opt; do
  case $opt in
    j) jobs=$OPTARG ;;
    d) build=$OPTARG ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
regex=${1:-.}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v clang-22 >/dev/null || {
  echo "test-asan: clang-22 not found; run 'make setup'" >&2
  exit 1
}

# The sanitizer runtimes are shared (-shared-libsan) so that
# libkiln_runtime.so, linked with --no-undefined, and the test modules it
# dlopens use the same one; RUNPATH finds it.
rtdir=$(clang-22 -print-runtime-dir)
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined"
flags+=" -fno-sanitize-recover=undefined -shared-libsan"
ldflags="-Wl,-rpath,$rtdir"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build" -DKILN_BUILD_COMPILER=OFF \
    -DKILN_BUILD_PYTHON=OFF -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
    -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" \
    -DCMAKE_MODULE_LINKER_FLAGS="$ldflags" >/dev/null
fi
cmake --build "$build" -j "$jobs"

# allocator_may_return_null: the runtime's allocation-failure tests ask
# for impossible sizes and expect a status, as malloc gives them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure -j "$jobs" -R "$regex" -E '^kiln_runtime\.dependencies$'
