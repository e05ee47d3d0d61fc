"""The cooldown read of every deployment of the router, on every pick (litellm 1.106-1.109).

litellm's picks ask which deployments are cooling down by listing every id of the router
(``Router.get_model_ids()``), formatting ``deployment:{id}:cooldown`` for each
(``CooldownCache.get_active_cooldowns`` / ``async_get_active_cooldowns``), reading them in one batch
and testing every result: three Python passes over the whole router per request, whatever the
group's size (a third of a pick at 1000 deployments).  The replacements make the passes native:
the id list (native/pyrouter.c ``model_ids``), the keys (``cooldown_keys``, kept per id object),
and the results that are cooldowns (``held_cooldowns``).  The batch read, the clock read and
``_corrected_active_cooldown`` of each cooldown found are litellm's own calls, made as litellm
makes them; an id list, map or result the scans do not take is litellm's code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from fast_litellm.control.gate import NOT_COVERED, Gate, Raised, mark_wrapper

__all__ = ["make_active_cooldowns", "make_async_active_cooldowns", "make_cooldowns_from_results",
           "make_model_ids"]

_MEMO_IDS = 1 << 16  # cooldown keys kept; more, and the memo starts over


def _native() -> Any:
    from fast_litellm._bindings import router

    return router


def make_model_ids(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``Router.get_model_ids(self, model_name=None, exclude_team_models=False)``."""
    from fast_litellm.router.strategies import _names

    names, team_key = _names("latency"), sys.intern("team_id")
    model_ids = _native().model_ids

    def native(self: Any, model_name: Any, exclude_team_models: Any) -> Any:
        ids = model_ids(names, self.model_list, self.model_id_to_deployment_index_map,
                        self.model_name_to_deployment_indices, model_name, exclude_team_models, team_key)
        return NOT_COVERED if ids is None else ids

    run = gate.runner(native, lambda self, model_name, exclude: original(self, model_name, exclude))

    def get_model_ids(self: Any, model_name: str | None = None, exclude_team_models: bool = False) -> Any:
        return run((self, model_name, exclude_team_models))

    return mark_wrapper(get_model_ids, original)


class _Keys:
    """The cooldown keys of a list of ids, from a memo of id object -> (id, key)."""

    def __init__(self) -> None:
        self.memo: dict[str, tuple[str, str]] = {}
        self.cooldown_keys = _native().cooldown_keys

    def __call__(self, model_ids: Any) -> Any:
        if len(self.memo) > _MEMO_IDS:
            self.memo = {}
        return self.cooldown_keys(model_ids, self.memo)


def _active(self: Any, cache_class: Any, model_ids: Any, results: Any, current_time: Any,
            held: list[tuple[Any, Any]] | None) -> list[Any]:
    """litellm's loop over the read: the cooldowns still active, in id order (``held``: the pairs
    native/pyrouter.c's held_cooldowns found, or None for litellm's own loop)."""
    pairs: Any = held
    active: list[Any] = []
    if pairs is None:  # results the scan does not take: litellm's loop, interleaved as it runs
        pairs = ((model_id, result) for model_id, result in zip(model_ids, results)
                 if result and isinstance(result, dict))
    for model_id, result in pairs:
        key = cache_class.get_cooldown_cache_key(model_id)
        value = self._corrected_active_cooldown(key, result, current_time)
        if value is not None:
            active.append((model_id, value))
    return active


def make_active_cooldowns(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``CooldownCache.get_active_cooldowns(self, model_ids, parent_otel_span)``."""
    module = sys.modules[original.__module__]
    cache_class, keys_of = module.CooldownCache, _Keys()
    held_cooldowns = _native().held_cooldowns

    def native(self: Any, model_ids: Any, parent_otel_span: Any) -> Any:
        keys = keys_of(model_ids)
        if keys is None:
            return NOT_COVERED
        try:  # litellm's own calls: what they raise is the caller's
            with module.service_target(module.ROUTER_COOLDOWNS_TARGET):
                results = self.cooldown_store.batch_get_cache(keys=keys, parent_otel_span=parent_otel_span) or []
            current_time = module.time.time()
        except Exception as exc:
            raise Raised(exc) from exc
        scanned = held_cooldowns(model_ids, results)
        try:
            return _active(self, cache_class, model_ids, results, current_time, scanned and scanned[0])
        except Exception as exc:
            raise Raised(exc) from exc

    run = gate.runner(native, original)

    def get_active_cooldowns(self: Any, model_ids: Any, parent_otel_span: Any) -> Any:
        return run((self, model_ids, parent_otel_span))

    return mark_wrapper(get_active_cooldowns, original)


def make_async_active_cooldowns(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``CooldownCache.async_get_active_cooldowns(self, model_ids, parent_otel_span)``."""
    module = sys.modules[original.__module__]
    keys_of = _Keys()

    async def native(self: Any, model_ids: Any, parent_otel_span: Any) -> Any:
        keys = keys_of(model_ids)
        if keys is None:
            return NOT_COVERED
        try:
            with module.service_target(module.ROUTER_COOLDOWNS_TARGET):
                results = await self.cooldown_store.async_batch_get_cache(keys=keys, parent_otel_span=parent_otel_span)
            return self.active_cooldowns_from_results(model_ids, results)
        except Exception as exc:
            raise Raised(exc) from exc

    run = gate.async_runner(native, original)

    async def async_get_active_cooldowns(self: Any, model_ids: Any, parent_otel_span: Any) -> Any:
        return await run((self, model_ids, parent_otel_span))

    return mark_wrapper(async_get_active_cooldowns, original)


def make_cooldowns_from_results(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``CooldownCache.active_cooldowns_from_results(self, model_ids, results)``."""
    module = sys.modules[original.__module__]
    cache_class = module.CooldownCache
    held_cooldowns = _native().held_cooldowns

    def native(self: Any, model_ids: Any, results: Any) -> Any:
        if results is None:
            return []
        scanned = held_cooldowns(model_ids, results)
        if scanned is None:  # litellm's all(...) over results it does not take
            return NOT_COVERED
        if scanned[1]:  # every result None
            return []
        try:
            return _active(self, cache_class, model_ids, results, module.time.time(), scanned[0])
        except Exception as exc:
            raise Raised(exc) from exc

    run = gate.runner(native, original)

    def active_cooldowns_from_results(self: Any, model_ids: Any, results: Any) -> Any:
        return run((self, model_ids, results))

    return mark_wrapper(active_cooldowns_from_results, original)
