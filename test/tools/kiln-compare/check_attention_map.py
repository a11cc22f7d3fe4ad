"""Checks kiln-compare --dump-attention's output for a causal decoder:
the .npy holds probabilities (each query row sums to 1, nothing above the
diagonal), and the PNG (decoded here with zlib) is the grid of one panel
per head whose pixels follow them: black where a probability is 0, never
black where it is 0.01 or more.

usage: check_attention_map.py FILE.png FILE.npy HEADS"""
import struct
import sys
import zlib

import numpy as np

png, npy, heads = sys.argv[1], sys.argv[2], int(sys.argv[3])
probs = np.load(npy)
assert probs.ndim == 4 and probs.shape[1] == heads, probs.shape
_, _, queries, keys = probs.shape
np.testing.assert_allclose(probs.sum(-1), 1, rtol=1e-5)
assert np.all(np.triu(probs[0], 1) == 0), "a query sees a later key"

data = open(png, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
chunks, at = {}, 8
while at < len(data):
    (length,) = struct.unpack(">I", data[at:at + 4])
    kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
    (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
    assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
    chunks[kind] = body
    at += 12 + length
width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
assert (depth, color) == (8, 2), (depth, color)
raw = zlib.decompress(chunks[b"IDAT"])
rows = np.frombuffer(raw, np.uint8).reshape(height, 1 + 3 * width)
assert np.all(rows[:, 0] == 0)
image = rows[:, 1:].reshape(height, width, 3)
scale = max(1, -(-64 // max(queries, keys)))
per_row = int(np.ceil(np.sqrt(heads)))
grid_rows = -(-heads // per_row)
assert (width, height) == (per_row * (keys * scale + 2) - 2,
                           grid_rows * (queries * scale + 2) - 2), (width, height)
for h in range(heads):
    r, c = divmod(h, per_row)
    top, left = r * (queries * scale + 2), c * (keys * scale + 2)
    panel = image[top:top + queries * scale:scale, left:left + keys * scale:scale]
    black = np.all(panel == 0, axis=-1)
    p = probs[0, h]
    assert np.all(black[p == 0]) and not np.any(black[p >= 0.01]), h
print("attention map ok: %d heads, %dx%d, %dx%d pixels"
      % (heads, queries, keys, width, height))
