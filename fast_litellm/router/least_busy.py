"""least-busy routing's pick (litellm 1.106-1.109's ``LeastBusyLoggingHandler``).

On every pick litellm validates the healthy deployments with pydantic to build one in-flight
count key per deployment, reads the counts from the router's in-memory cache, validates them
with pydantic again and takes the first deployment with the fewest requests in flight.  The
replacement builds the keys and makes the pick natively (native/pyrouter.c ``least_busy_keys``
and ``least_busy_index``); the cache read is still litellm's own call, made once, with the same
keys, under litellm's ``with_service_target("router_usage")`` as the methods it replaces.  A
router with Redis reads the shared counts from Redis: that path stays litellm's.  Counts of a
shape the native pick does not take are read by litellm's own ``_local_counts`` and
``_least_busy``, so the read is never repeated.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from fast_litellm.control.gate import NOT_COVERED, Gate, Raised, mark_wrapper

__all__ = ["make_async_least_busy", "make_least_busy"]


def _pick(least_busy_index: Callable[[Any, int], Any], module: Any, healthy: Any, keys: list[str],
          raw: Any) -> Any:
    """The deployment litellm's ``_least_busy(healthy, _local_counts(raw, keys))`` returns."""
    picked = least_busy_index(raw, len(keys))
    if picked is None:  # counts litellm's validation converts or rejects: its own functions read them
        try:
            return module._least_busy(healthy, module._local_counts(raw, tuple(keys)))
        except Exception as exc:
            raise Raised(exc) from exc
    index = picked[0]
    return None if index is None else healthy[index]


def make_least_busy(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``LeastBusyLoggingHandler.get_available_deployments(self, model_group, healthy_deployments)``."""
    from fast_litellm._bindings.router import least_busy_index, least_busy_keys
    from fast_litellm.router.strategies import _names

    module = sys.modules[original.__module__]
    names = _names("latency")

    def native(self: Any, model_group: Any, healthy_deployments: Any) -> Any:
        cache = self.router_cache
        if cache.redis_cache is not None:
            return NOT_COVERED  # the shared counts in Redis: litellm's read, fallback and warning
        keys = least_busy_keys(names, model_group, healthy_deployments)
        if keys is None:
            return NOT_COVERED
        try:
            raw = cache.batch_get_cache(list(keys), local_only=True)
        except Exception as exc:
            raise Raised(exc) from exc
        return _pick(least_busy_index, module, healthy_deployments, keys, raw)

    run = gate.runner(module.with_service_target("router_usage")(native), original)

    def get_available_deployments(self: Any, model_group: Any, healthy_deployments: Any) -> Any:
        return run((self, model_group, healthy_deployments))

    return mark_wrapper(get_available_deployments, original)


def make_async_least_busy(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``LeastBusyLoggingHandler.async_get_available_deployments(self, model_group, healthy_deployments)``."""
    from fast_litellm._bindings.router import least_busy_index, least_busy_keys
    from fast_litellm.router.strategies import _names

    module = sys.modules[original.__module__]
    names = _names("latency")

    async def native(self: Any, model_group: Any, healthy_deployments: Any) -> Any:
        cache = self.router_cache
        if cache.redis_cache is not None:
            return NOT_COVERED
        keys = least_busy_keys(names, model_group, healthy_deployments)
        if keys is None:
            return NOT_COVERED
        try:
            raw = await cache.async_batch_get_cache(list(keys), local_only=True)
        except Exception as exc:
            raise Raised(exc) from exc
        return _pick(least_busy_index, module, healthy_deployments, keys, raw)

    run = gate.async_runner(module.with_service_target("router_usage")(native), original)

    async def async_get_available_deployments(self: Any, model_group: Any, healthy_deployments: Any) -> Any:
        return await run((self, model_group, healthy_deployments))

    return mark_wrapper(async_get_available_deployments, original)
