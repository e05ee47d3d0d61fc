"""The router's in-memory cache reads: ``InMemoryCache.batch_get_cache`` / ``async_batch_get_cache``.

Every pick on litellm 1.106-1.108 reads the cooldown key of every deployment of the router in one
batch (``deployment:{id}:cooldown``), usage-based-routing-v2 reads two counters per deployment, and
every response's ``x-ratelimit-remaining-*`` headers read this minute's tpm and rpm counter of every
deployment of the group: litellm calls ``get_cache`` per key.  The replacement runs litellm's
``get_cache`` rules for every key in one native pass (native/pyrouter.c ``batch_get``): None for a
key the cache does not hold; for one it holds, the expiry test with the cache's own ``_clock`` (called
exactly when litellm calls it), eviction, then ``json.loads`` as litellm tries it.  Those rules differ
between litellm 1.106-1.108 and 1.109+ (when the clock is read); the pair of sources found picks
the rules, and an unknown pair leaves the reads to litellm.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Callable
from typing import Any

from fast_litellm.control.gate import NOT_COVERED, Gate, mark_wrapper

__all__ = ["make_async_batch_get", "make_batch_get"]


# sha256 of (InMemoryCache.get_cache, InMemoryCache._is_key_expired) -> batch_get's variant
_RULES = {
    ("448de700b1d84da52523b0edc51fe0e86c2c73031191d4ab6eb12d6f91db8b68",
     "2a65b89f690de489760835870515c08aabe00c4181c0300a779be681a30c83e1"): 0,  # litellm 1.106-1.108
    ("95de469b15c02fc018b006d06ef15bb69534c6627c9584d515a2d951497fe305",
     "ef4db5ae89138285228b6bd52dfd9fbf331bb1d4047541eebb385f0afe0cc38b"): 1,  # litellm 1.109+
}
# what get_cache calls on self, which the native read reproduces
_READ_METHODS = ("get_cache", "evict_element_if_expired", "_is_key_expired", "_remove_key")


def _digest(function: Any) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def _reader(original: Callable[..., Any]) -> Callable[[Any, Any], Any] | None:
    """The native batch read for ``self``, NOT_COVERED where a subclass or the instance has its own
    read methods or the cache is not a plain dict; None where the sources are not a known pair."""
    from fast_litellm._bindings import router as native_scans

    module = sys.modules[original.__module__]
    cache_class = module.InMemoryCache
    methods = tuple(vars(cache_class)[name] for name in _READ_METHODS)
    variant = _RULES.get((_digest(methods[0]), _digest(methods[2])))
    json_module = vars(module).get("json")
    if variant is None or json_module is None:
        return None
    batch_get = native_scans.batch_get

    def read(self: Any, keys: Any) -> Any:
        cls = type(self)
        if cls is not cache_class:
            for name, method in zip(_READ_METHODS, methods, strict=True):
                if getattr(cls, name, None) is not method:
                    return NOT_COVERED
        inst = vars(self)
        if "get_cache" in inst or "evict_element_if_expired" in inst or "_is_key_expired" in inst \
                or "_remove_key" in inst:
            return NOT_COVERED
        values = batch_get(self.cache_dict, keys, self.ttl_dict, self._clock, json_module.loads, variant)
        return NOT_COVERED if values is None else values

    return read


def make_batch_get(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``InMemoryCache.batch_get_cache(self, keys, **kwargs)``."""
    read = _reader(original)
    if read is None:
        return original
    run = gate.runner(lambda self, keys, kwargs: read(self, keys),
                      lambda self, keys, kwargs: original(self, keys, **kwargs))

    def batch_get_cache(self: Any, keys: Any, **kwargs: Any) -> Any:
        return run((self, keys, kwargs))

    return mark_wrapper(batch_get_cache, original)


def make_async_batch_get(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``InMemoryCache.async_batch_get_cache(self, keys, **kwargs)`` (it awaits nothing)."""
    read = _reader(original)
    if read is None:
        return original

    async def native(self: Any, keys: Any, kwargs: dict[str, Any]) -> Any:
        return read(self, keys)

    async def python(self: Any, keys: Any, kwargs: dict[str, Any]) -> Any:
        return await original(self, keys, **kwargs)

    run = gate.async_runner(native, python)

    async def async_batch_get_cache(self: Any, keys: Any, **kwargs: Any) -> Any:
        return await run((self, keys, kwargs))

    return mark_wrapper(async_batch_get_cache, original)
