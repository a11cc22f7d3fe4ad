"""Type stubs of the kiln package."""

import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import CompileError as CompileError
from .errors import Diagnostic as Diagnostic
from .errors import Error as Error
from .errors import RuntimeError as RuntimeError
from .graph import Graph as Graph
from .graph import Value as Value

__version__: str

_Path = Union[str, os.PathLike]

def compile(model: Union[_Path, bytes, bytearray, memoryview, Graph, Any],
            target: str = "cpu",
            *,
            output: Optional[_Path] = None,
            emit: str = "artifact",
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
            microbatches: Optional[int] = None) -> Union[bytes, str]: ...

def plan(model: Union[_Path, bytes, bytearray, memoryview, Graph, Any],
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
         explain: bool = False) -> str: ...

class TensorInfo(NamedTuple):
    name: str
    dtype: Union[np.dtype, str]
    shape: Tuple[Union[int, str], ...]

class SymbolRange(NamedTuple):
    min: int
    max: int

class DeviceTensor:
    @property
    def name(self) -> str: ...
    @property
    def dtype(self) -> Union[np.dtype, str]: ...
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def device(self) -> str: ...
    @property
    def data_ptr(self) -> int: ...
    @property
    def nbytes(self) -> int: ...
    def numpy(self) -> np.ndarray: ...
    def __dlpack__(self, stream: Any = None) -> Any: ...
    def __dlpack_device__(self) -> Tuple[int, int]: ...

class Model:
    inputs: List[TensorInfo]
    outputs: List[TensorInfo]
    symbols: Dict[str, SymbolRange]
    @property
    def target(self) -> str: ...
    @property
    def device(self) -> str: ...
    def run(self, inputs: Mapping[str, Any], *, outputs: str = "host") -> Dict[str, Any]: ...
    @property
    def max_seq(self) -> Optional[int]: ...
    def generate(self, tokens: Any, max_new_tokens: int, *,
                 temperature: float = 0.0, top_k: int = 0, top_p: float = 0.0,
                 seed: int = 0, stop_tokens: Sequence[int] = ()) -> np.ndarray: ...
    def serve(self, prompts: Sequence[Any], max_new_tokens: Union[int, Sequence[int]], *,
              arrivals: Optional[Sequence[int]] = None, max_batch: int = 0,
              temperature: float = 0.0, top_k: int = 0, top_p: float = 0.0,
              seed: int = 0, stop_tokens: Sequence[int] = (),
              return_stats: bool = False) -> Any: ...
    def __call__(self, inputs: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Dict[str, np.ndarray]: ...

def load(artifact: Union[_Path, bytes, bytearray, memoryview], device: str = "cpu", threads: int = 0) -> Model: ...
def from_dlpack(tensor: Any) -> np.ndarray: ...
def set_memory_limit(limit: int) -> None: ...
def memory_limit() -> int: ...
