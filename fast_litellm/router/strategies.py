"""litellm's routing strategies on native scans: simple-shuffle, latency-based, usage-based (v1
and v2) and cost-based.

Both strategies pick from a usage map kept in the router's cache and, for each entry, search the
healthy list for the deployment with that id: O(map x group), 51 ms per pick at 1000 deployments
(litellm issue #21270).  The replacements below do litellm's steps in its order (the cache reads,
the token count, the map's new entries, the draws from ``random``) and hand the scan to
native/pyrouter.c, which reads each deployment once through an id index and applies litellm's
rules; where it meets a shape it does not take, it declines before drawing from ``random`` and
litellm's own method answers.

The rules differ between litellm lines, recognised by what the strategy module defines: 1.109 on
keeps latency samples under ``latency_normalized``, drops unusable ones (negative, NaN, inf) and
falls back to every candidate when none is within the buffer; 1.110 counts input tokens with
``embedding_aware_token_count``.  ``adapters.guards`` admits only the method sources checked.
"""

from __future__ import annotations

import logging
import random
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from fast_litellm.control.gate import NOT_COVERED, Gate, mark_wrapper

__all__ = ["make_cost_select", "make_counter_keys", "make_latency_select", "make_shuffle", "make_usage_select",
           "make_usage_v2_select", "random_state_keeper"]

logger = logging.getLogger("fast_litellm")

# native/pyrouter.c's latency_select flags.
_USABLE_SAMPLES = 1
_CHOICE_FALLBACK = 2


def _native() -> Any:
    """fast_litellm._bindings.router, imported when a factory runs (only once the extension has
    loaded: adapters.patching patches nothing without it)."""
    from fast_litellm._bindings import router

    return router


def _names(latency_key: str) -> tuple[Any, ...]:
    """The keys and objects native/pyrouter.c reads, in its RN_* order."""
    keys = ("model_info", "id", "litellm_params", "tpm", "rpm", "api_base", "time_to_first_token_seconds",
            latency_key, "model")
    return (*(sys.intern(key) for key in keys), sum, float("inf"))


def _token_count(module: Any) -> Callable[[Any, Any, list[Any]], Any]:
    """The strategy module's count of a request's input tokens (0 where it raises), as it calls it."""
    if "embedding_aware_token_count" in vars(module):  # litellm 1.110+
        def count(messages: Any, input: Any, healthy: list[Any]) -> Any:
            try:
                return module.embedding_aware_token_count(
                    messages, input, partial(module.deployment_backend_models, healthy))
            except Exception:  # noqa: BLE001 - litellm's own fallback
                return 0
        return count

    def count_before_1110(messages: Any, input: Any, healthy: list[Any]) -> Any:
        try:
            return module.token_counter(messages=messages, text=input)
        except Exception:  # noqa: BLE001 - litellm's own fallback
            return 0
    return count_before_1110


def make_shuffle(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``litellm.router_strategy.simple_shuffle.simple_shuffle`` (the default strategy; the
    router calls it through its own imported name on litellm 1.106-1.109).  litellm's
    ``_scoped_weights`` (request-scoped ``_router_weights``, validated by litellm) runs as is; the
    weight, rpm and tpm vectors, the normalisation and the draw are native/pyrouter.c's."""
    module = sys.modules[original.__module__]
    names = _names("latency")
    metrics = tuple(sys.intern(key) for key in ("weight", "rpm", "tpm"))
    native_scans = _native()
    gate.keeper = random_state_keeper

    def native(resolve_model_alias: Any, healthy_deployments: Any, model: Any, request_kwargs: Any) -> Any:
        if type(healthy_deployments) is not list:
            return NOT_COVERED
        resolved_model = resolve_model_alias(model) or model
        scoped = module._scoped_weights(healthy_deployments, resolved_model, request_kwargs)
        if type(scoped) is not tuple:
            return NOT_COVERED
        random_module = module.random
        picked = native_scans.shuffle_select(names, healthy_deployments, scoped, metrics, sum,
                                             random_module.choices, random_module.choice)
        if picked is None:
            return NOT_COVERED
        index, weighted = picked
        selected = healthy_deployments[index]
        if weighted:
            module._ROUTER_LOGGER.info("Selected deployment for model %s: %s", model, selected.get("model_info"))
        return selected

    run = gate.runner(native, original, _shuffle_group)

    def simple_shuffle(resolve_model_alias: Any, healthy_deployments: Any, model: Any, request_kwargs: Any) -> Any:
        return run((resolve_model_alias, healthy_deployments, model, request_kwargs))

    return mark_wrapper(simple_shuffle, original)


def _shuffle_group(args: tuple[Any, ...]) -> Any:
    """simple_shuffle's rollout key: the model group it picks for (args[2])."""
    group = args[2]
    return group if type(group) is str else None


class _RandomState:
    """Saves and restores the ``random`` module's state around a shadow comparison, so that litellm's
    pick and the native one draw the same numbers and the caller's sequence goes on as litellm's."""

    @staticmethod
    def save() -> object:
        return random.getstate()

    @staticmethod
    def restore(state: object) -> None:
        random.setstate(state)  # type: ignore[arg-type]


random_state_keeper = _RandomState()


def _model_group(args: tuple[Any, ...]) -> Any:
    """The rollout key of a pick: its model group (args[1], after self), so that a group is native
    or litellm's as a whole."""
    group = args[1]
    return group if type(group) is str else None


def make_latency_select(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``LowestLatencyLoggingHandler._get_available_deployments`` (both the sync and the async
    pick call it with the usage map read from the cache)."""
    module = sys.modules[original.__module__]
    newer = "_usable_latency_samples" in vars(module)  # litellm 1.109+
    names = _names("latency_normalized" if newer else "latency")
    flags = _USABLE_SAMPLES | _CHOICE_FALLBACK if newer else 0
    count_tokens = _token_count(module)
    native_scans = _native()
    gate.keeper = random_state_keeper  # shadow mode: both picks draw the same numbers

    def native(self: Any, model_group: Any, healthy_deployments: Any, messages: Any = None, input: Any = None,
               request_kwargs: Any = None, request_count_dict: Any = None) -> Any:
        if request_count_dict is None:
            return None  # litellm's base case
        if type(request_count_dict) is not dict or type(healthy_deployments) is not list:
            return NOT_COVERED
        metadata = None
        if request_kwargs is not None:
            if type(request_kwargs) is not dict:
                return NOT_COVERED
            field = self._select_metadata_field(request_kwargs)
            if field in request_kwargs:
                metadata = request_kwargs[field]
                if type(metadata) is not dict:
                    return NOT_COVERED  # litellm's write into it would fail after its draws
        minute = module.datetime.now().strftime("%Y-%m-%d-%H-%M")
        input_tokens = count_tokens(messages, input, healthy_deployments)
        use_stream = request_kwargs is not None and request_kwargs.get("stream", None) is True
        args = self.routing_args
        picked = native_scans.latency_select(
            names, healthy_deployments, request_count_dict, minute, input_tokens, use_stream,
            args.ttft_percentile, args.lowest_latency_buffer, module._percentile_latency,
            module.random.sample, module.random.choice, flags)
        if picked is None:
            return NOT_COVERED
        deployment, per_deployment = picked
        if deployment is not None and metadata is not None:
            metadata["_latency_per_deployment"] = per_deployment
        return deployment

    run = gate.runner(native, original, _model_group)

    def _get_available_deployments(
        self: Any, model_group: Any, healthy_deployments: Any, messages: Any = None, input: Any = None,
        request_kwargs: Any = None, request_count_dict: Any = None,
    ) -> Any:
        return run((self, model_group, healthy_deployments, messages, input, request_kwargs, request_count_dict))

    return mark_wrapper(_get_available_deployments, original)


def make_usage_select(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``LowestTPMLoggingHandler.get_available_deployments`` (usage-based-routing v1), the
    method litellm decorates with ``with_service_target``: the replacement carries the same
    decorator, so its cache reads run under the same service target."""
    module = sys.modules[original.__module__]
    names = _names("latency")
    count_tokens = _token_count(module)
    native_scans = _native()
    target = getattr(module, "ROUTER_USAGE_TARGET", "router_usage")

    def scan(self: Any, model_group: Any, healthy_deployments: Any, messages: Any = None,
             input: Any = None) -> Any:
        log = module.verbose_router_logger
        log.debug("get_available_deployments - Usage Based. model_group: %s, healthy_deployments: %s",
                  model_group, healthy_deployments)
        current_minute = module.datetime.now().strftime("%H-%M")
        tpm_key = f"{model_group}:tpm:{current_minute}"
        rpm_key = f"{model_group}:rpm:{current_minute}"
        tpm_dict = self.router_cache.get_cache(key=tpm_key)
        rpm_dict = self.router_cache.get_cache(key=rpm_key)
        log.debug("tpm_key=%s, tpm_dict: %s, rpm_dict: %s", tpm_key, tpm_dict, rpm_dict)
        input_tokens = count_tokens(messages, input, healthy_deployments)
        log.debug("input_tokens=%s", input_tokens)
        picked = native_scans.usage_select(names, healthy_deployments, tpm_dict, rpm_dict, input_tokens)
        if picked is None:
            return NOT_COVERED
        module.print_verbose("returning picked lowest tpm/rpm deployment.")
        return picked[0]

    native = module.with_service_target(target)(scan)
    run = gate.runner(native, original, _model_group)

    def get_available_deployments(self: Any, model_group: Any, healthy_deployments: Any, messages: Any = None,
                                  input: Any = None) -> Any:
        return run((self, model_group, healthy_deployments, messages, input))

    return mark_wrapper(get_available_deployments, original)


_MEMO_IDS = 1 << 16  # counter keys kept; more, and the memo starts over


def make_counter_keys(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``LowestTPMLoggingHandler_v2.usage_counter_keys(self, healthy_deployments)``: litellm's
    clock read, then the keys natively, kept per id while the id and model objects and the minute
    stay (native/pyrouter.c ``counter_keys``)."""
    module = sys.modules[original.__module__]
    names = _names("latency")
    counter_keys = _native().counter_keys
    memo: list[dict[Any, Any]] = [{}]

    def native(self: Any, healthy_deployments: Any) -> Any:
        current_minute = module.get_utc_datetime().strftime("%H-%M")
        if len(memo[0]) > _MEMO_IDS:
            memo[0] = {}
        keys = counter_keys(names, healthy_deployments, current_minute, memo[0])
        if keys is None:
            return NOT_COVERED
        return keys[0], keys[1]

    run = gate.runner(native, original)

    def usage_counter_keys(self: Any, healthy_deployments: Any) -> Any:
        return run((self, healthy_deployments))

    return mark_wrapper(usage_counter_keys, original)


def make_usage_v2_select(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``LowestTPMLoggingHandler_v2._common_checks_available_deployment`` (usage-based-routing
    v2's pick from the counters its sync and async picks read): litellm's token count and debug
    lines, then the native scan and the draw from ``random``."""
    module = sys.modules[original.__module__]
    names = _names("latency")
    count_tokens = _token_count(module)
    usage_v2_select = _native().usage_v2_select
    gate.keeper = random_state_keeper

    def native(self: Any, model_group: Any, healthy_deployments: Any, tpm_keys: Any, tpm_values: Any,
               rpm_keys: Any, rpm_values: Any, messages: Any, input: Any) -> Any:
        if tpm_values is None or rpm_values is None:
            return None
        input_tokens = count_tokens(messages, input, healthy_deployments)
        module.verbose_router_logger.debug("input_tokens=%s", input_tokens)
        picked = usage_v2_select(names, healthy_deployments, tpm_keys, tpm_values, rpm_keys, rpm_values,
                                 input_tokens, module.random.choice)
        if picked is None:
            return NOT_COVERED
        # litellm prints this between its scan and its draw; the draw does not print
        module.print_verbose("returning picked lowest tpm/rpm deployment.")
        return picked[0]

    def python(self: Any, model_group: Any, healthy_deployments: Any, tpm_keys: Any, tpm_values: Any,
               rpm_keys: Any, rpm_values: Any, messages: Any, input: Any) -> Any:
        return original(self, model_group, healthy_deployments, tpm_keys, tpm_values, rpm_keys, rpm_values,
                        messages, input)

    run = gate.runner(native, python, lambda args: args[1])

    def _common_checks_available_deployment(self: Any, model_group: str, healthy_deployments: Any, tpm_keys: Any,
                                            tpm_values: Any, rpm_keys: Any, rpm_values: Any,
                                            messages: Any = None, input: Any = None) -> Any:
        return run((self, model_group, healthy_deployments, tpm_keys, tpm_values, rpm_keys, rpm_values, messages,
                    input))

    return mark_wrapper(_common_checks_available_deployment, original)


_DICT_READERS = frozenset(("__getitem__", "__iter__", "__len__", "__contains__", "keys", "items", "values", "get",
                           "__missing__", "__class_getitem__"))


def _row_types() -> tuple[type, ...]:
    """The dict subclasses litellm keeps cost-map rows in (1.110's ``AliasedCostEntry``) that read
    as plain dicts: nothing of dict's reading overridden, dict their only base."""
    owner = sys.modules.get("litellm.litellm_core_utils.get_model_cost_map")
    row_type = getattr(owner, "AliasedCostEntry", None)
    if (isinstance(row_type, type) and row_type.__mro__ == (row_type, dict, object)
            and not _DICT_READERS & set(vars(row_type))):
        return (row_type,)
    return ()


def make_cost_select(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``LowestCostLoggingHandler.async_get_available_deployments`` (cost-based-routing; async
    only, decorated with ``with_service_target`` like the replacement)."""
    module = sys.modules[original.__module__]
    names = _names("latency")
    cost_names = (*(sys.intern(key) for key in
                    ("model", "base_model", "input_cost_per_token", "output_cost_per_token")), _row_types())
    count_tokens = _token_count(module)
    native_scans = _native()
    target = getattr(module, "ROUTER_USAGE_TARGET", "router_usage")

    async def scan(self: Any, model_group: Any, healthy_deployments: Any, messages: Any = None,
                   input: Any = None, request_kwargs: Any = None) -> Any:
        if module.verbose_router_logger.isEnabledFor(logging.DEBUG):
            return NOT_COVERED  # litellm logs each deployment's price
        cost_key = f"cost_map:{model_group}"
        counts = await self.router_cache.async_get_cache(key=cost_key) or {}
        minute = module.datetime.now().strftime("%Y-%m-%d-%H-%M")
        input_tokens = count_tokens(messages, input, healthy_deployments)
        picked = native_scans.cost_select(names, healthy_deployments, counts, minute, input_tokens,
                             module.litellm.model_cost, cost_names)
        if picked is None:
            return NOT_COVERED
        return picked[0]

    native = module.with_service_target(target)(scan)
    run = gate.async_runner(native, original)

    async def async_get_available_deployments(self: Any, model_group: Any, healthy_deployments: Any,
                                              messages: Any = None, input: Any = None,
                                              request_kwargs: Any = None) -> Any:
        return await run((self, model_group, healthy_deployments, messages, input, request_kwargs))

    return mark_wrapper(async_get_available_deployments, original)
