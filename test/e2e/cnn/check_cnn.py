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

A fourth model, `layers`, strings together what the three do not use:
a grouped (not depthwise) and a dilated conv, ConvTranspose (stride 2,
output_padding), PixelShuffle (DepthToSpace) and its inverse, bilinear and
nearest Upsample (Resize), GroupNorm and InstanceNorm, AvgPool with
ceil_mode and count_include_pad off, a dilated MaxPool, Conv1d and Conv3d.

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
MODELS = ["resnet18", "mobilenet_v3_small", "squeezenet1_1", "layers"]


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


class Layers(torch.nn.Module):
    """The convolution-family layers the torchvision models leave out."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.grouped = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2)
        self.norm = nn.GroupNorm(4, 8)
        self.pool = nn.AvgPool2d(3, stride=2, ceil_mode=True,
                                 count_include_pad=False, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1,
                                     output_padding=1)
        self.inorm = nn.InstanceNorm2d(4, affine=True)
        self.shuffle = nn.PixelShuffle(2)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.bilinear = nn.Upsample(scale_factor=2, mode="bilinear",
                                    align_corners=False)
        self.nearest = nn.Upsample(scale_factor=0.5, mode="nearest")
        self.maxpool = nn.MaxPool2d(2, stride=2, dilation=2, padding=1)
        self.conv1d = nn.Conv1d(4, 6, 3, stride=2, dilation=2, padding=2)
        self.conv3d = nn.Conv3d(1, 2, 3, padding=1)

    def forward(self, x):
        y = torch.relu(self.norm(self.grouped(self.conv(x))))
        y = self.pool(y)                       # 8 x 16 x 16
        y = self.inorm(self.up(y))             # 4 x 32 x 32
        y = self.unshuffle(self.shuffle(y))    # 4 x 32 x 32
        y = self.nearest(self.bilinear(y))     # 4 x 32 x 32
        y = self.maxpool(y)                    # 4 x 16 x 16
        n, c, h, w = y.shape
        a = self.conv1d(y.reshape(n, c, h * w))            # 6 x 128
        b = self.conv3d(y.reshape(n, 1, c, h, w))          # 2 x 4 x 16 x 16
        return torch.cat([a.flatten(1), b.flatten(1)], 1)


def input_size(name):
    return 32 if name == "layers" else SIZE


def build(name):
    if name == "layers":
        torch.manual_seed(0)
        return Layers().eval()
    return calibrated(name)


def check_model(bin_dir, name):
    def check(work):
        model = build(name)
        size = input_size(name)
        x = torch.randn(1, 3, size, size)
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
    checks = [(name, "%s 1x3x%dx%d" % (name, input_size(name),
                                       input_size(name)),
               check_model(args.bin, name))
              for name in MODELS]
    return kiln_tools.run_checks("cnn", args, checks)


if __name__ == "__main__":
    sys.exit(main())
