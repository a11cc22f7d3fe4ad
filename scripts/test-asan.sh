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

# shellcheck source=scripts/sanitizer-build.sh
. "$(dirname "$0")/sanitizer-build.sh"

start_sanitized_tests test-asan build-asan 16 "$@"

configure_runtime_only_build "$build" "$sanitizer_flags"
cmake --build "$build" -j "$jobs"

# allocator_may_return_null: the runtime's allocation-failure tests ask
# for impossible sizes and expect a status, as malloc gives them.
export_sanitizer_options :allocator_may_return_null=1
cd "$build"
# kiln_collectives.mpi and .nccl (which runs over MPI) are left out too:
# Open MPI's own libraries and the components they dlopen keep allocations
# past MPI_Finalize, which LeakSanitizer reports from frames it cannot name
# (so no suppression file can select them). Those tests run in `make test`
# and under TSan.
ctest --output-on-failure -j "$jobs" -R "$regex" \
  -E '^(kiln_runtime\.dependencies|kiln_collectives\.(mpi|nccl))$'
