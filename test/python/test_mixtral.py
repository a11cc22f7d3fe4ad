"""Compile, load and run the Mixtral-style example decoder against PyTorch's
logits, from NumPy and from torch, and every way of naming the model."""

import os

import numpy as np
import pytest

import kiln
from conftest import FLOAT_TOLERANCE, MIXTRAL, relative_error

torch = pytest.importorskip("torch")


def check_logits(logits, ref):
    assert logits.shape == ref.shape and logits.dtype == np.float32
    assert relative_error(logits, ref) <= FLOAT_TOLERANCE
    assert np.array_equal(logits.argmax(-1), ref.argmax(-1))


def test_signature(mixtral):
    assert mixtral.target.startswith("cpu")
    assert mixtral.device == "cpu"
    (tokens,) = mixtral.inputs
    assert (tokens.name, tokens.dtype, tokens.shape) == ("tokens", np.dtype(np.int64), (1, 16))
    (logits,) = mixtral.outputs
    assert (logits.name, logits.dtype, logits.shape) == ("logits", np.dtype(np.float32), (1, 16, 128))


def test_numpy(mixtral, tokens, logits_torch):
    out = mixtral.run({"tokens": tokens})
    assert list(out) == ["logits"]
    check_logits(out["logits"], logits_torch)


def test_torch_input_and_dlpack_output(mixtral, tokens, logits_torch):
    t = torch.from_numpy(tokens.copy())
    out = mixtral.run({"tokens": t})["logits"]
    check_logits(out, logits_torch)
    # The output converts to torch without a copy, both ways.
    as_torch = torch.from_dlpack(out)
    assert torch.allclose(as_torch, torch.from_numpy(logits_torch), rtol=0, atol=1e-4)
    as_torch[0, 0, 0] = 12345.0
    assert out[0, 0, 0] == 12345.0
    back = kiln.from_dlpack(as_torch)
    assert np.shares_memory(back, out)


def test_non_contiguous_torch_input(mixtral, tokens, logits_torch):
    t = torch.from_numpy(np.repeat(tokens, 2, axis=1))[:, ::2]  # a strided view
    assert not t.is_contiguous()
    check_logits(mixtral(tokens=t)["logits"], logits_torch)


@pytest.fixture(scope="module")
def mixtral_ir():
    return kiln.compile(os.path.join(MIXTRAL, "mixtral.onnx"), emit="kiln")


@pytest.mark.parametrize("form", ["pathlike", "bytes", "modelproto"])
def test_model_forms(form, mixtral_ir):
    # Each form reaches the same importer: the imported IR is the same as
    # from the path (the mixtral fixture runs the path all the way).
    path = os.path.join(MIXTRAL, "mixtral.onnx")
    if form == "pathlike":
        import pathlib
        model = pathlib.Path(path)
    elif form == "bytes":
        with open(path, "rb") as f:
            model = f.read()
    else:
        onnx = pytest.importorskip("onnx")
        model = onnx.load(path)
    assert kiln.compile(model, emit="kiln") == mixtral_ir


def test_output_path(tmp_path, add_model):
    g = kiln.Graph()
    x = g.input("x", (2, 3))
    g.output("y", x * 2.0)
    out = tmp_path / "m.kiln"
    got = kiln.compile(g, output=out, opt_level=1)
    assert got == str(out) and out.exists()
    y = kiln.load(out).run({"x": np.ones((2, 3), np.float32)})["y"]
    assert np.array_equal(y, np.full((2, 3), 2.0, np.float32))


def test_emit_stages(tmp_path, mixtral_ir):
    path = os.path.join(MIXTRAL, "mixtral.onnx")
    assert isinstance(mixtral_ir, str)
    assert "kiln.attention" in mixtral_ir and "kiln.moe_experts" in mixtral_ir
    unraised = kiln.compile(path, emit="kiln", raise_ops=False)
    assert "kiln.attention" not in unraised
    linalg = kiln.compile(path, emit="linalg")
    assert "linalg.generic" in linalg
    written = kiln.compile(path, emit="kiln", output=tmp_path / "m.mlir")
    assert written == str(tmp_path / "m.mlir")
    assert open(written).read() == mixtral_ir


def test_quantize():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((64, 128)).astype(np.float32)
    x = rng.standard_normal((4, 128)).astype(np.float32)
    g = kiln.Graph()
    g.output("y", g.linear(g.input("x", x.shape), w))
    assert "kiln.qlinear" in kiln.compile(g, emit="kiln", quantize="int8")
    y = kiln.load(kiln.compile(g, quantize="int8", opt_level=1)).run({"x": x})["y"]
    ref = x @ w.T
    err = np.linalg.norm(y - ref) / np.linalg.norm(ref)
    assert 0 < err < 0.02  # int8 per channel: quantized, and close


def test_report_raising(capsys):
    kiln.compile(os.path.join(MIXTRAL, "mixtral.onnx"), emit="kiln", report_raising=True)
    err = capsys.readouterr().err
    assert err.startswith("kiln-compile: ") and "attention" in err
