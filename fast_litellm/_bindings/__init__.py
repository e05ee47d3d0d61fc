"""Thin typed wrappers over the cffi extension; the only importers of ``_native``."""

from __future__ import annotations

import sys
from typing import Any

from fast_litellm.exceptions import NativeUnavailableError, RankFileError

ABI_VERSION = 16

try:
    from fast_litellm._native import ffi, lib
except ImportError as exc:  # pragma: no cover - exercised by test_native_missing
    raise NativeUnavailableError(f"fast_litellm._native could not be loaded: {exc}") from exc

if lib.FL_ABI_VERSION != ABI_VERSION:  # pragma: no cover - stale in-place build
    raise NativeUnavailableError(
        f"fast_litellm._native has ABI {lib.FL_ABI_VERSION}, the Python package expects "
        f"{ABI_VERSION}; rebuild it (pip install .)"
    )

__all__ = ["ABI_VERSION", "CPYTHON", "check", "ffi", "lib", "py", "strerror"]

# On CPython, the functions that take Python objects (native/pylist.c, native/pymessages.c) are
# methods of the module native/pymodule.c makes, fast_litellm._native_py: they receive objects as
# arguments, never as addresses.
CPYTHON = sys.implementation.name == "cpython"
py: Any = None
if CPYTHON:
    if lib.fl_python_init() != lib.FL_OK:  # pragma: no cover - out of memory at import
        raise NativeUnavailableError("fast_litellm._native_py could not be made")
    py = sys.modules["fast_litellm._native_py"]


def strerror(code: int) -> str:
    """English text for a native status code."""
    text: Any = ffi.string(lib.fl_strerror(code))
    return str(text.decode("ascii"))


def check(rc: int) -> None:
    """Raise the exception for a negative native status code (FL_OK passes)."""
    if rc == lib.FL_OK:
        return
    if rc == lib.FL_E_NOMEM:
        raise MemoryError(strerror(rc))
    if rc in (lib.FL_E_CORRUPT, lib.FL_E_TOO_LARGE):
        raise RankFileError(strerror(rc))
    raise RuntimeError(f"fast_litellm native error {rc}: {strerror(rc)}")
