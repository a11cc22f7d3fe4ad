"""kiln-compare --dump-attention: finding a model's attention softmaxes and
drawing their probabilities as a PNG, with only NumPy and the standard
library (zlib for PNG's deflate)."""
import struct
import zlib

import numpy as np

# Ops that may stand between the scores matmul and the softmax (scale,
# mask, softcap, casts, reshapes) or between the softmax and the matmul
# with the values (casts, dropout).
_BETWEEN = {"Add", "Sub", "Mul", "Div", "Where", "Cast", "Reshape", "Tanh",
            "Transpose", "Dropout", "Identity", "Expand", "Unsqueeze",
            "Squeeze"}
_MATMULS = {"MatMul", "Einsum"}


def attention_softmaxes(graph):
    """The graph's Softmax nodes that compute attention probabilities, in
    graph order: the input comes from a MatMul (q @ k^T) and the output
    feeds one (probs @ v), through at most a few of _BETWEEN's ops."""
    producer = {out: node for node in graph.node for out in node.output}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def from_matmul(value, depth=6):
        node = producer.get(value)
        if node is None or depth == 0:
            return False
        if node.op_type in _MATMULS:
            return True
        return node.op_type in _BETWEEN and any(
            from_matmul(v, depth - 1) for v in node.input if v)

    def into_matmul(value, depth=3):
        for node in consumers.get(value, []):
            if node.op_type in _MATMULS:
                return True
            if depth and node.op_type in _BETWEEN and node.output and \
                    into_matmul(node.output[0], depth - 1):
                return True
        return False

    return [node for node in graph.node
            if node.op_type == "Softmax" and from_matmul(node.input[0])
            and into_matmul(node.output[0])]


def _color(values):
    """Black (0) through purple and orange to yellow (1), per value."""
    anchors = np.array([[0, 0, 0], [87, 16, 110], [188, 55, 84],
                        [249, 142, 9], [252, 255, 164]], np.float64)
    x = np.clip(np.nan_to_num(values), 0, 1) * (len(anchors) - 1)
    low = np.minimum(np.floor(x).astype(int), len(anchors) - 2)
    t = (x - low)[..., None]
    return (anchors[low] * (1 - t) + anchors[low + 1] * t).astype(np.uint8)


def _panels(probs):
    """[heads, queries, keys] of the first sequence."""
    if probs.ndim == 4:
        return probs[0]
    if probs.ndim == 3:
        return probs
    if probs.ndim == 2:
        return probs[None]
    raise ValueError("attention probabilities of rank %d (shape %s); "
                     "expected [batch, heads, queries, keys]"
                     % (probs.ndim, list(probs.shape)))


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(
        ">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(path, probs):
    """Draws each head of the first sequence as one panel (rows: queries,
    columns: keys, each cell scaled up to at least 64 pixels a side) on a
    grid with 2-pixel white gaps; writes an 8-bit RGB PNG. Returns the
    number of heads."""
    panels = _panels(np.asarray(probs, np.float64))
    heads, rows, cols = panels.shape
    if rows == 0 or cols == 0:
        raise ValueError("the attention probabilities are empty")
    scale = max(1, -(-64 // max(rows, cols)))
    per_row = int(np.ceil(np.sqrt(heads)))
    grid_rows = -(-heads // per_row)
    gap = 2
    h, w = rows * scale, cols * scale
    image = np.full((grid_rows * (h + gap) - gap, per_row * (w + gap) - gap,
                     3), 255, np.uint8)
    for i in range(heads):
        r, c = divmod(i, per_row)
        cell = np.kron(panels[i], np.ones((scale, scale)))
        image[r * (h + gap):r * (h + gap) + h,
              c * (w + gap):c * (w + gap) + w] = _color(cell)
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(image.shape[0]))
    header = struct.pack(">IIBBBBB", image.shape[1], image.shape[0], 8, 2, 0,
                         0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) +
                _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))
    return heads
