"""kiln.Graph: build a Kiln-dialect model from Python.

A Graph is a ``func.func @main`` under construction. Inputs get static
shapes, weights are NumPy arrays (emitted as ``dense<"0x...">`` constants,
little-endian), and each method appends one Kiln op, checks its operands
and computes its result type::

    g = kiln.Graph()
    x = g.input("x", (4, 64))
    w = g.constant(np.random.rand(128, 64).astype(np.float32))
    g.output("y", g.silu(g.linear(x, w)))
    print(g)                      # the .mlir module
    model = kiln.load(kiln.compile(g))

The ops and their exact semantics are Kiln's (docs/dialect.md). Shapes are
static: Kiln does not compile symbolic dimensions yet, so neither does the
builder. Every op gets a location ``loc("<name>")`` (its ``name=`` or an
automatic one), which kiln.CompileError reports in ``.nodes``.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

Shape = Tuple[int, ...]

# NumPy dtype -> (MLIR element type, Kiln/ONNX dtype code).
_ELEMENT_TYPES = {
    np.dtype(np.float32): ("f32", 1),
    np.dtype(np.float16): ("f16", 10),
    np.dtype(np.float64): ("f64", 11),
    np.dtype(np.int64): ("i64", 7),
    np.dtype(np.int32): ("i32", 6),
    np.dtype(np.int16): ("i16", 5),
    np.dtype(np.int8): ("i8", 3),
    np.dtype(np.uint8): ("i8", 2),
    np.dtype(np.uint16): ("i16", 4),
    np.dtype(np.uint32): ("i32", 12),
    np.dtype(np.uint64): ("i64", 13),
    np.dtype(np.bool_): ("i1", 9),
}
_FLOATS = ("f16", "bf16", "f32", "f64")

_MASK_KINDS = ("none", "causal", "sliding_window")
_ACTIVATIONS = ("swiglu", "gelu", "gelu_tanh", "relu", "silu", "identity")
_SCORINGS = ("softmax", "sigmoid")


def _np_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a NumPy dtype: {dtype!r}") from None
    if dt not in _ELEMENT_TYPES:
        raise TypeError(f"Kiln graphs take {sorted(str(d) for d in _ELEMENT_TYPES)}, not {dt}")
    return dt


def _tensor_type(shape: Shape, elt: str) -> str:
    return "tensor<" + "".join(f"{d}x" for d in shape) + elt + ">"


def _f32(x: float) -> str:
    """An f32 attribute. MLIR's float literals need a '.'; inf and NaN are
    spelled as bit patterns."""
    x = float(x)
    if np.isfinite(x):
        return f"{x:.17e} : f32"
    bits = int(np.array(x, dtype=np.float32).view(np.uint32))
    return f"0x{bits:08X} : f32"


def _bool_literal(a: np.ndarray) -> str:
    """A nested MLIR list of true/false (hex would need MLIR's i1 packing)."""
    if a.ndim == 0:
        return "true" if a else "false"
    return "[" + ", ".join(_bool_literal(x) for x in a) + "]"


def _i64s(values: Sequence[int]) -> str:
    return "array<i64" + (": " + ", ".join(str(int(v)) for v in values) if len(values) else "") + ">"


def _broadcast(a: Shape, b: Shape, what: str) -> Shape:
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            raise ValueError(f"{what}: shapes {list(a)} and {list(b)} do not broadcast")
        out.append(max(x, y) if x != 1 and y != 1 else (y if x == 1 else x))
    return tuple(reversed(out))


class Value:
    """A tensor in a Graph: an input, a constant or an op's result.

    ``shape`` is static; ``dtype`` is its NumPy dtype. Arithmetic operators
    build ops: ``a + b``, ``a - b``, ``a * b``, ``a / b``, ``a @ b``, ``-a``.
    """

    __slots__ = ("graph", "ref", "shape", "elt", "dtype")

    def __init__(self, graph: "Graph", ref: str, shape: Shape, elt: str, dtype: np.dtype):
        self.graph = graph
        self.ref = ref
        self.shape = tuple(int(d) for d in shape)
        self.elt = elt
        self.dtype = dtype

    @property
    def type(self) -> str:
        """The MLIR type, e.g. ``tensor<1x16xf32>``."""
        return _tensor_type(self.shape, self.elt)

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<kiln.Value {self.ref}: {self.type}>"

    def __add__(self, other): return self.graph.add(self, other)
    def __sub__(self, other): return self.graph.sub(self, other)
    def __mul__(self, other): return self.graph.mul(self, other)
    def __truediv__(self, other): return self.graph.div(self, other)
    def __matmul__(self, other): return self.graph.matmul(self, other)
    def __radd__(self, other): return self.graph.add(other, self)
    def __rsub__(self, other): return self.graph.sub(other, self)
    def __rmul__(self, other): return self.graph.mul(other, self)
    def __rtruediv__(self, other): return self.graph.div(other, self)
    def __neg__(self): return self.graph.neg(self)


ValueLike = Union[Value, np.ndarray, float, int]


class Graph:
    """A Kiln-dialect function under construction (see the module doc)."""

    def __init__(self, name: str = "main"):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$.]*", name):
            raise ValueError(f"not a function name: {name!r}")
        self.name = name
        self._inputs: List[Tuple[Value, str, int]] = []
        self._outputs: List[Tuple[Value, str]] = []
        self._body: List[str] = []
        self._next = 0
        self._names: Dict[str, int] = {}

    # -- values ------------------------------------------------------------

    def _fresh(self, prefix: str = "v") -> str:
        self._next += 1
        return f"%{prefix}{self._next}"

    def _loc(self, name: Optional[str], op: str) -> str:
        if name is None:
            n = self._names.get(op, 0)
            self._names[op] = n + 1
            name = f"{op}_{n}"
        return 'loc("' + name.replace("\\", "\\\\").replace('"', '\\"') + '")'

    def input(self, name: str, shape: Sequence[int], dtype="float32") -> Value:
        """A graph input (an argument of @main) with a static shape."""
        if any(o[1] == name for o in self._inputs):
            raise ValueError(f"input '{name}' exists already")
        shape = tuple(shape)
        if any(not isinstance(d, (int, np.integer)) or d < 0 for d in shape):
            raise ValueError(
                f"input '{name}': shape {shape} must be non-negative integers "
                "(Kiln compiles static shapes; symbolic dimensions are not supported yet)")
        dt = _np_dtype(dtype)
        elt, code = _ELEMENT_TYPES[dt]
        v = Value(self, f"%arg{len(self._inputs)}", shape, elt, dt)
        self._inputs.append((v, name, code))
        return v

    def constant(self, array, dtype=None, name: Optional[str] = None) -> Value:
        """A constant tensor (a weight): any NumPy array, kept exactly
        (``dense<"0x...">``, little-endian bytes)."""
        a = np.asarray(array, dtype=dtype)
        dt = _np_dtype(a.dtype)
        elt, _ = _ELEMENT_TYPES[dt]
        ref = self._fresh("c")
        t = _tensor_type(a.shape, elt)
        if a.size == 0:
            literal = "dense<>"
        elif dt == np.bool_:
            literal = "dense<" + _bool_literal(a) + ">"
        else:
            data = np.ascontiguousarray(a, dtype=dt.newbyteorder("<")).tobytes()
            literal = f'dense<"0x{data.hex().upper()}">'
        self._body.append(f"    {ref} = arith.constant {literal} : {t} {self._loc(name, 'constant')}")
        return Value(self, ref, a.shape, elt, dt)

    def _value(self, x: ValueLike, like: Optional[Value] = None) -> Value:
        if isinstance(x, Value):
            if x.graph is not self:
                raise ValueError(f"{x!r} belongs to another Graph")
            return x
        dtype = like.dtype if (like is not None and np.ndim(x) == 0) else None
        return self.constant(np.asarray(x, dtype=dtype))

    def output(self, name: str, value: Value) -> None:
        """Makes ``value`` a graph output called ``name``."""
        value = self._value(value)
        if any(o[1] == name for o in self._outputs):
            raise ValueError(f"output '{name}' exists already")
        self._outputs.append((value, name))

    def _emit(self, op: str, operands: str, attrs: str, sig: str, name: Optional[str],
              results: List[Tuple[Shape, str, np.dtype]]) -> List[Value]:
        refs = [self._fresh() for _ in results]
        attr = f" {{{attrs}}}" if attrs else ""
        self._body.append(f"    {', '.join(refs)} = kiln.{op} {operands}{attr} : {sig} "
                          f"{self._loc(name, op)}")
        return [Value(self, r, s, e, d) for r, (s, e, d) in zip(refs, results)]

    @staticmethod
    def _check_float(op: str, *values: Value) -> None:
        for v in values:
            if v.elt not in _FLOATS:
                raise TypeError(f"{op} takes floating-point tensors, got {v.type}")

    @staticmethod
    def _same_elt(op: str, *values: Value) -> None:
        if len({v.elt for v in values}) > 1:
            raise TypeError(f"{op}: operands have different element types: "
                            + ", ".join(v.type for v in values))

    # -- elementwise ---------------------------------------------------------

    def _binary(self, op: str, a: ValueLike, b: ValueLike, name: Optional[str]) -> Value:
        if not isinstance(a, Value) and isinstance(b, Value):
            a = self._value(a, like=b)
        a = self._value(a)
        b = self._value(b, like=a)
        self._same_elt(op, a, b)
        shape = _broadcast(a.shape, b.shape, op)
        return self._emit(op, f"{a.ref}, {b.ref}", "", f"({a.type}, {b.type}) -> "
                          f"{_tensor_type(shape, a.elt)}", name, [(shape, a.elt, a.dtype)])[0]

    def add(self, a: ValueLike, b: ValueLike, name: Optional[str] = None) -> Value:
        """``a + b`` with NumPy broadcasting."""
        return self._binary("add", a, b, name)

    def sub(self, a: ValueLike, b: ValueLike, name: Optional[str] = None) -> Value:
        """``a - b`` with NumPy broadcasting."""
        return self._binary("sub", a, b, name)

    def mul(self, a: ValueLike, b: ValueLike, name: Optional[str] = None) -> Value:
        """``a * b`` with NumPy broadcasting."""
        return self._binary("mul", a, b, name)

    def div(self, a: ValueLike, b: ValueLike, name: Optional[str] = None) -> Value:
        """``a / b`` with NumPy broadcasting (integers truncate toward zero)."""
        return self._binary("div", a, b, name)

    def maximum(self, a: ValueLike, b: ValueLike, name: Optional[str] = None) -> Value:
        """Elementwise maximum (NaN propagates)."""
        return self._binary("max", a, b, name)

    def minimum(self, a: ValueLike, b: ValueLike, name: Optional[str] = None) -> Value:
        """Elementwise minimum (NaN propagates)."""
        return self._binary("min", a, b, name)

    def _unary(self, op: str, x: Value, name: Optional[str], floats: bool = True,
               extra: str = "") -> Value:
        x = self._value(x)
        if floats:
            self._check_float(op, x)
        refs = self._fresh()
        self._body.append(f"    {refs} = kiln.{op} {x.ref}{extra} : {x.type} {self._loc(name, op)}")
        return Value(self, refs, x.shape, x.elt, x.dtype)

    def neg(self, x: Value, name: Optional[str] = None) -> Value:
        return self._unary("neg", x, name, floats=False)

    def exp(self, x: Value, name: Optional[str] = None) -> Value:
        return self._unary("exp", x, name)

    def tanh(self, x: Value, name: Optional[str] = None) -> Value:
        return self._unary("tanh", x, name)

    def sqrt(self, x: Value, name: Optional[str] = None) -> Value:
        return self._unary("sqrt", x, name)

    def rsqrt(self, x: Value, name: Optional[str] = None) -> Value:
        return self._unary("rsqrt", x, name)

    def sigmoid(self, x: Value, name: Optional[str] = None) -> Value:
        return self._unary("sigmoid", x, name)

    def silu(self, x: Value, name: Optional[str] = None) -> Value:
        """``x * sigmoid(x)``."""
        return self._unary("silu", x, name)

    def relu(self, x: Value, name: Optional[str] = None) -> Value:
        return self._unary("relu", x, name, floats=False)

    def gelu(self, x: Value, approximate: str = "none", name: Optional[str] = None) -> Value:
        """``x * Phi(x)``, exact (``approximate="none"``) or the tanh form."""
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu approximate is 'none' or 'tanh', got {approximate!r}")
        extra = " approximation = tanh" if approximate == "tanh" else ""
        return self._unary("gelu", x, name, extra=extra)

    def cast(self, x: Value, dtype, name: Optional[str] = None) -> Value:
        """Converts the element type (floats round to nearest even, floats to
        integers truncate toward zero)."""
        x = self._value(x)
        dt = _np_dtype(dtype)
        elt, _ = _ELEMENT_TYPES[dt]
        out = _tensor_type(x.shape, elt)
        return self._emit("cast", x.ref, "", f"{x.type} -> {out}", name, [(x.shape, elt, dt)])[0]

    # -- linear algebra and normalization -------------------------------------

    def matmul(self, a: ValueLike, b: ValueLike, name: Optional[str] = None) -> Value:
        """``a @ b``; both of rank >= 2, batch dimensions broadcast."""
        a, b = self._value(a), self._value(b)
        self._same_elt("matmul", a, b)
        if a.rank < 2 or b.rank < 2:
            raise ValueError(f"matmul takes operands of rank >= 2, got {a.type} and {b.type}")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: {a.type} @ {b.type}: contraction sizes "
                             f"{a.shape[-1]} and {b.shape[-2]} differ")
        batch = _broadcast(a.shape[:-2], b.shape[:-2], "matmul batch dimensions")
        shape = batch + (a.shape[-2], b.shape[-1])
        return self._emit("matmul", f"{a.ref}, {b.ref}", "",
                          f"({a.type}, {b.type}) -> {_tensor_type(shape, a.elt)}", name,
                          [(shape, a.elt, a.dtype)])[0]

    def linear(self, x: ValueLike, weight: ValueLike, bias: Optional[ValueLike] = None,
               name: Optional[str] = None) -> Value:
        """``x @ weight^T + bias`` with ``weight`` laid out ``[N, K]`` (PyTorch's
        nn.Linear)."""
        x, w = self._value(x), self._value(weight)
        self._check_float("linear", x, w)
        self._same_elt("linear", x, w)
        if w.rank != 2 or x.rank < 1 or x.shape[-1] != w.shape[1]:
            raise ValueError(f"linear: input {x.type} and weight {w.type} ([N, K]) do not fit")
        shape = x.shape[:-1] + (w.shape[0],)
        operands, types = f"{x.ref}, {w.ref}", f"{x.type}, {w.type}"
        if bias is not None:
            b = self._value(bias)
            if b.shape != (w.shape[0],):
                raise ValueError(f"linear: bias {b.type} must be [{w.shape[0]}]")
            operands += f", {b.ref}"
            types += f", {b.type}"
        return self._emit("linear", operands, "", f"({types}) -> {_tensor_type(shape, x.elt)}",
                          name, [(shape, x.elt, x.dtype)])[0]

    def qlinear(self, x: ValueLike, weight: np.ndarray, scale: np.ndarray,
                block_shape: Sequence[int], bias: Optional[ValueLike] = None,
                name: Optional[str] = None) -> Value:
        """A linear layer on an int8 weight ``[N, K]`` with float scales
        ``[ceil(N / bn), ceil(K / bk)]`` for ``block_shape = (bn, bk)``:
        ``x @ ((weight * scale)^T) + bias`` (per channel: ``(1, K)``;
        group-wise: ``(1, g)``). Other formats (int4, fp8, fp4) are not
        offered here yet."""
        x = self._value(x)
        self._check_float("qlinear", x)
        weight = np.asarray(weight)
        if weight.dtype != np.int8 or weight.ndim != 2:
            raise TypeError("qlinear takes an int8 [N, K] weight here")
        n, k = weight.shape
        bn, bk = (int(b) for b in block_shape)
        scale = np.asarray(scale, dtype=x.dtype)
        if scale.shape != (-(-n // bn), -(-k // bk)):
            raise ValueError(f"qlinear: scale shape {scale.shape} must be "
                             f"{(-(-n // bn), -(-k // bk))} for block_shape {(bn, bk)}")
        if x.shape[-1] != k:
            raise ValueError(f"qlinear: input {x.type} does not fit weight [{n}, {k}]")
        w, s = self.constant(weight), self.constant(scale)
        shape = x.shape[:-1] + (n,)
        operands, types = f"{x.ref}, {w.ref}, {s.ref}", f"{x.type}, {w.type}, {s.type}"
        if bias is not None:
            b = self._value(bias)
            operands += f", {b.ref}"
            types += f", {b.type}"
        return self._emit("qlinear", operands, f"block_shape = {_i64s((bn, bk))}",
                          f"({types}) -> {_tensor_type(shape, x.elt)}", name,
                          [(shape, x.elt, x.dtype)])[0]

    def softmax(self, x: Value, axis: int = -1, name: Optional[str] = None) -> Value:
        x = self._value(x)
        self._check_float("softmax", x)
        return self._unary_attr("softmax", x, f"axis = {int(axis)} : i64", name)

    def _unary_attr(self, op: str, x: Value, attrs: str, name: Optional[str]) -> Value:
        ref = self._fresh()
        self._body.append(f"    {ref} = kiln.{op} {x.ref} {{{attrs}}} : {x.type} {self._loc(name, op)}")
        return Value(self, ref, x.shape, x.elt, x.dtype)

    def _norm(self, op: str, x: Value, scale: ValueLike, bias: Optional[ValueLike],
              eps: float, axis: int, name: Optional[str]) -> Value:
        x = self._value(x)
        s = self._value(scale)
        self._check_float(op, x, s)
        a = axis if axis >= 0 else x.rank + axis
        if not 0 <= a < x.rank:
            raise ValueError(f"{op}: axis {axis} out of range for {x.type}")
        normalized = x.shape[a:]
        if len(s.shape) > len(normalized) or _broadcast(s.shape, normalized, op) != normalized:
            raise ValueError(f"{op}: scale {s.type} does not broadcast to the normalized "
                             f"dimensions {list(normalized)}")
        operands, types = f"{x.ref}, {s.ref}", f"{x.type}, {s.type}"
        if bias is not None:
            b = self._value(bias)
            operands += f", {b.ref}"
            types += f", {b.type}"
        return self._emit(op, operands, f"axis = {int(axis)} : i64, epsilon = {_f32(eps)}",
                          f"({types}) -> {x.type}", name, [(x.shape, x.elt, x.dtype)])[0]

    def rms_norm(self, x: Value, scale: ValueLike, eps: float = 1e-6, axis: int = -1,
                 name: Optional[str] = None) -> Value:
        """``x / sqrt(mean(x^2) + eps) * scale`` over dimensions ``[axis, rank)``."""
        return self._norm("rms_norm", x, scale, None, eps, axis, name)

    def layer_norm(self, x: Value, scale: ValueLike, bias: Optional[ValueLike] = None,
                   eps: float = 1e-5, axis: int = -1, name: Optional[str] = None) -> Value:
        """``(x - mean) / sqrt(var + eps) * scale + bias`` over ``[axis, rank)``."""
        return self._norm("layer_norm", x, scale, bias, eps, axis, name)

    def swiglu(self, x: Value, name: Optional[str] = None) -> Value:
        """``silu(x[..., :F]) * x[..., F:]`` for a last dimension of ``2F``."""
        x = self._value(x)
        self._check_float("swiglu", x)
        if x.rank < 1 or x.shape[-1] % 2:
            raise ValueError(f"swiglu needs an even last dimension, got {x.type}")
        shape = x.shape[:-1] + (x.shape[-1] // 2,)
        return self._emit("swiglu", x.ref, "", f"{x.type} -> {_tensor_type(shape, x.elt)}",
                          name, [(shape, x.elt, x.dtype)])[0]

    # -- transformer ops --------------------------------------------------------

    def rope(self, x: Value, cos: ValueLike, sin: ValueLike, positions: Optional[ValueLike] = None,
             interleaved: bool = False, rotary_dim: int = 0, name: Optional[str] = None) -> Value:
        """Rotary embedding of ``x [B, H, S, D]``: pair ``k`` is features
        ``(k, k + R/2)`` (``(2k, 2k+1)`` with ``interleaved``) rotated by
        ``cos/sin[., k]``; tables ``[S, R/2]`` (or ``[P, R/2]`` indexed by
        ``positions [B, S]``)."""
        x, c, s = self._value(x), self._value(cos), self._value(sin)
        self._check_float("rope", x, c, s)
        operands, types = f"{x.ref}, {c.ref}, {s.ref}", f"{x.type}, {c.type}, {s.type}"
        if positions is not None:
            p = self._value(positions)
            operands += f" positions {p.ref}"
            types += f", {p.type}"
        attrs = []
        if interleaved:
            attrs.append("interleaved = true")
        if rotary_dim:
            attrs.append(f"rotary_dim = {int(rotary_dim)} : i64")
        return self._emit("rope", operands, ", ".join(attrs), f"({types}) -> {x.type}", name,
                          [(x.shape, x.elt, x.dtype)])[0]

    def attention(self, q: Value, k: Value, v: Value, *, scale: Optional[float] = None,
                  mask: str = "none", window_left: int = -1, window_right: int = -1,
                  softcap: float = 0.0, name: Optional[str] = None) -> Value:
        """Scaled dot-product attention of ``q [B, Hq, S, D]`` over ``k [B,
        Hkv, T, D]`` and ``v [B, Hkv, T, Dv]`` (``Hq`` a multiple of ``Hkv``:
        MHA, GQA, MQA) with a mask kind: ``"none"``, ``"causal"`` or
        ``"sliding_window"`` (``window_left`` / ``window_right`` keys before /
        after each query, ``-1`` unbounded). ``scale`` defaults to
        ``1/sqrt(D)``. Returns the output ``[B, Hq, S, Dv]``."""
        q, k, v = self._value(q), self._value(k), self._value(v)
        self._check_float("attention", q, k, v)
        self._same_elt("attention", q, k, v)
        if q.rank != 4 or k.rank != 4 or v.rank != 4:
            raise ValueError("attention takes [B, H, S, D] query, key and value")
        b, hq, s_, d = q.shape
        if k.shape[0] != b or v.shape[0] != b or k.shape[3] != d or k.shape[1:3] != v.shape[1:3]:
            raise ValueError(f"attention: query {q.type}, key {k.type} and value {v.type} "
                             "do not fit")
        if k.shape[1] == 0 or hq % k.shape[1]:
            raise ValueError(f"attention: kv heads ({k.shape[1]}) must divide heads ({hq})")
        if mask not in _MASK_KINDS:
            raise ValueError(f"attention mask is one of {_MASK_KINDS}, got {mask!r}")
        if scale is None:
            scale = 1.0 / float(np.sqrt(d))
        attrs = [f"scale = {_f32(scale)}", f"mask_kind = #kiln.mask_kind<{mask}>"]
        if mask == "sliding_window":
            attrs += [f"window_left = {int(window_left)} : i64",
                      f"window_right = {int(window_right)} : i64"]
        elif window_left != -1 or window_right != -1:
            raise ValueError("window_left / window_right need mask='sliding_window'")
        if softcap:
            attrs.append(f"softcap = {_f32(softcap)}")
        out = (b, hq, s_, v.shape[3])
        results = [(out, q.elt, q.dtype), (k.shape, k.elt, k.dtype), (v.shape, v.elt, v.dtype)]
        sig = (f"({q.type}, {k.type}, {v.type}) -> ({_tensor_type(out, q.elt)}, {k.type}, "
               f"{v.type})")
        return self._emit("attention", f"{q.ref}, {k.ref}, {v.ref}", ", ".join(attrs), sig, name,
                          results)[0]

    def moe_route(self, logits: Value, k: int, *, scoring: str = "softmax",
                  normalize: bool = False, bias: Optional[ValueLike] = None,
                  num_groups: int = 1, top_groups: int = 1,
                  group_scoring: str = "top2_sum", capacity: int = 0,
                  routed_scale: float = 1.0, name: Optional[str] = None
                  ) -> Tuple[Value, Value, Value]:
        """Top-``k`` routing of router ``logits [T, E]``. Returns ``(weights
        [T, k], experts [T, k] int64, counts [E] int64)``: scores by softmax
        or sigmoid, ``bias`` added for selection only, optional grouped
        routing (groups scored by ``group_scoring``: ``"top2_sum"`` as in
        DeepSeek-V3, ``"max"`` as in DeepSeek-V2), renormalization (``normalize``), ``routed_scale`` and
        ``capacity`` (see docs/dialect.md)."""
        logits = self._value(logits)
        self._check_float("moe_route", logits)
        if logits.rank != 2 or not 1 <= k <= logits.shape[1]:
            raise ValueError(f"moe_route takes [T, E] logits and 1 <= k <= E, got "
                             f"{logits.type} and k = {k}")
        if scoring not in _SCORINGS:
            raise ValueError(f"moe_route scoring is one of {_SCORINGS}, got {scoring!r}")
        if group_scoring not in ("top2_sum", "max"):
            raise ValueError("moe_route group_scoring is 'top2_sum' or 'max', "
                             f"got {group_scoring!r}")
        t, e = logits.shape
        operands, types = logits.ref, logits.type
        if bias is not None:
            bv = self._value(bias)
            operands += f" bias {bv.ref}"
            types += f", {bv.type}"
        attrs = [f"k = {int(k)} : i64"]
        if scoring != "softmax":
            attrs.append(f"scoring = #kiln.router_scoring<{scoring}>")
        if normalize:
            attrs.append("normalize = true")
        if num_groups != 1 or top_groups != 1:
            attrs += [f"num_groups = {int(num_groups)} : i64", f"top_groups = {int(top_groups)} : i64"]
        if group_scoring != "top2_sum":
            attrs.append(f"group_scoring = #kiln.group_scoring<{group_scoring}>")
        if capacity:
            attrs.append(f"capacity = {int(capacity)} : i64")
        if routed_scale != 1.0:
            attrs.append(f"routed_scale = {_f32(routed_scale)}")
        i64 = np.dtype(np.int64)
        results = [((t, k), logits.elt, logits.dtype), ((t, k), "i64", i64), ((e,), "i64", i64)]
        sig = (f"({types}) -> ({_tensor_type((t, k), logits.elt)}, {_tensor_type((t, k), 'i64')}, "
               f"{_tensor_type((e,), 'i64')})")
        w, ex, n = self._emit("moe_route", operands, ", ".join(attrs), sig, name, results)
        return w, ex, n

    def moe_experts(self, x: Value, experts: Value, weights: Value, w_gate: ValueLike,
                    w_down: ValueLike, w_up: Optional[ValueLike] = None, *,
                    activation: str = "swiglu", name: Optional[str] = None) -> Value:
        """``y[t] = sum_c weights[t, c] * FFN_e(x[t])`` over the routed experts
        ``e = experts[t, c]``; ``FFN_e(v) = w_down[e] @ act(w_gate[e] @ v)``
        with ``w_gate [E, F, H]``, ``w_down [E, H, F]``; SwiGLU is
        ``silu(w_gate[e] @ v) * (w_up[e] @ v)``."""
        x, ex, w = self._value(x), self._value(experts), self._value(weights)
        g, d = self._value(w_gate), self._value(w_down)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"moe_experts activation is one of {_ACTIVATIONS}")
        if (activation == "swiglu") != (w_up is not None):
            raise ValueError("moe_experts takes w_up with activation='swiglu' and only then")
        if x.rank != 2 or g.rank != 3 or d.rank != 3 or g.shape[2] != x.shape[1] \
                or d.shape[1] != x.shape[1] or d.shape[2] != g.shape[1] or d.shape[0] != g.shape[0]:
            raise ValueError(f"moe_experts: x {x.type}, w_gate {g.type} ([E, F, H]) and "
                             f"w_down {d.type} ([E, H, F]) do not fit")
        operands = f"{x.ref}, {ex.ref}, {w.ref}, {g.ref}, {d.ref}"
        types = f"{x.type}, {ex.type}, {w.type}, {g.type}, {d.type}"
        if w_up is not None:
            u = self._value(w_up)
            if u.shape != g.shape:
                raise ValueError(f"moe_experts: w_up {u.type} must match w_gate {g.type}")
            operands += f" up {u.ref}"
            types += f", {u.type}"
        return self._emit("moe_experts", operands,
                          f"activation = #kiln.expert_activation<{activation}>",
                          f"({types}) -> {x.type}", name, [(x.shape, x.elt, x.dtype)])[0]

    def moe(self, x: Value, router: ValueLike, w_gate: ValueLike, w_up: Optional[ValueLike],
            w_down: ValueLike, k: int, *, normalize: bool = False, scoring: str = "softmax",
            activation: str = "swiglu", name: Optional[str] = None) -> Value:
        """A whole MoE layer on ``x [T, H]``: router logits ``x @ router^T``
        (``router [E, H]``), :meth:`moe_route`, then :meth:`moe_experts`."""
        prefix = name or f"moe_{self._names.get('moe', 0)}"
        self._names["moe"] = self._names.get("moe", 0) + 1
        logits = self.linear(x, router, name=f"{prefix}.router")
        w, ex, _ = self.moe_route(logits, k, scoring=scoring, normalize=normalize,
                                  name=f"{prefix}.route")
        return self.moe_experts(x, ex, w, w_gate, w_down, w_up, activation=activation,
                                name=f"{prefix}.experts")

    # -- data movement ------------------------------------------------------------

    def reshape(self, x: Value, shape: Sequence[int], name: Optional[str] = None) -> Value:
        """Same elements, row-major, in a new shape (one ``-1`` is inferred)."""
        x = self._value(x)
        shape = list(int(d) for d in shape)
        n = int(np.prod(x.shape, dtype=np.int64))
        if shape.count(-1) == 1:
            rest = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
            shape[shape.index(-1)] = n // rest if rest else 0
        if int(np.prod(shape, dtype=np.int64)) != n or any(d < 0 for d in shape):
            raise ValueError(f"reshape: {x.type} cannot become {shape}")
        shape = tuple(shape)
        return self._emit("reshape", x.ref, "", f"{x.type} -> {_tensor_type(shape, x.elt)}", name,
                          [(shape, x.elt, x.dtype)])[0]

    def transpose(self, x: Value, perm: Sequence[int], name: Optional[str] = None) -> Value:
        """Result dimension ``i`` is input dimension ``perm[i]``."""
        x = self._value(x)
        perm = [int(p) for p in perm]
        if sorted(perm) != list(range(x.rank)):
            raise ValueError(f"transpose: {perm} is not a permutation of {x.rank} dimensions")
        shape = tuple(x.shape[p] for p in perm)
        return self._emit("transpose", x.ref, f"permutation = {_i64s(perm)}",
                          f"{x.type} -> {_tensor_type(shape, x.elt)}", name,
                          [(shape, x.elt, x.dtype)])[0]

    def concat(self, values: Sequence[Value], axis: int, name: Optional[str] = None) -> Value:
        vals = [self._value(v) for v in values]
        if not vals:
            raise ValueError("concat needs at least one value")
        self._same_elt("concat", *vals)
        r = vals[0].rank
        a = axis if axis >= 0 else axis + r
        if not 0 <= a < r or any(v.rank != r or v.shape[:a] + v.shape[a + 1:] !=
                                 vals[0].shape[:a] + vals[0].shape[a + 1:] for v in vals):
            raise ValueError("concat: shapes " + ", ".join(v.type for v in vals) +
                             f" do not fit along axis {axis}")
        shape = list(vals[0].shape)
        shape[a] = sum(v.shape[a] for v in vals)
        shape = tuple(shape)
        return self._emit("concat", ", ".join(v.ref for v in vals), f"axis = {a} : i64",
                          f"({', '.join(v.type for v in vals)}) -> {_tensor_type(shape, vals[0].elt)}",
                          name, [(shape, vals[0].elt, vals[0].dtype)])[0]

    def slice(self, x: Value, starts: Sequence[int], sizes: Sequence[int],
              steps: Optional[Sequence[int]] = None, name: Optional[str] = None) -> Value:
        """``sizes[d]`` elements of each dimension from ``starts[d]`` in steps of
        ``steps[d]`` (default 1; may be negative)."""
        x = self._value(x)
        steps = list(steps) if steps is not None else [1] * x.rank
        if not len(starts) == len(sizes) == len(steps) == x.rank:
            raise ValueError(f"slice: give starts, sizes and steps for all {x.rank} dimensions")
        for d, (st, n, sp) in enumerate(zip(starts, sizes, steps)):
            last = st + (n - 1) * sp
            if sp == 0 or n < 0 or (n > 0 and not (0 <= st < x.shape[d] and 0 <= last < x.shape[d])):
                raise ValueError(f"slice: dimension {d} of {x.type}: start {st}, size {n}, "
                                 f"step {sp} leave the tensor")
        shape = tuple(int(n) for n in sizes)
        return self._emit("slice", x.ref, f"starts = {_i64s(starts)}, steps = {_i64s(steps)}",
                          f"{x.type} -> {_tensor_type(shape, x.elt)}", name,
                          [(shape, x.elt, x.dtype)])[0]

    def gather(self, x: ValueLike, indices: Value, axis: int = 0,
               name: Optional[str] = None) -> Value:
        """ONNX Gather: ``x`` indexed along ``axis`` by integer ``indices``."""
        x, i = self._value(x), self._value(indices)
        if i.elt not in ("i32", "i64"):
            raise TypeError(f"gather indices are i32 or i64, got {i.type}")
        a = axis if axis >= 0 else axis + x.rank
        if not 0 <= a < x.rank:
            raise ValueError(f"gather: axis {axis} out of range for {x.type}")
        shape = x.shape[:a] + i.shape + x.shape[a + 1:]
        return self._emit("gather", f"{x.ref}, {i.ref}", f"axis = {a} : i64",
                          f"({x.type}, {i.type}) -> {_tensor_type(shape, x.elt)}", name,
                          [(shape, x.elt, x.dtype)])[0]

    def embedding(self, table: ValueLike, ids: Value, name: Optional[str] = None) -> Value:
        """Rows of ``table [V, H]`` for the token ``ids``: ``gather`` on axis 0."""
        return self.gather(table, ids, 0, name=name)

    # -- printing ----------------------------------------------------------------------

    def to_mlir(self) -> str:
        """The module: ``func.func @<name>`` with ``kiln.name`` / ``kiln.dtype``
        on each argument and result."""
        if not self._outputs:
            raise ValueError("the graph has no outputs (call Graph.output)")

        def attrs(name: str, code: int) -> str:
            quoted = name.replace("\\", "\\\\").replace('"', '\\"')
            return f'{{kiln.dtype = {code} : i32, kiln.name = "{quoted}"}}'

        args = ", ".join(f"{v.ref}: {v.type} {attrs(n, c)}" for v, n, c in self._inputs)
        results = ", ".join(f"{v.type} {attrs(n, _ELEMENT_TYPES[v.dtype][1])}"
                            for v, n in self._outputs)
        lines = ["module {", f"  func.func @{self.name}({args}) -> ({results}) {{"]
        lines += self._body
        lines.append("    return " + ", ".join(v.ref for v, _ in self._outputs) + " : " +
                     ", ".join(v.type for v, _ in self._outputs))
        lines += ["  }", "}", ""]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_mlir()

    @property
    def inputs(self) -> List[Tuple[str, Shape, np.dtype]]:
        """(name, shape, dtype) of each input, in order."""
        return [(n, v.shape, v.dtype) for v, n, _ in self._inputs]

    @property
    def outputs(self) -> List[Tuple[str, Shape, np.dtype]]:
        """(name, shape, dtype) of each output, in order."""
        return [(n, v.shape, v.dtype) for v, n in self._outputs]


__all__ = ["Graph", "Value"]
