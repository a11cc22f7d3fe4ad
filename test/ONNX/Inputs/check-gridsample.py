# Checks gridsample.onnxtxt's outputs against a NumPy port of ONNX's
# reference GridSample (onnx/reference/ops/op_grid_sample.py, 2-D): the
# coordinate denormalized, rounded for nearest, reflected or clamped when
# beyond the borders, and each tap padded again.
import sys

import numpy as np

x = np.load(sys.argv[1])
grid = np.load(sys.argv[2])
out = sys.argv[3]


def reflect(v, lo, hi):
    rng = hi - lo
    if v < lo:
        dx = lo - v
        n = int(dx / rng)
        r = dx - n * rng
        return lo + r if n % 2 == 0 else hi - r
    if v > hi:
        dx = v - hi
        n = int(dx / rng)
        r = dx - n * rng
        return hi - r if n % 2 == 0 else lo + r
    return v


def pixel(img, i, j, borders, padding):
    h, w = img.shape
    idx = []
    for k, (v, d) in enumerate(((i, h), (j, w))):
        if padding == "zeros":
            if v < 0 or v >= d:
                return 0.0
        elif padding == "border":
            v = min(max(v, 0), d - 1)
        else:
            v = int(reflect(v, borders[k][0], borders[k][1]))
        idx.append(v)
    return img[idx[0], idx[1]]


def cubic(t):
    a = -0.75
    return [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
            ((a + 2) * t - (a + 3)) * t * t + 1,
            ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
            ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a]


def sample(img, gy, gx, mode, padding, align):
    h, w = img.shape
    coords, borders = [], []
    for g, d in ((gy, h), (gx, w)):
        c = (g + 1) / 2 * (d - 1) if align else ((g + 1) * d - 1) / 2
        lo, hi = (0.0, d - 1.0) if align else (-0.5, d - 0.5)
        if mode == "nearest":
            c = np.rint(c)
        if c < lo or c > hi:
            if padding == "border":
                c = min(max(c, 0), d - 1)
            elif padding == "reflection":
                c = reflect(c, lo, hi)
        coords.append(c)
        borders.append((lo, hi))
    if mode == "nearest":
        return pixel(img, int(coords[0]), int(coords[1]), borders, padding)
    taps = []
    for c in coords:
        f = int(np.floor(c))
        t = c - f
        taps.append([(f, 1 - t), (f + 1, t)] if mode == "linear"
                    else list(zip(range(f - 1, f + 3), cubic(t))))
    return sum(wi * wj * pixel(img, i, j, borders, padding)
               for i, wi in taps[0] for j, wj in taps[1])


def grid_sample(mode, padding, align):
    n, c = x.shape[:2]
    y = np.zeros((n, c) + grid.shape[1:3], np.float32)
    for b in range(n):
        for ch in range(c):
            for p in range(grid.shape[1]):
                for q in range(grid.shape[2]):
                    gx, gy = grid[b, p, q]
                    y[b, ch, p, q] = sample(x[b, ch], gy, gx, mode, padding, align)
    return y


for name in (f"{m}_{p}_{a}" for m in ("nearest", "linear", "cubic")
             for p in ("zeros", "border", "reflection") for a in (0, 1)):
    mode, padding, align = name.split("_")
    np.testing.assert_allclose(np.load(f"{out}/{name}.npy"),
                               grid_sample(mode, padding, int(align)),
                               rtol=1e-4, atol=1e-5, err_msg=name)
