# Inputs for data-dependent-sizes.test and the check of its outputs against
# NumPy (np.nonzero, np.compress, np.unique) and a NonMaxSuppression
# written here after the ONNX operator's definition (onnxruntime's IoU in
# float32, boxes visited by descending score, ties to the lower index).
#   check-data-dependent.py make DIR   writes DIR/*.npy
#   check-data-dependent.py check DIR  reads DIR/*.npy and DIR/<case>/*.npy
import sys

import numpy as np


def make(d):
    rng = np.random.default_rng(7)
    # 2 x 1000 elements, about half nonzero: the coordinates (16 KB) are
    # more than the runtime's first guess, so the run is repeated.
    mask = rng.random((2, 1000)) < 0.5
    np.save(f"{d}/mask.npy", mask)
    np.save(f"{d}/zeros.npy", np.zeros((2, 1000), bool))
    # NonZero of a symbolic [n, 3] at two n: the bound is the run's.
    for name, n in [("dyn5", 5), ("dyn9", 9)]:
        np.save(f"{d}/{name}.npy",
                rng.integers(-1, 2, (n, 3)).astype(np.float32))
    np.save(f"{d}/x.npy", rng.integers(-3, 4, (4, 6)).astype(np.float32))
    np.save(f"{d}/cond.npy", rng.random(6) < 0.5)
    np.save(f"{d}/cond_flat.npy", rng.random(17) < 0.5)
    # Repeated rows and repeated elements for Unique.
    items = rng.integers(0, 3, (3, 3, 2)).astype(np.float32)
    np.save(f"{d}/u.npy", items[:, [2, 0, 2, 1, 0, 2, 1], :])
    np.save(f"{d}/v.npy", rng.integers(-5, 5, 40).astype(np.int64))
    # Boxes on a small grid, so that many overlap; scores with ties.
    centers = rng.random((2, 30, 2)) * 4
    sizes = rng.random((2, 30, 2)) * 2 + 0.2
    boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], -1)
    flip = rng.random((2, 30)) < 0.3
    boxes[flip] = boxes[flip][:, [2, 3, 0, 1]]
    np.save(f"{d}/boxes.npy", boxes.astype(np.float32))
    np.save(f"{d}/scores.npy",
            (rng.integers(0, 20, (2, 3, 30)) / 20).astype(np.float32))
    # A second shape for the symbolic NMS: 1 batch, 2 classes, 17 boxes.
    centers = rng.random((1, 17, 2)) * 3
    sizes = rng.random((1, 17, 2)) * 2 + 0.2
    np.save(f"{d}/boxes_b.npy", np.concatenate(
        [centers - sizes / 2, centers + sizes / 2], -1).astype(np.float32))
    np.save(f"{d}/scores_b.npy",
            (rng.integers(0, 20, (1, 2, 17)) / 20).astype(np.float32))
    # The symbolic Unique at two shapes: [a, n, 2] items along axis 1, and
    # m elements.
    for name, a, n, m in [("a", 3, 7, 40), ("b", 2, 11, 9)]:
        rows = rng.integers(0, 3, (a, 3, 2)).astype(np.float32)
        np.save(f"{d}/ud_{name}.npy", rows[:, rng.integers(0, 3, n), :])
        np.save(f"{d}/vd_{name}.npy", rng.integers(-4, 4, m).astype(np.int64))
    np.save(f"{d}/max.npy", np.array([7], np.int64))
    np.save(f"{d}/iou.npy", np.array([0.3], np.float32))
    np.save(f"{d}/thr.npy", np.array([0.2], np.float32))


def nms(boxes, scores, max_out, iou_thr, score_thr):
    def extent(b):
        return (min(b[1], b[3]), max(b[1], b[3]), min(b[0], b[2]),
                max(b[0], b[2]))

    def suppress(a, b):
        ax0, ax1, ay0, ay1 = extent(a)
        bx0, bx1, by0, by1 = extent(b)
        f = np.float32
        w = max(f(min(ax1, bx1) - max(ax0, bx0)), f(0))
        h = max(f(min(ay1, by1) - max(ay0, by0)), f(0))
        inter = f(w * h)
        area_a = f(f(ax1 - ax0) * f(ay1 - ay0))
        area_b = f(f(bx1 - bx0) * f(by1 - by0))
        union = f(f(area_a + area_b) - inter)
        if inter <= 0 or area_a <= 0 or area_b <= 0 or union <= 0:
            return False
        return f(inter / union) > iou_thr

    out = []
    for b in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            s = scores[b, c]
            order = sorted((i for i in range(len(s)) if s[i] > score_thr),
                           key=lambda i: (-s[i], i))
            chosen = []
            for i in order:
                if len(chosen) == max_out:
                    break
                if not any(suppress(boxes[b, i], boxes[b, j]) for j in chosen):
                    chosen.append(i)
            out += [[b, c, i] for i in chosen]
    return np.array(out, np.int64).reshape(-1, 3)


def unique(x, axis, is_sorted):
    y, idx, inv, cnt = np.unique(x, True, True, True, axis=axis)
    inv = inv.reshape(-1)
    if not is_sorted:
        # Order of first occurrence, as ONNX's reference reorders.
        order = np.argsort(idx, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        y = np.take(y, order, axis=0 if axis is None else axis)
        idx, cnt, inv = idx[order], cnt[order], rank[inv]
    return y, idx.astype(np.int64), inv.astype(np.int64), cnt.astype(np.int64)


def check(d):
    def load(name):
        return np.load(f"{d}/{name}.npy")

    def expect(case, name, want):
        got = np.load(f"{d}/{case}/{name}.npy")
        assert got.dtype == want.dtype, (case, name, got.dtype, want.dtype)
        assert got.shape == want.shape, (case, name, got.shape, want.shape)
        np.testing.assert_array_equal(got, want, err_msg=f"{case} {name}")

    expect("nonzero", "Y", np.array(np.nonzero(load("mask")), np.int64))
    expect("nonzero_none", "Y", np.zeros((2, 0), np.int64))
    for name in ("dyn5", "dyn9"):
        expect("nonzero_" + name, "Y",
               np.array(np.nonzero(load(name)), np.int64))
    x = load("x")
    expect("compress", "A", np.compress(load("cond"), x, axis=1))
    expect("compress", "F", np.compress(load("cond_flat"), x))
    for case, v, axis, srt in [("unique_sorted_axis", "u", 1, True),
                               ("unique_unsorted_axis", "u", 1, False),
                               ("unique_sorted", "v", None, True),
                               ("unique_unsorted", "v", None, False)]:
        for name, want in zip("YIVC", unique(load(v), axis, srt)):
            expect(case, name, want)
    for case in ("unique_dyn_a", "unique_dyn_b"):
        tag = case[-1]
        for name, want in zip("YIVC", unique(load("ud_" + tag), 1, True)):
            expect(case, name, want)
        for name, want in zip("YIVC", unique(load("vd_" + tag), None,
                                             False)):
            expect(case, name + "2", want)
    boxes, scores = load("boxes"), load("scores")
    want = nms(boxes, scores, 7, np.float32(0.3), np.float32(0.2))
    assert len(want) > 6, "the NMS case selects too little to test"
    expect("nms", "S", want)
    expect("nms_dyn_a", "S", want)
    want = nms(load("boxes_b"), load("scores_b"), 7, np.float32(0.3),
               np.float32(0.2))
    assert len(want) > 3, "the second NMS case selects too little to test"
    expect("nms_dyn_b", "S", want)
    print("ok")


{"make": make, "check": check}[sys.argv[1]](sys.argv[2])
