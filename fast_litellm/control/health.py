"""health_check(), get_feature_status(), is_enabled() and reset_errors().

The patch sites and the extension's state are the adapters' to know: importing
``fast_litellm.adapters.patching`` hands them over with :func:`register_sites`, so that this
module imports no adapter (``import fast_litellm`` imports that module first).
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from fast_litellm.control import flags as _flags
from fast_litellm.control.breaker import BreakerState
from fast_litellm.control.flags import Mode
from fast_litellm.control.gate import gate, gates

__all__ = ["PatchSites", "get_feature_status", "health_check", "is_enabled", "register_sites", "reset_errors"]


class PatchSites(NamedTuple):
    """What the adapters layer reports to the health functions."""

    native_status: Callable[[], tuple[bool, str | None]]  # extension loads: (True, None); else (False, why)
    patch_status: Callable[[], dict[str, dict[str, Any]]]  # per site: "patched" (now), "feature", "reason"
    implemented: Callable[[str, str | None], bool]  # (feature, litellm version or None): has a patch site


_sites = PatchSites(lambda: (False, "fast_litellm.adapters.patching is not imported"), dict,
                    lambda feature, version: False)


def register_sites(sites: PatchSites) -> None:
    """Report on ``sites`` from now on (called once, by ``fast_litellm.adapters.patching``)."""
    global _sites
    _sites = sites


def _litellm_version() -> str | None:
    try:
        return importlib.metadata.version("litellm")
    except importlib.metadata.PackageNotFoundError:
        return None


def get_feature_status() -> dict[str, dict[str, Any]]:
    """Per feature: its flag (state, percentage, breaker settings, which layer set it),
    its breaker's state and counters, which patch sites carry it now, and ``patched``: how many,
    or "none (not implemented for litellm X.Y)" for a feature without a site in this litellm."""
    snapshot = _flags.current()
    patches = _sites.patch_status()
    version = _litellm_version()
    line = ".".join((version or "?").split(".")[:2])
    result = {}
    for name, feature_gate in gates().items():
        entry = snapshot.features[name].as_dict()
        entry["effective_state"] = feature_gate.flag.mode.value
        entry["breaker_state"] = feature_gate.breaker.state.value
        entry["breaker"] = {**entry["breaker"], **feature_gate.breaker.status()}
        entry["errors"] = feature_gate.stats.native.errors
        entry["patched_sites"] = sorted(
            site for site, status in patches.items() if status["feature"] == name and status["patched"]
        )
        entry["implemented"] = _sites.implemented(name, version)
        entry["patched"] = (f"{len(entry['patched_sites'])} sites" if entry["implemented"]
                            else f"none (not implemented for litellm {line})")
        result[name] = entry
    return result


def is_enabled(feature: str, request_id: Any = None) -> bool:
    """Whether a call of ``feature`` for ``request_id`` would be answered by native code now.

    False when the kill switch is on, the feature is disabled or in shadow mode (litellm's
    result is returned there), the request falls outside a rollout, or the breaker is open.
    Without ``request_id`` a rollout draws at random, as a call without a key does.

    Raises:
        KeyError: ``feature`` is not a feature name (aliases are accepted).
    """
    name = _flags.FEATURE_ALIASES.get(feature, feature)
    if not _sites.native_status()[0]:
        return False
    return gate(name).native_would_serve(request_id)


def reset_errors(feature: str | None = None) -> None:
    """Close the breaker(s) and zero the error counts (all features, or one).

    Raises:
        KeyError: ``feature`` is not a feature name.
    """
    name = None if feature is None else _flags.FEATURE_ALIASES.get(feature, feature)
    selected = gates() if name is None else {name: gate(name)}
    for feature_gate in selected.values():
        feature_gate.breaker.reset()
        feature_gate.stats.native.errors = 0
        feature_gate.stats.last_error = None


def health_check() -> dict[str, Any]:
    """One dict: native availability, the flags, litellm, patch sites, breakers and problems.
    ``accelerating`` names the features whose native path is installed at a site now (a feature
    enabled without a site in this litellm, such as the router today, is not among them)."""
    ok, error = _sites.native_status()
    snapshot = _flags.current()
    litellm_version = _litellm_version()
    loaded: list[str] = []
    tokenizer = sys.modules.get("fast_litellm.tokenizer")
    if tokenizer is not None:
        loaded = sorted(tokenizer._cache)
    patches = _sites.patch_status()
    open_breakers = sorted(n for n, g in gates().items() if g.breaker.state is not BreakerState.CLOSED)
    problems = list(snapshot.errors)
    if not ok:
        problems.insert(0, f"native extension unavailable: {error}")
    problems += [f"{n} breaker is {gates()[n].breaker.state.value}" for n in open_breakers]
    return {
        "healthy": ok and not snapshot.errors and not open_breakers,
        "native_available": ok,
        "native_error": error,
        "enabled": snapshot.enabled,
        "enabled_source": snapshot.enabled_source,
        "flags_file": snapshot.file,
        "features": {
            name: (flag.mode if snapshot.enabled else Mode.DISABLED).value
            for name, flag in snapshot.features.items()
        },
        "breakers": {name: g.breaker.state.value for name, g in gates().items()},
        "problems": problems,
        "config_warnings": list(snapshot.warnings),
        "litellm_version": litellm_version,
        "litellm_imported": "litellm" in sys.modules,
        "patched_sites": sorted(site for site, s in patches.items() if s["patched"]),
        "accelerating": sorted({status["feature"] for status in patches.values() if status["patched"]}),
        "patches": patches,
        "encodings_loaded": loaded,
    }
