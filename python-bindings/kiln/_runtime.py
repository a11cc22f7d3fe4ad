"""Loading and running artifacts: kiln.load, kiln.Model, kiln.from_dlpack."""

from __future__ import annotations

import builtins
import os
import tempfile
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _kiln
from .errors import RuntimeError

# Kiln dtype codes (ONNX TensorProto.DataType, kiln/dtype.h) of the NumPy
# types. Types NumPy lacks (bfloat16, fp8, fp4, int4, ...) travel as their
# storage type; see Model.run.
_NUMPY_TO_KILN = {
    np.dtype(np.float32): 1,
    np.dtype(np.uint8): 2,
    np.dtype(np.int8): 3,
    np.dtype(np.uint16): 4,
    np.dtype(np.int16): 5,
    np.dtype(np.int32): 6,
    np.dtype(np.int64): 7,
    np.dtype(np.bool_): 9,
    np.dtype(np.float16): 10,
    np.dtype(np.float64): 11,
    np.dtype(np.uint32): 12,
    np.dtype(np.uint64): 13,
}
_KILN_TO_NUMPY = {code: dt for dt, code in _NUMPY_TO_KILN.items()}


def _dtype_of(code: int) -> Union[np.dtype, str]:
    """The NumPy dtype of a Kiln dtype code, or its name where NumPy has
    none ("bfloat16", "float8e4m3fn", "int4", ...)."""
    return _KILN_TO_NUMPY.get(code, _kiln.dtype_name(code))


class TensorInfo(NamedTuple):
    """One input or output of a compiled model."""

    name: str
    dtype: Union[np.dtype, str]
    """A NumPy dtype, or the dtype's name for types NumPy lacks."""
    shape: Tuple[Union[int, str], ...]
    """Each dimension: an int where it is static, the symbol's name (a str,
    e.g. ``"batch"``) where it is symbolic; see :attr:`Model.symbols`."""

    def __repr__(self) -> str:
        return f"TensorInfo(name={self.name!r}, dtype={str(self.dtype)!r}, shape={self.shape})"


class SymbolRange(NamedTuple):
    """The values a symbolic dimension may take in a run: min..max."""

    min: int
    max: int


def _shape_of(dims: List[int], symbols: List[str]) -> Tuple[Union[int, str], ...]:
    """The runtime's dims with each symbolic one, -(k+1), as symbol k's name."""
    return tuple(symbols[-d - 1] if d < 0 else d for d in dims)


# DLPack device types whose memory is a GPU's: kDLCUDA, kDLCUDAManaged.
_DLPACK_GPU_DEVICES = {2: "cuda", 13: "cuda managed"}


def _gpu_device_of(value: Any) -> Optional[Tuple[int, int]]:
    """(DLPack device type, index) of an object in GPU memory, else None."""
    if not hasattr(value, "__dlpack_device__"):
        return None
    try:
        device = tuple(value.__dlpack_device__())
    except Exception:  # noqa: BLE001 - not a usable DLPack producer
        return None
    return device if device and device[0] in _DLPACK_GPU_DEVICES else None


class DeviceTensor:
    """An output left in the memory of the GPU that computed it
    (``Model.run(..., outputs="device")``). It implements DLPack, so
    ``torch.from_dlpack(t)`` views it on the GPU without a copy, and it can
    be given to another run as an input, device to device. It keeps the
    run's buffers alive until it and every view of it are gone."""

    def __init__(self, core: "_kiln.DeviceTensor"):
        self._core = core

    @property
    def name(self) -> str:
        return self._core.name

    @property
    def dtype(self) -> Union[np.dtype, str]:
        """A NumPy dtype, or the dtype's name for types NumPy lacks."""
        return _dtype_of(self._core.dtype_code)

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self._core.shape)

    @property
    def device(self) -> str:
        return f"cuda:{self._core.device_index}"

    @property
    def data_ptr(self) -> int:
        """The device address of the first element."""
        return self._core.data_ptr

    @property
    def nbytes(self) -> int:
        return self._core.nbytes

    def numpy(self) -> np.ndarray:
        """The same values in host memory: the copy the run brought back
        (a view, no new copy)."""
        return self._core.host()

    def __dlpack__(self, stream: Any = None) -> Any:
        # The run has finished on the device before returning: any stream
        # may read the data at once.
        return self._core.__dlpack__(stream=stream)

    def __dlpack_device__(self) -> Tuple[int, int]:
        return tuple(self._core.__dlpack_device__())

    def __repr__(self) -> str:
        return (f"<kiln.DeviceTensor {self.name}: {self.dtype}"
                f"{list(self.shape)} on {self.device}>")


def from_dlpack(tensor: Any) -> np.ndarray:
    """A NumPy view (no copy) of any CPU tensor that implements DLPack
    (``__dlpack__``), such as a ``torch.Tensor``. The other direction needs
    nothing: the arrays :meth:`Model.run` returns implement ``__dlpack__``,
    so ``torch.from_dlpack(out)`` views them without a copy. A tensor in GPU
    memory has no NumPy view: give it to :meth:`Model.run` as it is (a model
    loaded on that GPU copies it device to device)."""
    if isinstance(tensor, np.ndarray):
        return tensor
    gpu = _gpu_device_of(tensor)
    if gpu is not None:
        raise RuntimeError(
            f"kiln.from_dlpack makes NumPy views of host memory; this "
            f"{type(tensor).__name__} is in the memory of "
            f"{_DLPACK_GPU_DEVICES[gpu[0]]}:{gpu[1]}: pass it to Model.run as it "
            f"is, or copy it to the host first", "INVALID_ARGUMENT")
    try:
        return np.from_dlpack(tensor)
    except (BufferError, builtins.RuntimeError, TypeError, ValueError) as e:
        device = None
        if hasattr(tensor, "__dlpack_device__"):
            try:
                device = tuple(tensor.__dlpack_device__())
            except Exception:  # noqa: BLE001 - only for the message
                device = None
        where = f" (DLPack device {device})" if device and device[0] != 1 else ""
        raise RuntimeError(
            f"cannot read a {type(tensor).__name__} through DLPack{where}: {e}",
            "INVALID_ARGUMENT") from None


def _as_array(name: str, value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        array = value
    elif hasattr(value, "__dlpack__"):
        try:
            array = from_dlpack(value)
        except RuntimeError as e:
            raise RuntimeError(f"input '{name}': {e.message}", e.status) from None
    else:
        array = np.asarray(value)
    return np.ascontiguousarray(array)


class Model:
    """A loaded artifact. Create it with :func:`kiln.load`.

    ``inputs`` and ``outputs`` describe the signature, ``symbols`` the
    ranges of its symbolic dimensions (``{"batch": SymbolRange(min=1,
    max=64)}``; empty for a static model), ``target`` is the artifact's
    target (e.g. ``"cpu-x86_64"``), ``device`` where it runs.
    A Model is immutable; :meth:`run` may be called from several threads at
    once (each run has its own runtime session) and releases the GIL while
    the model runs.
    """

    def __init__(self, core: "_kiln.Model"):
        self._core = core
        self.symbols: Dict[str, SymbolRange] = {
            n: SymbolRange(lo, hi) for n, lo, hi in core.symbols()}
        names = list(self.symbols)
        self.inputs: List[TensorInfo] = [
            TensorInfo(n, _dtype_of(d), _shape_of(s, names))
            for n, d, s in core.signature(False)]
        self.outputs: List[TensorInfo] = [
            TensorInfo(n, _dtype_of(d), _shape_of(s, names))
            for n, d, s in core.signature(True)]
        self._input_codes = {n: d for n, d, _ in core.signature(False)}

    @property
    def target(self) -> str:
        return self._core.target

    @property
    def device(self) -> str:
        return self._core.device

    def run(self, inputs: Mapping[str, Any], *,
            outputs: str = "host") -> Dict[str, Any]:
        """Runs the model on ``inputs`` (name -> NumPy array, or any object
        with ``__dlpack__`` such as a ``torch.Tensor``, or anything
        ``numpy.asarray`` takes) and returns ``{output name: numpy.ndarray}``
        (``outputs="host"``, the default) or, for a model loaded on a CUDA
        device, ``{output name: kiln.DeviceTensor}`` with
        ``outputs="device"``: the results stay in GPU memory, for
        ``torch.from_dlpack`` or the next run.

        An input in the memory of the model's GPU (a CUDA ``torch.Tensor``,
        a :class:`DeviceTensor`) is copied device to device, never through
        the host. Its producer must have finished writing it (e.g.
        ``torch.cuda.synchronize()``): the copy runs on the runtime's own
        stream. It must be dense row-major, on the model's device, of a
        dtype other than the sub-byte ones (int4, uint4, fp4, int2, uint2),
        and the model's input must have a static shape.

        Inputs must have the model's dtype and shape exactly (no casts, no
        broadcasting), except that a symbolic dimension (a name in
        ``TensorInfo.shape``) takes any value in its symbol's range, the
        same in every input that names it; the outputs then have the shapes
        those values give. A wrong name, dtype or shape, a value out of
        range, inputs that disagree on a symbol, or a missing input, raises
        :class:`kiln.RuntimeError` with the runtime's message. Inputs are
        copied into the session, so they may be changed afterwards.

        The returned arrays are views of the session's output buffers, not
        copies: each result keeps its session (its input and output buffers)
        alive until all its arrays are freed. They are writable and own
        their memory exclusively, so ``torch.from_dlpack`` may view them.

        Types NumPy lacks travel as their storage: bfloat16 as uint16 bit
        patterns, fp8/fp4 codes and uint4/uint2 as uint8, int4/int2
        sign-extended as int8 (one element per byte).
        """
        if not isinstance(inputs, Mapping):
            raise TypeError(
                f"run() takes a mapping of input name -> array, got {type(inputs).__name__}")
        if outputs not in ("host", "device"):
            raise ValueError(f"outputs is 'host' or 'device', got {outputs!r}")
        if outputs == "device" and not self.device.startswith("cuda"):
            raise RuntimeError(
                f"outputs='device' needs a model loaded on a CUDA device; this "
                f"one runs on '{self.device}'", "UNSUPPORTED")
        args = []
        on_device = []
        for name, value in inputs.items():
            if not isinstance(name, str):
                raise TypeError(f"input names are strings, got {name!r}")
            if _gpu_device_of(value) is not None:
                on_device.append((name, value.__dlpack__(stream=None)))
                continue
            array = _as_array(name, value)
            code = _NUMPY_TO_KILN.get(array.dtype)
            expected = self._input_codes.get(name)
            if (expected is not None and expected not in _KILN_TO_NUMPY
                    and array.dtype == np.dtype(_kiln.storage_dtype(expected))):
                code = expected  # a type NumPy lacks, given as its storage
            if code is None:
                raise RuntimeError(
                    f"input '{name}' has NumPy dtype {array.dtype}, which is not a "
                    f"Kiln dtype", "DTYPE_MISMATCH")
            args.append((name, code, list(array.shape), array))
        results = self._core.run(args, on_device, outputs == "device")
        if outputs == "device":
            results = [DeviceTensor(core) for core in results]
        return {info.name: out for info, out in zip(self.outputs, results)}

    @property
    def max_seq(self) -> Optional[int]:
        """The KV cache's positions per sequence of a generation step
        (``kiln.compile(generate=True)``), or None for any other model."""
        info = self._core.generation_info()
        return None if info is None else info[0]

    def generate(self, tokens: Any, max_new_tokens: int, *,
                 temperature: float = 0.0, top_k: int = 0, top_p: float = 0.0,
                 seed: int = 0, stop_tokens: Sequence[int] = ()) -> np.ndarray:
        """Decodes ``max_new_tokens`` tokens after the prompt ``tokens``
        (integers ``[batch, length]``, or ``[length]`` for one sequence) with
        a model compiled with ``generate=True``: the prompt runs once, then
        each step computes one new position per sequence over the KV cache.
        Returns int64 ``[batch, max_new_tokens]`` (``[max_new_tokens]`` for a
        1-D prompt).

        ``temperature`` 0 (the default) is greedy; above 0 the logits are
        divided by it and the token is drawn from the softmax, restricted to
        the ``top_k`` most likely (0: all) and to the smallest set whose
        probability reaches ``top_p`` (0 or 1: all); ``seed`` fixes the
        draws. After a token of ``stop_tokens`` a sequence repeats it, and
        decoding ends when every sequence has stopped. Raises
        :class:`kiln.RuntimeError` for a model that is no generation step
        or a prompt plus new tokens longer than :attr:`max_seq`.
        """
        array = _as_array("tokens", tokens)
        if array.dtype.kind not in "iu":
            raise TypeError(f"tokens must be integers, got {array.dtype}")
        one = array.ndim == 1
        prompt = np.ascontiguousarray(array.reshape(1, -1) if one else array,
                                      dtype=np.int64)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
                or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
        if self.max_seq is None:
            raise RuntimeError("the model is not a generation step (compile it "
                               "with kiln.compile(..., generate=True))", "NOT_FOUND")
        need = prompt.shape[-1] + max_new_tokens - 1
        if need > self.max_seq:
            raise RuntimeError(
                f"a prompt of {prompt.shape[-1]} tokens and {max_new_tokens} new "
                f"ones need {need} cache positions; the model's KV cache holds "
                f"{self.max_seq} (kiln.compile(..., max_seq=...))", "INVALID_ARGUMENT")
        out = self._core.generate(prompt, max_new_tokens, float(temperature),
                                  int(top_k), float(top_p), int(seed),
                                  [int(t) for t in stop_tokens])
        return out[0] if one else out

    def serve(self, prompts: Sequence[Any], max_new_tokens: Union[int, Sequence[int]], *,
              arrivals: Optional[Sequence[int]] = None, max_batch: int = 0,
              temperature: float = 0.0, top_k: int = 0, top_p: float = 0.0,
              seed: int = 0, stop_tokens: Sequence[int] = (),
              return_stats: bool = False) -> Any:
        """Generates for many requests at once with a model compiled with a
        paged KV cache (``kiln.compile(generate=True, kv_block_size=...)``),
        through the runtime's continuous batching: request ``i`` (prompt
        ``prompts[i]``, 1-D integers) joins at decode step ``arrivals[i]``
        (default: all at step 0), is prefilled alone, then decodes together
        with every running request, each at its own length, and leaves after
        ``max_new_tokens`` tokens (one number for all, or one per request)
        or a stop token; its cache blocks go back to the pool. Requests wait
        while ``max_batch`` (0: the model's batch range) or the free blocks
        do not allow them. Sampling is as in :meth:`generate`.

        Returns each request's generated tokens (int64, shorter when it
        stopped) in request order; with ``return_stats`` also a dict of the
        batch's counters (``prefills``, ``decode_steps``, ``total_blocks``,
        ``peak_used_blocks``, ``blocks_handed_out``). Raises
        :class:`kiln.RuntimeError` for a model without a paged cache or a
        request that cannot fit it.
        """
        lists = []
        for i, prompt in enumerate(prompts):
            array = _as_array(f"prompts[{i}]", prompt)
            if array.dtype.kind not in "iu" or array.ndim != 1 or array.size == 0:
                raise ValueError(f"prompts[{i}] must be a non-empty 1-D array of "
                                 f"integers, got {array.dtype} {list(array.shape)}")
            lists.append([int(t) for t in array])
        count = len(lists)
        news = [max_new_tokens] * count if isinstance(max_new_tokens, int) \
            else list(max_new_tokens)
        when = [0] * count if arrivals is None else list(arrivals)
        for what, values, low in (("max_new_tokens", news, 1), ("arrivals", when, 0)):
            if len(values) != count:
                raise ValueError(f"{what} has {len(values)} entries for {count} prompts")
            for v in values:
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                    raise ValueError(f"each of {what} must be an integer >= {low}, got {v!r}")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 0:
            raise ValueError(f"max_batch must be an integer >= 0, got {max_batch!r}")
        tokens, stats = self._core.serve(
            lists, [int(v) for v in news], [int(v) for v in when], max_batch,
            float(temperature), int(top_k), float(top_p), int(seed),
            [int(t) for t in stop_tokens])
        return (tokens, stats) if return_stats else tokens

    def __call__(self, inputs: Mapping[str, Any] = None, **kwargs: Any) -> Dict[str, np.ndarray]:
        """``model(tokens=x)`` is ``model.run({"tokens": x})``."""
        merged = dict(inputs or {})
        merged.update(kwargs)
        return self.run(merged)

    def __repr__(self) -> str:
        def shape(info: TensorInfo) -> str:
            return "[" + ", ".join(str(d) for d in info.shape) + "]"
        sig = ", ".join(f"{i.name}: {i.dtype}{shape(i)}" for i in self.inputs)
        out = ", ".join(f"{o.name}: {o.dtype}{shape(o)}" for o in self.outputs)
        return f"<kiln.Model {self.target} on {self.device}: ({sig}) -> ({out})>"


def set_memory_limit(limit: int) -> None:
    """Caps the bytes of tensor storage the runtime holds at once in this
    process (inputs, outputs and workspaces of every session); a run that
    would pass it raises :class:`kiln.RuntimeError` (``OUT_OF_MEMORY``)
    naming the limit. 0 removes the cap. The default is the machine's
    physical memory, or ``$KILN_MEMORY_LIMIT``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"the limit is a number of bytes >= 0, got {limit!r}")
    _kiln.set_memory_limit(limit)


def memory_limit() -> int:
    """The runtime's cap on tensor storage in bytes (0: none)."""
    return _kiln.memory_limit()


def load(artifact: Union[str, os.PathLike, bytes, bytearray, memoryview],
         device: str = "cpu", threads: int = 0) -> Model:
    """Loads a compiled artifact and prepares it to run on ``device``:
    ``"cpu"`` (or ``"cpu:0"``) for a CPU artifact, ``"cuda"`` or
    ``"cuda:N"`` for one compiled with ``target="cuda"`` (the runtime loads
    the CUDA driver, ``libcuda.so.1`` or ``$KILN_CUDA_DRIVER``, and picks
    the artifact's image for that GPU).

    ``artifact`` is a path, or the artifact's bytes (what :func:`kiln.compile`
    returns), which are written to a temporary file that is removed once
    mapped. The whole file is validated; a corrupt or truncated artifact,
    or a device that cannot run it, raises :class:`kiln.RuntimeError`.

    ``threads`` is how many host threads each run may use (``kiln-run
    --threads``): 0, the default, is every core; 1 keeps runs on the
    calling thread.
    """
    if not isinstance(device, str):
        raise TypeError(f"device is a string such as 'cpu', got {device!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or \
            not 0 <= threads <= 4096:
        raise ValueError(f"threads is an integer from 0 (every core) to 4096, "
                         f"got {threads!r}")
    if isinstance(artifact, (bytes, bytearray, memoryview)):
        fd, path = tempfile.mkstemp(prefix="kiln-", suffix=".kiln")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(artifact)
            # The runtime maps the file and closes it: removing it is safe.
            return Model(_kiln.Model(path, device, threads))
        finally:
            os.unlink(path)
    if isinstance(artifact, (str, os.PathLike)):
        return Model(_kiln.Model(os.fspath(artifact), device, threads))
    raise TypeError(
        f"load() takes a path or the artifact's bytes, got {type(artifact).__name__}")
