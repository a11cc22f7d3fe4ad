"""NumPy's reading of test/ONNX/loop.onnxtxt's Loop, checked against the
outputs kiln-run wrote: argv is the initial state's .npy, then per run the
output folder, M and cond."""
import sys

import numpy as np

s0 = np.load(sys.argv[1])
w = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
args = sys.argv[2:]
for out, m, cond in zip(args[0::3], args[1::3], args[2::3]):
    s, ys, i, c = s0.copy(), [], 0, cond == "1"
    while i < int(m) and c:
        so = s @ w + np.float32(i)
        ys.append(so - s)
        c = i < 4
        s, i = so, i + 1
    got_s = np.load(out + "/s.npy")
    got_ys = np.load(out + "/ys.npy")
    np.testing.assert_allclose(got_s, s, rtol=1e-6)
    want = np.stack(ys) if ys else np.zeros((0, 2), np.float32)
    assert got_ys.shape == want.shape, (got_ys.shape, want.shape)
    np.testing.assert_allclose(got_ys, want, rtol=1e-6)
    print("ok %d steps" % len(ys))
