"""health_check(): one dict that says what runs natively and, if not, why."""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Any

from fast_litellm import _switches
from fast_litellm._patching import get_patch_status, native_status

__all__ = ["health_check"]


def health_check() -> dict[str, Any]:
    """Native availability, switches, litellm version, patch sites and loaded encodings."""
    ok, error = native_status()
    try:
        litellm_version: str | None = importlib.metadata.version("litellm")
    except importlib.metadata.PackageNotFoundError:
        litellm_version = None
    loaded: list[str] = []
    tokenizer = sys.modules.get("fast_litellm.tokenizer")
    if tokenizer is not None:
        loaded = sorted(tokenizer._cache)
    patches = get_patch_status()
    return {
        "healthy": ok,
        "native_available": ok,
        "native_error": error,
        "enabled": _switches.globally_enabled(),
        "features": {f: _switches.feature_enabled(f) for f in _switches.FEATURES},
        "litellm_version": litellm_version,
        "litellm_imported": "litellm" in sys.modules,
        "patched_sites": sorted(site for site, s in patches.items() if s["patched"]),
        "patches": patches,
        "encodings_loaded": loaded,
    }
