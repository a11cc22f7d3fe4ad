"""Parallel plans from Python: kiln.plan prints what kiln-compile
--plan-only prints, and kiln.compile(devices=...) writes the partitioned
artifact kiln-compile --devices writes (run under mpirun; see
test/e2e/parallel for the runs themselves)."""

import os
import subprocess

import pytest

import kiln
from conftest import MIXTRAL, ROOT

MIXTRAL_8X7B = os.path.join(ROOT, "test", "tools", "kiln-compile", "Inputs", "plan",
                            "mixtral-8x7b.json")
BUILD = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(kiln.__file__))))
KILN_COMPILE = os.path.join(BUILD, "bin", "kiln-compile")


def test_plan_matches_kiln_compile():
    text = kiln.plan(MIXTRAL_8X7B, devices=2, plan_batch=8, plan_seq=4096, explain=True)
    assert text.startswith("model: mixtral-8x7b (config.json): 32 layers")
    if os.path.exists(KILN_COMPILE):
        cli = subprocess.run(
            [KILN_COMPILE, MIXTRAL_8X7B, "--plan-only", "--explain-plan", "--devices", "2",
             "--plan-batch", "8", "--plan-seq", "4096"],
            check=True, capture_output=True, text=True).stdout
        assert text == cli


def test_plan_errors_are_compile_errors():
    with pytest.raises(kiln.CompileError, match="unknown machine 'a100'"):
        kiln.plan(MIXTRAL_8X7B, devices=2, machine="a100")
    with pytest.raises(ValueError, match="devices must be a non-negative integer"):
        kiln.plan(MIXTRAL_8X7B, devices=-2)


def test_compile_partitions_for_several_devices(tmp_path):
    one = kiln.compile(os.path.join(MIXTRAL, "mixtral.onnx"))
    two = kiln.compile(os.path.join(MIXTRAL, "mixtral.onnx"), parallel="ep=2",
                       output=tmp_path / "ep2.kiln")
    assert os.path.getsize(two) > len(one)  # every rank's program
    # Loaded outside mpirun, a partitioned model says how to run it.
    with pytest.raises(kiln.RuntimeError, match="mpirun"):
        kiln.load(two)


def test_compile_refuses_plans_it_cannot_partition():
    # Data parallelism splits the batch, and the example's is 1.
    with pytest.raises(kiln.CompileError, match="to be a multiple of 2"):
        kiln.compile(os.path.join(MIXTRAL, "mixtral.onnx"), parallel="dp=2",
                     plan_batch=2)
    with pytest.raises(ValueError, match="add devices, mesh or parallel"):
        kiln.compile(os.path.join(MIXTRAL, "mixtral.onnx"), machine="cpu")
