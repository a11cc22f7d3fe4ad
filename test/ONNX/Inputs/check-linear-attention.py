# Checks linear-attention.onnxtxt's outputs against a NumPy (float64)
# recurrence written from the LinearAttention spec (opset 27): per kv head,
#   S_t = exp(g_t) S_{t-1} (gated rules)
#   S_t = S_t + beta_t k_t (x) (v_t - S_t^T k_t)  (delta rules; beta_t = 1
#         and no retrieval term for linear / gated)
#   o_t = scale * q_t^T S_t, query head h reading kv head h // (Hq / Hkv).
import sys

import numpy as np

q, k, v, p, g, beta, gh, b1 = (np.load(f).astype(np.float64) for f in sys.argv[1:9])
out = sys.argv[9]
HQ, HKV = 4, 2


def linear_attention(rule, past, decay, beta, scale=None):
    b, t, _ = q.shape
    dk = q.shape[2] // HQ
    dv = v.shape[2] // HKV
    qh = q.reshape(b, t, HQ, dk)
    kh = k.reshape(b, t, HKV, dk)
    vh = v.reshape(b, t, HKV, dv)
    s = np.zeros((b, HKV, dk, dv)) if past is None else past.copy()
    scale = 1 / np.sqrt(dk) if scale is None else scale
    o = np.zeros((b, t, HQ, dv))
    for i in range(t):
        if rule in ("gated", "gated_delta"):
            # [B, T, Hkv * dk] per channel, [B, T, Hkv] per head.
            gate = np.exp(decay[:, i]).reshape(b, HKV, -1)
            s = s * gate[..., None]
        if rule in ("delta", "gated_delta"):
            retrieved = np.einsum("bhkv,bhk->bhv", s, kh[:, i])
            bt = np.broadcast_to(beta[:, i], (b, HKV))
            write = bt[..., None] * (vh[:, i] - retrieved)
        else:
            write = vh[:, i]
        s = s + np.einsum("bhk,bhv->bhkv", kh[:, i], write)
        for h in range(HQ):
            o[:, i, h] = scale * np.einsum("bk,bkv->bv", qh[:, i, h],
                                           s[:, h // (HQ // HKV)])
    return o.reshape(b, t, HQ * dv), s


def check(name, expected):
    np.testing.assert_allclose(np.load(f"{out}/{name}.npy"), expected,
                               rtol=1e-4, atol=1e-5)


for prefix, result in (
        ("gd", linear_attention("gated_delta", p, g, beta)),
        ("lin", linear_attention("linear", None, None, None)),
        ("gt", linear_attention("gated", None, gh, None, scale=0.5)),
        ("dl", linear_attention("delta", p, None, b1))):
    check(prefix, result[0])
    check(prefix + "s", result[1])
print("ok")
