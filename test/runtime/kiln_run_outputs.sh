#!/usr/bin/env bash
# kiln-run's happy paths: help, signature, summaries, .npy and .pb inputs,
# output files checked with NumPy, --repeat and --quiet.
source "$(dirname "$0")/cli_test_lib.sh"

M="$WORK/add.kiln"
"$MAKE_ARTIFACT" "$HOST_CODE" "$M"
npy "$WORK/a.npy" float32 2,3
npy "$WORK/b.npy" float32 2,3

# --help documents every flag and exits 0.
"$KILN_RUN" --help >"$WORK/help" || fail "--help exited $?"
for flag in --input --output-dir --device --repeat --print-signature --quiet \
  --help "Exit status"; do
  grep -qF -- "$flag" "$WORK/help" || fail "--help does not mention $flag"
done

# --print-signature needs no inputs.
"$KILN_RUN" "$M" --print-signature >"$WORK/sig" || fail "--print-signature failed"
grep -qx "target: cpu-x86_64" "$WORK/sig" || fail "signature lacks the target"
grep -qx "input b: float32\[2,3\]" "$WORK/sig" || fail "signature lacks input b"
grep -qx "output stats/count: int64\[\]" "$WORK/sig" ||
  fail "signature lacks output stats/count"
grep -q "^gpu" "$WORK/sig" && fail "a CPU signature names GPU images"

# A CUDA artifact's signature names its target, images and workspace; it
# needs neither a GPU nor a driver.
"$MAKE_ARTIFACT" "$HOST_CODE" "$WORK/gpu.kiln" --gpu sm_90a:cubin,sm_80:ptx
KILN_CUDA_DRIVER=/nonexistent "$KILN_RUN" "$WORK/gpu.kiln" --print-signature \
  >"$WORK/gpusig" || fail "--print-signature of a CUDA artifact failed"
grep -qx "target: cuda-sm_90a,sm_80" "$WORK/gpusig" ||
  fail "CUDA signature lacks the target: $(cat "$WORK/gpusig")"
grep -qE "^gpu image sm_90a: cubin, [0-9]+ bytes$" "$WORK/gpusig" ||
  fail "CUDA signature lacks the sm_90a cubin: $(cat "$WORK/gpusig")"
grep -qE "^gpu image sm_80: ptx, [0-9]+ bytes$" "$WORK/gpusig" ||
  fail "CUDA signature lacks the sm_80 PTX: $(cat "$WORK/gpusig")"
grep -qx "gpu workspace: 256 bytes" "$WORK/gpusig" ||
  fail "CUDA signature lacks the workspace: $(cat "$WORK/gpusig")"

# A run with output files: sum = a + b + w, stats/count -> stats_count.npy.
"$KILN_RUN" "$M" --input a="$WORK/a.npy" -i b="$WORK/b.npy" \
  --output-dir "$WORK/out/nested" >"$WORK/stdout" 2>"$WORK/stderr" ||
  fail "run failed: $(cat "$WORK/stderr")"
[ -s "$WORK/stderr" ] && fail "a successful run wrote to stderr: $(cat "$WORK/stderr")"
grep -qx "sum: float32\[2,3\] min=102 max=612 mean=357 values=\[102, 204, 306, 408, 510, 612\]" \
  "$WORK/stdout" || fail "unexpected summary: $(cat "$WORK/stdout")"
grep -qx "stats/count: int64\[\] min=6 max=6 mean=6 values=\[6\]" "$WORK/stdout" ||
  fail "unexpected summary: $(cat "$WORK/stdout")"
"$PYTHON" - "$WORK/out/nested" <<'PY' || fail "output files are wrong"
import numpy as np, os, sys
d = sys.argv[1]
assert sorted(os.listdir(d)) == ["stats_count.npy", "sum.npy"], os.listdir(d)
s = np.load(os.path.join(d, "sum.npy"))
assert s.dtype == np.float32 and s.shape == (2, 3), (s.dtype, s.shape)
expected = 2 * (np.arange(6) + 1).reshape(2, 3) + 100 * (np.arange(6) + 1).reshape(2, 3)
assert (s == expected).all(), s
c = np.load(os.path.join(d, "stats_count.npy"))
assert c.dtype == np.int64 and c.shape == () and c == 6, (c.dtype, c.shape, c)
PY

# Inputs as ONNX TensorProto files, written by the onnx package.
if "$PYTHON" -c "import onnx" 2>/dev/null; then
  "$PYTHON" - "$WORK" <<'PY'
import numpy as np, onnx.numpy_helper as nh, sys
a = (np.arange(6) + 1).astype(np.float32).reshape(2, 3)
open(sys.argv[1] + "/a.pb", "wb").write(nh.from_array(a, "a").SerializeToString())
PY
  "$KILN_RUN" "$M" --input a="$WORK/a.pb" --input b="$WORK/b.npy" \
    >"$WORK/stdout" || fail ".pb input failed"
  grep -q "^sum: float32\[2,3\] min=102 " "$WORK/stdout" ||
    fail ".pb input gave: $(cat "$WORK/stdout")"
else
  echo "skip: python3 onnx module not installed; .pb input not tested"
fi

# No --output-dir: summaries only. --quiet: nothing but timing.
(cd "$WORK" && "$KILN_RUN" "$M" --input a=a.npy --input b=b.npy >summary) ||
  fail "run without --output-dir failed"
[ "$(wc -l <"$WORK/summary")" -eq 2 ] || fail "expected 2 summary lines"
"$KILN_RUN" "$M" --input a="$WORK/a.npy" --input b="$WORK/b.npy" --quiet \
  --repeat 5 >"$WORK/quiet" || fail "--quiet --repeat failed"
grep -qE "^timing: 5 runs, median [0-9.e+-]+ ms, min [0-9.e+-]+ ms$" "$WORK/quiet" ||
  fail "unexpected --repeat output: $(cat "$WORK/quiet")"
[ "$(wc -l <"$WORK/quiet")" -eq 1 ] || fail "--quiet printed summaries"

# Zero-size tensors run and are written.
"$MAKE_ARTIFACT" "$HOST_CODE" "$WORK/zero.kiln" --model zero-size
npy "$WORK/x.npy" float32 0,3
"$KILN_RUN" "$WORK/zero.kiln" --input x="$WORK/x.npy" -o "$WORK/zero-out" \
  >"$WORK/stdout" || fail "zero-size model failed"
grep -qx "y: float32\[0,3\] (empty)" "$WORK/stdout" || fail "zero-size summary"
grep -qx "ok: int32\[1\] min=1 max=1 mean=1 values=\[1\]" "$WORK/stdout" ||
  fail "zero-size model saw a null or misaligned pointer"
"$PYTHON" -c "import numpy as np, sys; assert np.load(sys.argv[1]).shape == (0, 3)" \
  "$WORK/zero-out/y.npy" || fail "zero-size output file"

# Low-precision outputs: NumPy has no bfloat16/float8/float4, so those are
# ONNX TensorProto .pb files (and the summary says so); int4/uint2 are
# int8/uint8 .npy files, one element per byte. The int4 input is an int8
# .npy here and a packed int4 .pb below.
grep -qF "DIR/NAME.pb" "$WORK/help" || fail "--help does not mention .pb outputs"
"$MAKE_ARTIFACT" "$HOST_CODE" "$WORK/lowp.kiln" --model low-precision
"$PYTHON" -c "import numpy as np, sys; np.save(sys.argv[1], np.array([1, 2, -3, -8, 6], np.int8))" \
  "$WORK/x.npy"
"$KILN_RUN" "$WORK/lowp.kiln" --input x="$WORK/x.npy" -o "$WORK/lowp-out" \
  >"$WORK/stdout" 2>"$WORK/stderr" || fail "low-precision run failed: $(cat "$WORK/stderr")"
for line in \
  "sum: int8[5] min=-8 max=9 mean=-0.2 values=[8, -6, -4, -8, 9]" \
  "x4: int4[5] min=-8 max=6 mean=-0.4 values=[1, 2, -3, -8, 6]" \
  "u2: uint2[5] min=0 max=2 mean=1.2 values=[1, 2, 1, 0, 2]" \
  "half: bfloat16[2] min=1 max=2 mean=1.5 values=[1, 2] (saved as half.pb, an ONNX TensorProto: NumPy has no bfloat16)" \
  "e4m3: float8e4m3fn[4] min=-2 max=1 mean=-0.333333 nan=1 values=[1, -2, nan, 0] (saved as e4m3.pb, an ONNX TensorProto: NumPy has no float8e4m3fn)" \
  "fp4: float4e2m1[3] min=-6 max=1 mean=-1.5 values=[0.5, 1, -6] (saved as fp4.pb, an ONNX TensorProto: NumPy has no float4e2m1)"; do
  grep -qxF "$line" "$WORK/stdout" || fail "no summary line '$line' in: $(cat "$WORK/stdout")"
done
"$PYTHON" - "$WORK/lowp-out" <<'PY' || fail "low-precision output files are wrong"
import numpy as np, os, sys
d = sys.argv[1]
names = sorted(os.listdir(d))
assert names == ["e4m3.pb", "fp4.pb", "half.pb", "sum.npy", "u2.npy", "x4.npy"], names
x4 = np.load(os.path.join(d, "x4.npy"))
assert x4.dtype == np.int8 and x4.tolist() == [1, 2, -3, -8, 6], x4
u2 = np.load(os.path.join(d, "u2.npy"))
assert u2.dtype == np.uint8 and u2.tolist() == [1, 2, 1, 0, 2], u2
try:
    from onnx import TensorProto
except ImportError:
    print("skip: python3 onnx module not installed; .pb outputs not parsed")
    sys.exit(0)
def load(name):
    t = TensorProto()
    t.ParseFromString(open(os.path.join(d, name), "rb").read())
    return t
for name, dtype, dims, raw in [("half", 16, [2], b"\x80\x3f\x00\x40"),
                               ("e4m3", 17, [4], b"\x38\xc0\x7f\x00"),
                               ("fp4", 23, [3], b"\x21\x0f")]:
    t = load(name + ".pb")
    assert (t.name, t.data_type, list(t.dims), t.raw_data) == (name, dtype, dims, raw), t
PY

# The int4 input as ONNX stores it: packed, in int32_data.
"$PYTHON" - "$WORK/x.pb" <<'PY'
import sys
# dims 5, data_type 22 (int4), int32_data [0x21, 0x8d, 0x06] = 1, 2, -3, -8, 6
open(sys.argv[1], "wb").write(bytes([0x08, 5, 0x10, 22, 0x2a, 4, 0x21, 0x8d, 0x01, 0x06]))
PY
"$KILN_RUN" "$WORK/lowp.kiln" --input x="$WORK/x.pb" >"$WORK/stdout" 2>"$WORK/stderr" ||
  fail "int4 .pb input failed: $(cat "$WORK/stderr")"
grep -qxF "x4: int4[5] min=-8 max=6 mean=-0.4 values=[1, 2, -3, -8, 6]" "$WORK/stdout" ||
  fail "int4 .pb input gave: $(cat "$WORK/stdout")"

# bfloat16 next to float32: copy.npy and half.pb.
"$MAKE_ARTIFACT" "$HOST_CODE" "$WORK/bf16.kiln" --model bf16-output
"$KILN_RUN" "$WORK/bf16.kiln" --input a="$WORK/a.npy" -o "$WORK/bf16-out" -q ||
  fail "bf16 run failed"
[ "$(ls "$WORK/bf16-out" | tr '\n' ' ')" = "copy.npy half.pb " ] ||
  fail "bf16 outputs: $(ls "$WORK/bf16-out")"

# Symbolic dims: the signature names them and lists their ranges; a run at
# any shape in range writes outputs at the shapes the symbols give.
"$MAKE_ARTIFACT" "$HOST_CODE" "$WORK/dyn.kiln" --model dynamic
"$KILN_RUN" "$WORK/dyn.kiln" --print-signature >"$WORK/dynsig" ||
  fail "--print-signature of a dynamic model failed"
for line in "symbol batch: 0..8" "symbol seq: 1..16"   "input a: float32[batch,seq]" "input b: float32[1,seq]"   "output sum: float32[batch,seq]" "output rowsum: float32[batch]"   "output symbols: int64[2]"; do
  grep -qxF "$line" "$WORK/dynsig" ||
    fail "dynamic signature lacks '$line': $(cat "$WORK/dynsig")"
done
grep -q "^symbol" "$WORK/sig" && fail "a static signature lists symbols"
for shape in 2,3 5,1; do
  npy "$WORK/da.npy" float32 "$shape"
  npy "$WORK/db.npy" float32 "1,${shape#*,}"
  rm -rf "$WORK/dyn-out"
  "$KILN_RUN" "$WORK/dyn.kiln" -i a="$WORK/da.npy" -i b="$WORK/db.npy"     -o "$WORK/dyn-out" >"$WORK/stdout" 2>"$WORK/stderr" ||
    fail "dynamic run at $shape failed: $(cat "$WORK/stderr")"
  grep -q "^sum: float32\[$shape\] " "$WORK/stdout" ||
    fail "dynamic run at $shape: $(cat "$WORK/stdout")"
  "$PYTHON" - "$WORK/dyn-out" "$shape" <<'PY' || fail "dynamic outputs at $shape are wrong"
import numpy as np, os, sys
d, (batch, seq) = sys.argv[1], (int(x) for x in sys.argv[2].split(","))
a = (np.arange(batch * seq) + 1).astype(np.float32).reshape(batch, seq)
b = (np.arange(seq) + 1).astype(np.float32).reshape(1, seq)
s = np.load(os.path.join(d, "sum.npy"))
assert s.shape == (batch, seq) and (s == a + b + 100).all(), s
r = np.load(os.path.join(d, "rowsum.npy"))
assert r.shape == (batch,) and np.allclose(r, s.sum(axis=1)), r
assert (np.load(os.path.join(d, "symbols.npy")) == [batch, seq]).all()
PY
done

# The C API from C99, on a real artifact.
"$C_API_TEST" "$M" || fail "C API test failed"

finish
