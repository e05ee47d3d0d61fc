"""Typed wrapper over native/pymessages.c's key of exact plain data."""

from __future__ import annotations

from typing import Any

from fast_litellm._bindings import CPYTHON, py

__all__ = ["plain_key"]

_plain_key = py.plain_key if CPYTHON else None


def plain_key(value: Any, max_bytes: int) -> bytes | None:
    """A bytes key that two values share only if both are the same exact plain data (None, bool,
    int of 64 bits, float, str, and list, tuple and dict of those, in order), or None for any
    other value or a key longer than ``max_bytes`` (native/pymessages.c's plain_key)."""
    if _plain_key is None:  # pragma: no cover - not CPython
        return None
    key: bytes | None = _plain_key(value, max_bytes)
    return key
