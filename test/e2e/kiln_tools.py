"""What every e2e check does with the tools: compile a model, run the
artifact on NumPy inputs, read the outputs back.

Inputs are named `input0`, `input1`, ... for .mlir functions without
`kiln.name` attributes; ONNX models use their graph input names.
"""
import os
import subprocess

import numpy as np


def compile_and_run(bin_dir, model, inputs, work, name, extra_args=()):
    """Compiles `model` and runs it on `inputs` (a list of (name, array)).

    Returns (outputs directory, None) on success, or (None, error line).
    """
    artifact = os.path.join(work, name + ".kiln")
    out_dir = os.path.join(work, name + "_out")
    result = subprocess.run(
        [os.path.join(bin_dir, "kiln-compile"), model, "-o", artifact,
         *extra_args], capture_output=True, text=True)
    if result.returncode:
        return None, "compile failed: " + result.stderr.strip()
    command = [os.path.join(bin_dir, "kiln-run"), artifact, "--quiet",
               "--output-dir", out_dir]
    for input_name, array in inputs:
        path = os.path.join(work, "%s_%s.npy" % (name, input_name))
        np.save(path, array)
        command += ["--input", "%s=%s" % (input_name, path)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        return None, "run failed: " + result.stderr.strip()
    return out_dir, None
