"""Typed wrapper over native/pymessages.c's key of exact plain data."""

from __future__ import annotations

import sys
from typing import Any

from fast_litellm._bindings import lib
from fast_litellm._bindings.tokens import _check

__all__ = ["plain_key"]

_CPYTHON = sys.implementation.name == "cpython"
_fl_plain_key = lib.fl_plain_key
_FL_E_SHAPE = lib.FL_E_SHAPE


def plain_key(value: Any, max_bytes: int) -> bytes | None:
    """A bytes key that two values share only if both are the same exact plain data (None, bool,
    int of 64 bits, float, str, and list, tuple and dict of those, in order), or None for any
    other value or a key longer than ``max_bytes`` (see ``fl_plain_key``)."""
    if not _CPYTHON:
        return None
    holder: list[Any] = [None]
    n = _fl_plain_key(id(value), max_bytes, id(holder))
    if n < 0:
        if n == _FL_E_SHAPE:
            return None
        _check(n)
    key: bytes = holder[0]
    return key
