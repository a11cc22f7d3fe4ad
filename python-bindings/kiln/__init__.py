"""Kiln from Python: compile a model ahead of time, load the artifact, run it
on NumPy arrays (or anything with ``__dlpack__``), and build Kiln-dialect
graphs directly.

    import kiln
    model = kiln.load(kiln.compile("examples/mixtral/mixtral.onnx"))
    logits = model.run({"tokens": tokens})["logits"]

``kiln.compile`` is the compile driver of ``kiln-compile`` in this process;
``kiln.load`` and ``Model.run`` are the runtime's C API that ``kiln-run``
uses. Both release the GIL while they work.
"""

from ._compile import compile, plan
from ._runtime import (DeviceTensor, Model, SymbolRange, TensorInfo, from_dlpack, load,
                       memory_limit, set_memory_limit)
from .errors import CompileError, Diagnostic, Error, RuntimeError
from .graph import Graph, Value

__version__ = "0.1.0"

__all__ = [
    "compile",
    "plan",
    "load",
    "Model",
    "TensorInfo",
    "SymbolRange",
    "from_dlpack",
    "DeviceTensor",
    "set_memory_limit",
    "memory_limit",
    "Graph",
    "Value",
    "Error",
    "CompileError",
    "RuntimeError",
    "Diagnostic",
]
