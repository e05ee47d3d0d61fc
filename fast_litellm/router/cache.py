"""The router's in-memory cache reads: ``InMemoryCache.batch_get_cache`` / ``async_batch_get_cache``.

Every pick on litellm 1.106-1.108 reads the cooldown key of every deployment of the router in one
batch (``deployment:{id}:cooldown``), and usage-based-routing-v2 reads two counters per deployment:
litellm calls ``get_cache`` per key, and for a key the cache does not hold that call only answers
None.  The replacement answers those in one native pass (native/pyrouter.c ``batch_get``) and
calls litellm's own ``get_cache`` for every key the cache holds (expiry, JSON decoding), in order.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from fast_litellm.control.gate import NOT_COVERED, Gate, mark_wrapper

__all__ = ["make_async_batch_get", "make_batch_get"]


def _reader(original: Callable[..., Any]) -> Callable[[Any, Any, dict[str, Any]], Any]:
    """The native batch read for ``self``, or NOT_COVERED where a subclass or the instance has its
    own ``get_cache`` or the cache is not a plain dict."""
    from fast_litellm._bindings import router as native_scans

    cache_class = sys.modules[original.__module__].InMemoryCache
    get_cache = vars(cache_class)["get_cache"]

    def read(self: Any, keys: Any, kwargs: dict[str, Any]) -> Any:
        if type(self).get_cache is not get_cache or "get_cache" in vars(self):
            return NOT_COVERED
        get = functools.partial(self.get_cache, **kwargs) if kwargs else self.get_cache
        values = native_scans.batch_get(self.cache_dict, keys, get)
        return NOT_COVERED if values is None else values

    return read


def make_batch_get(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``InMemoryCache.batch_get_cache(self, keys, **kwargs)``."""
    read = _reader(original)
    run = gate.runner(lambda self, keys, kwargs: read(self, keys, kwargs),
                      lambda self, keys, kwargs: original(self, keys, **kwargs))

    def batch_get_cache(self: Any, keys: Any, **kwargs: Any) -> Any:
        return run((self, keys, kwargs))

    return mark_wrapper(batch_get_cache, original)


def make_async_batch_get(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``InMemoryCache.async_batch_get_cache(self, keys, **kwargs)`` (it awaits nothing)."""
    read = _reader(original)

    async def native(self: Any, keys: Any, kwargs: dict[str, Any]) -> Any:
        return read(self, keys, kwargs)

    async def python(self: Any, keys: Any, kwargs: dict[str, Any]) -> Any:
        return await original(self, keys, **kwargs)

    run = gate.async_runner(native, python)

    async def async_batch_get_cache(self: Any, keys: Any, **kwargs: Any) -> Any:
        return await run((self, keys, kwargs))

    return mark_wrapper(async_batch_get_cache, original)
