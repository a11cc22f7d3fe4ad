"""kiln.compile: the compile driver (what kiln-compile runs), in process."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _kiln
from .errors import CompileError, Diagnostic
from ._runtime import _NUMPY_TO_KILN

# The --emit stages every target has; the target adds its own between them
# (cpu: linalg, llvm, llvm-ir; `kiln-compile --help` lists them).
_ARTIFACT = "artifact"


def _looks_like_mlir(text: str) -> bool:
    return "\n" in text or "func.func" in text or text.lstrip().startswith("module")


def _model_source(model: Any, workdir: str):
    """(path the driver reads, name that stands for it in messages)."""
    from .graph import Graph  # a pure-Python module; no import cycle at load

    if isinstance(model, Graph):
        model = model.to_mlir()
        path = os.path.join(workdir, "graph.mlir")
        with open(path, "w") as f:
            f.write(model)
        return path, "<graph>"
    if isinstance(model, os.PathLike) or (isinstance(model, str) and not _looks_like_mlir(model)):
        path = os.fspath(model)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such model file: '{path}'")
        return path, None
    if isinstance(model, str):
        path = os.path.join(workdir, "model.mlir")
        with open(path, "w") as f:
            f.write(model)
        return path, "<mlir>"
    if isinstance(model, (bytes, bytearray, memoryview)):
        path = os.path.join(workdir, "model.onnx")
        with open(path, "wb") as f:
            f.write(model)
        return path, "<onnx>"
    if hasattr(model, "SerializeToString") and hasattr(model, "graph"):  # onnx.ModelProto
        path = os.path.join(workdir, "model.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        return path, "<onnx>"
    raise TypeError(
        "compile() takes a path (.onnx, .onnxtxt, .mlir), ONNX bytes, an "
        f"onnx.ModelProto, .mlir text or a kiln.Graph, got {type(model).__name__}")


def _dim_range(name: str, value: Any) -> Tuple[int, int]:
    """A --dim value: N (pinned), (MIN, MAX) or "MIN:MAX"."""
    if isinstance(value, str):
        value = value.split(":") if ":" in value else [value, value]
    elif isinstance(value, int):
        value = (value, value)
    try:
        low, high = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"dims['{name}'] must be N, (MIN, MAX) or 'MIN:MAX', got {value!r}") from None
    if not 0 <= low <= high <= 1 << 40:
        raise ValueError(f"dims['{name}'] must satisfy 0 <= MIN <= MAX <= 2^40, got {low}:{high}")
    return low, high


def _shape_list(name: str, dims: Any):
    if isinstance(dims, str):  # kiln-compile's spelling: "1x16", "scalar"
        if dims == "scalar":
            return []
        dims = dims.split("x")
    try:
        out = [int(d) for d in dims]
    except (TypeError, ValueError):
        raise ValueError(
            f"input_shapes['{name}'] must be a sequence of sizes, got {dims!r}") from None
    if any(d < 0 for d in out):
        raise ValueError(f"input_shapes['{name}'] has a negative size: {out}")
    return out


def compile(model: Any,
            target: str = "cpu",
            *,
            output: Optional[Union[str, os.PathLike]] = None,
            emit: str = _ARTIFACT,
            quantize: Optional[str] = None,
            input_shapes: Optional[Mapping[str, Union[Sequence[int], str]]] = None,
            dims: Optional[Mapping[str, Union[int, Tuple[int, int], str]]] = None,
            bind_inputs: Optional[Mapping[str, Any]] = None,
            raise_ops: bool = True,
            cpu: str = "native",
            opt_level: int = 3,
            gpu_arch: Union[str, Sequence[str]] = "sm_90a",
            cuda_path: str = "/usr/local/cuda",
            entry: str = "main",
            progress: bool = False,
            report_raising: bool = False,
            generate: bool = False,
            max_seq: Optional[int] = None,
            kv_block_size: Optional[int] = None,
            kv_blocks: Optional[int] = None) -> Union[bytes, str]:
    """Compiles a model ahead of time, in this process, as ``kiln-compile``
    does (the GIL is released while it works).

    ``model`` is a path (``.onnx``, ``.onnxtxt``, ``.mlir``), the bytes of an
    ONNX model, an ``onnx.ModelProto``, Kiln-dialect ``.mlir`` text, or a
    :class:`kiln.Graph`. A ``str`` is read as ``.mlir`` text when it holds a
    newline or ``func.func``, else as a path.

    Returns the artifact's bytes; with ``output``, writes it there instead
    and returns that path. With ``emit`` set to a stage before ``artifact``
    (``"kiln"``, or a target stage such as ``"linalg"``, ``"llvm"``,
    ``"llvm-ir"``), returns that stage's IR as text (or writes it to
    ``output`` and returns the path).

    The options are kiln-compile's flags: ``target`` (``--target``),
    ``emit`` (``--emit``), ``quantize`` (``--quantize``: ``int8``,
    ``int4-g32``, ``int4-g128``, ``fp8-block``, ``mxfp4``, ``nvfp4``),
    ``input_shapes`` (``--input-shape``: ``{"tokens": (1, 16)}`` or
    ``{"tokens": "1x16"}``), ``dims`` (``--dim``: the range of each symbolic
    input dimension, ``{"seq": (1, 4096)}`` or ``{"seq": "1:4096"}``; an
    int pins it, ``{"batch": 1}``), ``bind_inputs`` (``--bind-input``: ``{name:
    numpy array}`` fixed at compile time), ``raise_ops`` (``--raise``),
    ``cpu`` (``--cpu``), ``opt_level`` (``-O``), ``gpu_arch``
    (``--gpu-arch``, for ``target="cuda"``: ``"sm_90a,sm_80"`` or a list),
    ``cuda_path`` (``--cuda-path``), ``entry`` (``--entry``),
    ``progress`` (``--progress``), ``report_raising`` (``--report-raising``;
    the lines go to ``sys.stderr``), ``generate`` (``--generate``: a causal
    decoder becomes one generation step over a KV cache; run it with
    :meth:`kiln.Model.generate`) and ``max_seq`` (``--max-seq``: the
    positions each sequence's cache holds; default the rotary table's
    length), ``kv_block_size`` (``--kv-block-size``: a paged KV cache of
    blocks of that many positions, served by ``kiln-run --serve-trace`` and
    the C API's ``kiln_batch_*``) and ``kv_blocks`` (``--kv-blocks``: the
    blocks of each pool).

    Raises :class:`kiln.CompileError` with every error the compiler
    reported (``.messages``, and the ONNX node of each in ``.nodes``).
    """
    if not isinstance(target, str) or not isinstance(emit, str):
        raise TypeError("target and emit are strings")
    if max_seq is not None and not generate:
        raise ValueError("max_seq needs generate=True")
    if max_seq is not None and (isinstance(max_seq, bool) or not isinstance(max_seq, int)
                                or max_seq < 1):
        raise ValueError(f"max_seq must be a positive integer, got {max_seq!r}")
    for flag, value in (("kv_block_size", kv_block_size), ("kv_blocks", kv_blocks)):
        if value is not None and not generate:
            raise ValueError(f"{flag} needs generate=True")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError(f"{flag} must be a positive integer, got {value!r}")
    if kv_blocks is not None and kv_block_size is None:
        raise ValueError("kv_blocks needs kv_block_size")
    if not isinstance(opt_level, int) or not 0 <= opt_level <= 3:
        raise ValueError(f"opt_level must be 0, 1, 2 or 3, got {opt_level!r}")
    archs = gpu_arch.split(",") if isinstance(gpu_arch, str) else list(gpu_arch)
    archs = [str(a).strip() for a in archs if str(a).strip()]
    shapes: Dict[str, list] = {}
    for name, shape in (input_shapes or {}).items():
        shapes[str(name)] = _shape_list(name, shape)
    ranges: Dict[str, Tuple[int, int]] = {}
    for name, value in (dims or {}).items():
        ranges[str(name)] = _dim_range(name, value)
    bound: Dict[str, tuple] = {}
    for name, value in (bind_inputs or {}).items():
        array = np.ascontiguousarray(np.asarray(value))
        code = _NUMPY_TO_KILN.get(array.dtype)
        if code is None:
            raise ValueError(f"bind_inputs['{name}'] has dtype {array.dtype}, which is not a Kiln dtype")
        bound[str(name)] = (code, list(array.shape), array.tobytes())

    with tempfile.TemporaryDirectory(prefix="kiln-compile-") as workdir:
        path, display = _model_source(model, workdir)
        if output is not None:
            out_path = os.fspath(output)
        else:
            out_path = os.path.join(workdir, "out.kiln" if emit == _ARTIFACT else "out.mlir")
        ok, diags = _kiln.compile(
            path, out_path, target, emit, quantize or "", shapes, ranges, bound,
            bool(raise_ops), cpu, opt_level, archs, os.fspath(cuda_path), entry,
            bool(progress), bool(report_raising), bool(generate), int(max_seq or 0),
            int(kv_block_size or 0), int(kv_blocks or 0))
        diagnostics = []
        for severity, message, node, location in diags:
            if display is not None and location:
                location = location.replace(path, display)
            diagnostics.append(Diagnostic(severity, message, node, location))
        if report_raising:
            for d in diagnostics:
                if d.severity == "remark":
                    where = f"node '{d.node}': " if d.node else ""
                    print(f"kiln-compile: {where}{d.message}", file=sys.stderr)
        if not ok:
            raise CompileError(diagnostics)
        if output is not None:
            return out_path
        if emit == _ARTIFACT:
            with open(out_path, "rb") as f:
                return f.read()
        with open(out_path) as f:
            return f.read()
