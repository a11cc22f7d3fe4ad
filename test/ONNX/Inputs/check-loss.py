# Checks loss.onnxtxt's outputs against NumPy, written after ONNX's
# reference implementation of NegativeLogLikelihoodLoss (weights gathered
# per target, an ignored target weighted 0, mean = sum(loss) / sum(weights)).
import sys

import numpy as np

x, t, w = (np.load(p) for p in sys.argv[1:4])
out = sys.argv[4]


def nll(logp, weight):
    kept = t != -1
    picked = np.take_along_axis(logp, np.where(kept, t, 0)[:, None, :], 1)[:, 0]
    gw = (weight[np.where(kept, t, 0)] if weight is not None else 1) * kept
    loss = -picked * gw
    return loss, gw


def check(name, expected):
    np.testing.assert_allclose(np.load(f"{out}/{name}.npy"), expected, rtol=1e-5, atol=1e-7)


loss, gw = nll(x, w)
check("none", loss)
loss1, gw1 = nll(x, None)
check("sum", loss1.sum())
check("mean", loss1.sum() / gw1.sum())
check("mean_w", loss.sum() / gw.sum())
logp = x - np.log(np.exp(x).sum(1, keepdims=True))
check("logp", logp)
lossp, gwp = nll(logp, w)
check("sce", lossp.sum() / gwp.sum())
