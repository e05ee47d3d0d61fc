"""Thin typed wrappers over the cffi extension; the only importers of ``_native``."""

from __future__ import annotations

from typing import Any

from fast_litellm.exceptions import NativeUnavailableError

ABI_VERSION = 8

try:
    from fast_litellm._native import ffi, lib
except ImportError as exc:  # pragma: no cover - exercised by test_native_missing
    raise NativeUnavailableError(f"fast_litellm._native could not be loaded: {exc}") from exc

if lib.FL_ABI_VERSION != ABI_VERSION:  # pragma: no cover - stale in-place build
    raise NativeUnavailableError(
        f"fast_litellm._native has ABI {lib.FL_ABI_VERSION}, the Python package expects "
        f"{ABI_VERSION}; rebuild it (pip install .)"
    )

__all__ = ["ABI_VERSION", "ffi", "lib", "strerror"]


def strerror(code: int) -> str:
    """English text for a native status code."""
    text: Any = ffi.string(lib.fl_strerror(code))
    return str(text.decode("ascii"))
