"""Typed wrappers over native/pymessages.c's key of exact plain data and where NFKC may change a str."""

from __future__ import annotations

from typing import Any

from fast_litellm._bindings import CPYTHON, py

__all__ = ["nfkc_unstable_runs", "plain_key"]

_plain_key = py.plain_key if CPYTHON else None
_nfkc_runs = py.nfkc_unstable_runs if CPYTHON else None


def plain_key(value: Any, max_bytes: int) -> bytes | None:
    """A bytes key that two values share only if both are the same exact plain data (None, bool,
    int of 64 bits, float, str, and list, tuple and dict of those, in order), or None for any
    other value or a key longer than ``max_bytes`` (native/pymessages.c's plain_key)."""
    if _plain_key is None:  # pragma: no cover - not CPython
        return None
    key: bytes | None = _plain_key(value, max_bytes)
    return key


def nfkc_unstable_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of characters of ``text`` that the tokenizers library's NFKC may
    change (native/nfkc_stable.h, from native/gen_nfkc_stable.py); empty when NFKC(text) == text."""
    if _nfkc_runs is None:  # pragma: no cover - not CPython
        return [(0, len(text))] if text else []
    runs: list[tuple[int, int]] = _nfkc_runs(text)
    return runs
