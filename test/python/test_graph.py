"""kiln.Graph: each op's numbers against NumPy (or PyTorch), the printed
module, the builder's own checks, and the MoE decoder example."""

import importlib.util
import os

import numpy as np
import pytest

import kiln
from conftest import ROOT

rng = np.random.default_rng(7)
A = rng.standard_normal((2, 3, 4)).astype(np.float32)
B = (rng.random(4) + 0.5).astype(np.float32)
M = rng.standard_normal((4, 5)).astype(np.float32)
W = rng.standard_normal((6, 4)).astype(np.float32)
BIAS = rng.standard_normal(6).astype(np.float32)
SCALE = rng.standard_normal(4).astype(np.float32)
SHIFT = rng.standard_normal(4).astype(np.float32)
TABLE = rng.standard_normal((10, 4)).astype(np.float32)
IDS = np.array([[0, 9, 3], [3, 3, 1]], np.int64)
H16 = rng.standard_normal((3, 4)).astype(np.float16)
C16 = rng.standard_normal(4).astype(np.float16)
U8 = np.array([[0, 7, 250], [128, 255, 1]], np.uint8)
BOOLS = np.array([[True, False, True], [False, False, True]])


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def gelu(x):
    from math import erf
    return x * 0.5 * (1 + np.vectorize(erf)(x / np.sqrt(2)).astype(np.float32))


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


EXPECTED = {
    "add": A + B,
    "sub": A - 1.5,
    "rsub": 1.5 - A,
    "mul": 2 * A,
    "div": A / B,
    "neg": -A,
    "max": np.maximum(A, B),
    "matmul": A @ M,
    "linear": A @ W.T + BIAS,
    "linear_nobias": A @ W.T,
    "rms_norm": A / np.sqrt((A ** 2).mean(-1, keepdims=True) + 1e-6) * SCALE,
    "layer_norm": (A - A.mean(-1, keepdims=True)) / np.sqrt(A.var(-1, keepdims=True) + 1e-5) * SCALE + SHIFT,
    "softmax": softmax(A, 1),
    "silu": A * sigmoid(A),
    "gelu": gelu(A),
    "gelu_tanh": gelu_tanh(A),
    "relu": np.maximum(A, 0),
    "sigmoid": sigmoid(A),
    "exp": np.exp(A),
    "tanh": np.tanh(A),
    "swiglu": A[..., :2] * sigmoid(A[..., :2]) * A[..., 2:],
    "reshape": A.reshape(6, 4),
    "transpose": A.transpose(2, 0, 1),
    "concat": np.concatenate([A, 2 * A], axis=2),
    "slice": A[1:2, 0:3, 3::-2],
    "gather": TABLE[IDS],
    "gather_axis1": A[:, [2, 0], :],
    "cast": A.astype(np.int32),
    "f16": H16 + C16,
    "u8": U8 + np.uint8(3),
    "bools": BOOLS,
}


@pytest.fixture(scope="module")
def ops_run():
    g = kiln.Graph()
    a = g.input("a", A.shape)
    b = g.input("b", B.shape)
    h16 = g.input("h16", H16.shape, np.float16)
    u8 = g.input("u8", U8.shape, np.uint8)
    ids = g.input("ids", IDS.shape, np.int64)
    out = {
        "add": a + b, "sub": a - 1.5, "rsub": 1.5 - a, "mul": 2 * a, "div": a / b, "neg": -a,
        "max": g.maximum(a, b), "matmul": a @ M,
        "linear": g.linear(a, W, BIAS), "linear_nobias": g.linear(a, W),
        "rms_norm": g.rms_norm(a, SCALE), "layer_norm": g.layer_norm(a, SCALE, SHIFT),
        "softmax": g.softmax(a, axis=1), "silu": g.silu(a), "gelu": g.gelu(a),
        "gelu_tanh": g.gelu(a, approximate="tanh"), "relu": g.relu(a), "sigmoid": g.sigmoid(a),
        "exp": g.exp(a), "tanh": g.tanh(a), "swiglu": g.swiglu(a),
        "reshape": g.reshape(a, (6, -1)), "transpose": g.transpose(a, (2, 0, 1)),
        "concat": g.concat([a, a * 2.0], axis=-1),
        "slice": g.slice(a, starts=(1, 0, 3), sizes=(1, 3, 2), steps=(1, 1, -2)),
        "gather": g.embedding(TABLE, ids),
        "gather_axis1": g.gather(a, g.constant(np.array([2, 0], np.int64)), axis=1),
        "cast": g.cast(a, np.int32), "f16": h16 + C16, "u8": u8 + np.uint8(3),
        "bools": g.constant(BOOLS),
    }
    for name, v in out.items():
        g.output(name, v)
    model = kiln.load(kiln.compile(g, opt_level=1))
    return model, model.run({"a": A, "b": B, "h16": H16, "u8": U8, "ids": IDS})


@pytest.mark.parametrize("name", list(EXPECTED))
def test_op(ops_run, name):
    model, results = ops_run
    got, want = results[name], np.asarray(EXPECTED[name])
    info = next(o for o in model.outputs if o.name == name)
    assert info.shape == want.shape and got.shape == want.shape
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if want.dtype == np.float16:
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3)
    elif want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    else:
        np.testing.assert_array_equal(got, want)


def attention_reference(q, k, v, scale, allowed):
    groups = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, groups, axis=1), np.repeat(v, groups, axis=1)
    s = (q @ k.transpose(0, 1, 3, 2)) * scale
    s = np.where(allowed, s, -np.inf)
    return softmax(s, -1) @ v


def test_attention_mask_kinds_and_qlinear():
    b, hq, hkv, s, d = 1, 4, 2, 8, 8
    q = rng.standard_normal((b, hq, s, d)).astype(np.float32)
    k = rng.standard_normal((b, hkv, s, d)).astype(np.float32)
    v = rng.standard_normal((b, hkv, s, d)).astype(np.float32)
    wq = rng.integers(-127, 128, (6, 16), dtype=np.int8)
    sq = (rng.random((6, 2)) * 0.01).astype(np.float32)
    xq = rng.standard_normal((3, 16)).astype(np.float32)

    g = kiln.Graph()
    qv, kv, vv = g.input("q", q.shape), g.input("k", k.shape), g.input("v", v.shape)
    g.output("none", g.attention(qv, kv, vv))
    g.output("causal", g.attention(qv, kv, vv, mask="causal"))
    g.output("window", g.attention(qv, kv, vv, mask="sliding_window", window_left=2,
                                   window_right=1, scale=0.2))
    g.output("qlinear", g.qlinear(g.input("xq", xq.shape), wq, sq, block_shape=(1, 8)))
    out = kiln.load(kiln.compile(g, opt_level=1)).run({"q": q, "k": k, "v": v, "xq": xq})

    i, j = np.arange(s)[:, None], np.arange(s)[None, :]
    scale = 1 / np.sqrt(d)
    for name, sc, allowed in [("none", scale, np.ones((s, s), bool)), ("causal", scale, j <= i),
                              ("window", 0.2, (i - 2 <= j) & (j <= i + 1))]:
        np.testing.assert_allclose(out[name], attention_reference(q, k, v, sc, allowed),
                                   rtol=1e-5, atol=1e-5, err_msg=name)
    assert not np.allclose(out["none"], out["causal"])  # the mask kind matters
    wf = wq.astype(np.float32) * np.repeat(sq, 8, axis=1)
    np.testing.assert_allclose(out["qlinear"], xq @ wf.T, rtol=1e-5, atol=1e-5)


def test_moe_route_and_experts():
    t, hdim, e, f, top = 6, 8, 4, 12, 2
    x = rng.standard_normal((t, hdim)).astype(np.float32)
    router = rng.standard_normal((e, hdim)).astype(np.float32)
    wg = rng.standard_normal((e, f, hdim)).astype(np.float32) * 0.3
    wd = rng.standard_normal((e, hdim, f)).astype(np.float32) * 0.3
    g = kiln.Graph()
    xv = g.input("x", x.shape)
    logits = g.linear(xv, router)
    w, ex, counts = g.moe_route(logits, top, scoring="sigmoid", normalize=True)
    g.output("y", g.moe_experts(xv, ex, w, wg, wd, activation="relu"))
    g.output("experts", ex)
    g.output("counts", counts)
    out = kiln.load(kiln.compile(g, opt_level=1)).run({"x": x})

    scores = sigmoid(x @ router.T)
    chosen = np.argsort(-scores, axis=1, kind="stable")[:, :top]
    weights = np.take_along_axis(scores, chosen, 1)
    weights /= weights.sum(1, keepdims=True)
    y = np.zeros_like(x)
    for ti in range(t):
        for c in range(top):
            ei = chosen[ti, c]
            y[ti] += weights[ti, c] * (wd[ei] @ np.maximum(wg[ei] @ x[ti], 0))
    np.testing.assert_array_equal(out["experts"], chosen)
    np.testing.assert_array_equal(out["counts"], np.bincount(chosen.ravel(), minlength=e))
    np.testing.assert_allclose(out["y"], y, rtol=1e-5, atol=1e-5)


def test_printed_module():
    g = kiln.Graph()
    x = g.input("tokens", (1, 4), np.int64)
    g.output("logits", g.embedding(np.arange(8, dtype=np.float32).reshape(4, 2), x, name="emb"))
    text = str(g)
    assert text == g.to_mlir()
    assert 'kiln.name = "tokens"' in text and "kiln.dtype = 7 : i32" in text
    # Weights are exact little-endian hex: 0.0f, 1.0f, 2.0f, ...
    assert 'dense<"0x000000000000803F00000040' in text
    assert 'loc("emb")' in text
    assert kiln.compile(g, emit="kiln").count("kiln.gather") == 1


def test_builder_checks():
    g = kiln.Graph()
    x = g.input("x", (2, 3))
    with pytest.raises(ValueError, match="contraction"):
        g.matmul(x, np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match="broadcast"):
        g.add(x, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="static"):
        g.input("y", (None, 3))
    with pytest.raises(ValueError, match="kv heads"):
        q = g.input("q", (1, 3, 4, 8))
        g.attention(q, g.input("k", (1, 2, 4, 8)), g.input("v", (1, 2, 4, 8)))
    with pytest.raises(ValueError, match="mask"):
        g.attention(q, q, q, mask="hierarchical")
    with pytest.raises(TypeError):
        g.input("c", (2,), np.complex64)
    with pytest.raises(ValueError, match="no outputs"):
        kiln.Graph().to_mlir()
    with pytest.raises(ValueError, match="another Graph"):
        kiln.Graph().relu(x)


def test_moe_decoder_example(capsys):
    path = os.path.join(ROOT, "examples", "python", "moe_decoder.py")
    spec = importlib.util.spec_from_file_location("moe_decoder", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main([]) == 0, capsys.readouterr().out
    assert "agrees" in capsys.readouterr().out


def test_types_numpy_lacks():
    # bfloat16 travels as its uint16 bit patterns, named "bfloat16".
    model = kiln.load(kiln.compile(
        'func.func @main(%x: tensor<4xbf16> {kiln.name = "x"}) -> (tensor<4xbf16> {kiln.name = "y"}) {\n'
        "  %0 = kiln.abs %x : tensor<4xbf16>\n  return %0 : tensor<4xbf16>\n}\n", opt_level=1))
    assert model.inputs[0].dtype == "bfloat16" and model.outputs[0].dtype == "bfloat16"
    x = np.array([-1.5, 2.0, -0.0, 3.25], np.float32)
    bits = (x.view(np.uint32) >> 16).astype(np.uint16)  # exact in bfloat16
    y = model.run({"x": bits})["y"]
    assert y.dtype == np.uint16
    np.testing.assert_array_equal((y.astype(np.uint32) << 16).view(np.float32), np.abs(x))
    with pytest.raises(kiln.RuntimeError, match="expects dtype bfloat16 but got float32"):
        model.run({"x": x})
