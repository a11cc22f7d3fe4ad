"""Shared fixtures of the Python module's tests.

Run them with the module built into build/python:

    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q test/python
"""

import os

import numpy as np
import pytest

import kiln

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIXTRAL = os.path.join(ROOT, "examples", "mixtral")

# test/e2e/models/check_models.py's bound for float models.
FLOAT_TOLERANCE = 1e-5  # max |kiln - ref| / max |ref|


def relative_error(got, ref):
    return float(np.abs(got - ref).max()) / float(np.abs(ref).max())


@pytest.fixture(scope="session")
def mixtral_artifact():
    """examples/mixtral/mixtral.onnx compiled once (bytes)."""
    return kiln.compile(os.path.join(MIXTRAL, "mixtral.onnx"))


@pytest.fixture(scope="session")
def mixtral(mixtral_artifact):
    return kiln.load(mixtral_artifact)


@pytest.fixture(scope="session")
def tokens():
    return np.load(os.path.join(MIXTRAL, "tokens.npy"))


@pytest.fixture(scope="session")
def logits_torch():
    return np.load(os.path.join(MIXTRAL, "logits_torch.npy"))


@pytest.fixture(scope="session")
def add_model():
    """A tiny float model: y = x + b, x [2, 3] float32."""
    g = kiln.Graph()
    x = g.input("x", (2, 3))
    g.output("y", x + np.arange(3, dtype=np.float32))
    return kiln.load(kiln.compile(g, opt_level=1))
