"""Percentage rollout: which requests take the native path.

A request is in a rollout of ``p`` percent when its bucket
``murmur3_32(f"{feature}:{key}", seed=0) % 100 + 1`` is at most ``p`` (the
Unleash rule): the same key gets the same answer in every process, raising
``p`` only adds keys, and each feature draws its own buckets.  The key is what
identifies a request (``litellm_call_id``, a metadata request id) or, for pure
functions such as ``encode``, the input itself.  Without a key the draw is
random per call.

The hash runs in C (``native/hash.c``); ``murmur3_32`` here is its pure-Python
twin, used when the extension is missing and held equal to the C by the tests.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import Any

__all__ = ["bucket", "checker", "key_bytes", "murmur3_32", "py_bucket"]

_MASK = 0xFFFFFFFF


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32 of ``data`` (unsigned), as ``mmh3.hash(data, seed, signed=False)``."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & _MASK
    n = len(data)
    full = n - n % 4
    for i in range(0, full, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * c2) & _MASK
        h ^= k
        h = ((h << 13) | (h >> 19)) & _MASK
        h = (h * 5 + 0xE6546B64) & _MASK
    if n > full:
        k = int.from_bytes(data[full:], "little")
        k = (k * c1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * c2) & _MASK
        h ^= k
    h ^= n & _MASK
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h


def key_bytes(key: Any) -> bytes:
    """The bytes hashed for a request key: UTF-8 of a str (lone surrogates kept), bytes as they are."""
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass")
    return str(key).encode("utf-8", "surrogatepass")


def py_bucket(feature: str, key: bytes) -> int:
    """The bucket (1..100) computed in Python; the reference for ``bucket``."""
    return murmur3_32(feature.encode("utf-8") + b":" + key) % 100 + 1


def _native_bucket() -> Callable[[bytes, int, bytes, int], int] | None:
    """``lib.fl_rollout_bucket`` when the extension loads."""
    try:
        from fast_litellm._bindings import lib
    except ImportError:
        return None
    native: Callable[[bytes, int, bytes, int], int] = lib.fl_rollout_bucket
    return native


def bucket(feature: str, key: bytes) -> int:
    """The bucket (1..100) of ``key`` for ``feature``, hashed in C when the extension loads."""
    native = _native_bucket()
    if native is None:
        return py_bucket(feature, key)
    name = feature.encode("utf-8")
    return native(name, len(name), key, len(key))


# The draws for keyless requests: a generator of fast-litellm's own, so that a rollout or a shadow
# sample never moves the random module's state, which litellm's router draws its picks from.
_draws = random.Random()


@functools.lru_cache(maxsize=None)
def checker(feature: str) -> Callable[[Any, float], bool]:
    """``check(key, percentage)``: whether a request with ``key`` (None: no key) is in the rollout.

    Bound to one feature so that the call path encodes nothing but the key.
    """
    name = feature.encode("utf-8")
    name_len = len(name)
    native = _native_bucket()
    draw = _draws.random  # never the random module's own state, which callers may have seeded

    def check(key: Any, percentage: float) -> bool:
        if percentage >= 100:
            return True
        if percentage <= 0:
            return False
        if key is None:
            return draw() * 100 < percentage
        data = key.encode("utf-8", "surrogatepass") if type(key) is str else key_bytes(key)
        if native is not None:
            return native(name, name_len, data, len(data)) <= percentage
        return py_bucket(feature, data) <= percentage

    return check
