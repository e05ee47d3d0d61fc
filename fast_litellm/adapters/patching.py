"""Installing and removing the native paths in litellm, from one declarative table.

Every patch site is listed in ``PATCHES``, re-export sites included, because a
``from litellm.utils import encode`` copy survives a patch of the module it
came from.  One wrapper exists per original function and every alias of it
points to that wrapper.  Originals are saved first-save-wins; removal puts an
original back only where our wrapper still sits, so a patch someone applied
on top of ours is never clobbered.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from fast_litellm._forksafe import RLock
from fast_litellm.adapters.encode import make_decode, make_encode
from fast_litellm.adapters.guards import GUARDED_MODULES, check_feature
from fast_litellm.adapters.quiet import make_quiet
from fast_litellm.adapters.token_counter import (
    make_core_token_counter,
    make_messages_reach_token_count,
    make_token_counter,
)
from fast_litellm.control import flags as _flags
from fast_litellm.control.flags import Mode
from fast_litellm.control.gate import Gate, gate
from fast_litellm.control.health import PatchSites, register_sites
from fast_litellm.router.cache import make_async_batch_get, make_batch_get
from fast_litellm.router.cooldowns import (
    make_active_cooldowns,
    make_async_active_cooldowns,
    make_cooldowns_from_results,
    make_model_ids,
)
from fast_litellm.router.fastcopy import make_router_copy
from fast_litellm.router.filters import (
    make_blocked_filter,
    make_cooldown_filter,
    make_drop_markers,
    make_group_members,
    make_order_filter,
    make_reserved_filter,
)
from fast_litellm.router.least_busy import make_async_least_busy, make_least_busy
from fast_litellm.router.scoping import make_tag_override, make_team_filter
from fast_litellm.router.strategies import (
    make_cost_select,
    make_counter_keys,
    make_latency_select,
    make_shuffle,
    make_usage_select,
    make_usage_v2_select,
)
from fast_litellm.router.usage import make_group_usage

__all__ = [
    "PATCHES",
    "PatchSpec",
    "apply_acceleration",
    "get_original",
    "get_patch_status",
    "native_status",
    "remove_acceleration",
]

logger = logging.getLogger("fast_litellm")

MIN_LITELLM = (1, 106)  # older litellm is never patched; newer is, where its sources are checked ones
ANY_NEWER = 10**6  # a site's last line: still present in the newest litellm checked

WrapperFactory = Callable[[Callable[..., Any], Gate], Callable[..., Any]]


class PatchSpec(NamedTuple):
    """One attribute to replace: ``module.attr`` gets the wrapper of ``source``, on the litellm
    minor versions ``lines`` (first, last; inclusive) whose identity scan found the site."""

    module: str
    attr: str
    feature: str
    source: tuple[str, str]
    factory: WrapperFactory
    lines: tuple[int, int] = (106, ANY_NEWER)
    guard: str | None = None  # the group of adapters.guards' REPRODUCED that admits it (default: feature)

    @property
    def site(self) -> str:
        return f"{self.module}.{self.attr}"


_TC_UTILS = ("litellm.utils", "token_counter")
_TC_CORE = ("litellm.litellm_core_utils.token_counter", "token_counter")
_MR_CORE = ("litellm.litellm_core_utils.token_counter", "messages_reach_token_count")

# Every module that binds litellm.utils.token_counter by name (`from litellm.utils import
# token_counter`), found by an identity scan of sys.modules after importing litellm, the router,
# its strategies and the proxy (tests/test_patch_sites.py repeats it on each line), with the
# minor versions that have it: the router strategies bind it up to 1.109 (1.110 calls
# litellm.token_counter at call time) and 1.109 alone has router_python_core.
_UNTIL_109 = (106, 109)
_TC_UTILS_SITES = (
    ("litellm",), ("litellm.utils",), ("litellm.main",), ("litellm.cost_calculator",),
    ("litellm.batches.batch_utils",), ("litellm.litellm_core_utils.streaming_chunk_builder_utils",),
    ("litellm.router_strategy.lowest_tpm_rpm", _UNTIL_109),
    ("litellm.router_strategy.lowest_tpm_rpm_v2", _UNTIL_109),
    ("litellm.router_strategy.lowest_latency", _UNTIL_109),
    ("litellm.router_strategy.lowest_cost", _UNTIL_109),
    ("litellm.router_python_core", (109, 109)),
    ("litellm.router_utils.pre_call_checks.io_token_rate_limit_check",),
    ("litellm.llms.anthropic.chat.transformation",), ("litellm.llms.bedrock.chat.converse_transformation",),
    ("litellm.llms.huggingface.embedding.transformation",), ("litellm.llms.replicate.chat.transformation",),
    ("litellm.llms.sagemaker.completion.transformation",),
    ("litellm.llms.vertex_ai.gemini_embeddings.batch_embed_content_transformation",),
)
# litellm._lazy_imports' two module-global caches (litellm.utils' copies of the core functions)
# are gone in 1.110, which imports the functions on every call.
_TC_CORE_SITES = (
    ("litellm.litellm_core_utils.token_counter", "token_counter"),
    ("litellm.compression.compress", "token_counter"),
    ("litellm.llms.openai.common_utils", "token_counter"),
    ("litellm._lazy_imports", "_token_counter_new_func", _UNTIL_109),
)

_SHUFFLE = ("litellm.router_strategy.simple_shuffle", "simple_shuffle")
# 1.110 picks inside its Rust core (the function only picks guardrails there).
_SHUFFLE_SITES = (("litellm.router_strategy.simple_shuffle", (106, ANY_NEWER)), ("litellm.router", (106, 108)),
                  ("litellm.router_python_core", (109, 109)))
_BATCH = ("litellm.caching.in_memory_cache", "InMemoryCache.batch_get_cache")
_ASYNC_BATCH = ("litellm.caching.in_memory_cache", "InMemoryCache.async_batch_get_cache")
_MARKERS = ("litellm.router", "Router._drop_strategy_markers")
_MEMBERS = ("litellm.router", "Router.get_all_deployments")  # also bound as Router._get_all_deployments
_COOLED = ("litellm.router", "Router._filter_cooldown_deployments")
_GROUP_USAGE = ("litellm.router", "Router.get_model_group_usage")
_MODEL_IDS = ("litellm.router", "Router.get_model_ids")
_USAGE_V2 = ("litellm.router_strategy.lowest_tpm_rpm_v2", "LowestTPMLoggingHandler_v2._common_checks_available_deployment")
_USAGE_V2_KEYS = ("litellm.router_strategy.lowest_tpm_rpm_v2", "LowestTPMLoggingHandler_v2.usage_counter_keys")
_TEAM = ("litellm.router_utils.common_utils", "filter_team_based_models")
_CORE_TEAM = ("litellm.litellm_core_utils.routing_common_utils", "filter_team_based_models")
_TAGS = ("litellm.router_strategy.tag_based_routing", "_chain_tag_filtering_override")
_COOLDOWNS = "litellm.router_utils.cooldown_cache"
_CORE_GROUP_USAGE = ("litellm.router_python_core", "PythonCore._core_get_model_group_usage")
_BLOCKED = ("litellm.router", "Router._filter_blocked_deployments")
_RESERVED = ("litellm.router_utils.access_windows", "filter_reserved_deployments")
_RESERVED_SITES = ((_RESERVED[0], (106, 108)), ("litellm.router", (106, 108)))  # moved in 1.109
_ORDER = ("litellm.utils", "get_order_filtered_deployments")
_ORDER_SITES = ((_ORDER[0], (106, ANY_NEWER)),
                ("litellm.router_utils.pre_call_checks.encrypted_content_affinity_check", (106, 109)))
_LATENCY = ("litellm.router_strategy.lowest_latency", "LowestLatencyLoggingHandler._get_available_deployments")
_USAGE = ("litellm.router_strategy.lowest_tpm_rpm", "LowestTPMLoggingHandler.get_available_deployments")
_COST = ("litellm.router_strategy.lowest_cost", "LowestCostLoggingHandler.async_get_available_deployments")
_LEAST_BUSY = ("litellm.router_strategy.least_busy", "LeastBusyLoggingHandler.get_available_deployments")
_ASYNC_LEAST_BUSY = ("litellm.router_strategy.least_busy", "LeastBusyLoggingHandler.async_get_available_deployments")

PATCHES: tuple[PatchSpec, ...] = (
    PatchSpec("litellm.utils", "encode", "tokenizer", ("litellm.utils", "encode"), make_encode),
    PatchSpec("litellm", "encode", "tokenizer", ("litellm.utils", "encode"), make_encode),
    PatchSpec("litellm.utils", "decode", "tokenizer", ("litellm.utils", "decode"), make_decode),
    PatchSpec("litellm", "decode", "tokenizer", ("litellm.utils", "decode"), make_decode),
    *(PatchSpec(site[0], "token_counter", "token_counter", _TC_UTILS, make_token_counter, *site[1:])
      for site in _TC_UTILS_SITES),
    *(PatchSpec(site[0], site[1], "token_counter", _TC_CORE, make_core_token_counter, *site[2:])
      for site in _TC_CORE_SITES),
    PatchSpec("litellm.litellm_core_utils.token_counter", "messages_reach_token_count", "token_counter",
              _MR_CORE, make_messages_reach_token_count),
    PatchSpec("litellm._lazy_imports", "_messages_reach_token_count_func", "token_counter",
              _MR_CORE, make_messages_reach_token_count, _UNTIL_109),  # litellm.utils' cache of it
    # The routing strategies' picks: simple_shuffle (the default strategy) where the router binds it,
    # and the strategy classes' methods, patched on their classes (litellm makes one object per
    # Router and routing group; a class attribute covers them all).  Each row is admitted by its own
    # guard group, so a changed litellm function leaves only its rows to litellm.
    *(PatchSpec(module, "simple_shuffle", "router", _SHUFFLE, make_shuffle, lines, guard="router.shuffle")
      for module, lines in _SHUFFLE_SITES),
    PatchSpec(*_LATENCY, "router", _LATENCY, make_latency_select, guard="router.latency"),
    PatchSpec(*_USAGE, "router", _USAGE, make_usage_select, guard="router.usage"),
    PatchSpec(*_COST, "router", _COST, make_cost_select, guard="router.cost"),
    PatchSpec(*_USAGE_V2, "router", _USAGE_V2, make_usage_v2_select, guard="router.usage_v2"),
    PatchSpec(*_USAGE_V2_KEYS, "router", _USAGE_V2_KEYS, make_counter_keys, guard="router.usage_v2_keys"),
    PatchSpec(*_LEAST_BUSY, "router", _LEAST_BUSY, make_least_busy, (106, 109), guard="router.least_busy"),
    PatchSpec(*_ASYNC_LEAST_BUSY, "router", _ASYNC_LEAST_BUSY, make_async_least_busy, (106, 109),
              guard="router.least_busy"),
    # The filters in front of the strategy (litellm 1.106-1.108's Router; the order filter on every
    # line, where litellm.utils and the pre-call checks have it).
    PatchSpec(*_MARKERS, "router", _MARKERS, make_drop_markers, (106, 108), guard="router.markers"),
    *(PatchSpec(module, "filter_reserved_deployments", "router", _RESERVED, make_reserved_filter, lines,
                guard="router.reserved") for module, lines in _RESERVED_SITES),
    *(PatchSpec(module, "get_order_filtered_deployments", "router", _ORDER, make_order_filter, lines,
                guard="router.order") for module, lines in _ORDER_SITES),
    *(PatchSpec("litellm.router", f"Router.{name}", "router", _MEMBERS, make_group_members, (106, 108),
                guard="router.members") for name in ("get_all_deployments", "_get_all_deployments")),
    PatchSpec(*_COOLED, "router", _COOLED, make_cooldown_filter, (106, 108), guard="router.cooled"),
    PatchSpec(*_BLOCKED, "router", _BLOCKED, make_blocked_filter, (106, 108), guard="router.cooled"),
    # The in-memory cache's batch reads (the cooldown read of every deployment; usage-v2's counters).
    PatchSpec(*_BATCH, "router", _BATCH, make_batch_get, guard="router.batch"),
    PatchSpec(*_ASYNC_BATCH, "router", _ASYNC_BATCH, make_async_batch_get, guard="router.batch"),
    # The router's cache (DualCache; also litellm's other caches) without eager debug strings.
    *(PatchSpec("litellm.caching.dual_cache", f"DualCache.{name}", "router",
                ("litellm.caching.dual_cache", f"DualCache.{name}"), make_quiet, guard="router.cache")
      for name in ("get_cache", "async_get_cache", "async_set_cache", "async_set_cache_pipeline")),
    # The team filter and the tag filter's per-group override, on every pick.
    *(PatchSpec(module, "filter_team_based_models", "router", _TEAM, make_team_filter, (106, 108),
                guard="router.team") for module in (_TEAM[0], "litellm.router")),
    *(PatchSpec(module, "filter_team_based_models", "router", _CORE_TEAM, make_team_filter, lines,
                guard="router.core_team")
      for module, lines in ((_CORE_TEAM[0], (109, ANY_NEWER)), ("litellm.router_python_core", (109, 109)))),
    PatchSpec(*_TAGS, "router", _TAGS, make_tag_override, guard="router.tags"),
    # The cooldown read of every deployment of the router, on every pick.
    PatchSpec(*_MODEL_IDS, "router", _MODEL_IDS, make_model_ids, (106, 108), guard="router.ids"),
    *(PatchSpec(_COOLDOWNS, f"CooldownCache.{name}", "router", (_COOLDOWNS, f"CooldownCache.{name}"), factory,
                (106, 109), guard="router.cooldowns")
      for name, factory in (("get_active_cooldowns", make_active_cooldowns),
                            ("async_get_active_cooldowns", make_async_active_cooldowns),
                            ("active_cooldowns_from_results", make_cooldowns_from_results))),
    # The remaining-usage headers' read of every deployment of the group (1.106-1.109).
    PatchSpec(*_GROUP_USAGE, "router", _GROUP_USAGE, make_group_usage, (106, 108), guard="router.headers"),
    PatchSpec(*_CORE_GROUP_USAGE, "router", _CORE_GROUP_USAGE, make_group_usage, (109, 109),
              guard="router.core_headers"),
    # The router's copy module (get_router_model_info's deep copies); the process's is untouched.
    PatchSpec("litellm.router", "copy", "router", ("litellm.router", "copy"), make_router_copy, (106, 108)),
)

WATCHED_MODULES = frozenset(spec.module for spec in PATCHES) | frozenset(
    spec.source[0] for spec in PATCHES
) | GUARDED_MODULES


class _State:
    """What is installed; guarded by ``lock`` for writers, read freely."""

    def __init__(self) -> None:
        self.lock = RLock()
        self.requested = False  # apply_acceleration() called and not undone
        self.originals: dict[tuple[str, str], Callable[..., Any]] = {}
        self.wrappers: dict[tuple[str, str], Callable[..., Any]] = {}
        self.status: dict[str, dict[str, Any]] = {}
        self.native_error: str | None = None
        self.native_checked = False


_state = _State()


def _owner(module: Any, attr: str) -> tuple[Any, str]:
    """The object holding ``attr`` ("name", or "Class.name" for a method) and the last name; the
    owner is None when a class along the way is missing."""
    *path, name = attr.split(".")
    owner = module
    for part in path:
        owner = owner.__dict__.get(part) if owner is not None else None
    return owner, name


def _lookup(module: Any, attr: str, load: bool = True) -> Any:
    """``module.attr`` (with ``load``, through the module's ``__getattr__``: litellm loads some names
    lazily), or a class's own attribute as stored (not an inherited or bound one); None where missing."""
    owner, name = _owner(module, attr)
    if owner is module and load:
        return getattr(module, name, None)
    return None if owner is None else owner.__dict__.get(name)


def _store(module: Any, attr: str, value: Any) -> None:
    owner, name = _owner(module, attr)
    setattr(owner, name, value)


def native_status() -> tuple[bool, str | None]:
    """(True, None) when the extension loads; else (False, why)."""
    if not _state.native_checked:
        try:
            import fast_litellm._bindings  # noqa: F401
        except ImportError as exc:
            _state.native_error = str(exc)
        _state.native_checked = True
    return _state.native_error is None, _state.native_error


def _litellm_minor(version: str) -> int | None:
    """The minor version of a 1.x litellm version string, or None."""
    parts = version.split(".")
    return int(parts[1]) if len(parts) > 1 and parts[0] == "1" and parts[1].isdigit() else None


def site_present(spec: PatchSpec, version: str) -> bool:
    """Whether litellm ``version`` has the site (an unknown version: assume it does)."""
    minor = _litellm_minor(version)
    return minor is None or spec.lines[0] <= minor <= spec.lines[1]


def _litellm_supported() -> tuple[bool, str]:
    """(True, version) for litellm >= MIN_LITELLM; else (False, why).  Whether each feature may
    patch it is decided by its guards (``adapters.guards``), not by the version number."""
    try:
        version = importlib.metadata.version("litellm")
    except importlib.metadata.PackageNotFoundError:
        return False, "litellm is not installed"
    try:
        major_minor = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return False, f"unrecognised litellm version {version}"
    if major_minor < MIN_LITELLM:
        return False, f"litellm {version} is older than the oldest supported, 1.106"
    return True, version


def get_original(module: str, attr: str) -> Callable[..., Any]:
    """litellm's own function behind a patch site (the current object if never patched).

    Raises:
        KeyError: the module is not imported.
    """
    spec = next((s for s in PATCHES if (s.module, s.attr) == (module, attr)), None)
    source = spec.source if spec else (module, attr)
    saved = _state.originals.get(source)
    if saved is not None:
        return saved
    current: Callable[..., Any] | None = _lookup(sys.modules[source[0]], source[1])
    if current is None:
        raise KeyError(f"{source[0]}.{source[1]}")
    return current


def _wrapper_for(spec: PatchSpec) -> Callable[..., Any] | None:
    wrapper = _state.wrappers.get(spec.source)
    if wrapper is not None:
        return wrapper
    source_module = sys.modules.get(spec.source[0])
    if source_module is None:
        return None
    original = _lookup(source_module, spec.source[1])
    if original is None or getattr(original, "__fast_litellm__", False):
        return None
    _state.originals.setdefault(spec.source, original)
    wrapper = spec.factory(_state.originals[spec.source], gate(spec.feature))
    if wrapper is _state.originals[spec.source]:
        return None  # the factory cannot rebuild this object (adapters.quiet)
    _state.wrappers[spec.source] = wrapper
    return wrapper


def _apply_site(spec: PatchSpec) -> dict[str, Any]:
    module = sys.modules.get(spec.module)
    if module is None:
        return {"patched": False, "reason": f"{spec.module} not imported yet; patched on import"}
    wrapper = _wrapper_for(spec)
    if wrapper is None:
        return {"patched": False, "reason": f"{spec.source[0]}.{spec.source[1]} not available yet (or not rebuilt)"}
    current = _lookup(module, spec.attr)
    reason = getattr(wrapper, "__fast_litellm_reason__", "native")
    if current is wrapper:
        return {"patched": True, "reason": reason}
    if current is None:
        return {"patched": False, "reason": "empty cache slot; litellm fills it with the patched function"}
    if current is not _state.originals[spec.source]:
        return {
            "patched": False,
            "reason": "attribute was replaced by another object; not patching over it",
        }
    _store(module, spec.attr, wrapper)
    return {"patched": True, "reason": reason}


def _remove_site(spec: PatchSpec, reason: str) -> dict[str, Any]:
    """Put the original back at one site if our wrapper sits there; the status entry."""
    module = sys.modules.get(spec.module)
    wrapper = _state.wrappers.get(spec.source)
    if module is not None and wrapper is not None:
        current = _lookup(module, spec.attr)
        if current is wrapper:
            _store(module, spec.attr, _state.originals[spec.source])
        elif current is not None and current is not _state.originals[spec.source]:
            reason = "another object replaced our wrapper; left in place"
    return {"patched": False, "reason": reason}


def apply_acceleration() -> dict[str, dict[str, Any]]:
    """Patch every site whose module is imported and whose feature is not disabled.

    Idempotent.  Sites of a disabled feature get litellm's original back, so this
    also brings the patches in line with the flags after a change.  Returns
    get_patch_status().
    """
    with _state.lock:
        _state.requested = True
        snapshot = _flags.current()
        ok, why = native_status()
        supported, version = _litellm_supported() if ok else (False, "")
        guards = {group: check_feature(group) for group in {spec.guard or spec.feature for spec in PATCHES}}
        for spec in PATCHES:
            flag = snapshot.features[spec.feature]
            if not ok:
                _state.status[spec.site] = {"patched": False, "reason": f"native extension unavailable: {why}"}
            elif not snapshot.enabled:
                _state.status[spec.site] = _remove_site(
                    spec, f"kill switch: fast-litellm disabled by {snapshot.enabled_source}")
            elif flag.mode is Mode.DISABLED:
                _state.status[spec.site] = _remove_site(
                    spec, f"feature {spec.feature!r} is disabled by {flag.source}")
            elif not supported and spec.module in sys.modules:
                _state.status[spec.site] = {"patched": False, "reason": version}
            elif supported and not site_present(spec, version):
                _state.status[spec.site] = {"patched": False, "present": False,
                                            "reason": f"not a site in litellm {version}"}
            elif not guards[spec.guard or spec.feature][0] and spec.module in sys.modules:
                _state.status[spec.site] = _remove_site(
                    spec, f"left to litellm {version}: {guards[spec.guard or spec.feature][1]}")
            else:
                _state.status[spec.site] = _apply_site(spec)
        return get_patch_status()


def _on_flags(snapshot: _flags.FlagSnapshot) -> None:
    """A flag swap re-applies (or removes) patches, unless remove_acceleration() is in force."""
    if _state.requested:
        apply_acceleration()


_flags.on_change(_on_flags)


def reapply_on_import() -> None:
    """Called by the import hook once a watched module has executed."""
    if _state.requested:
        apply_acceleration()


def remove_acceleration() -> dict[str, dict[str, Any]]:
    """Put litellm's originals back wherever our wrapper still sits (idempotent).

    Flag changes do not re-apply patches until apply_acceleration() is called again.
    """
    with _state.lock:
        _state.requested = False
        for spec in PATCHES:
            if spec.source in _state.wrappers:
                _state.status[spec.site] = _remove_site(spec, "removed by remove_acceleration()")
        return get_patch_status()


def get_patch_status() -> dict[str, dict[str, Any]]:
    """Per patch site: whether our wrapper is installed right now, and why (not)."""
    result: dict[str, dict[str, Any]] = {}
    for spec in PATCHES:
        module = sys.modules.get(spec.module)
        wrapper = _state.wrappers.get(spec.source)
        installed = (
            module is not None and wrapper is not None and _lookup(module, spec.attr, load=False) is wrapper
        )
        entry = dict(_state.status.get(spec.site, {"reason": "not applied"}))
        entry["patched"] = installed
        entry["feature"] = spec.feature
        result[spec.site] = entry
    return result


def _implemented(feature: str, version: str | None) -> bool:
    """Whether the feature has a patch site in this litellm (router and rate_limiter: none yet)."""
    return any(spec.feature == feature and (version is None or site_present(spec, version))
               for spec in PATCHES)


register_sites(PatchSites(native_status, get_patch_status, _implemented))
