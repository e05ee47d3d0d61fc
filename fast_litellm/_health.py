"""health_check(), get_feature_status(), is_enabled() and reset_errors()."""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Any

from fast_litellm import _flags
from fast_litellm._breaker import BreakerState
from fast_litellm._flags import Mode
from fast_litellm._gate import gate, gates
from fast_litellm._patching import PATCHES, get_patch_status, native_status, site_present

__all__ = ["get_feature_status", "health_check", "is_enabled", "reset_errors"]


def _litellm_version() -> str | None:
    try:
        return importlib.metadata.version("litellm")
    except importlib.metadata.PackageNotFoundError:
        return None


def _implemented(feature: str, version: str | None) -> bool:
    """Whether the feature has a patch site in this litellm (router and rate_limiter: none yet)."""
    return any(spec.feature == feature and (version is None or site_present(spec, version)) for spec in PATCHES)


def get_feature_status() -> dict[str, dict[str, Any]]:
    """Per feature: its flag (state, percentage, breaker settings, which layer set it),
    its breaker's state and counters, which patch sites carry it now, and ``patched``: how many,
    or "none (not implemented for litellm X.Y)" for a feature without a site in this litellm."""
    snapshot = _flags.current()
    patches = get_patch_status()
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
            spec.site for spec in PATCHES if spec.feature == name and patches[spec.site]["patched"]
        )
        entry["implemented"] = _implemented(name, version)
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
    if not native_status()[0]:
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
    ok, error = native_status()
    snapshot = _flags.current()
    litellm_version = _litellm_version()
    loaded: list[str] = []
    tokenizer = sys.modules.get("fast_litellm.tokenizer")
    if tokenizer is not None:
        loaded = sorted(tokenizer._cache)
    patches = get_patch_status()
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
        "accelerating": sorted({spec.feature for spec in PATCHES if patches[spec.site]["patched"]}),
        "patches": patches,
        "encodings_loaded": loaded,
    }
