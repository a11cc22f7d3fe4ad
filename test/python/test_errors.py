"""Every error the module raises: kiln.CompileError with the compiler's
messages and ONNX node names, kiln.RuntimeError with the runtime's own
messages and status names."""

import os

import numpy as np
import pytest

import kiln
from conftest import MIXTRAL


# -- compile errors -----------------------------------------------------------

def test_junk_file(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf \x00\x01\x02" * 10)
    with pytest.raises(kiln.CompileError) as e:
        kiln.compile(junk)
    assert isinstance(e.value, kiln.Error) and isinstance(e.value, Exception)
    assert e.value.messages and all(isinstance(m, str) for m in e.value.messages)
    assert len(e.value.nodes) == len(e.value.messages)
    assert str(e.value).splitlines()[0].endswith(e.value.messages[0])


def test_junk_bytes():
    with pytest.raises(kiln.CompileError):
        kiln.compile(b"\x08\x07garbage")


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        kiln.compile("/nonexistent/model.onnx")


def test_mlir_syntax_error_has_location():
    with pytest.raises(kiln.CompileError) as e:
        kiln.compile("func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
                     "  %0 = kiln.nope %x : tensor<2xf32>\n  return %0 : tensor<2xf32>\n}\n")
    (d,) = e.value.errors
    assert d.location.startswith("<mlir>:2:")
    assert "kiln.nope" in d.message


def test_verifier_error_names_the_node():
    # A Graph op with an attribute the Python side does not check: the
    # compiler's verifier reports it on the op's location, loc("bad_softmax").
    g = kiln.Graph()
    x = g.input("x", (2, 8))
    g.output("y", g.softmax(x, axis=7, name="bad_softmax"))
    with pytest.raises(kiln.CompileError) as e:
        kiln.compile(g)
    assert "bad_softmax" in e.value.nodes
    assert "axis" in str(e.value)


def _chain_model(*ops):
    """An ONNX model x -> ops[0] -> ... -> y of named one-input nodes, each
    op given as (op_type, node name)."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    names = ["x"] + ["v%d" % i for i in range(len(ops) - 1)] + ["y"]
    nodes = [helper.make_node(op, [names[i]], [names[i + 1]], name=name)
             for i, (op, name) in enumerate(ops)]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_onnx_node_names():
    model = _chain_model(("Relu", "first_relu"), ("NoSuchOp", "mystery"),
                         ("Relu", "last_relu"))
    with pytest.raises(kiln.CompileError) as e:
        kiln.compile(model)
    assert "mystery" in e.value.nodes
    assert any("NoSuchOp" in m for m in e.value.messages)


def test_every_unsupported_op_at_once():
    model = _chain_model(("NoSuchOp", "first"), ("Relu", "fine"),
                         ("AlsoMissing", "second"))
    with pytest.raises(kiln.CompileError) as e:
        kiln.compile(model)
    assert e.value.nodes == ["first", "second"]
    assert len(e.value.messages) == 2


def test_unknown_target_and_stage():
    path = os.path.join(MIXTRAL, "mixtral.onnx")
    with pytest.raises(kiln.CompileError, match="unknown target 'tpu'"):
        kiln.compile(path, target="tpu")
    with pytest.raises(kiln.CompileError, match="not a stage"):
        kiln.compile(path, emit="bogus")


def test_symbolic_shape_stays_symbolic_or_is_pinned():
    path = os.path.join(os.path.dirname(MIXTRAL), "mlp", "mlp.onnx")
    assert "tensor<?x32xf32>" in kiln.compile(path, emit="kiln")
    assert "tensor<3x32xf32>" in kiln.compile(path, emit="kiln", dims={"batch": 3})
    with pytest.raises(ValueError, match="dims"):
        kiln.compile(path, emit="kiln", dims={"batch": (4, 2)})
    assert "tensor<4x32xf32>" in kiln.compile(path, emit="kiln", input_shapes={"features": (4, 32)})
    model = kiln.load(kiln.compile(path, input_shapes={"features": "2x32"}, opt_level=1))
    assert model.inputs[0].shape == (2, 32)
    x = np.ones((2, 32), np.float32)
    probs = model.run({"features": x})["probs"]
    assert probs.shape == (2, 10) and np.allclose(probs.sum(-1), 1, atol=1e-5)


def test_bad_options():
    with pytest.raises(ValueError):
        kiln.compile("x.onnx", opt_level=7)
    with pytest.raises(TypeError):
        kiln.compile(12345)
    with pytest.raises(TypeError):
        kiln.compile(os.path.join(MIXTRAL, "mixtral.onnx"), no_such_option=1)


@pytest.mark.skipif(not os.access("/usr/local/cuda/bin/ptxas", os.X_OK),
                    reason="no CUDA toolkit")
def test_cuda_target_options():
    mlp = os.path.join(os.path.dirname(MIXTRAL), "mlp", "mlp.onnx")
    ptx = kiln.compile(mlp, "cuda", emit="ptx", gpu_arch=["sm_80"],
                       input_shapes={"features": (4, 32)})
    assert ".target sm_80" in ptx
    with pytest.raises(kiln.CompileError) as e:
        kiln.compile(mlp, "cuda", gpu_arch="sm_12", input_shapes={"features": (4, 32)})
    assert "sm_12" in str(e.value)


# -- runtime errors -------------------------------------------------------------

def test_wrong_dtype(add_model):
    with pytest.raises(kiln.RuntimeError) as e:
        add_model.run({"x": np.zeros((2, 3), np.float64)})
    assert e.value.status == "DTYPE_MISMATCH"
    assert str(e.value) == "input 'x' expects dtype float32 but got float64"
    assert isinstance(e.value, RuntimeError)  # the builtin one too


def test_wrong_shape(add_model):
    with pytest.raises(kiln.RuntimeError) as e:
        add_model.run({"x": np.zeros((2, 4), np.float32)})
    assert e.value.status == "SHAPE_MISMATCH"
    assert str(e.value) == "input 'x' expects shape [2,3] but got [2,4]"


def test_wrong_name(add_model):
    with pytest.raises(kiln.RuntimeError) as e:
        add_model.run({"x": np.zeros((2, 3), np.float32), "z": np.zeros(1, np.float32)})
    assert e.value.status == "NOT_FOUND"
    assert "'z'" in str(e.value) and "x" in str(e.value)


def test_missing_input(add_model):
    with pytest.raises(kiln.RuntimeError) as e:
        add_model.run({})
    assert e.value.status == "MISSING_INPUT"
    assert "'x'" in str(e.value)


def test_dtype_numpy_lacks_a_kiln_type(add_model):
    with pytest.raises(kiln.RuntimeError) as e:
        add_model.run({"x": np.zeros((2, 3), np.complex64)})
    assert e.value.status == "DTYPE_MISMATCH"


def test_torch_tensor_that_requires_grad(add_model):
    torch = pytest.importorskip("torch")
    with pytest.raises(kiln.RuntimeError, match="input 'x'.*DLPack.*detach"):
        add_model.run({"x": torch.zeros(2, 3, requires_grad=True)})
    # detached, it runs
    y = add_model.run({"x": torch.zeros(2, 3, requires_grad=True).detach()})["y"]
    assert np.array_equal(y, np.tile(np.arange(3, dtype=np.float32), (2, 1)))


def test_bad_run_argument(add_model):
    with pytest.raises(TypeError):
        add_model.run([np.zeros((2, 3), np.float32)])


@pytest.mark.parametrize("device,status", [("cuda", "UNSUPPORTED"), ("cuda:0", "UNSUPPORTED"),
                                           ("tpu", "INVALID_ARGUMENT")])
def test_bad_device(mixtral_artifact, device, status):
    with pytest.raises(kiln.RuntimeError) as e:
        kiln.load(mixtral_artifact, device=device)
    assert e.value.status == status


def test_cpu_device_names(mixtral_artifact):
    assert kiln.load(mixtral_artifact, device="cpu:0").device == "cpu:0"


def test_corrupt_artifact(mixtral_artifact):
    bad = bytearray(mixtral_artifact)
    bad[len(bad) // 2] ^= 0xFF
    with pytest.raises(kiln.RuntimeError) as e:
        kiln.load(bytes(bad))
    assert e.value.status == "CORRUPT_ARTIFACT"
    with pytest.raises(kiln.RuntimeError) as e:
        kiln.load(mixtral_artifact[:1000])
    assert e.value.status == "CORRUPT_ARTIFACT"
    with pytest.raises(kiln.RuntimeError) as e:
        kiln.load(b"not an artifact")
    assert e.value.status == "CORRUPT_ARTIFACT"


def test_missing_artifact():
    with pytest.raises(kiln.RuntimeError) as e:
        kiln.load("/nonexistent/model.kiln")
    assert e.value.status == "IO_ERROR"
    assert "/nonexistent/model.kiln" in str(e.value)


def test_memory_limit(add_model):
    saved = kiln.memory_limit()
    assert saved > 0  # the physical memory, or $KILN_MEMORY_LIMIT
    try:
        kiln.set_memory_limit(100)
        with pytest.raises(kiln.RuntimeError) as error:
            add_model.run({"x": np.zeros((2, 3), np.float32)})
        assert error.value.status == "OUT_OF_MEMORY"
        assert "over the runtime's memory limit of 100 bytes" in str(error.value)
        kiln.set_memory_limit(0)
        assert kiln.memory_limit() == 0
        add_model.run({"x": np.zeros((2, 3), np.float32)})
        with pytest.raises(ValueError):
            kiln.set_memory_limit(-1)
    finally:
        kiln.set_memory_limit(saved)
