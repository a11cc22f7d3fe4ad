"""A model with symbolic dims through the Python module: its signature shows
them by name, ``symbols`` gives their ranges, and runs at any in-range shape
return outputs at the shapes the symbols give.

The compiler does not lower symbolic dims yet, so the artifact is the
runtime tests' hand-assembled "dynamic" model (test/runtime: symbols batch
0..8 and seq 1..16; inputs a f32[batch,seq], b f32[1,seq]; outputs
sum = a + b + 100, rowsum f32[batch], symbols i64[2]), written by
kiln-make-test-artifact from the build tree.
"""

import os
import subprocess

import numpy as np
import pytest

import kiln

BUILD = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(kiln.__file__))))
MAKE_ARTIFACT = os.path.join(BUILD, "bin", "kiln-make-test-artifact")
HOST_CODE = os.path.join(BUILD, "lib", "libkiln_test_host_code.so")


@pytest.fixture(scope="module")
def dynamic(tmp_path_factory):
    if not (os.path.exists(MAKE_ARTIFACT) and os.path.exists(HOST_CODE)):
        pytest.skip("the runtime's test tools are not built")
    path = str(tmp_path_factory.mktemp("dynamic") / "dynamic.kiln")
    subprocess.run([MAKE_ARTIFACT, HOST_CODE, path, "--model", "dynamic"], check=True)
    return kiln.load(path)


def test_signature_names_symbols(dynamic):
    assert dynamic.symbols == {"batch": (0, 8), "seq": (1, 16)}
    assert dynamic.symbols["seq"].max == 16
    assert [i.shape for i in dynamic.inputs] == [("batch", "seq"), (1, "seq")]
    assert [o.shape for o in dynamic.outputs] == [("batch", "seq"), ("batch",), (2,)]
    assert "a: float32[batch, seq]" in repr(dynamic)


@pytest.mark.parametrize("batch, seq", [(2, 3), (5, 1), (0, 4), (8, 16)])
def test_runs_at_any_shape_in_range(dynamic, batch, seq):
    a = np.arange(batch * seq, dtype=np.float32).reshape(batch, seq)
    b = np.arange(seq, dtype=np.float32).reshape(1, seq) * 1000
    out = dynamic.run({"a": a, "b": b})
    assert out["sum"].shape == (batch, seq)
    np.testing.assert_array_equal(out["sum"], a + b + 100)
    np.testing.assert_allclose(out["rowsum"], (a + b + 100).sum(axis=1))
    np.testing.assert_array_equal(out["symbols"], [batch, seq])


def test_value_out_of_range(dynamic):
    with pytest.raises(kiln.RuntimeError) as error:
        dynamic.run({"a": np.zeros((2, 17), np.float32), "b": np.zeros((1, 17), np.float32)})
    assert error.value.status == "SHAPE_MISMATCH"
    assert "input 'a' dim 1 (seq) is 17, outside seq's range 1..16" in str(error.value)


def test_inputs_disagree_on_a_symbol(dynamic):
    with pytest.raises(kiln.RuntimeError) as error:
        dynamic.run({"a": np.zeros((2, 3), np.float32), "b": np.zeros((1, 4), np.float32)})
    assert error.value.status == "SHAPE_MISMATCH"
    assert "input 'b' dim 1 is 4 but seq is 3 (from input 'a' dim 1)" in str(error.value)


def test_static_models_have_no_symbols(add_model):
    assert add_model.symbols == {}
    assert all(isinstance(d, int) for i in add_model.inputs for d in i.shape)
