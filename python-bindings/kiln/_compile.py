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
            kv_blocks: Optional[int] = None,
            devices: Optional[int] = None,
            mesh: Optional[str] = None,
            parallel: Optional[str] = None,
            machine: Optional[str] = None,
            objective: Optional[str] = None,
            plan_batch: Optional[int] = None,
            plan_seq: Optional[int] = None,
            plan_phase: Optional[str] = None,
            microbatches: Optional[int] = None) -> Union[bytes, str]:
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

    ``devices`` (``--devices``), ``mesh`` (``--mesh``, e.g. ``"2x4"``) or
    ``parallel`` (``--parallel``, e.g. ``"ep=2"``) partition the model for
    several processes: the artifact holds every rank's program, run with
    ``mpirun -np N kiln-run`` (docs/parallel.md); ``machine``,
    ``objective``, ``plan_batch``, ``plan_seq``, ``plan_phase`` and
    ``microbatches`` are the planner's other flags. :func:`kiln.plan`
    prints a plan without compiling.

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

    planning = _planning_options(devices=devices, mesh=mesh, parallel=parallel,
                                 machine=machine, objective=objective,
                                 plan_batch=plan_batch, plan_seq=plan_seq,
                                 plan_phase=plan_phase, microbatches=microbatches)
    if planning and not {"devices", "mesh", "parallel"} & set(planning):
        raise ValueError("machine, objective, plan_batch, plan_seq, plan_phase and "
                         "microbatches set up a parallel plan: add devices, mesh or "
                         "parallel (or use kiln.plan)")

    with tempfile.TemporaryDirectory(prefix="kiln-compile-") as workdir:
        path, display = _model_source(model, workdir)
        if output is not None:
            out_path = os.fspath(output)
        else:
            out_path = os.path.join(workdir, "out.kiln" if emit == _ARTIFACT else "out.mlir")
        ok, diags, _ = _kiln.compile(
            path, out_path, target, emit, quantize or "", shapes, ranges, bound,
            bool(raise_ops), cpu, opt_level, archs, os.fspath(cuda_path), entry,
            bool(progress), bool(report_raising), bool(generate), int(max_seq or 0),
            int(kv_block_size or 0), int(kv_blocks or 0), planning)
        diagnostics = _diagnostics(diags, path, display)
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


def _diagnostics(diags, path: str, display: Optional[str]):
    """The driver's diagnostics, with a temporary file's path shown as what
    the caller gave (``<onnx>``, ``<graph>``)."""
    result = []
    for severity, message, node, location in diags:
        if display is not None and location:
            location = location.replace(path, display)
        result.append(Diagnostic(severity, message, node, location))
    return result


def _planning_options(**options: Any) -> Dict[str, str]:
    """The planner's keywords that were given, checked, as the strings the
    driver takes."""
    result: Dict[str, str] = {}
    for name, value in options.items():
        if value is None:
            continue
        if name in ("devices", "plan_batch", "plan_seq", "microbatches"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        elif name == "explain":
            value = "1" if value else "0"
        elif not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {value!r}")
        result[name] = str(value)
    return result


def plan(model: Any,
         *,
         devices: Optional[int] = None,
         mesh: Optional[str] = None,
         parallel: str = "auto",
         machine: str = "h100-nvlink",
         objective: str = "latency",
         plan_batch: int = 1,
         plan_seq: int = 4096,
         plan_phase: str = "decode",
         microbatches: Optional[int] = None,
         quantize: Optional[str] = None,
         explain: bool = False) -> str:
    """The parallel plan ``kiln-compile --plan-only`` prints, without
    compiling: how to split ``model`` (anything :func:`kiln.compile` takes,
    or a Hugging Face ``config.json`` path, which has no weights) over
    ``devices`` (or a ``mesh`` such as ``"2x8"``) of ``machine`` (a preset,
    ``"h100-nvlink"``, ``"h100-pcie"``, ``"cpu"``, or a machine ``.json``),
    for ``objective`` ``"latency"`` or ``"throughput"`` at ``plan_batch``
    sequences of ``plan_seq`` tokens in ``plan_phase`` ``"decode"`` or
    ``"prefill"``. ``parallel`` fixes factors (``"tp=2,ep=4"``); ``explain``
    adds each device's work and why the winner beat the next candidates.
    Raises :class:`kiln.CompileError` when the model or machine cannot be
    read or nothing fits."""
    if devices is None and mesh is None:
        devices = 1
    planning = _planning_options(devices=devices, mesh=mesh, parallel=parallel,
                                 machine=machine, objective=objective,
                                 plan_batch=plan_batch, plan_seq=plan_seq,
                                 plan_phase=plan_phase, microbatches=microbatches,
                                 explain=explain)
    with tempfile.TemporaryDirectory(prefix="kiln-plan-") as workdir:
        path, display = _model_source(model, workdir)
        ok, diags, text = _kiln.compile(
            path, os.path.join(workdir, "unused.kiln"), "cpu", _ARTIFACT,
            quantize or "", {}, {}, {}, True, "native", 3, ["sm_90a"],
            "/usr/local/cuda", "main", False, False, False, 0, 0, 0, planning,
            True)
        if not ok:
            raise CompileError(_diagnostics(diags, path, display))
        return text
