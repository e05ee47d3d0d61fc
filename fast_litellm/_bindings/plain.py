"""Typed wrapper over native/pymessages.c's key of exact plain data."""

from __future__ import annotations

from typing import Any

from fast_litellm._bindings import CPYTHON, check, lib

__all__ = ["plain_key"]

_fl_plain_key = lib.fl_plain_key
_FL_E_SHAPE = lib.FL_E_SHAPE


def plain_key(value: Any, max_bytes: int) -> bytes | None:
    """A bytes key that two values share only if both are the same exact plain data (None, bool,
    int of 64 bits, float, str, and list, tuple and dict of those, in order), or None for any
    other value or a key longer than ``max_bytes`` (see ``fl_plain_key``)."""
    if not CPYTHON:
        return None
    holder: list[Any] = [None]
    n = _fl_plain_key(id(value), max_bytes, id(holder))
    if n < 0:
        if n == _FL_E_SHAPE:
            return None
        check(n)
    key: bytes = holder[0]
    return key
