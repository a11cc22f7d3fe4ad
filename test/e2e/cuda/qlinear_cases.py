#!/usr/bin/python3
"""Weight-only quantized linears (kiln.qlinear) with NumPy references.

Each case is a one-op .mlir model whose int4/int8 codes, scales, zero
points and bias are random constants, an input x, and the output NumPy
computes from the op's definition (docs/dialect.md, kiln.qlinear):

    w[n, k] = (q[n, k] - z[n, k / g]) * s[n, k / g], rounded to x's type
    y = x @ w^T (+ bias), accumulated in float64 here, rounded to x's type

scripts/gpu_check.py compiles them for --target cuda (they take
kiln-gpu-convert-quantized-linears-to-mma-kernels) and compares what
cuda:0 computes. Run as a script (ctest e2e-qlinear-cuda-references), this
file checks, without a GPU, what can be checked here:

  - the references: each case compiled for the CPU and run matches its
    reference;
  - the kernel's weight operands: the codes and (scale, offset) pairs the
    pass repacks at compile time, decoded as the kernel decodes them
    (nibbles, u * s + o, rounded to f16), give the weights of the
    definition above.

    qlinear_cases.py BUILD_DIR
"""

import subprocess
import sys
import tempfile
from pathlib import Path

# name -> (M, N, K, bits, group, unsigned with zero points, bias)
CASES = {
    "qlinear_int4_g32_m1": (1, 512, 1024, 4, 32, False, False),
    "qlinear_uint4_g128_zp_m16_bias": (16, 256, 1024, 4, 128, True, True),
    "qlinear_int4_g64_m77": (77, 256, 512, 4, 64, False, False),
    "qlinear_int8_channel_m128_bias": (128, 256, 512, 8, 512, False, True),
    "qlinear_uint8_g32_zp_m3": (3, 128, 256, 8, 32, True, False),
}
# f16 outputs: |got - ref| <= ATOL * max |ref| + RTOL * |ref| (the kernel
# sums in another order, in f32, and rounds each weight to f16 as the
# reference does).
RTOL, ATOL = 2e-3, 2e-3


def _dense(values):
    return "dense<%s>" % (repr(values.tolist()).replace(" ", ""))


def case_arrays(name, seed=0):
    """The random operands of case `name` and what NumPy computes from
    them: {q, z (or None), s, bias (or None), x, w (f16 weights), y}."""
    import numpy as np
    m, n, k, bits, group, unsigned, has_bias = CASES[name]
    rng = np.random.default_rng([seed, len(name)])
    groups = k // group
    lo, hi = (0, 1 << bits) if unsigned else (-(1 << (bits - 1)),
                                              1 << (bits - 1))
    a = {"q": rng.integers(lo, hi, size=(n, k))}
    a["z"] = rng.integers(lo, hi, size=(n, groups)) if unsigned else None
    a["s"] = rng.uniform(0.5, 2.0, size=(n, groups)).astype(np.float32) / (
        (1 << bits) * np.sqrt(k))
    a["bias"] = (rng.standard_normal(n) * 0.1).astype(np.float16) \
        if has_bias else None
    a["x"] = rng.standard_normal((m, k)).astype(np.float16)

    w = a["q"].astype(np.float32)
    if a["z"] is not None:
        w -= np.repeat(a["z"], group, axis=1).astype(np.float32)
    a["w"] = (w * np.repeat(a["s"], group, axis=1)).astype(np.float16)
    y = a["x"].astype(np.float64) @ a["w"].astype(np.float64).T
    if a["bias"] is not None:
        y += a["bias"].astype(np.float64)
    a["y"] = y.astype(np.float16)
    return a


def make_case(name, seed=0):
    """(mlir text, {input: array}, {output: array}) of case `name`."""
    import numpy as np
    m, n, k, bits, group, unsigned, has_bias = CASES[name]
    a = case_arrays(name, seed)
    groups = k // group

    def stored(codes):  # i4/i8 tensors print their codes signed
        return np.where(codes >= (1 << (bits - 1)), codes - (1 << bits),
                        codes)

    xt, yt = "tensor<%dx%dxf16>" % (m, k), "tensor<%dx%dxf16>" % (m, n)
    wt, st = "tensor<%dx%dxi%d>" % (n, k, bits), "tensor<%dx%dxf32>" % (
        n, groups)
    zt, bt = "tensor<%dx%dxi%d>" % (n, groups, bits), "tensor<%dxf16>" % n
    lines = [
        'func.func @main(%%x: %s {kiln.name = "x", kiln.dtype = 10 : i32})'
        % xt,
        '    -> (%s {kiln.name = "y", kiln.dtype = 10 : i32}) {' % yt,
        "  %%w = arith.constant %s : %s" % (_dense(stored(a["q"])), wt),
        "  %%s = arith.constant %s : %s" % (_dense(a["s"]), st)]
    operands, types = "%x, %w, %s", [xt, wt, st]
    if a["z"] is not None:
        lines.append("  %%z = arith.constant %s : %s"
                     % (_dense(stored(a["z"])), zt))
        operands += " zero_point %z"
        types.append(zt)
    if a["bias"] is not None:
        lines.append("  %%b = arith.constant %s : %s" % (
            _dense(a["bias"].astype(np.float32)), bt))
        operands += " bias %b"
        types.append(bt)
    attrs = "block_shape = array<i64: 1, %d>" % group
    if unsigned:
        attrs += ", is_unsigned = true"
    lines += ["  %%y = kiln.qlinear %s {%s} : (%s) -> %s"
              % (operands, attrs, ", ".join(types), yt),
              "  return %%y : %s" % yt, "}", ""]
    return "\n".join(lines), {"x": a["x"]}, {"y": a["y"]}


def _resource(text, name):
    """The bytes of dense_resource blob `name` in kiln-opt's output."""
    import re
    found = re.search(r'\b%s: "0x([0-9A-Fa-f]+)"' % name, text)
    if not found:
        return None
    return bytes.fromhex(found.group(1))[4:]  # after the alignment word


def repacked_weights(build, name, text):
    """The f16 weights [N, K] that the kernel of case `name` computes from
    the constants kiln-gpu-convert-quantized-linears-to-mma-kernels makes,
    decoded as the kernel does (see the pass's description)."""
    import numpy as np
    m, n, k, bits, group, unsigned, has_bias = CASES[name]
    r = subprocess.run(
        [str(build / "bin" / "kiln-opt"),
         "-kiln-gpu-convert-quantized-linears-to-mma-kernels", "-"],
        input=text, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("kiln-opt failed: " + r.stderr.strip())
    codes = _resource(r.stdout, "quantized_mma_codes")
    params = _resource(r.stdout, "quantized_mma_params")
    if codes is None or params is None:
        raise RuntimeError("no repacked codes or parameters in the output "
                           "(the op was not converted)")
    raw = np.frombuffer(codes, np.uint8).reshape(n, k * bits // 8)
    if bits == 8:
        u = raw
    else:
        runs = raw.reshape(n, k // 16, 8)
        u = np.concatenate([runs & 0xF, runs >> 4], axis=2).reshape(n, k)
    pairs = np.frombuffer(params, np.float32).reshape(n, k // group, 2)
    scale = np.repeat(pairs[:, :, 0], group, axis=1)
    offset = np.repeat(pairs[:, :, 1], group, axis=1)
    return (u.astype(np.float32) * scale + offset).astype(np.float16)


def close(got, ref):
    """(ok, max |got - ref|) under RTOL, ATOL."""
    import numpy as np
    got64, ref64 = got.astype(np.float64), ref.astype(np.float64)
    if got64.shape != ref64.shape:
        return False, float("inf")
    err = np.abs(got64 - ref64)
    bound = ATOL * np.abs(ref64).max() + RTOL * np.abs(ref64)
    return bool((err <= bound).all()), float(err.max())


def main(argv):
    """Compiles every case for the CPU target and checks it against its
    reference: the references are what the GPU run is compared with."""
    import numpy as np
    build = Path(argv[1])
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in CASES:
            text, inputs, expected = make_case(name)
            d = Path(tmp) / name
            d.mkdir()
            (d / "model.mlir").write_text(text)
            np.save(d / "x.npy", inputs["x"])
            for cmd in ([str(build / "bin" / "kiln-compile"),
                         str(d / "model.mlir"), "-o", str(d / "m.kiln")],
                        [str(build / "bin" / "kiln-run"), str(d / "m.kiln"),
                         "-q", "--input", "x=%s" % (d / "x.npy"),
                         "--output-dir", str(d)]):
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    print("%s: %s failed: %s" % (name, Path(cmd[0]).name,
                                                 r.stderr.strip()))
                    return 1
            ok, err = close(np.load(d / "y.npy"), expected["y"])
            print("%s: max |cpu - numpy| %.3g %s" % (name, err,
                                                      "ok" if ok else "FAIL"))
            failed += not ok
            w = case_arrays(name)["w"].astype(np.float32)
            got = repacked_weights(build, name, text).astype(np.float32)
            # u * s + o is one rounding away from (q - z) * s in f32.
            werr = float(np.abs(got - w).max())
            ok = bool((np.abs(got - w) <= 1e-3 * np.abs(w) + 1e-7).all())
            print("%s: max |repacked weight - numpy| %.3g %s"
                  % (name, werr, "ok" if ok else "FAIL"))
            failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
