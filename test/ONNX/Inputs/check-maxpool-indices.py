# NumPy reference for maxpool-indices.onnxtxt (windows may run past
# the input with ceil_mode; what is outside is skipped): every window scanned in
# row-major order, keeping the first strict maximum (ONNX's reference).
import sys

import numpy as np

x = np.load(sys.argv[1])
out = sys.argv[2]


def pool(kernel, pads, strides, dilations, out_hw, column_major):
    n, c, h, w = x.shape
    y = np.zeros((n, c) + out_hw, np.float32)
    ind = np.zeros((n, c) + out_hw, np.int64)
    for b in range(n):
        for ch in range(c):
            for oh in range(out_hw[0]):
                for ow in range(out_hw[1]):
                    best, where = -np.inf, None
                    for kh in range(kernel[0]):
                        for kw in range(kernel[1]):
                            ih = oh * strides[0] + kh * dilations[0] - pads[0]
                            iw = ow * strides[1] + kw * dilations[1] - pads[1]
                            if 0 <= ih < h and 0 <= iw < w and x[b, ch, ih, iw] > best:
                                best = x[b, ch, ih, iw]
                                where = ih + iw * h if column_major else ih * w + iw
                    y[b, ch, oh, ow] = best
                    ind[b, ch, oh, ow] = (b * c + ch) * h * w + where
    return y, ind


def check(name, want):
    got = np.load(f"{out}/{name}.npy")
    assert got.shape == want.shape and (got == want).all(), (name, got, want)


y, i = pool((3, 2), (1, 0), (2, 2), (1, 1), (3, 3), False)
check("y", y), check("i", i)
y, i = pool((2, 3), (0, 0), (2, 2), (2, 1), (2, 3), True)
check("yc", y), check("ic", i)
print("ok")
