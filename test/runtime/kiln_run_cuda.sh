#!/usr/bin/env bash
# kiln-run --device cuda[:N] against the fake CUDA driver (fake_cuda/): real
# numbers end to end through the CUDA backend, and every failure (no
# driver, no GPU, no such device, no image for the GPU, out of memory, a
# failed launch) as one "kiln-run: error: " line and exit status 1.
# Arguments: the four of cli_test_lib.sh, then CUDA_HOST_CODE_SO and
# FAKE_CUDA_SO.
source "$(dirname "$0")/cli_test_lib.sh"
CUDA_HOST_CODE="$5"
FAKE_CUDA="$6"

export KILN_CUDA_DRIVER="$FAKE_CUDA"
export KILN_FAKE_CUDA_LOG="$WORK/fake.log"
unset KILN_FAKE_CUDA_FAIL KILN_FAKE_CUDA_CC KILN_FAKE_CUDA_DEVICES

M="$WORK/cuda-add.kiln"
"$MAKE_ARTIFACT" "$CUDA_HOST_CODE" "$M" --model cuda-add
npy "$WORK/a.npy" float32 2,3
npy "$WORK/b.npy" float32 2,3
RUN_INPUTS=(--input a="$WORK/a.npy" --input b="$WORK/b.npy")

# The signature needs no driver.
KILN_CUDA_DRIVER=/nonexistent "$KILN_RUN" "$M" --print-signature >"$WORK/sig" ||
  fail "--print-signature failed"
grep -qx "target: cuda-sm_90a,sm_80" "$WORK/sig" || fail "signature: $(cat "$WORK/sig")"
grep -qE "^gpu image sm_90a: cubin, [0-9]+ bytes$" "$WORK/sig" ||
  fail "signature lacks the cubin: $(cat "$WORK/sig")"
grep -qx "gpu workspace: 24 bytes" "$WORK/sig" || fail "signature: $(cat "$WORK/sig")"

# A run: sum = a + b + w, copy = a, sevens = 7; three runs so that the
# graph is captured (run 2) and replayed (run 3); outputs written.
for device in cuda:0 cuda; do
  : >"$KILN_FAKE_CUDA_LOG"
  "$KILN_RUN" "$M" "${RUN_INPUTS[@]}" --device "$device" --repeat 3 \
    --output-dir "$WORK/out-$device" >"$WORK/stdout" 2>"$WORK/stderr" ||
    fail "--device $device failed: $(cat "$WORK/stderr")"
  [ -s "$WORK/stderr" ] && fail "--device $device wrote to stderr: $(cat "$WORK/stderr")"
  grep -qx "sum: float32\[2,3\] min=102 max=612 mean=357 values=\[102, 204, 306, 408, 510, 612\]" \
    "$WORK/stdout" || fail "--device $device: unexpected summary: $(cat "$WORK/stdout")"
  grep -qx "copy: float32\[2,3\] min=1 max=6 mean=3.5 values=\[1, 2, 3, 4, 5, 6\]" \
    "$WORK/stdout" || fail "--device $device: unexpected summary: $(cat "$WORK/stdout")"
  grep -qx "sevens: uint8\[4\] min=7 max=7 mean=7 values=\[7, 7, 7, 7\]" \
    "$WORK/stdout" || fail "--device $device: unexpected summary: $(cat "$WORK/stdout")"
  grep -q "^timing: 3 runs" "$WORK/stdout" || fail "no timing line"
  "$PYTHON" - "$WORK/out-$device" <<'PY' || fail "--device $device: output files are wrong"
import numpy as np, sys
d = sys.argv[1]
a = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
w = np.array([[100, 200, 300], [400, 500, 600]], np.float32)
assert (np.load(d + "/sum.npy") == a + a + w).all()
assert (np.load(d + "/copy.npy") == a).all()
assert (np.load(d + "/sevens.npy") == 7).all()
PY
  [ "$(grep -c '^cuGraphLaunch' "$KILN_FAKE_CUDA_LOG")" -eq 2 ] ||
    fail "--device $device: expected 2 graph launches: $(cat "$KILN_FAKE_CUDA_LOG")"
  grep -q '^cuDeviceGet ordinal=0 ' "$KILN_FAKE_CUDA_LOG" ||
    fail "--device $device did not open device 0"
done

# A second GPU, with an older architecture: its PTX.
: >"$KILN_FAKE_CUDA_LOG"
KILN_FAKE_CUDA_DEVICES=2 KILN_FAKE_CUDA_CC=90,80 "$KILN_RUN" "$M" \
  "${RUN_INPUTS[@]}" --device cuda:1 -q || fail "--device cuda:1 failed"
grep -q '^cuModuleLoadDataEx image=ptx arch=sm_80 ' "$KILN_FAKE_CUDA_LOG" ||
  fail "cuda:1 did not load the sm_80 PTX: $(cat "$KILN_FAKE_CUDA_LOG")"

# Failures, each one line.
KILN_CUDA_DRIVER=/nonexistent/libcuda.so.1 expect_error \
  "device 'cuda:0': cannot load the CUDA driver '/nonexistent/libcuda.so.1'" \
  "$M" "${RUN_INPUTS[@]}" --device cuda:0
# Without KILN_CUDA_DRIVER the runtime asks for libcuda.so.1; only checked
# where there is none, so that the test means the same on a GPU machine.
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  (unset KILN_CUDA_DRIVER
   expect_error "device 'cuda:0': cannot load the CUDA driver 'libcuda.so.1'" \
     "$M" "${RUN_INPUTS[@]}" --device cuda:0
   finish) || failures=$((failures + 1))
fi
KILN_FAKE_CUDA_DEVICES=0 expect_error \
  "cuInit returned CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)" \
  "$M" "${RUN_INPUTS[@]}" --device cuda:0
expect_error "device 'cuda:3' does not exist: the CUDA driver sees 1 device (cuda:0)" \
  "$M" "${RUN_INPUTS[@]}" --device cuda:3
KILN_FAKE_CUDA_CC=75 expect_error \
  "has compute capability 7.5 (sm_75) but the artifact has code only for sm_90a cubin, sm_80 ptx" \
  "$M" "${RUN_INPUTS[@]}" --device cuda:0
KILN_FAKE_CUDA_FAIL=cuMemAlloc_v2:1 expect_error \
  "cuMemAlloc_v2 returned CUDA_ERROR_OUT_OF_MEMORY (out of memory)" \
  "$M" "${RUN_INPUTS[@]}" --device cuda:0
KILN_FAKE_CUDA_FAIL=cuLaunchKernel:1 expect_error \
  "run failed: device 'cuda:0' (Kiln Fake GPU 0 (sm_90)): launching kernel 'kiln_test_add'" \
  "$M" "${RUN_INPUTS[@]}" --device cuda:0 --output-dir "$WORK/failed"
[ ! -e "$WORK/failed" ] || fail "a failed run left $WORK/failed behind"
expect_error "artifact target 'cuda-sm_90a,sm_80' cannot run on device 'cpu': it runs on 'cuda' devices" \
  "$M" "${RUN_INPUTS[@]}"
expect_error "unknown device 'cuda:x'; expected 'cpu' or 'cuda:N'" \
  "$M" "${RUN_INPUTS[@]}" --device cuda:x

finish
