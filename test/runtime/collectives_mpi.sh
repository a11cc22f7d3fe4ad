#!/usr/bin/env bash
# The MPI collectives plugin under mpirun: every collective of the table
# against the values each rank computes itself, on 2 and 4 ranks, and the
# group collectives on three splits of 3 and 4 ranks; then the
# failure paths, which must end every rank with a non-zero status and one
# clear line, never hang: a rank that exits before a collective (death) and
# a rank that hangs past the collective timeout (1 s).
# Usage: collectives_mpi.sh TEST_PROGRAM PLUGIN. Skips (77) without mpirun.
set -u
TEST="$1"
PLUGIN="$2"
if ! command -v mpirun >/dev/null; then
  echo "SKIP: mpirun not found (scripts/setup.sh installs openmpi-bin)"
  exit 77
fi
# Root in a container; more ranks than cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --oversubscribe --mca btl self,vader --mca btl_vader_single_copy_mechanism none)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
status=0
fail() {
  echo "FAIL: $*"
  status=1
}

# "MODE NP AGREED": every rank of an NP-rank run of MODE prints AGREED.
for run in "all 2 all collectives agree" "all 4 all collectives agree" \
           "groups 3 every group agrees" "groups 4 every group agrees"; do
  read -r mode np agreed <<<"$run"
  out="$WORK/$mode$np.txt"
  timeout 120 "${MPIRUN[@]}" -np $np "$TEST" "$PLUGIN" $mode >"$out" 2>&1
  rc=$?
  agree=$(grep -c "$agreed" "$out")
  if [ $rc -ne 0 ] || [ "$agree" -ne $np ]; then
    fail "-np $np $mode: exit $rc, $agree of $np ranks agree"
    cat "$out"
  else
    echo "ok: -np $np $mode: $agreed on every rank"
  fi
done

# A rank that dies: mpirun ends the others (exit non-zero, well within the
# 60 s collective timeout the test program sets).
out="$WORK/death.txt"
start=$SECONDS
timeout 60 "${MPIRUN[@]}" -np 3 "$TEST" "$PLUGIN" death >"$out" 2>&1
rc=$?
if [ $rc -eq 0 ] || [ $rc -eq 124 ] || grep -q "unexpectedly completed" "$out"; then
  fail "rank death: exit $rc after $((SECONDS - start)) s"
  cat "$out"
else
  echo "ok: a rank that dies ends every rank (exit $rc): $(grep -m1 -i -E 'exit|abort' "$out")"
fi

# A rank that hangs: the others' collective times out after 1 s and ends
# every rank with one line naming it.
out="$WORK/timeout.txt"
timeout 60 "${MPIRUN[@]}" -np 2 "$TEST" "$PLUGIN" timeout >"$out" 2>&1
rc=$?
line=$(grep -m1 "kiln: rank 0: all-reduce did not complete within 1 s (--collective-timeout)" "$out")
if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ -z "$line" ]; then
  fail "hang past the timeout: exit $rc"
  cat "$out"
else
  echo "ok: a hung rank ends every rank (exit $rc): $line"
fi
exit $status
