"""The minimal on/off switches read from the environment.

``FAST_LITELLM_ENABLED=false`` leaves litellm entirely unpatched;
``FAST_LITELLM_TOKENIZER=off`` keeps litellm's own encode/decode.  Values:
on/off, true/false, 1/0, yes/no (case-insensitive).  The full control plane
(flags file, rollout, shadow, breaker) wraps these in a later release.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

__all__ = ["FEATURES", "feature_enabled", "globally_enabled", "parse_switch"]

logger = logging.getLogger("fast_litellm")

FEATURES = ("tokenizer",)

_TRUE = {"1", "true", "on", "yes", "enabled"}
_FALSE = {"0", "false", "off", "no", "disabled"}


def parse_switch(value: str | None, default: bool) -> bool:
    """Read an on/off environment value; an unrecognised value keeps the default."""
    if value is None:
        return default
    normalised = value.strip().lower()
    if normalised in _TRUE:
        return True
    if normalised in _FALSE:
        return False
    logger.warning("fast_litellm: ignoring unrecognised switch value %r", value)
    return default


def globally_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """False when FAST_LITELLM_ENABLED turns the whole plugin off."""
    env = os.environ if environ is None else environ
    return parse_switch(env.get("FAST_LITELLM_ENABLED"), True)


def feature_enabled(feature: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``feature`` may patch litellm (kill switch and its own switch)."""
    env = os.environ if environ is None else environ
    return globally_enabled(env) and parse_switch(env.get(f"FAST_LITELLM_{feature.upper()}"), True)
