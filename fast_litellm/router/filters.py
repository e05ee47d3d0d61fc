"""The per-deployment filters litellm's Router runs before its strategy, on native scans.

On every pick litellm 1.106-1.108 walks the group several times in Python: twice to drop
"auto_router/" strategy markers (``Router._drop_strategy_markers``), once for access windows
(``filter_reserved_deployments``) and twice for ``order`` (``get_order_filtered_deployments``).
Each walk calls small helpers per deployment; together they are most of a pick at 100
deployments.  The replacements take the common case in one native pass (native/pyrouter.c) and
return what litellm returns; anything else (access windows configured, orders that are not ints,
mappings of other types, a group of markers only, where litellm raises) is litellm's own code.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from fast_litellm.control.gate import NOT_COVERED, Gate, mark_wrapper

__all__ = ["make_blocked_filter", "make_cooldown_filter", "make_drop_markers", "make_group_members",
           "make_order_filter", "make_reserved_filter"]


def _native() -> Any:
    from fast_litellm._bindings import router

    return router


def _names() -> tuple[Any, ...]:
    from fast_litellm.router.strategies import _names as strategy_names

    return strategy_names("latency")


def make_drop_markers(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``Router._drop_strategy_markers(self, model, deployments)``."""
    router_module = sys.modules[original.__module__]
    naming = sys.modules["litellm.router_utils.auto_router_model_naming"]
    is_marker = vars(router_module.Router)["_is_strategy_marker_deployment"].__func__
    classify = router_module.classify_strategy_router_model
    names, model_key = _names(), sys.intern("model")
    native_scans = _native()

    def native(self: Any, model: Any, deployments: Any) -> Any:
        # the marker test the scan reproduces: Router's own, calling litellm's classify function
        if (type(self)._is_strategy_marker_deployment is not is_marker
                or "_is_strategy_marker_deployment" in vars(self)
                or router_module.classify_strategy_router_model is not classify):
            return NOT_COVERED
        kept = native_scans.drop_markers(names, deployments, model_key, naming.AUTO_ROUTER_MODEL_PREFIX)
        return NOT_COVERED if kept is None else kept

    run = gate.runner(native, original)

    def _drop_strategy_markers(self: Any, model: Any, deployments: Any) -> Any:
        return run((self, model, deployments))

    return mark_wrapper(_drop_strategy_markers, original)


def make_reserved_filter(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``filter_reserved_deployments(healthy_deployments, request_team_id, now)``: with no
    access windows configured every deployment is kept and none blocks."""
    module = sys.modules[original.__module__]
    names, key = _names(), sys.intern("access_windows")
    native_scans = _native()

    def native(healthy_deployments: Any, request_team_id: Any, now: Any) -> Any:
        if native_scans.no_access_windows(names, healthy_deployments, key) is not True:
            return NOT_COVERED
        return module.ReservationFilterResult(deployments=tuple(healthy_deployments), blocking_window=None)

    run = gate.runner(native, original)

    def filter_reserved_deployments(healthy_deployments: Any, request_team_id: Any, now: Any) -> Any:
        return run((healthy_deployments, request_team_id, now))

    return mark_wrapper(filter_reserved_deployments, original)


def make_order_filter(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``litellm.utils.get_order_filtered_deployments(healthy_deployments, target_order=None)``."""
    names, key = _names(), sys.intern("order")
    native_scans = _native()

    def native(healthy_deployments: Any, target_order: Any) -> Any:
        kept = native_scans.order_filter(names, healthy_deployments, target_order, key)
        return NOT_COVERED if kept is None else kept

    run = gate.runner(native, original)

    def get_order_filtered_deployments(healthy_deployments: Any, target_order: Any = None) -> Any:
        return run((healthy_deployments, target_order))

    return mark_wrapper(get_order_filtered_deployments, original)


def make_group_members(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``Router.get_all_deployments(model_name, model_alias=None, team_id=None)`` for a model
    name without team or alias: the deployments the router's model-name index lists under it."""
    router_class = sys.modules[original.__module__].Router
    include = vars(router_class)["should_include_deployment"]
    native_scans = _native()
    name_key = sys.intern("model_name")

    def native(self: Any, model_name: Any, model_alias: Any, team_id: Any) -> Any:
        if (team_id is not None or model_alias is not None or type(model_name) is not str
                or type(self).should_include_deployment is not include or "should_include_deployment" in vars(self)):
            return NOT_COVERED
        index = self.model_name_to_deployment_indices
        if type(index) is not dict:
            return NOT_COVERED
        indices = index.get(model_name)
        if indices is None:
            return []  # litellm: not in the index and no team to look further for
        kept = native_scans.group_members(self.model_list, indices, model_name, name_key)
        return NOT_COVERED if kept is None else kept

    run = gate.runner(native, original)

    def get_all_deployments(self: Any, model_name: Any, model_alias: Any = None, team_id: Any = None) -> Any:
        return run((self, model_name, model_alias, team_id))

    return mark_wrapper(get_all_deployments, original)


def make_cooldown_filter(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``Router._filter_cooldown_deployments(healthy_deployments, cooldown_deployments)``."""
    module = sys.modules[original.__module__]
    names = _names()
    native_scans = _native()

    def native(self: Any, healthy_deployments: Any, cooldown_deployments: Any) -> Any:
        log = module.verbose_router_logger
        if log.isEnabledFor(logging.DEBUG):
            log.debug("cooldown deployments: %s", cooldown_deployments)
        try:
            cooled = set(cooldown_deployments)
        except TypeError:
            return NOT_COVERED
        kept = native_scans.unblocked_cooled(names, healthy_deployments, cooled, None)
        return NOT_COVERED if kept is None else kept

    run = gate.runner(native, original)

    def _filter_cooldown_deployments(self: Any, healthy_deployments: Any, cooldown_deployments: Any) -> Any:
        return run((self, healthy_deployments, cooldown_deployments))

    return mark_wrapper(_filter_cooldown_deployments, original)


def make_blocked_filter(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``Router._filter_blocked_deployments(healthy_deployments)``."""
    names, key = _names(), sys.intern("blocked")
    native_scans = _native()

    def native(self: Any, healthy_deployments: Any) -> Any:
        kept = native_scans.unblocked_cooled(names, healthy_deployments, None, key)
        return NOT_COVERED if kept is None else kept

    run = gate.runner(native, original)

    def _filter_blocked_deployments(self: Any, healthy_deployments: Any) -> Any:
        return run((self, healthy_deployments))

    return mark_wrapper(_filter_blocked_deployments, original)
