# shellcheck shell=bash
# Sourced, not run, by scripts/fuzz.sh, scripts/test-asan.sh and
# scripts/test-tsan.sh: what their clang-22 builds share (the command line,
# the compiler check, the flags, the configure step, the sanitizers'
# options).

# The sanitizers both builds compile with; a UBSan report is fatal.
sanitizer_flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined"
sanitizer_flags+=" -fno-sanitize-recover=undefined"

# sanitizer_build_options EXTRA USAGE_END ARGS...: parses -j JOBS into $jobs
# and -d BUILD_DIR into $build, and each getopts letter of EXTRA by calling
# the script's own `option LETTER VALUE`; -h or a bad option prints lines 2
# to USAGE_END of the script and exits 2. The script then shifts
# $((OPTIND - 1)).
sanitizer_build_options() {
  local extra=$1 usage_end=$2 opt
  shift 2
  while getopts "${extra}j:d:h" opt; do
    case $opt in
      j) jobs=$OPTARG ;;
      d) build=$OPTARG ;;
      h | \?) sed -n "2,${usage_end}p" "$0"; exit 2 ;;
      *) option "$opt" "$OPTARG" ;;
    esac
  done
}

# start_sanitized_tests WHO BUILD USAGE_END ARGS...: how test-asan.sh and
# test-tsan.sh begin: parses ARGS ($jobs, default 2; $build, default
# BUILD), sets $regex to the CTEST_REGEX argument (default: every test),
# changes to the repository root ($root) and checks for clang-22.
start_sanitized_tests() {
  local who=$1 usage_end=$3
  jobs=2
  build=$2
  shift 3
  sanitizer_build_options "" "$usage_end" "$@"
  shift $((OPTIND - 1))
  regex=${1:-.}
  root=$(cd "$(dirname "$0")/.." && pwd)
  cd "$root"
  require_clang_22 "$who"
}

# require_clang_22 WHO: exits 1, naming WHO, unless clang-22 and clang++-22
# are on PATH.
require_clang_22() {
  local tool
  for tool in clang-22 clang++-22; do
    command -v $tool >/dev/null || {
      echo "$1: $tool not found; run 'make setup' (clang-22, libclang-rt-22-dev)" >&2
      exit 1
    }
  done
}

# configure_sanitized_build BUILD FLAGS [CMAKE_ARG...]: configures BUILD
# (unless it already is) with Ninja, clang-22 and FLAGS for C and C++, no
# Python bindings and no build type's own flags, plus CMAKE_ARGs.
configure_sanitized_build() {
  local dir=$1 flags=$2
  shift 2
  [ -f "$dir/build.ninja" ] && return 0
  cmake -G Ninja -S . -B "$dir" -DKILN_BUILD_PYTHON=OFF \
    -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" "$@" >/dev/null
}

# configure_runtime_only_build BUILD FLAGS: configure_sanitized_build of
# the runtime alone (no compiler) with FLAGS and a shared sanitizer runtime
# (-shared-libsan), so that libkiln_runtime.so, linked with --no-undefined,
# and the host code it dlopens use the same one; RUNPATH finds it.
configure_runtime_only_build() {
  local rtdir ldflags
  rtdir=$(clang-22 -print-runtime-dir)
  ldflags="-Wl,-rpath,$rtdir"
  configure_sanitized_build "$1" "$2 -shared-libsan" \
    -DKILN_BUILD_COMPILER=OFF \
    -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
    -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" \
    -DCMAKE_MODULE_LINKER_FLAGS="$ldflags"
}

# export_sanitizer_options [ASAN_EXTRA]: leaks are findings and the first
# report stops the program, unless ASAN_OPTIONS or UBSAN_OPTIONS is set
# already; ASAN_EXTRA (":name=value...") is added to ASan's.
export_sanitizer_options() {
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1${1:-}}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
}
