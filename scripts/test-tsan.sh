#!/usr/bin/env bash
# The runtime and its tests under ThreadSanitizer: `make test-tsan` calls it.
#
#   scripts/test-tsan.sh [-j JOBS] [-d BUILD_DIR] [CTEST_REGEX]
#
# Builds, with clang-22 and -fsanitize=thread, in BUILD_DIR (default
# build-tsan; never the normal build) only the runtime
# (KILN_BUILD_COMPILER=OFF), its GoogleTest suites and kiln-run, and runs
# their tests through ctest (CTEST_REGEX selects some). The threaded ones
# are test/runtime/concurrency_test.cpp (one model from many threads,
# models loaded and released in a loop, run-time shapes through the shared
# buffer cache, generation sessions in parallel) and the CUDA backend's
# sessions on two threads. When the normal build has kiln-compile, the
# Mixtral example is compiled and run from several threads too
# (KILN_CONCURRENCY_ARTIFACT). Any data race fails the test that ran it.
set -euo pipefail

# shellcheck source=scripts/sanitizer-build.sh
. "$(dirname "$0")/sanitizer-build.sh"

jobs=2
build=build-tsan
sanitizer_build_options "" 16 "$@"
shift $((OPTIND - 1))
regex=${1:-.}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
require_clang_22 test-tsan

# A shared TSan runtime, for the same reason as test-asan's: the runtime
# library links with --no-undefined and dlopens host code.
rtdir=$(clang-22 -print-runtime-dir)
ldflags="-Wl,-rpath,$rtdir"
configure_sanitized_build "$build" \
  "-O1 -g -fno-omit-frame-pointer -fsanitize=thread -shared-libsan" \
  -DKILN_BUILD_COMPILER=OFF \
  -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
  -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" \
  -DCMAKE_MODULE_LINKER_FLAGS="$ldflags"
cmake --build "$build" -j "$jobs"

# A model the compiler wrote, if the normal build is there. Its kernels
# run on one thread (the test sets it): LLVM's OpenMP runtime is not built
# with TSan, and its synchronization would be invisible to it.
compiler=${KILN_COMPILER:-build/bin/kiln-compile}
if [ -x "$compiler" ]; then
  "$compiler" examples/mixtral/mixtral.onnx -o "$build/mixtral.kiln"
  export KILN_CONCURRENCY_ARTIFACT="$root/$build/mixtral.kiln"
else
  echo "test-tsan: $compiler not built; the compiled-model test is skipped"
fi

# allocator_may_return_null: the allocation-failure tests ask for impossible
# sizes and expect a status, as malloc gives them.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:allocator_may_return_null=1}
cd "$build"
ctest --output-on-failure -j "$jobs" -R "$regex" -E '^kiln_runtime\.dependencies$'
