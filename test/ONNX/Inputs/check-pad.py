# Checks pad.onnxtxt's outputs against np.pad and a centred crop / pad
# written after ONNX's CenterCropPad reference (crop from (dim - size) // 2,
# pad with (size - dim) // 2 zeros before).
import sys

import numpy as np

x, i = np.load(sys.argv[1]), np.load(sys.argv[2])
out = sys.argv[3]


def check(name, expected):
    got = np.load(f"{out}/{name}.npy")
    assert got.dtype == expected.dtype, (name, got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)


def center_crop_pad(x, sizes):
    y = x
    for axis, size in sizes.items():
        dim = y.shape[axis]
        if size < dim:
            start = (dim - size) // 2
            y = np.take(y, range(start, start + size), axis)
        elif size > dim:
            width = [(0, 0)] * y.ndim
            before = (size - dim) // 2
            width[axis] = (before, size - dim - before)
            y = np.pad(y, width)
    return y


check("constant", np.pad(x, [(0, 0), (1, 1), (2, 3)], constant_values=2.5))
for mode in ("edge", "reflect", "wrap"):
    check(mode, np.pad(i, [(1, 1), (2, 4)], mode=mode))
# Pads [1, -1, 3, 0] on axes [-1, 1]: the last axis gets 1 before and 3
# after, axis 1 loses its first row.
check("runtime", np.pad(x, [(0, 0), (0, 0), (1, 3)], constant_values=2.5)[:, 1:])
check("crop", center_crop_pad(x, {0: 3, 1: 1, 2: 7}))
check("crop_runtime", center_crop_pad(x, {1: 1, 2: 7}))
print("ok")
