"""Typed wrappers over native/pyrouter.c's scans of litellm's routing strategies."""

from __future__ import annotations

from typing import Any

from fast_litellm._bindings import py

__all__ = [
    "batch_get",
    "cooldown_keys",
    "cost_select",
    "counter_keys",
    "drop_markers",
    "first_info_value",
    "group_members",
    "held_cooldowns",
    "latency_select",
    "least_busy_index",
    "least_busy_keys",
    "model_ids",
    "no_access_windows",
    "order_filter",
    "plain_deepcopy",
    "shuffle_select",
    "team_filter",
    "unblocked_cooled",
    "usage_keys",
    "usage_select",
    "usage_totals",
    "usage_v2_select",
]

_latency_select = py.latency_select
_usage_select = py.usage_select
_counter_keys = py.counter_keys
_usage_v2_select = py.usage_v2_select
_cost_select = py.cost_select
_shuffle_select = py.shuffle_select
_drop_markers = py.drop_markers
_no_access_windows = py.no_access_windows
_order_filter = py.order_filter
_group_members = py.group_members
_unblocked_cooled = py.unblocked_cooled
_batch_get = py.batch_get
_plain_deepcopy = py.plain_deepcopy
_usage_keys = py.usage_keys
_team_filter = py.team_filter
_first_info_value = py.first_info_value
_least_busy_keys = py.least_busy_keys
_least_busy_index = py.least_busy_index
_model_ids = py.model_ids
_cooldown_keys = py.cooldown_keys
_held_cooldowns = py.held_cooldowns
_usage_totals = py.usage_totals


def latency_select(names: tuple[Any, ...], healthy: Any, counts: Any, minute: str, input_tokens: Any,
                   use_stream: bool, percentile: Any, buffer_factor: Any, percentile_fn: Any, sample_fn: Any,
                   choice_fn: Any, flags: int) -> tuple[Any, dict[str, Any]] | None:
    """(deployment or None, {api_base: latency}) as litellm's latency strategy picks, or None where
    the Python code answers (native/pyrouter.c says what it takes)."""
    picked: tuple[Any, dict[str, Any]] | None = _latency_select(
        names, healthy, counts, minute, input_tokens, use_stream, percentile, buffer_factor, percentile_fn,
        sample_fn, choice_fn, flags)
    return picked


def usage_select(names: tuple[Any, ...], healthy: Any, tpm_dict: Any, rpm_dict: Any,
                 input_tokens: Any) -> tuple[Any] | None:
    """(deployment or None,) as usage-based-routing v1 picks, or None where the Python code answers."""
    picked: tuple[Any] | None = _usage_select(names, healthy, tpm_dict, rpm_dict, input_tokens)
    return picked


def usage_v2_select(names: tuple[Any, ...], healthy: Any, tpm_keys: Any, tpm_values: Any, rpm_keys: Any,
                    rpm_values: Any, input_tokens: Any, choice_fn: Any) -> tuple[Any] | None:
    """(deployment or None,) as usage-based-routing v2 picks from the counters read, or None where
    the Python code answers."""
    picked: tuple[Any] | None = _usage_v2_select(names, healthy, tpm_keys, tpm_values, rpm_keys, rpm_values,
                                                 input_tokens, choice_fn)
    return picked


def counter_keys(names: tuple[Any, ...], healthy: Any, minute: str,
                 memo: dict[Any, Any]) -> tuple[list[str], list[str]] | None:
    """usage-based-routing-v2's (tpm keys, rpm keys), or None where the Python code answers."""
    keys: tuple[list[str], list[str]] | None = _counter_keys(names, healthy, minute, memo)
    return keys


def cost_select(names: tuple[Any, ...], healthy: Any, counts: Any, minute: str, input_tokens: Any,
                cost_map: Any, cost_names: tuple[Any, ...]) -> tuple[Any] | None:
    """(deployment or None,) as cost-based-routing picks, or None where the Python code answers."""
    picked: tuple[Any] | None = _cost_select(names, healthy, counts, minute, input_tokens, cost_map, cost_names)
    return picked


def shuffle_select(names: tuple[Any, ...], healthy: Any, scoped: tuple[Any, ...], metrics: tuple[str, ...],
                   sum_fn: Any, choices_fn: Any, choice_fn: Any) -> tuple[int, bool] | None:
    """(index into healthy, whether a weight vector chose it) as simple_shuffle picks, or None where
    the Python code answers."""
    picked: tuple[int, bool] | None = _shuffle_select(names, healthy, scoped, metrics, sum_fn, choices_fn,
                                                      choice_fn)
    return picked


def drop_markers(names: tuple[Any, ...], deployments: Any, model_key: str, prefix: str) -> list[Any] | None:
    """The deployments that are not strategy markers, or None where the Python code answers."""
    kept: list[Any] | None = _drop_markers(names, deployments, model_key, prefix)
    return kept


def no_access_windows(names: tuple[Any, ...], deployments: Any, windows_key: str) -> bool | None:
    """Whether no deployment has access windows; None where the Python code answers."""
    answer: bool | None = _no_access_windows(names, deployments, windows_key)
    return answer


def order_filter(names: tuple[Any, ...], deployments: Any, target_order: Any, order_key: str) -> Any:
    """get_order_filtered_deployments' result, or None where the Python code answers."""
    return _order_filter(names, deployments, target_order, order_key)


def group_members(model_list: Any, indices: Any, model_name: Any, name_key: str) -> list[Any] | None:
    """Router.get_all_deployments(model_name)'s list, or None where the Python code answers."""
    kept: list[Any] | None = _group_members(model_list, indices, model_name, name_key)
    return kept


def unblocked_cooled(names: tuple[Any, ...], deployments: Any, cooled: Any, blocked_key: Any) -> list[Any] | None:
    """The cooldown filter (cooled ids, blocked_key None) or the blocked filter (cooled None), or
    None where the Python code answers."""
    kept: list[Any] | None = _unblocked_cooled(names, deployments, cooled, blocked_key)
    return kept


def batch_get(cache_dict: Any, keys: Any, ttl_dict: Any, clock: Any, loads: Any, variant: int) -> list[Any] | None:
    """InMemoryCache.batch_get_cache's values (litellm's get_cache rules of ``variant``: 0 for
    litellm 1.106-1.108, 1 for 1.109+), or None where the Python code answers."""
    values: list[Any] | None = _batch_get(cache_dict, keys, ttl_dict, clock, loads, variant)
    return values


def usage_keys(names: tuple[Any, ...], model_list: Any, minute: str, memo: dict[str, Any]) -> list[str] | None:
    """Router.get_model_group_usage's tpm keys then rpm keys, or None where the Python code answers."""
    keys: list[str] | None = _usage_keys(names, model_list, minute, memo)
    return keys


def usage_totals(values: Any, n_tpm: int) -> tuple[Any, Any] | None:
    """(tpm, rpm) as Router.get_model_group_usage sums the values read, or None where the Python
    code answers."""
    totals: tuple[Any, Any] | None = _usage_totals(values, n_tpm)
    return totals


def plain_deepcopy(value: Any) -> tuple[Any] | None:
    """(copy.deepcopy(value),) for plain data, or None where copy.deepcopy answers."""
    copied: tuple[Any] | None = _plain_deepcopy(value)
    return copied


def model_ids(names: tuple[Any, ...], model_list: Any, id_map: Any, name_index: Any, model_name: Any,
              exclude_team: Any, team_key: str) -> list[Any] | None:
    """Router.get_model_ids' list, or None where the Python code answers."""
    ids: list[Any] | None = _model_ids(names, model_list, id_map, name_index, model_name, exclude_team, team_key)
    return ids


def cooldown_keys(model_ids: Any, memo: dict[str, tuple[str, str]]) -> list[str] | None:
    """The cooldown cache key of each id, or None where the Python code answers."""
    keys: list[str] | None = _cooldown_keys(model_ids, memo)
    return keys


def held_cooldowns(model_ids: Any, results: Any) -> tuple[list[tuple[Any, Any]], bool] | None:
    """((id, result) for the results that are cooldowns, whether every result is None), or None
    where the Python code answers."""
    held: tuple[list[tuple[Any, Any]], bool] | None = _held_cooldowns(model_ids, results)
    return held


def team_filter(names: tuple[Any, ...], healthy: Any, request_team_id: Any, team_key: str) -> list[Any] | None:
    """filter_team_based_models' list for a list of deployments, or None where the Python code answers."""
    kept: list[Any] | None = _team_filter(names, healthy, request_team_id, team_key)
    return kept


def first_info_value(names: tuple[Any, ...], deployments: Any, key: str) -> tuple[Any] | None:
    """(the first model_info[key] that is not None, or None,), or None where the Python code answers."""
    found: tuple[Any] | None = _first_info_value(names, deployments, key)
    return found


def least_busy_keys(names: tuple[Any, ...], model_group: Any, deployments: Any) -> list[str] | None:
    """least-busy's in-flight count keys of the deployments, or None where the Python code answers."""
    keys: list[str] | None = _least_busy_keys(names, model_group, deployments)
    return keys


def least_busy_index(raw: Any, n: int) -> tuple[int | None] | None:
    """(index of the least busy deployment, or None for none,) from the cache's answer, or None
    where the Python code answers."""
    picked: tuple[int | None] | None = _least_busy_index(raw, n)
    return picked
