#!/usr/bin/env bash
# The NCCL collectives plugin under mpirun, over the fake NCCL
# (test/runtime/fake_nccl): every collective on 2 and 4 ranks against the
# values each rank computes, the unique id made on rank 0 alone, the
# communicator destroyed at close; then every failure path, each of which
# must end every rank with a non-zero status and one clear line, the
# communicator aborted (the fake's per-rank log), never a hang: each NCCL
# entry point failed in turn (returned at once, or as NCCL's asynchronous
# error), a failed open retried, NCCL missing, a rank that dies, and a rank
# that hangs past the collective timeout (1 s).
# First, that the plugin links neither NCCL nor CUDA.
# Usage: collectives_nccl.sh TEST_PROGRAM PLUGIN FAKE_NCCL. Skips (77)
# without mpirun.
set -u
TEST="$1"
PLUGIN="$2"
FAKE="$3"
# The plugin dlopens NCCL: it must not link NCCL or CUDA, nor leave their
# symbols to the dynamic linker.
linked=$(objdump -p "$PLUGIN" | awk '/NEEDED/ {print $2}' |
  grep -E '^(libnccl|libcuda|libcudart)' || true)
unresolved=$(nm -D --undefined-only "$PLUGIN" | awk '{print $NF}' |
  grep -E '^(nccl[A-Z]|cu[A-Z]|cuda[A-Z])' || true)
if [ -n "$linked$unresolved" ]; then
  echo "FAIL: $PLUGIN links NCCL or CUDA:" $linked $unresolved
  exit 1
fi
if ! command -v mpirun >/dev/null; then
  echo "SKIP: mpirun not found (scripts/setup.sh installs openmpi-bin)"
  exit 77
fi
# Root in a container; more ranks than cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export KILN_NCCL_LIBRARY="$FAKE" KILN_FAKE_NCCL_FAIL= KILN_FAKE_NCCL_FAIL_RANK=
MPIRUN=(mpirun --oversubscribe --mca btl self,vader
        --mca btl_vader_single_copy_mechanism none
        -x KILN_NCCL_LIBRARY -x KILN_FAKE_NCCL_FAIL -x KILN_FAKE_NCCL_FAIL_RANK
        -x KILN_FAKE_NCCL_LOG)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
status=0
fail() {
  echo "FAIL: $*"
  status=1
}

# run NAME NP MODE: runs the test program with the fake's log at
# $WORK/NAME.log.R; its output in $WORK/NAME.txt, its exit status in $rc.
run() {
  export KILN_FAKE_NCCL_LOG="$WORK/$1.log"
  timeout 120 "${MPIRUN[@]}" -np "$2" "$TEST" "$PLUGIN" "$3" "$FAKE" \
    >"$WORK/$1.txt" 2>&1
  rc=$?
}

for np in 2 4; do
  run all$np $np all
  agree=$(grep -c "all collectives agree" "$WORK/all$np.txt")
  if [ $rc -ne 0 ] || [ "$agree" -ne $np ]; then
    fail "-np $np all: exit $rc, $agree of $np ranks agree"
    cat "$WORK/all$np.txt"
    continue
  fi
  echo "ok: -np $np: every collective agrees on every rank"
  # The unique id is made on rank 0 and reaches the others over MPI (the
  # fake's init fails if any rank holds another id); close destroys.
  for ((r = 0; r < np; r++)); do
    log="$WORK/all$np.log.$r"
    made=$(grep -c "^ncclGetUniqueId -> 0" "$log")
    want=$([ $r -eq 0 ] && echo 1 || echo 0)
    if [ "$made" -ne "$want" ] || ! grep -q "^ncclCommInitRank -> 0" "$log" ||
       [ "$(tail -n1 "$log")" != "ncclCommDestroy -> 0" ]; then
      fail "-np $np rank $r: unique id made $made times (expected $want), or no init / destroy"
      cat "$log"
    fi
  done
done

# Groups: a communicator of NCCL's own per group (its unique id made by the
# group's rank 0 and shared over the group's MPI communicator), each
# destroyed at close. On 4 ranks each rank is in 3 groups (rank 0 in 2)
# besides the world, and is rank 0 of the groups that made an id on it:
# rank 0 leads the world and its parity group, rank 1 its parity, pair
# (numbered in reverse, so the higher rank leads) and rest groups, rank 2
# none, rank 3 its pair.
run groups4 4 groups
if [ $rc -ne 0 ] || [ "$(grep -c "every group agrees" "$WORK/groups4.txt")" -ne 4 ]; then
  fail "-np 4 groups: exit $rc"
  cat "$WORK/groups4.txt"
else
  ids=""
  for r in 0 1 2 3; do
    log="$WORK/groups4.log.$r"
    ids="$ids $(grep -c "^ncclGetUniqueId -> 0" "$log")/$(grep -c "^ncclCommInitRank -> 0" "$log")/$(grep -c "^ncclCommDestroy -> 0" "$log")"
  done
  if [ "$ids" != " 2/3/3 3/4/4 0/4/4 1/4/4" ]; then
    fail "-np 4 groups: ids made / communicators made / destroyed per rank:$ids, expected 2/3/3 3/4/4 0/4/4 1/4/4"
  else
    echo "ok: -np 4: every group collective agrees, one communicator per group, each id made by the group's rank 0"
  fi
fi

# A failed open (injected on every rank) says why, and the next open works
# and leaves no communicator behind at close.
check_retry() { # NAME FAULT EXPECTED-LINE...
  local name="$1" fault="$2"
  shift 2
  KILN_FAKE_NCCL_FAIL="$fault" run "$name" 2 retry
  local out="$WORK/$name.txt" expected
  for expected in "$@"; do
    if ! grep -qF -- "$expected" "$out"; then
      fail "$fault: no line '$expected' (exit $rc)"
      cat "$out"
      return
    fi
  done
  if [ $rc -ne 0 ] || [ "$(grep -c "recovered" "$out")" -ne 2 ]; then
    fail "$fault: open again did not recover (exit $rc)"
    cat "$out"
    return
  fi
  echo "ok: $fault: open fails clearly, then works: $(grep -m1 "open failed" "$out")"
}
check_retry init ncclCommInitRank:1 \
  "rank 0: open failed: ncclCommInitRank failed on rank 0 of 2: unhandled system error (injected failure of ncclCommInitRank call 1)" \
  "rank 1: open failed: ncclCommInitRank failed on rank 1 of 2: unhandled system error (injected failure of ncclCommInitRank call 1)"
check_retry unique-id ncclGetUniqueId:1 \
  "rank 0: open failed: ncclGetUniqueId failed: unhandled system error (injected failure of ncclGetUniqueId call 1)" \
  "rank 1: open failed: rank 0 could not make the NCCL unique id (ncclGetUniqueId: unhandled system error)"

# check_fault NAME FAULT EXPECTED [FAIL_RANK [NP [MODE]]]: the collectives
# of MODE (all) under FAULT on NP ranks (2) end every rank, non-zero,
# within the timeout; some
# rank R prints
# "kiln: rank R: EXPECTED...", and R's fake NCCL log shows the communicator
# aborted before the process ended.
check_fault() {
  local name="$1" fault="$2" expected="$3"
  KILN_FAKE_NCCL_FAIL="$fault" KILN_FAKE_NCCL_FAIL_RANK="${4:-}" \
    run "$name" "${5:-2}" "${6:-all}"
  local out="$WORK/$name.txt"
  local line
  line=$(grep -m1 -E "^kiln: rank [0-9]+: " "$out")
  local r
  r=$(sed -E 's/^kiln: rank ([0-9]+):.*/\1/' <<<"$line")
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || grep -q "collectives agree" "$out" ||
     [[ "$line" != "kiln: rank $r: $expected"* ]] ||
     [[ "$line" != *"; aborted the NCCL communicator, ending every rank" ]]; then
    fail "$fault${4:+ on rank $4}: exit $rc, line '$line', expected 'kiln: rank R: $expected...'"
    cat "$out"
    return
  fi
  if ! grep -q "^ncclCommAbort -> 0" "$WORK/$name.log.$r"; then
    fail "$fault: rank $r did not abort its communicator"
    cat "$WORK/$name.log.$r"
    return
  fi
  echo "ok: $fault${4:+ on rank $4}${5:+ of $5} (exit $rc): $line"
}
# At np 2 each all-to-all(v) sends twice: the 5th ncclSend / ncclRecv is
# the ring's send / receive.
check_fault allreduce ncclAllReduce:1 \
  "all-reduce failed: ncclAllReduce returned 'unhandled system error' (injected failure of ncclAllReduce call 1)"
check_fault allreduce-async ncclAllReduce:3:async \
  "all-reduce failed: NCCL reports 'remote process exited or there was a network error' (injected failure of ncclAllReduce call 3) (has another rank died?)"
check_fault allreduce-rank1 ncclAllReduce:2 \
  "all-reduce failed: ncclAllReduce returned 'unhandled system error'" 1
check_fault allgather ncclAllGather:1 \
  "all-gather failed: ncclAllGather returned 'unhandled system error'"
check_fault reducescatter ncclReduceScatter:1:4 \
  "reduce-scatter failed: ncclReduceScatter returned 'invalid argument'"
check_fault group-start ncclGroupStart:1 \
  "all-to-all failed: ncclGroupStart returned 'unhandled system error'"
check_fault alltoall-send ncclSend:1 \
  "all-to-all failed: ncclSend returned 'unhandled system error'"
check_fault alltoall-recv ncclRecv:2 \
  "all-to-all failed: ncclRecv returned 'unhandled system error'"
check_fault alltoall-async ncclSend:2:async \
  "all-to-all failed: NCCL reports 'remote process exited or there was a network error'"
check_fault group-end ncclGroupEnd:2 \
  "all-to-all-v failed: ncclGroupEnd returned 'unhandled system error'"
check_fault send ncclSend:5 \
  "send failed: ncclSend returned 'unhandled system error'"
check_fault recv ncclRecv:5 \
  "receive failed: ncclRecv returned 'unhandled system error'"
check_fault broadcast ncclBroadcast:1 \
  "broadcast failed: ncclBroadcast returned 'unhandled system error'"
# Four ranks, an asynchronous failure on the last one only.
check_fault allgather-np4 ncclAllGather:1:async \
  "all-gather failed: NCCL reports 'remote process exited or there was a network error'" 3 4
# Groups on four ranks: a group's all-reduce that fails on rank 2 aborts
# its communicators and ends every rank; so does a group's communicator
# that cannot be made (the 2nd init: the first group's, after the world's).
check_fault group-allreduce ncclAllReduce:1 \
  "all-reduce failed: ncclAllReduce returned 'unhandled system error'" 2 4 groups
check_fault group-init ncclCommInitRank:2 \
  "cannot make a group's communicator: ncclCommInitRank failed on rank" "" 4 groups

# NCCL missing: every rank says so and ends.
KILN_NCCL_LIBRARY="$WORK/no-libnccl.so.2" run missing 2 all
line=$(grep -m1 "cannot load NCCL" "$WORK/missing.txt")
if [ $rc -eq 0 ] || [ $rc -eq 124 ] ||
   [[ "$line" != "kiln: rank "*": cannot open the collectives: cannot load NCCL ($WORK/no-libnccl.so.2): "*"set KILN_NCCL_LIBRARY; ending every rank" ]]; then
  fail "NCCL missing: exit $rc, line '$line'"
  cat "$WORK/missing.txt"
else
  echo "ok: NCCL missing (exit $rc): $line"
fi

# A rank that dies: mpirun ends the others (well within the 60 s timeout).
start=$SECONDS
run death 3 death
if [ $rc -eq 0 ] || [ $rc -eq 124 ] || grep -q "unexpectedly completed" "$WORK/death.txt"; then
  fail "rank death: exit $rc after $((SECONDS - start)) s"
  cat "$WORK/death.txt"
else
  echo "ok: a rank that dies ends every rank (exit $rc)"
fi

# A rank that hangs: rank 0's all-reduce never completes on its stream; after
# 1 s it aborts the communicator and ends every rank with one line.
run timeout 2 timeout
line=$(grep -m1 "^kiln: rank 0: all-reduce did not complete within 1 s (--collective-timeout): another rank died, hangs, or does not call it; aborted the NCCL communicator, ending every rank" "$WORK/timeout.txt")
if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ -z "$line" ] ||
   ! grep -q "^ncclCommAbort -> 0" "$WORK/timeout.log.0"; then
  fail "hang past the timeout: exit $rc"
  cat "$WORK/timeout.txt"
else
  echo "ok: a hung rank ends every rank (exit $rc): $line"
fi
exit $status
