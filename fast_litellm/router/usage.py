"""The remaining-usage headers: ``Router.get_model_group_usage`` (``PythonCore._core_get_model_group_usage``
on litellm 1.109).

Every successful request through a Router with rpm or tpm limits gets ``x-ratelimit-remaining-*``
headers, and litellm computes them by formatting two cache keys per deployment of the group
(``global_router:{id}:{model}:tpm:{minute}`` and ``...:rpm:...``), reading them in one batch and
summing the int values: at 1000 deployments, a third of the request's CPU.  The replacement builds
the keys natively and keeps them per deployment id while its id and model objects and the minute
stay the same (native/pyrouter.c ``usage_keys``), reads them through the router's own
cache call, and sums natively (``usage_totals``).  litellm's clock read, its model-list call and
its cache read are its own; a deployment list the scan does not take (mappings of other types,
non-str ids, a missing ``litellm_params``) is litellm's function, called afresh (the clock and the
model list are read again: both reads change nothing).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from fast_litellm.control.gate import NOT_COVERED, Gate, Raised, mark_wrapper

__all__ = ["make_group_usage"]

# the key templates the native scan writes (litellm's RouterCacheEnum values)
_TEMPLATES = {"TPM": "global_router:{id}:{model}:tpm:{current_minute}",
              "RPM": "global_router:{id}:{model}:rpm:{current_minute}"}
_MEMO_IDS = 1 << 16  # deployments whose keys are kept; more, and the memo starts over


def _totals(values: Any, n_tpm: int) -> tuple[Any, Any]:
    """litellm's sums, for a value list the native sum does not take."""
    totals: list[Any] = []
    for part in (values[:n_tpm], values[n_tpm:]):
        total = None
        for value in part:
            if isinstance(value, int):
                if total is None:
                    total = 0
                total += value
        totals.append(total)
    return totals[0], totals[1]


def make_group_usage(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``Router.get_model_group_usage(self, model_group)`` (or 1.109's PythonCore twin)."""
    from fast_litellm._bindings import router as native_scans
    from fast_litellm.router.strategies import _names

    module = sys.modules[original.__module__]
    enum = getattr(module, "RouterCacheEnum", None)
    if enum is None or any(getattr(getattr(enum, k, None), "value", None) != v for k, v in _TEMPLATES.items()):
        return original
    core = original.__name__ == "_core_get_model_group_usage"  # litellm 1.109: PythonCore's names
    list_name, cache_name = ("_core_get_model_list", "_core_cache") if core else ("get_model_list", "cache")
    names = _names("latency")
    usage_keys, usage_totals = native_scans.usage_keys, native_scans.usage_totals
    memo: list[dict[str, Any]] = [{}]  # id -> its keys; the scan trusts an entry only for the objects it holds

    async def native(self: Any, model_group: Any) -> Any:
        current_minute = module.get_utc_datetime().strftime("%H-%M")
        model_list = getattr(self, list_name)(model_name=model_group)
        if model_list is None:
            return None, None
        if len(memo[0]) > _MEMO_IDS:
            memo[0] = {}
        keys = usage_keys(names, model_list, current_minute, memo[0])
        if keys is None:
            return NOT_COVERED
        try:  # litellm's own read: what it raises is the caller's, never a second read
            values = await getattr(self, cache_name).async_batch_get_cache(keys=keys)
        except Exception as exc:
            raise Raised(exc) from exc
        if values is None:
            return None, None
        n_tpm = len(keys) // 2
        totals = usage_totals(values, n_tpm)
        return _totals(values, n_tpm) if totals is None else totals

    run = gate.async_runner(native, original)

    async def get_model_group_usage(self: Any, model_group: str) -> Any:
        return await run((self, model_group))

    get_model_group_usage.__name__ = original.__name__
    get_model_group_usage.__qualname__ = original.__qualname__
    return mark_wrapper(get_model_group_usage, original)
