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

start_sanitized_tests test-tsan build-tsan 16 "$@"

configure_runtime_only_build "$build" \
  "-O1 -g -fno-omit-frame-pointer -fsanitize=thread"
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
