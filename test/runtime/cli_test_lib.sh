# Shared by the kiln-run CLI tests. Sourced, with the arguments CMake passes:
#   KILN_RUN MAKE_TEST_ARTIFACT HOST_CODE_SO C_API_TEST
set -euo pipefail

KILN_RUN="$1"
MAKE_ARTIFACT="$2"
HOST_CODE="$3"
C_API_TEST="$4"
PYTHON=/usr/bin/python3

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kiln-run-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# npy FILE DTYPE SHAPE: an array 1, 2, 3, ... of that dtype and shape.
npy() {
  "$PYTHON" -c "import numpy as np, sys
shape = tuple(int(d) for d in sys.argv[3].split(',') if d)
np.save(sys.argv[1], (np.arange(int(np.prod(shape))) + 1).astype(sys.argv[2]).reshape(shape))" \
    "$1" "$2" "$3"
}

# expect_error FRAGMENT ARGS...: runs kiln-run ARGS and checks the error
# contract: exit code 1, exactly one stderr line, starting
# "kiln-run: error: " and containing FRAGMENT.
expect_error() {
  local fragment="$1"
  shift
  local rc=0
  "$KILN_RUN" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || rc=$?
  local lines
  lines=$(wc -l <"$WORK/stderr")
  if [ "$rc" -ne 1 ]; then
    fail "kiln-run $*: exit code $rc, expected 1"
  elif [ "$lines" -ne 1 ]; then
    fail "kiln-run $*: $lines stderr lines, expected 1: $(cat "$WORK/stderr")"
  elif ! grep -q '^kiln-run: error: ' "$WORK/stderr"; then
    fail "kiln-run $*: stderr lacks the prefix: $(cat "$WORK/stderr")"
  elif ! grep -qF -- "$fragment" "$WORK/stderr"; then
    fail "kiln-run $*: stderr lacks '$fragment': $(cat "$WORK/stderr")"
  else
    echo "ok: $(cat "$WORK/stderr")"
  fi
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
