#!/usr/bin/env bash
# kiln-run on bad input: every case must exit 1 (no crash, no signal) with
# exactly one stderr line starting "kiln-run: error: " that says what went
# wrong, and must leave no output files behind.
source "$(dirname "$0")/cli_test_lib.sh"

M="$WORK/add.kiln"
"$MAKE_ARTIFACT" "$HOST_CODE" "$M"
npy "$WORK/a.npy" float32 2,3
npy "$WORK/b.npy" float32 2,3
npy "$WORK/a64.npy" float64 2,3
npy "$WORK/a32.npy" float32 3,2

# Command line.
expect_error "no model given"
expect_error "unknown option '--frobnicate'" "$M" --frobnicate
expect_error "--input expects NAME=FILE, got 'a'" "$M" --input a
expect_error "--input needs a value" "$M" --input
expect_error "--repeat expects an integer" "$M" --repeat 0
expect_error "--threads expects an integer from 1 to 4096, got '0'" "$M" --threads 0
expect_error "--threads needs a value" "$M" --threads
expect_error "more than one model given" "$M" "$M"

# The model file.
expect_error "cannot open '$WORK/missing.kiln'" "$WORK/missing.kiln"
expect_error "is not a regular file" "$WORK"
head -c 4096 /dev/urandom >"$WORK/garbage.kiln"
expect_error "not a Kiln artifact (bad magic)" "$WORK/garbage.kiln"
: >"$WORK/empty.kiln"
expect_error "not a Kiln artifact" "$WORK/empty.kiln"
head -c 1000 "$M" >"$WORK/truncated.kiln"
expect_error "truncated: header says $(stat -c %s "$M") bytes, file has 1000" \
  "$WORK/truncated.kiln"
"$MAKE_ARTIFACT" "$HOST_CODE" "$WORK/v1.kiln" --format-version 1
expect_error "artifact format version 1, this runtime reads versions 2 to 5; recompile the model" \
  "$WORK/v1.kiln"
cp "$M" "$WORK/flipped.kiln"
printf '\xff' | dd of="$WORK/flipped.kiln" bs=1 seek=300 conv=notrunc 2>/dev/null
expect_error "checksum mismatch" "$WORK/flipped.kiln"
# The runtime's memory limit: the session's buffers do not fit in 100 bytes.
export KILN_MEMORY_LIMIT=100
expect_error "out of memory allocating 24 bytes for 'b' (over the runtime's memory limit of 100 bytes: 64 bytes already in use; raise it with KILN_MEMORY_LIMIT or kiln_set_memory_limit)" \
  "$M" --input a="$WORK/a.npy" --input b="$WORK/b.npy"
unset KILN_MEMORY_LIMIT
"$MAKE_ARTIFACT" "$HOST_CODE" "$WORK/riscv.kiln" --target cpu-riscv64
expect_error "artifact target 'cpu-riscv64' cannot run" "$WORK/riscv.kiln" \
  --input a="$WORK/a.npy" --input b="$WORK/b.npy"

# Devices.
expect_error "unknown device 'gpu'; expected 'cpu' or 'cuda:N'" "$M" --device gpu
expect_error "artifact target 'cpu-x86_64' cannot run on device 'cuda:0': it runs on 'cpu' devices" \
  "$M" --device cuda:0 --input a="$WORK/a.npy" --input b="$WORK/b.npy"
expect_error "unknown device 'cpu:1'" "$M" --device cpu:1

# Inputs.
expect_error "model has no input named 'foo'; inputs are: a, b" "$M" \
  --input foo="$WORK/a.npy"
expect_error "input 'a' expects dtype float32 but got float64" "$M" \
  --input a="$WORK/a64.npy" --input b="$WORK/b.npy"
expect_error "input 'a' expects shape [2,3] but got [3,2]" "$M" \
  --input a="$WORK/a32.npy" --input b="$WORK/b.npy"
expect_error "missing input 'b' (float32[2,3]); pass it with --input b=FILE.npy" \
  "$M" --input a="$WORK/a.npy"
expect_error "input 'a' is given more than once" "$M" \
  --input a="$WORK/a.npy" --input a="$WORK/a.npy"
expect_error "cannot open '$WORK/nope.npy'" "$M" --input a="$WORK/nope.npy"
head -c 300 /dev/urandom >"$WORK/garbage.npy"
expect_error "not a .npy file (bad magic)" "$M" --input a="$WORK/garbage.npy"
head -c 100 "$WORK/a.npy" >"$WORK/a.npy.100"
head -c 140 "$WORK/a.npy" >"$WORK/short.npy"
expect_error "truncated .npy header" "$M" --input a="$WORK/a.npy.100"
expect_error "data size mismatch" "$M" --input a="$WORK/short.npy"
printf 'hello' >"$WORK/a.txt"
expect_error "cannot tell the tensor format" "$M" --input a="$WORK/a.txt"
printf '\x4a\x10a' >"$WORK/bad.pb"
expect_error "corrupt TensorProto" "$M" --input a="$WORK/bad.pb"

# Outputs: a bad directory, and a failure after a first file was written.
touch "$WORK/a-file"
expect_error "exists and is not a directory" "$M" --input a="$WORK/a.npy" \
  --input b="$WORK/b.npy" --output-dir "$WORK/a-file/out"
# The low-precision model's last output, fp4, is not a float4e2m1 when
# x[4] == 7; its other outputs (.npy and .pb) are written before it.
"$MAKE_ARTIFACT" "$HOST_CODE" "$WORK/lowp.kiln" --model low-precision
"$PYTHON" -c "import numpy as np, sys; np.save(sys.argv[1], np.array([1, 2, 3, 4, 7], np.int8))" \
  "$WORK/x7.npy"
expect_error "output 'fp4' cannot be saved as '$WORK/new/out/fp4.pb': element 0 is 16, outside float4e2m1's range [0, 15]" \
  "$WORK/lowp.kiln" --input x="$WORK/x7.npy" --output-dir "$WORK/new/out"
[ ! -e "$WORK/new" ] || fail "a failed run left $WORK/new behind: $(ls -R "$WORK/new")"
mkdir "$WORK/existing"
expect_error "output 'fp4' cannot be saved as" "$WORK/lowp.kiln" \
  --input x="$WORK/x7.npy" --output-dir "$WORK/existing"
[ -z "$(ls -A "$WORK/existing")" ] ||
  fail "a failed run left files behind: $(ls -A "$WORK/existing")"

# Sub-byte inputs: an int8 .npy stands for int4 only when every value fits;
# a wider integer is still a dtype mismatch.
"$PYTHON" -c "import numpy as np, sys; np.save(sys.argv[1], np.array([1, 2, 8, 4, 5], np.int8))" \
  "$WORK/x8.npy"
expect_error "input 'x': element 2 is 8, outside int4's range [-8, 7]" \
  "$WORK/lowp.kiln" --input x="$WORK/x8.npy"
npy "$WORK/x16.npy" int16 5
expect_error "input 'x' expects dtype int4 but got int16" \
  "$WORK/lowp.kiln" --input x="$WORK/x16.npy"
npy "$WORK/xu8.npy" uint8 5
expect_error "input 'x' expects dtype int4 but got uint8" \
  "$WORK/lowp.kiln" --input x="$WORK/xu8.npy"

# Symbolic dims: a value outside its symbol's range, inputs that disagree
# on a symbol, a missing input named with its symbolic shape.
"$MAKE_ARTIFACT" "$HOST_CODE" "$WORK/dyn.kiln" --model dynamic
npy "$WORK/a2x17.npy" float32 2,17
npy "$WORK/a2x3.npy" float32 2,3
npy "$WORK/b1x4.npy" float32 1,4
expect_error "input 'a' dim 1 (seq) is 17, outside seq's range 1..16 (from '$WORK/a2x17.npy')" \
  "$WORK/dyn.kiln" -i a="$WORK/a2x17.npy" -i b="$WORK/b1x4.npy"
expect_error "run failed: input 'b' dim 1 is 4 but seq is 3 (from input 'a' dim 1)" \
  "$WORK/dyn.kiln" -i a="$WORK/a2x3.npy" -i b="$WORK/b1x4.npy"
expect_error "missing input 'b' (float32[1,seq]); pass it with --input b=FILE.npy" \
  "$WORK/dyn.kiln" -i a="$WORK/a2x3.npy"
expect_error "input 'b' expects shape [1,seq] but got [2,3]" \
  "$WORK/dyn.kiln" -i a="$WORK/a2x3.npy" -i b="$WORK/a2x3.npy"

finish
