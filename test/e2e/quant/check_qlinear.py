#!/usr/bin/python3
"""kiln.qlinear in every weight format, and fp8/fp4 rounding, against NumPy.

Each linear case quantizes random float weights in NumPy (the encoders
below are written from the format definitions, independently of Kiln),
writes a kiln.qlinear function with the codes and scales as constants,
compiles and runs it, and compares with `x @ dequantized(W).T + bias`
computed in float64 from NumPy's own decoding of the codes:

  int8 per channel (symmetric)        scale [N, 1], block [1, K]
  int4 group-wise, asymmetric         scale/zero point [N, ceil(K/g)], g = 32
                                      and 128, K not a multiple of g
  uint4 group-wise with zero points   (is_unsigned)
  fp8 e4m3fn / e5m2 per tensor        scale [1, 1], block [N, K]
  fp8 e4m3fn 128x128 blocks           N and K not multiples of 128
  MXFP4                               e2m1 codes, e8m0 scale per 32
  NVFP4                               e2m1 codes, e4m3 scale per 16, an
                                      f32 global scale

Weights larger than 256 elements are outlined into the artifact, so the
packed int4/fp4 layout is exercised too. The kernel_* cases have shapes
the CPU kernel (kiln-cpu-convert-quantized-linears-to-vector-kernels)
takes, for every integer and float format, on 1, 4 and 7 rows and a
threaded size; the *_every_code ones place every finite fp8 / fp4 code,
subnormals included. decode_identities checks the kernel's bit-level
fp8/fp4 decode (float_bits_decode) against the format definitions. The rounding cases run
kiln.quantize to f8E4M3FN, f8E5M2 and f4E2M1FN on values chosen to hit
ties, subnormals, the saturation edge, infinities and NaN, and compare the
bit patterns exactly with an exhaustive nearest-value search.

The --quantize cases compile examples/mlp/mlp.onnx in float and with
`kiln-compile --quantize=FORMAT`, run both on the same inputs and bound
the relative L2 error of the output probabilities: 0.02 for int8, 0.06 for
fp8-block, 0.2 for the 4-bit formats (round-to-nearest weight errors are
about 0.5%, 2-3% and 9-10% respectively).

Usage: check_qlinear.py --bin BUILD/bin [--keep DIR] [--filter SUBSTRING]
Prints one line per case and `qlinear: N passed, M failed`; exits 1 on
failure.
"""
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kiln_tools import check_arguments, compile_and_run, run_checks  # noqa: E402


# --- The narrow float formats, from their definitions -----------------------

class FloatFormat:
    """A sign-exponent-mantissa format with `bias`; `nan` says which codes
    are NaN: "fn" (all ones), "ieee" (exponent all ones), "none"."""

    def __init__(self, name, exp_bits, man_bits, bias, nan):
        self.name, self.e, self.m, self.bias, self.nan = (
            name, exp_bits, man_bits, bias, nan)
        self.width = 1 + exp_bits + man_bits

    def decode(self, code):
        code = int(code)
        sign = -1.0 if code >> (self.e + self.m) else 1.0
        exp = (code >> self.m) & ((1 << self.e) - 1)
        man = code & ((1 << self.m) - 1)
        magnitude_bits = code & ((1 << (self.e + self.m)) - 1)
        if self.nan == "fn" and magnitude_bits == (1 << (self.e + self.m)) - 1:
            return float("nan")
        if self.nan == "ieee" and exp == (1 << self.e) - 1:
            return sign * float("inf") if man == 0 else float("nan")
        if exp == 0:
            return sign * man * 2.0 ** (1 - self.bias - self.m)
        return sign * (1 + man / 2.0 ** self.m) * 2.0 ** (exp - self.bias)

    def finite_codes(self):
        if not hasattr(self, "_finite"):
            values = [(c, self.decode(c)) for c in range(1 << self.width)]
            self._finite = [(c, v) for c, v in values if np.isfinite(v)]
        return self._finite

    def max_finite(self):
        return max(v for _, v in self.finite_codes())

    def encode(self, x):
        """Nearest finite value, ties to the even code; saturating; NaN to
        the format's positive... or signed NaN code."""
        x = float(x)
        top = self.e + self.m
        if np.isnan(x):
            if self.nan == "none":
                return 1 << top  # no NaN: the sign bit alone, as ONNX does
            sign = 1 << top if np.signbit(x) else 0
            return sign | ((1 << top) - 1)
        best = None
        limit = self.max_finite()
        for code, value in self.finite_codes():
            if value == 0 and (code >> top) != int(np.signbit(x)):
                continue  # keep the sign of zero
            if (x < 0) != (value < 0) and value != 0:
                continue
            distance = abs(min(max(x, -limit), limit) - value)
            key = (distance, code & 1)
            if best is None or key < best[0]:
                best = (key, code)
        return best[1]


E4M3 = FloatFormat("f8E4M3FN", 4, 3, 7, "fn")
E5M2 = FloatFormat("f8E5M2", 5, 2, 15, "ieee")
E2M1 = FloatFormat("f4E2M1FN", 2, 1, 1, "none")


def nearest_codes(fmt, values):
    """The code of the nearest finite value; ties go to the even code."""
    table = fmt.finite_codes()
    codes = np.array([c for c, _ in table])
    points = np.array([v for _, v in table])
    flat = values.reshape(-1, 1)
    out = np.empty(flat.shape[0], dtype=codes.dtype)
    for start in range(0, flat.shape[0], 8192):  # bounded memory
        distance = np.abs(points[None, :] - flat[start:start + 8192])
        nearest = distance == distance.min(axis=1, keepdims=True)
        preference = nearest * (2 - (codes & 1))[None, :]
        out[start:start + 8192] = codes[np.argmax(preference, axis=1)]
    return out.reshape(values.shape)


def decode_all(fmt, codes):
    return np.vectorize(fmt.decode, otypes=[np.float64])(codes)


def float_bits_decode(fmt, codes):
    """The CPU kernel's decode of fp8 / fp4 codes, in NumPy: sign, exponent
    and mantissa moved to their places in an f32, then the power of two
    that leaves out (which the kernel folds into its scales)."""
    x = np.asarray(codes, dtype=np.uint32)
    if fmt is E4M3:
        bits, exponent = ((x & 0x7F) << 20) | ((x & 0x80) << 24), 120
    elif fmt is E2M1:
        bits, exponent = ((x & 0x7) << 22) | ((x & 0x8) << 28), 126
    else:
        raise ValueError(fmt.name)
    return bits.astype(np.uint32).view(np.float32).astype(np.float64) * (
        2.0 ** exponent)


def decode_identity_case():
    """Every finite e4m3fn and e2m1 code through float_bits_decode against
    the format definition, sign of zero included."""
    def check():
        for fmt in (E4M3, E2M1):
            codes = np.array([c for c, _ in fmt.finite_codes()])
            want = np.array([v for _, v in fmt.finite_codes()])
            got = float_bits_decode(fmt, codes)
            bad = np.nonzero((got != want) |
                             (np.signbit(got) != np.signbit(want)))[0]
            if bad.size:
                return "%s: %d codes decode wrong; first %#x: %r, want %r" % (
                    fmt.name, bad.size, codes[bad[0]], got[bad[0]],
                    want[bad[0]])
        return None
    return dict(name="decode_identities", check=check)


# --- MLIR text ----------------------------------------------------------------

def literal(array, kind):
    """A dense<...> body: integers or exactly representable floats."""
    if kind == "int":
        return np.array2string(np.asarray(array, dtype=np.int64),
                               separator=", ", threshold=1 << 30,
                               max_line_width=1 << 30)
    text = np.array2string(np.asarray(array, dtype=np.float64),
                           separator=", ", threshold=1 << 30,
                           max_line_width=1 << 30,
                           formatter={"float_kind": lambda v: repr(float(v))})
    return text


def tensor_type(shape, elt):
    return "tensor<%s%s>" % ("".join("%dx" % d for d in shape), elt)


def qlinear_function(m, k, n, weight, welt, scale, selt, block, zp=None,
                     global_scale=None, bias=None, unsigned=False):
    wkind = "int" if welt.startswith("i") else "float"
    lines = ["func.func @main(%x: {}) -> {} {{".format(
        tensor_type((m, k), "f32"), tensor_type((m, n), "f32"))]
    lines.append("  %w = arith.constant dense<{}> : {}".format(
        literal(weight, wkind), tensor_type(weight.shape, welt)))
    lines.append("  %s = arith.constant dense<{}> : {}".format(
        literal(scale, "float"), tensor_type(scale.shape, selt)))
    operands = ["%x", "%w", "%s"]
    types = [tensor_type((m, k), "f32"), tensor_type(weight.shape, welt),
             tensor_type(scale.shape, selt)]
    extra = ""
    if zp is not None:
        lines.append("  %zp = arith.constant dense<{}> : {}".format(
            literal(zp, wkind), tensor_type(zp.shape, welt)))
        extra += " zero_point %zp"
        types.append(tensor_type(zp.shape, welt))
    if global_scale is not None:
        lines.append("  %g = arith.constant dense<{}> : tensor<f32>".format(
            repr(float(global_scale))))
        extra += " global_scale %g"
        types.append("tensor<f32>")
    if bias is not None:
        lines.append("  %b = arith.constant dense<{}> : {}".format(
            literal(bias, "float"), tensor_type(bias.shape, "f32")))
        extra += " bias %b"
        types.append(tensor_type(bias.shape, "f32"))
    attrs = "block_shape = array<i64: %d, %d>" % block
    if unsigned:
        attrs += ", is_unsigned = true"
    lines.append("  %y = kiln.qlinear {}{} {{{}}} : ({}) -> {}".format(
        ", ".join(operands), extra, attrs, ", ".join(types),
        tensor_type((m, n), "f32")))
    lines.append("  return %y : {}".format(tensor_type((m, n), "f32")))
    lines.append("}")
    return "\n".join(lines) + "\n"


def expand_blocks(param, block, shape):
    """Repeats a [ceil(N/bn), ceil(K/bk)] parameter to [N, K]."""
    full = np.repeat(np.repeat(param, block[0], axis=0), block[1], axis=1)
    return full[:shape[0], :shape[1]]


# --- The weight formats (NumPy quantizers) ----------------------------------

def quant_int_group(w, group, bits, symmetric, unsigned, rng):
    n, k = w.shape
    blocks = -(-k // group)
    pad = np.zeros((n, blocks * group))
    pad[:, :k] = w
    grouped = pad.reshape(n, blocks, group)
    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        scale = np.abs(grouped).max(axis=2) / qmax
        zp = None
        codes = np.clip(np.rint(w / expand_blocks(scale, (1, group), w.shape)),
                        -qmax - 1, qmax)
    else:
        lo, hi = (0, 2 ** bits - 1) if unsigned else (
            -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        wmin = np.minimum(grouped.min(axis=2), 0)
        wmax = np.maximum(grouped.max(axis=2), 0)
        scale = (wmax - wmin) / (hi - lo)
        zp = np.clip(np.rint(lo - wmin / scale), lo, hi)
        codes = np.clip(np.rint(w / expand_blocks(scale, (1, group), w.shape))
                        + expand_blocks(zp, (1, group), w.shape), lo, hi)
    scale = scale.astype(np.float32)
    deq = (codes - (0 if zp is None else expand_blocks(zp, (1, group), w.shape))
           ) * expand_blocks(scale.astype(np.float64), (1, group), w.shape)
    return codes.astype(np.int64), scale, zp, deq


def quant_fp8_blocks(w, fmt, block):
    n, k = w.shape
    bn, bk = block
    sn, sk = -(-n // bn), -(-k // bk)
    amax = np.zeros((sn, sk))
    for i in range(sn):
        for j in range(sk):
            amax[i, j] = np.abs(w[i * bn:(i + 1) * bn, j * bk:(j + 1) * bk]).max()
    scale = (amax / fmt.max_finite()).astype(np.float32)
    full = expand_blocks(scale.astype(np.float64), block, w.shape)
    codes = nearest_codes(fmt, w / full)
    values = decode_all(fmt, codes)
    return values, scale, values * full


def quant_mxfp4(w):
    n, k = w.shape
    blocks = -(-k // 32)
    amax = np.array([[np.abs(w[i, j * 32:(j + 1) * 32]).max()
                      for j in range(blocks)] for i in range(n)])
    # OCP MX: the shared exponent is floor(log2(amax)) - emax(e2m1) = -2.
    exponent = np.floor(np.log2(amax)) - 2
    scale = (2.0 ** exponent).astype(np.float32)
    full = expand_blocks(scale.astype(np.float64), (1, 32), w.shape)
    codes = nearest_codes(E2M1, np.clip(w / full, -6, 6))
    values = decode_all(E2M1, codes)
    return values, scale, values * full


def quant_nvfp4(w):
    n, k = w.shape
    blocks = -(-k // 16)
    amax = np.array([[np.abs(w[i, j * 16:(j + 1) * 16]).max()
                      for j in range(blocks)] for i in range(n)])
    global_scale = np.float32(amax.max() / (6.0 * 448.0))
    block_scale = decode_all(E4M3, nearest_codes(E4M3, amax / 6.0 / global_scale))
    full = expand_blocks(block_scale * float(global_scale), (1, 16), w.shape)
    codes = nearest_codes(E2M1, np.clip(w / full, -6, 6))
    values = decode_all(E2M1, codes)
    return values, block_scale.astype(np.float32), global_scale, values * full


# --- Cases ------------------------------------------------------------------

def linear_case(name, fmt, m, k, n, with_bias, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, k))
    x = rng.standard_normal((m, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32) if with_bias else None
    kwargs = dict(bias=bias)
    if fmt == "int8_channel":
        codes, scale, _, deq = quant_int_group(w, k, 8, True, False, rng)
        text = qlinear_function(m, k, n, codes, "i8", scale, "f32", (1, k), **kwargs)
    elif re.fullmatch(r"u?int[48](sym)?_g\d+", fmt):
        # int4_g32: signed codes and zero points; uint8_g32: unsigned ones;
        # int4sym_g32: signed codes, no zero point.
        bits = int(fmt.split("int")[1][0])
        group = int(fmt.split("_g")[1])
        unsigned = fmt.startswith("u")
        symmetric = "sym" in fmt
        codes, scale, zp, deq = quant_int_group(w, group, bits, symmetric,
                                                unsigned, rng)
        # iN holds uintN's bit patterns: 2^(N-1) .. 2^N - 1 print negative.
        half = 2 ** (bits - 1)
        store = lambda a: np.where(a >= half, a - 2 * half, a) if unsigned else a
        text = qlinear_function(
            m, k, n, store(codes), "i%d" % bits, scale, "f32", (1, group),
            zp=None if zp is None else store(zp.astype(np.int64)),
            unsigned=unsigned, **kwargs)
    elif fmt in ("e4m3_tensor", "e5m2_tensor"):
        f = E4M3 if fmt.startswith("e4m3") else E5M2
        values, scale, deq = quant_fp8_blocks(w, f, (n, k))
        text = qlinear_function(m, k, n, values, f.name, scale, "f32", (n, k),
                                **kwargs)
    elif fmt == "e4m3_block128":
        values, scale, deq = quant_fp8_blocks(w, E4M3, (128, 128))
        text = qlinear_function(m, k, n, values, E4M3.name, scale, "f32",
                                (128, 128), **kwargs)
    elif fmt == "mxfp4":
        values, scale, deq = quant_mxfp4(w)
        text = qlinear_function(m, k, n, values, E2M1.name, scale, "f8E8M0FNU",
                                (1, 32), **kwargs)
    elif fmt in ("e4m3_every_code", "e2m1_every_code"):
        # Every finite code, normal and subnormal, in random places: the
        # random weights hit few subnormal fp8 codes. fp8 in 2-D blocks of
        # [32, 64] with f32 scales, fp4 with e8m0 scales per 32.
        f, block, selt = ((E4M3, (32, 64), "f32") if fmt.startswith("e4m3")
                          else (E2M1, (1, 32), "f8E8M0FNU"))
        table = np.array([v for _, v in f.finite_codes()])
        values = rng.permutation(np.resize(table, n * k)).reshape(n, k)
        shape = (-(-n // block[0]), -(-k // block[1]))
        scale = 2.0 ** rng.integers(-6, 2, shape)  # e8m0 2^2 would not fold
        if selt == "f32":
            scale = scale * rng.uniform(1, 2, shape)
        scale = scale.astype(np.float32)
        deq = values * expand_blocks(scale.astype(np.float64), block, w.shape)
        text = qlinear_function(m, k, n, values, f.name, scale, selt, block,
                                **kwargs)
    elif fmt == "nvfp4":
        values, scale, gscale, deq = quant_nvfp4(w)
        text = qlinear_function(m, k, n, values, E2M1.name, scale, E4M3.name,
                                (1, 16), global_scale=gscale, **kwargs)
    else:
        raise ValueError(fmt)
    want = x.astype(np.float64) @ deq.T
    if bias is not None:
        want = want + bias
    return dict(name=name, text=text, inputs=[("input0", x)], want=want,
                tol=1e-4)


def rounding_case(fmt, seed):
    rng = np.random.default_rng(seed)
    finite = np.array([v for _, v in fmt.finite_codes()])
    positive = np.unique(finite[finite > 0])
    midpoints = (positive[:-1] + positive[1:]) / 2  # exact ties
    values = np.concatenate([
        finite, midpoints, -midpoints, positive[:1] / 4,
        [fmt.max_finite() * 1.01, -fmt.max_finite() * 3, np.inf, -np.inf,
         np.nan, 0.0, -0.0],
        rng.standard_normal(64) * fmt.max_finite() / 4])
    values = values[np.isfinite(values) | np.isnan(values) | np.isinf(values)]
    x = values.astype(np.float32)
    n = x.size
    text = ("func.func @main(%x: tensor<{n}xf32>) -> tensor<{n}x{t}> {{\n"
            "  %s = arith.constant dense<1.0> : tensor<f32>\n"
            "  %q = kiln.quantize %x, %s : (tensor<{n}xf32>, tensor<f32>) "
            "-> tensor<{n}x{t}>\n"
            "  return %q : tensor<{n}x{t}>\n}}\n").format(n=n, t=fmt.name)
    want = np.array([fmt.encode(v) for v in x], dtype=np.int64)
    return dict(name="round_" + fmt.name, text=text, inputs=[("input0", x)],
                want_codes=want, fmt=fmt)


def cases():
    out = [
        linear_case("int8_channel", "int8_channel", 3, 72, 40, True, 1),
        linear_case("int4_g32_asym_uneven", "int4_g32", 4, 80, 24, False, 2),
        linear_case("int4_g128_asym", "int4_g128", 2, 300, 16, True, 3),
        linear_case("uint4_g32", "uint4_g32", 2, 64, 20, False, 4),
        # Shapes the CPU kernel (kiln-cpu-convert-quantized-linears-to-
        # vector-kernels) takes: N a multiple of 32, groups dividing K. Row
        # counts below, at and past its 4-row blocks; 8x512x512 is large
        # enough to be spread over threads.
        linear_case("kernel_int4sym_g32_decode", "int4sym_g32", 1, 256, 96,
                    True, 30),
        linear_case("kernel_int4_g32_zero_points", "int4_g32", 5, 128, 64,
                    False, 31),
        linear_case("kernel_uint4_g128", "uint4_g128", 4, 256, 64, True, 32),
        linear_case("kernel_uint4_g32_rows9", "uint4_g32", 9, 64, 32, False,
                    33),
        linear_case("kernel_int8_channel", "int8_channel", 7, 72, 64, True, 34),
        linear_case("kernel_uint8_g64", "uint8_g64", 3, 128, 32, True, 35),
        linear_case("kernel_int8sym_g32", "int8sym_g32", 2, 64, 64, False, 36),
        linear_case("kernel_int4sym_g32_threads", "int4sym_g32", 8, 512, 512,
                    True, 37),
        # fp8 and fp4 codes in the same kernel, decoded with integer ops:
        # 1, 4 and 7 rows, K not a multiple of the block (fp8: groups of
        # gcd(K, 128) = 64), and a product spread over threads.
        linear_case("kernel_fp8_block_decode", "e4m3_block128", 1, 256, 160,
                    True, 40),
        linear_case("kernel_fp8_block_rows4", "e4m3_block128", 4, 384, 64,
                    False, 41),
        linear_case("kernel_fp8_block_rows7_k320", "e4m3_block128", 7, 320,
                    96, True, 42),
        linear_case("kernel_fp8_block_threads", "e4m3_block128", 8, 512, 512,
                    True, 43),
        linear_case("kernel_fp8_every_code", "e4m3_every_code", 4, 128, 64,
                    True, 44),
        linear_case("kernel_mxfp4_decode", "mxfp4", 1, 256, 96, True, 45),
        linear_case("kernel_mxfp4_rows4", "mxfp4", 4, 128, 64, False, 46),
        linear_case("kernel_mxfp4_rows7", "mxfp4", 7, 96, 32, True, 47),
        linear_case("kernel_mxfp4_threads", "mxfp4", 8, 512, 512, False, 48),
        linear_case("kernel_fp4_every_code", "e2m1_every_code", 3, 64, 64,
                    False, 49),
        linear_case("kernel_nvfp4_decode", "nvfp4", 1, 256, 64, True, 50),
        linear_case("kernel_nvfp4_rows4", "nvfp4", 4, 128, 96, True, 51),
        linear_case("kernel_nvfp4_rows7", "nvfp4", 7, 80, 32, False, 52),
        linear_case("kernel_nvfp4_threads", "nvfp4", 8, 512, 512, True, 53),
        linear_case("fp8_e4m3_tensor", "e4m3_tensor", 3, 48, 32, True, 5),
        linear_case("fp8_e5m2_tensor", "e5m2_tensor", 2, 40, 24, False, 6),
        linear_case("fp8_e4m3_block128_uneven", "e4m3_block128", 2, 260, 136,
                    False, 7),
        linear_case("mxfp4", "mxfp4", 3, 96, 24, True, 8),
        linear_case("mxfp4_uneven_k", "mxfp4", 2, 80, 16, False, 9),
        linear_case("nvfp4", "nvfp4", 3, 64, 24, True, 10),
        linear_case("nvfp4_uneven_k", "nvfp4", 2, 40, 12, False, 11),
    ]
    out.append(decode_identity_case())
    out += [rounding_case(f, 20 + i) for i, f in enumerate((E4M3, E5M2, E2M1))]
    tolerance = {"int8": 0.02, "int4-g32": 0.2, "int4-g128": 0.2,
                 "fp8-block": 0.06, "mxfp4": 0.2, "nvfp4": 0.2}
    for fmt, tol in tolerance.items():
        out.append(dict(name="quantize_mlp_" + fmt, quantize=fmt, tol=tol))
    return out


MLP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "..", "examples", "mlp", "mlp.onnx")


def run_quantize_case(case, bin_dir, work):
    x = np.random.default_rng(30).standard_normal((8, 32)).astype(np.float32)
    shape = ["--input-shape", "features=8x32"]
    results = []
    for name, extra in (("float", []), ("quant", ["--quantize=" + case["quantize"]])):
        out_dir, error = compile_and_run(bin_dir, MLP, [("features", x)], work,
                                         case["name"] + "_" + name,
                                         shape + extra)
        if error:
            return error
        results.append(np.load(os.path.join(out_dir, "probs.npy")).astype(np.float64))
    err = np.linalg.norm(results[1] - results[0]) / np.linalg.norm(results[0])
    if not err <= case["tol"]:
        return "relative L2 error %.3g above %.3g" % (err, case["tol"])
    return None


def read_codes(out_dir, width):
    """kiln-run writes fp8/fp4 outputs as ONNX TensorProto .pb files."""
    from onnx import TensorProto
    files = [f for f in os.listdir(out_dir) if f.endswith(".pb")]
    if len(files) != 1:
        raise RuntimeError("expected one .pb output, found %s" % files)
    tensor = TensorProto()
    with open(os.path.join(out_dir, files[0]), "rb") as f:
        tensor.ParseFromString(f.read())
    count = int(np.prod(tensor.dims))
    raw = np.frombuffer(tensor.raw_data, dtype=np.uint8).astype(np.int64)
    if width == 4:
        raw = np.stack([raw & 15, raw >> 4], axis=1).reshape(-1)
    return raw[:count]


def run_case(case, bin_dir, work):
    if "check" in case:
        return case["check"]()
    if "quantize" in case:
        return run_quantize_case(case, bin_dir, work)
    model = os.path.join(work, case["name"] + ".mlir")
    with open(model, "w") as f:
        f.write(case["text"])
    out_dir, error = compile_and_run(bin_dir, model, case["inputs"], work,
                                     case["name"])
    if error:
        return error
    if "want_codes" in case:
        got = read_codes(out_dir, case["fmt"].width)
        bad = np.nonzero(got != case["want_codes"])[0]
        if bad.size:
            i = bad[0]
            return "%d codes differ; first at %d: x=%r got %#x want %#x" % (
                bad.size, i, float(case["inputs"][0][1][i]), got[i],
                case["want_codes"][i])
        return None
    got = np.load(os.path.join(out_dir, "output0.npy")).astype(np.float64)
    want = case["want"]
    err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)
    if got.shape != want.shape or not err <= case["tol"]:
        return "relative max error %.3g (shape %s, want %s)" % (
            err, got.shape, want.shape)
    return None


def main():
    args = check_arguments(__doc__.splitlines()[0]).parse_args()
    return run_checks("qlinear", args, [
        (case["name"], case["name"],
         lambda work, case=case: run_case(case, args.bin, work) or None)
        for case in cases()])


if __name__ == "__main__":
    sys.exit(main())
