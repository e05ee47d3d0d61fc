"""The team and tag filters of every pick: ``filter_team_based_models`` and the tag filter's
per-group override (``tag_based_routing._chain_tag_filtering_override``).

On every pick litellm drops the deployments of other teams by walking the group twice in Python,
and the tag filter looks for the group's ``enable_tag_filtering`` override by walking every
deployment of the group: together 0.5 ms at 1000 deployments.  The replacements make the walks
native (native/pyrouter.c ``team_filter`` and ``first_info_value``).  What litellm decides before
the walk stays its own code: no request kwargs, a single deployment, and the proxy-admin branch
(a request with no team from a proxy admin) are litellm's function, and so is the override's
lookup of the group's deployments (``_all_deployments_or_fallback``, with its fallback).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from fast_litellm.control.gate import NOT_COVERED, Gate, mark_wrapper

__all__ = ["make_tag_override", "make_team_filter"]


def make_team_filter(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``filter_team_based_models(healthy_deployments, request_kwargs=None)``."""
    from fast_litellm._bindings import router as native_scans
    from fast_litellm.router.strategies import _names

    module = sys.modules[original.__module__]
    names, team_key = _names("latency"), sys.intern("team_id")
    team_filter = native_scans.team_filter

    def native(healthy: Any, request_kwargs: Any) -> Any:
        if request_kwargs is None or type(healthy) is not list or type(request_kwargs) is not dict:
            return NOT_COVERED
        team_id = module.get_request_team_id(request_kwargs)
        if team_id is None and module.is_proxy_admin_request(request_kwargs):
            return NOT_COVERED  # the proxy-admin branch
        kept = team_filter(names, healthy, team_id, team_key)
        return NOT_COVERED if kept is None else kept

    run = gate.runner(native, original)

    def filter_team_based_models(healthy_deployments: Any, request_kwargs: Any = None) -> Any:
        return run((healthy_deployments, request_kwargs))

    return mark_wrapper(filter_team_based_models, original)


def make_tag_override(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``_chain_tag_filtering_override(router_or_context, model, healthy_deployments)``."""
    from fast_litellm._bindings import router as native_scans
    from fast_litellm.router.strategies import _names

    module = sys.modules[original.__module__]
    names, key = _names("latency"), sys.intern("enable_tag_filtering")
    first_info_value = native_scans.first_info_value
    mapping_proxy = vars(module).get("MappingProxyType")

    def native(owner: Any, model: Any, healthy: Any) -> Any:
        if mapping_proxy is None or module.MappingProxyType is not mapping_proxy:
            return NOT_COVERED
        found = first_info_value(names, module._all_deployments_or_fallback(owner, model, healthy), key)
        return NOT_COVERED if found is None else found[0]

    run = gate.runner(native, original)

    def _chain_tag_filtering_override(owner: Any, model: Any, healthy_deployments: Any) -> Any:
        return run((owner, model, healthy_deployments))

    return mark_wrapper(_chain_tag_filtering_override, original)
