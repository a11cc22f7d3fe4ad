#!/usr/bin/python3
"""The MLP demo: kiln-compile -> kiln-run -> compare with NumPy."""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_mlp  # noqa: E402

BATCH = 4


def run(cmd):
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    model = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mlp.onnx")
    artifact = os.path.join(a.out, "mlp.kiln")
    features = np.random.default_rng(7).standard_normal((BATCH, make_mlp.IN)).astype(np.float32)
    np.save(os.path.join(a.out, "features.npy"), features)

    t_compile = run([os.path.join(a.bin, "kiln-compile"), model, "-o", artifact,
                     "--target", "cpu", f"--input-shape=features={BATCH}x{make_mlp.IN}"])
    t_run = run([os.path.join(a.bin, "kiln-run"), artifact,
                 "--input", "features=" + os.path.join(a.out, "features.npy"),
                 "--output-dir", a.out])

    probs = np.load(os.path.join(a.out, "probs.npy"))
    ref = make_mlp.reference(features, make_mlp.weights())
    print()
    print(f"MLP {make_mlp.IN} -> {make_mlp.HIDDEN} (GELU) -> {make_mlp.OUT} (softmax), batch {BATCH}")
    for i, row in enumerate(probs):
        top = int(row.argmax())
        print(f"  sample {i}: predicted class {top} (p = {row[top]:.4f}); "
              f"NumPy reference says class {int(ref[i].argmax())}")
    err = float(np.abs(probs - ref).max())
    print(f"max |kiln - numpy| = {err:.2e}")
    print(f"compile {t_compile:.2f} s, run {t_run:.2f} s (process start included)")
    if err > 1e-5 or not np.array_equal(probs.argmax(-1), ref.argmax(-1)):
        print("demo: kiln's output differs from the NumPy reference", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
