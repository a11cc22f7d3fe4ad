# Inputs and a float64 NumPy reference for recurrent.onnxtxt, written from
# the ONNX spec of RNN, GRU and LSTM (gate orders: LSTM i, o, f, c; GRU z,
# r, h). sequence_lens: a batch entry's state stops at its length, its Y
# is 0 after it, and the reverse direction starts at its own last step.
#   check-recurrent.py make PREFIX        writes PREFIX.<input>.npy
#   check-recurrent.py check PREFIX OUT   compares OUT/<output>.npy
import sys

import numpy as np

SHAPES = {"X": (4, 3, 2), "H0": (2, 3, 3), "C0": (2, 3, 3),
          "WL": (2, 12, 2), "RL": (2, 12, 3), "BL": (2, 24), "PL": (2, 9),
          "WG": (1, 9, 2), "RG": (1, 9, 3), "BG": (1, 18),
          "WR": (2, 3, 2), "RR": (2, 3, 3), "BR": (2, 6)}
LENS = np.array([4, 2, 3], np.int32)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def run(cell, x, w, r, b, lens, h0, c0, reverse):
    """One direction: Y [S, B, H] and the final states."""
    steps, batch, _ = x.shape
    h, c = h0.copy(), c0.copy()
    y = np.zeros((steps, batch, h.shape[1]))
    for bi in range(batch):
        n = steps if lens is None else lens[bi]
        order = range(n - 1, -1, -1) if reverse else range(n)
        hb, cb = h[bi], c[bi]
        for t in order:
            hb, cb = cell(x[t, bi] @ w.T + b[:len(b) // 2], hb, cb, r,
                          b[len(b) // 2:])
            y[t, bi] = hb
        h[bi], c[bi] = hb, cb
    return y, h, c


def lstm_cell(p):
    def cell(xw, h, c, r, rb):
        g = xw + h @ r.T + rb
        i, o, f, cc = np.split(g, 4)
        pi, po, pf = np.split(p, 3)
        i = sigmoid(i + pi * c)
        f = sigmoid(f + pf * c)
        c = f * c + i * np.tanh(cc)
        o = sigmoid(o + po * c)
        return o * np.tanh(c), c
    return cell


def gru_cell(linear_before_reset, clip=None):
    clamp = (lambda v: v) if clip is None else (lambda v: np.clip(v, -clip, clip))

    def cell(xw, h, c, r, rb):
        xz, xr, xh = np.split(xw, 3)
        rz, rr, rh = np.split(r, 3)
        bz, br, bh = np.split(rb, 3)
        z = sigmoid(clamp(xz + h @ rz.T + bz))
        rt = sigmoid(clamp(xr + h @ rr.T + br))
        if linear_before_reset:
            hh = np.tanh(clamp(xh + rt * (h @ rh.T + bh)))
        else:
            hh = np.tanh(clamp(xh + (rt * h) @ rh.T + bh))
        return (1 - z) * hh + z * h, c
    return cell


def rnn_cell(f):
    def cell(xw, h, c, r, rb):
        return f(xw + h @ r.T + rb), c
    return cell


def main():
    prefix = sys.argv[2]
    if sys.argv[1] == "make":
        rng = np.random.default_rng(16)
        for name, shape in SHAPES.items():
            np.save(f"{prefix}.{name}.npy",
                    rng.standard_normal(shape).astype(np.float32))
        np.save(f"{prefix}.L.npy", LENS)
        return
    v = {n: np.load(f"{prefix}.{n}.npy").astype(np.float64) for n in SHAPES}
    x, zeros = v["X"], np.zeros((3, 3))
    expected = {}
    # Bidirectional LSTM, directions stacked on axis 1 of Y.
    ys, hs, cs = [], [], []
    for d in range(2):
        y, h, c = run(lstm_cell(v["PL"][d]), x, v["WL"][d], v["RL"][d],
                      v["BL"][d], LENS, v["H0"][d], v["C0"][d], d == 1)
        ys.append(y), hs.append(h), cs.append(c)
    expected["lstm_y"] = np.stack(ys, 1)
    expected["lstm_h"], expected["lstm_c"] = np.stack(hs), np.stack(cs)
    # Reverse, batch-first GRU with linear_before_reset: Y [B, S, 1, H].
    y, h, _ = run(gru_cell(True), x, v["WG"][0], v["RG"][0], v["BG"][0],
                  LENS, zeros, zeros, True)
    expected["gru_y"] = y.transpose(1, 0, 2)[:, :, None]
    expected["gru_h"] = h[:, None]
    y, _, _ = run(gru_cell(False, clip=0.5), x, v["WG"][0], v["RG"][0],
                  v["BG"][0], None, zeros, zeros, False)
    expected["clip_y"] = y[:, None]
    # Bidirectional RNN: LeakyRelu(0.1) forwards, ScaledTanh(0.8, 1.5) back.
    acts = [lambda a: np.where(a >= 0, a, 0.1 * a),
            lambda a: 0.8 * np.tanh(1.5 * a)]
    ys, hs = [], []
    for d in range(2):
        y, h, _ = run(rnn_cell(acts[d]), x, v["WR"][d], v["RR"][d],
                      v["BR"][d], None, v["H0"][d], zeros, d == 1)
        ys.append(y), hs.append(h)
    expected["rnn_y"], expected["rnn_h"] = np.stack(ys, 1), np.stack(hs)
    out = sys.argv[3]
    for name, want in expected.items():
        got = np.load(f"{out}/{name}.npy")
        assert got.shape == want.shape, (name, got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5,
                                   err_msg=name)
    print("ok")


main()
