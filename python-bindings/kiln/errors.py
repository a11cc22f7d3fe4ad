"""The exceptions the kiln module raises."""

from __future__ import annotations

import builtins
from typing import List, NamedTuple, Optional


class Error(Exception):
    """Base class of every error Kiln raises."""


class Diagnostic(NamedTuple):
    """One diagnostic of the compiler."""

    severity: str
    """``"error"``, ``"warning"`` or ``"remark"``."""
    message: str
    """The compiler's message, e.g. ``'kiln.attention' op expects ...``."""
    node: Optional[str]
    """The ONNX node the diagnostic is about (its location's name), if any."""
    location: Optional[str]
    """``file:line:col`` for diagnostics on ``.mlir`` input, if any."""

    def __str__(self) -> str:
        where = ""
        if self.location:
            where = self.location + ": "
        elif self.node:
            where = f"node '{self.node}': "
        return where + self.message


class CompileError(Error):
    """Compilation failed.

    ``str(error)`` lists every error, one per line. ``messages`` holds the
    compiler's messages, ``nodes`` the ONNX node name of each (``None``
    where the error is not about one node), ``diagnostics`` the full
    :class:`Diagnostic` records (errors and warnings).
    """

    def __init__(self, diagnostics: List[Diagnostic]):
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        if not errors:
            errors = [Diagnostic("error", "compilation failed", None, None)]
        self.errors = errors
        self.messages = [d.message for d in errors]
        self.nodes = [d.node for d in errors]
        super().__init__("\n".join(str(d) for d in errors))

    def __reduce__(self):
        return (type(self), (self.diagnostics,))


class RuntimeError(Error, builtins.RuntimeError):
    """A runtime call failed: loading an artifact, an unknown device, a
    wrong input name, dtype or shape, a missing input.

    The message is the runtime's own (what ``kiln-run`` prints after
    ``kiln-run: error:``); ``status`` is its status name, e.g.
    ``"SHAPE_MISMATCH"``, ``"DTYPE_MISMATCH"``, ``"NOT_FOUND"``,
    ``"CORRUPT_ARTIFACT"``, ``"UNSUPPORTED"``.
    """

    def __init__(self, message: str, status: str = "INVALID_ARGUMENT"):
        self.message = message
        self.status = status
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (self.message, self.status))


__all__ = ["Error", "CompileError", "RuntimeError", "Diagnostic"]
