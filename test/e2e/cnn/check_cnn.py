#!/usr/bin/python3
"""Convolutional networks end to end: torchvision's resnet18,
mobilenet_v3_small and squeezenet1_1 (random weights, torch.manual_seed(0),
eval mode) exported to ONNX at 1x3x64x64, compiled with kiln-compile, run
with kiln-run and compared with PyTorch on the same input.

Freshly initialized batch norms hold mean 0 and variance 1, which lets the
activations of a deep random network shrink to nothing (mobilenet_v3's
logits would be ~1e-9, and any output would pass). So before export each
model runs a few random batches in training mode with a cumulative
average (momentum None): the running statistics then normalize, as in a
trained network, and every layer's values stay of order one.

Between them the models exercise Conv (strided, padded, 1x1, 7x7,
depthwise), BatchNormalization, MaxPool (ceil_mode in squeezenet),
AveragePool / GlobalAveragePool, hardswish / hardsigmoid, squeeze-excite
products, Concat, Flatten and Gemm.

Float32 outputs must satisfy max |kiln - torch| <= 1e-4 * max |torch|.

Usage: check_cnn.py --bin BUILD/bin [--keep DIR] [--filter NAME]
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import kiln_tools  # noqa: E402

TOLERANCE = 1e-4
SIZE = 64
MODELS = ["resnet18", "mobilenet_v3_small", "squeezenet1_1"]


def calibrated(name):
    """The torchvision model `name`, seed 0, its batch norms' running
    statistics taken from random batches, in eval mode."""
    import torchvision
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)()
    norms = [m for m in model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    if norms:
        model.train()
        with torch.no_grad():
            for _ in range(4):
                model(torch.randn(8, 3, SIZE, SIZE))
    return model.eval()


def check_model(bin_dir, name):
    def check(work):
        model = calibrated(name)
        x = torch.randn(1, 3, SIZE, SIZE)
        with torch.no_grad():
            expected = model(x).numpy()
        path = os.path.join(work, name + ".onnx")
        torch.onnx.export(model, x, path, opset_version=13,
                          input_names=["x"], output_names=["y"])
        out_dir, error = kiln_tools.compile_and_run(
            bin_dir, path, [("x", x.numpy())], work, name)
        if error:
            return error
        got = np.load(os.path.join(out_dir, "y.npy"))
        if got.shape != expected.shape:
            return "shape %s, expected %s" % (got.shape, expected.shape)
        scale = float(np.abs(expected).max())
        err = float(np.abs(got - expected).max())
        if not err <= TOLERANCE * scale:
            return "max |kiln - torch| = %g > %g (max |torch| %g)" % (
                err, TOLERANCE * scale, np.abs(expected).max())
        return None, "(max |err| %.2g, max |torch| %.3g)" % (
            err, np.abs(expected).max())
    return check


def main():
    args = kiln_tools.check_arguments(__doc__.splitlines()[0]).parse_args()
    try:
        import torchvision  # noqa: F401
    except ImportError:
        print("check_cnn: needs torchvision (Debian: python3-torchvision)")
        return 1
    checks = [(name, "%s 1x3x%dx%d" % (name, SIZE, SIZE), check_model(args.bin, name))
              for name in MODELS]
    return kiln_tools.run_checks("cnn", args, checks)


if __name__ == "__main__":
    sys.exit(main())
