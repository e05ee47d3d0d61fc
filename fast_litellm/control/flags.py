"""Feature flags: one immutable snapshot, built from four layers and swapped whole.

Layers, later wins:

1. the defaults embedded here (``DEFAULTS``, equal to the top-level
   ``feature_flags.json``; a test holds them equal);
2. the JSON file named by ``FAST_LITELLM_FEATURE_FLAGS``;
3. the environment: ``FAST_LITELLM_<FEATURE>=on|off|shadow|<0-100>`` per
   feature (true/false, enabled/disabled, 1/0 too), and the prior art's names
   as aliases;
4. run-time overrides from ``configure()``.

On top of all of them, ``FAST_LITELLM_ENABLED=false`` is the kill switch:
litellm stays entirely unpatched and ``configure()`` cannot turn it back on.

Unknown feature names, keys or states are rejected with ``ConfigError``.  At
import nothing may raise, so a broken file or variable fails closed instead:
the feature it concerns (every feature, for a broken file) is disabled and
``health_check()`` carries the error.  Readers call ``current()`` and get the
snapshot object; they never take a lock.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from fast_litellm._forksafe import RLock
from fast_litellm.exceptions import ConfigError

__all__ = [
    "DEFAULTS",
    "FEATURES",
    "BreakerSettings",
    "FeatureFlag",
    "FlagSnapshot",
    "Mode",
    "build_snapshot",
    "configure",
    "current",
    "on_change",
    "reload_flags",
]

logger = logging.getLogger("fast_litellm")

FEATURES = ("tokenizer", "token_counter", "router", "rate_limiter")

FLAGS_FILE_ENV = "FAST_LITELLM_FEATURE_FLAGS"
KILL_SWITCH_ENV = "FAST_LITELLM_ENABLED"

# The prior art's (fast-litellm 0.1, Rust) names, accepted so its users can switch unchanged.  Its
# rust_token_counting switched encode, decode and token_counter together: here that is two features,
# and the alias sets both (a canonical name given as well wins for its own feature).
ALIAS_FEATURES: dict[str, tuple[str, ...]] = {
    "rust_token_counting": ("tokenizer", "token_counter"),
    "rust_routing": ("router",),
    "rust_rate_limiting": ("rate_limiter",),
}
# The one feature an alias stands for where one is asked (is_enabled, reset_errors).
FEATURE_ALIASES = {
    "rust_token_counting": "token_counter",
    "rust_routing": "router",
    "rust_rate_limiting": "rate_limiter",
}
# Its other feature names have no counterpart here; a config naming them loads with a warning.
IGNORED_FEATURES = frozenset(
    {"rust_connection_pooling", "rust_connection_pool", "batch_token_counting", "async_routing",
     "performance_monitoring"}
)
ENV_ALIASES: dict[str, tuple[str, ...]] = {
    "FAST_LITELLM_RUST_TOKEN_COUNTING": ALIAS_FEATURES["rust_token_counting"],
    "FAST_LITELLM_RUST_ROUTING": ALIAS_FEATURES["rust_routing"],
    "FAST_LITELLM_RUST_RATE_LIMITING": ALIAS_FEATURES["rust_rate_limiting"],
}
FLAGS_FILE_ENV_ALIASES = ("FAST_LITELLM_FEATURE_CONFIG",)

DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "features": {
        name: {
            "state": "enabled",
            "percentage": 100,
            "error_threshold": 5,
            "breaker": {
                "failure_rate": 0.5,
                "window": 100,
                "min_calls": 20,
                "cooldown_seconds": 30.0,
                "max_cooldown_seconds": 600.0,
            },
        }
        for name in FEATURES
    },
}


class Mode(str, Enum):
    """What a feature's gate does with a call."""

    DISABLED = "disabled"  # litellm's own function; the patch is removed
    ENABLED = "enabled"  # the native path for every call it covers
    ROLLOUT = "rollout"  # the native path for ``percentage`` % of requests, by a stable key
    SHADOW = "shadow"  # both paths on ``percentage`` % of calls; litellm's result is returned


_STATE_WORDS = {
    "enabled": Mode.ENABLED, "on": Mode.ENABLED, "true": Mode.ENABLED, "1": Mode.ENABLED,
    "yes": Mode.ENABLED,
    "disabled": Mode.DISABLED, "off": Mode.DISABLED, "false": Mode.DISABLED, "0": Mode.DISABLED,
    "no": Mode.DISABLED,
    "rollout": Mode.ROLLOUT, "gradual_rollout": Mode.ROLLOUT, "canary": Mode.ROLLOUT,
    "shadow": Mode.SHADOW,
}
_CANARY_PERCENTAGE = 5.0  # the prior art's canary share, used when "canary" names no percentage
_KILL_WORDS = {"true": True, "on": True, "1": True, "yes": True, "enabled": True,
               "false": False, "off": False, "0": False, "no": False, "disabled": False}


# NamedTuples, not dataclasses: immutable, and 5x cheaper to define at import time.
class BreakerSettings(NamedTuple):
    """When a feature's circuit breaker opens, and how long it stays open."""

    error_threshold: int = 5  # consecutive native errors that open it
    failure_rate: float = 0.5  # share of failed native calls over the window that opens it
    window: int = 100  # native calls in the failure-rate window
    min_calls: int = 20  # the rate is not judged on fewer calls than this
    cooldown_seconds: float = 30.0  # open time before the first probe
    max_cooldown_seconds: float = 600.0  # the cool-down doubles after each failed probe, up to this


class FeatureFlag(NamedTuple):
    """One feature's setting in a snapshot; ``source`` says which layer set its state."""

    name: str
    mode: Mode
    percentage: float
    breaker: BreakerSettings
    source: str = "default"

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.mode.value,
            "percentage": self.percentage,
            "error_threshold": self.breaker.error_threshold,
            "breaker": {
                "failure_rate": self.breaker.failure_rate,
                "window": self.breaker.window,
                "min_calls": self.breaker.min_calls,
                "cooldown_seconds": self.breaker.cooldown_seconds,
                "max_cooldown_seconds": self.breaker.max_cooldown_seconds,
            },
            "source": self.source,
        }


class FlagSnapshot(NamedTuple):
    """Every flag at one moment.  ``enabled`` False means the kill switch is on."""

    enabled: bool
    enabled_source: str
    features: Mapping[str, FeatureFlag]
    file: str | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    overrides: Mapping[str, Any] = MappingProxyType({})

    def mode(self, feature: str) -> Mode:
        """The feature's mode, DISABLED when the kill switch is on."""
        return self.features[feature].mode if self.enabled else Mode.DISABLED


# ---------------------------------------------------------------------------------------------
# Parsing


def _percentage(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ConfigError(f"{where}: percentage must be a number from 0 to 100, got {value!r}")
    return float(value)


def _state(value: Any, where: str) -> Mode:
    if isinstance(value, Mode):
        return value
    if isinstance(value, bool):
        return Mode.ENABLED if value else Mode.DISABLED
    if isinstance(value, str) and value.strip().lower() in _STATE_WORDS:
        return _STATE_WORDS[value.strip().lower()]
    raise ConfigError(
        f"{where}: unknown state {value!r}; expected enabled, disabled, rollout or shadow"
    )


def _positive(value: Any, where: str, kind: type, minimum: float) -> Any:
    ok = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int)
    if not ok or value < minimum:
        raise ConfigError(f"{where} must be {'a number' if kind is float else 'an integer'} >= {minimum}, "
                          f"got {value!r}")
    return kind(value)


_BREAKER_KEYS: dict[str, tuple[type, float]] = {
    "failure_rate": (float, 0.0),
    "window": (int, 1),
    "min_calls": (int, 1),
    "cooldown_seconds": (float, 0.0),
    "max_cooldown_seconds": (float, 0.0),
}


def _apply_feature(flag: FeatureFlag, spec: Any, source: str, warn: Callable[[str], None]) -> FeatureFlag:
    """``flag`` with the settings of one feature entry (a state word, bool, or object) applied."""
    where = f"{source}: feature {flag.name!r}"
    if not isinstance(spec, Mapping):
        # A bare value reads like a FAST_LITELLM_<FEATURE> variable: a state word or a percentage.
        if isinstance(spec, (Mode, bool)):
            mode, pct = _state(spec, where), None
        elif isinstance(spec, (int, float)):
            mode, pct = Mode.ROLLOUT, _percentage(spec, where)
        elif isinstance(spec, str):
            mode, pct = parse_env_value(spec, where)
        else:
            raise ConfigError(f"{where}: expected a state, a percentage or an object, got {spec!r}")
        return flag._replace(mode=mode, percentage=flag.percentage if pct is None else pct, source=source)
    breaker = flag.breaker
    mode, percentage, flag_source = flag.mode, flag.percentage, flag.source
    canary = False
    for key, value in spec.items():
        if key == "state":
            mode = _state(value, where)
            canary = isinstance(value, str) and value.strip().lower() == "canary"
            flag_source = source
        elif key in ("percentage", "rollout_percentage"):
            percentage = _percentage(value, where)
            flag_source = source
        elif key == "error_threshold":
            breaker = breaker._replace(error_threshold=_positive(value, f"{where}: error_threshold", int, 1))
        elif key == "breaker":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: breaker must be an object, got {value!r}")
            for bkey, bvalue in value.items():
                if bkey not in _BREAKER_KEYS:
                    raise ConfigError(f"{where}: unknown breaker setting {bkey!r}; expected one of "
                                      f"{', '.join(sorted(_BREAKER_KEYS))}")
                kind, minimum = _BREAKER_KEYS[bkey]
                breaker = breaker._replace(**{bkey: _positive(bvalue, f"{where}: breaker.{bkey}", kind, minimum)})
        elif key == "performance_threshold_ms":
            warn(f"{where}: performance_threshold_ms (prior art) is ignored; one slow call never "
                 "disables a feature here")
        else:
            raise ConfigError(f"{where}: unknown setting {key!r}; expected state, percentage, "
                              "error_threshold or breaker")
    if canary and "percentage" not in spec and "rollout_percentage" not in spec:
        percentage = _CANARY_PERCENTAGE
    if breaker.failure_rate > 1:
        raise ConfigError(f"{where}: breaker.failure_rate must be at most 1, got {breaker.failure_rate}")
    return flag._replace(mode=mode, percentage=percentage, breaker=breaker, source=flag_source)


def _canonical_features(name: Any, where: str, warn: Callable[[str], None]) -> tuple[str, ...]:
    """The features a name in a flags document sets: itself, an alias's features, or none."""
    if name in FEATURES:
        return (str(name),)
    if name in ALIAS_FEATURES:
        return ALIAS_FEATURES[name]
    if name in IGNORED_FEATURES:
        warn(f"{where}: feature {name!r} (prior art) has no counterpart here and is ignored")
        return ()
    raise ConfigError(f"{where}: unknown feature {name!r}; expected one of {', '.join(FEATURES)} "
                      f"(or the aliases {', '.join(sorted(ALIAS_FEATURES))})")


def _aliases_first(items: Any) -> list[tuple[Any, Any]]:
    """(name, spec) pairs with aliases before canonical names, so a canonical name wins."""
    return sorted(items, key=lambda item: item[0] in FEATURES)


def _apply_document(
    flags: dict[str, FeatureFlag], doc: Any, source: str, warn: Callable[[str], None]
) -> bool | None:
    """Apply a flags document (the JSON file's shape) to ``flags``; return its ``enabled``, if any."""
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{source}: the top level must be an object with a 'features' object")
    enabled: bool | None = None
    for key, value in doc.items():
        if key == "enabled":
            if not isinstance(value, bool):
                raise ConfigError(f"{source}: 'enabled' must be true or false, got {value!r}")
            enabled = value
        elif key == "features":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: 'features' must be an object")
            for name, spec in _aliases_first(value.items()):
                for feature in _canonical_features(name, source, warn):
                    flags[feature] = _apply_feature(flags[feature], spec, source, warn)
        elif key in ("global_settings", "$comment", "description"):
            if key == "global_settings":
                warn(f"{source}: 'global_settings' (prior art) is ignored")
        else:
            raise ConfigError(f"{source}: unknown top-level key {key!r}; expected 'enabled' and 'features'")
    return enabled


def parse_env_value(value: str, where: str) -> tuple[Mode, float | None]:
    """A per-feature variable: on/off/true/false/enabled/disabled/shadow/rollout, or a percentage."""
    word = value.strip().lower()
    if word in _STATE_WORDS and word not in ("0", "1"):
        return _STATE_WORDS[word], (_CANARY_PERCENTAGE if word == "canary" else None)
    number = word[:-1] if word.endswith("%") else word
    try:
        pct = float(number)
    except ValueError:
        raise ConfigError(f"{where}={value!r}: expected on, off, shadow or a percentage 0-100") from None
    return Mode.ROLLOUT, _percentage(pct, where)


def _read_file(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{FLAGS_FILE_ENV}={path!r}: cannot read it: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None


def _base_flags() -> dict[str, FeatureFlag]:
    flags = {name: FeatureFlag(name, Mode.ENABLED, 100.0, BreakerSettings()) for name in FEATURES}
    _apply_document(flags, DEFAULTS, "default", lambda _: None)
    return {name: flag._replace(source="default") for name, flag in flags.items()}


def build_snapshot(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> FlagSnapshot:
    """Build a snapshot from the defaults, the file, ``environ`` and run-time ``overrides``.

    A problem in the file or the environment raises ConfigError with ``strict``; otherwise it
    fails closed (the feature concerned, or every feature for a broken file, is disabled) and
    is recorded in ``errors``.  A problem in ``overrides`` always raises.

    Raises:
        ConfigError: an invalid override, or with ``strict`` an invalid file or variable.
    """
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    errors: list[str] = []
    warnings: list[str] = []
    flags = _base_flags()
    enabled: bool = True
    enabled_source = "default"
    forced_off: set[str] = set()

    def problem(exc: ConfigError, features: tuple[str, ...]) -> None:
        if strict:
            raise exc
        errors.append(f"{exc}; disabled: {', '.join(features)}")
        forced_off.update(features)

    path = env.get(FLAGS_FILE_ENV) or next((env[a] for a in FLAGS_FILE_ENV_ALIASES if env.get(a)), None)
    if path:
        try:
            candidate = dict(flags)
            file_enabled = _apply_document(candidate, _read_file(path), f"file:{path}", warnings.append)
        except ConfigError as exc:
            problem(exc, FEATURES)
        else:
            flags = candidate
            if file_enabled is not None:
                enabled, enabled_source = file_enabled, f"file:{path}"

    # Per-feature variables; the canonical name wins over an alias.
    env_items = [(f"FAST_LITELLM_{name.upper()}", name) for name in FEATURES]
    env_items += [(var, name) for var, names in ENV_ALIASES.items() for name in names
                  if f"FAST_LITELLM_{name.upper()}" not in env]
    for var, name in env_items:
        raw = env.get(var)
        if raw is None:
            continue
        try:
            mode, pct = parse_env_value(raw, var)
        except ConfigError as exc:
            problem(exc, (name,))
            continue
        flag = flags[name]
        flags[name] = flag._replace(mode=mode, percentage=flag.percentage if pct is None else pct,
                              source=f"env:{var}")

    raw_kill = env.get(KILL_SWITCH_ENV)
    env_kill = False
    if raw_kill is not None:
        word = raw_kill.strip().lower()
        if word in _KILL_WORDS:
            enabled, enabled_source = _KILL_WORDS[word], f"env:{KILL_SWITCH_ENV}"
            env_kill = not enabled
        else:
            kill_error = ConfigError(f"{KILL_SWITCH_ENV}={raw_kill!r}: expected true or false")
            if strict:
                raise kill_error
            errors.append(f"{kill_error}; treated as false (fail closed)")
            enabled, enabled_source, env_kill = False, f"env:{KILL_SWITCH_ENV}", True

    runtime_enabled = overrides.pop("enabled", None)
    if overrides:
        _apply_document(flags, {"features": overrides}, "configure()", warnings.append)
    if runtime_enabled is not None:
        if env_kill and runtime_enabled:
            warnings.append(f"configure(enabled=True) ignored: {KILL_SWITCH_ENV} is false")
        else:
            enabled, enabled_source = bool(runtime_enabled), "configure()"

    for name in forced_off:
        flags[name] = flags[name]._replace(mode=Mode.DISABLED, source="error")
    for message in warnings:
        logger.warning("fast_litellm: %s", message)
    for message in errors:
        logger.error("fast_litellm: %s", message)
    return FlagSnapshot(
        enabled=enabled,
        enabled_source=enabled_source,
        features=MappingProxyType(flags),
        file=path or None,
        errors=tuple(errors),
        warnings=tuple(warnings),
        overrides=MappingProxyType(dict(overrides, **({} if runtime_enabled is None else
                                                      {"enabled": runtime_enabled}))),
    )


# ---------------------------------------------------------------------------------------------
# The current snapshot


class _Holder:
    """The current snapshot (read without a lock) and the listeners told of each swap."""

    def __init__(self) -> None:
        self.lock = RLock()
        self.snapshot: FlagSnapshot | None = None
        self.listeners: list[Callable[[FlagSnapshot], None]] = []


_holder = _Holder()


def current() -> FlagSnapshot:
    """The flags in force now (built from the environment on first use)."""
    snap = _holder.snapshot
    if snap is None:
        with _holder.lock:
            if _holder.snapshot is None:
                _holder.snapshot = build_snapshot()
            snap = _holder.snapshot
    return snap


def on_change(listener: Callable[[FlagSnapshot], None]) -> None:
    """Call ``listener(snapshot)`` after every swap."""
    with _holder.lock:
        _holder.listeners.append(listener)


def _swap(snapshot: FlagSnapshot) -> FlagSnapshot:
    with _holder.lock:
        _holder.snapshot = snapshot
        for listener in list(_holder.listeners):
            listener(snapshot)
    return snapshot


def configure(enabled: bool | None = None, **features: Any) -> FlagSnapshot:
    """Override flags at run time, on top of the file and the environment.

    ``features`` maps a feature name (or alias) to a state word (``"on"``, ``"shadow"``...),
    a bool, or an object like one entry of ``feature_flags.json``.  Overrides accumulate
    across calls until ``reload_flags()``.

    Raises:
        ConfigError: an unknown feature, key, state or value; nothing changes then.
    """
    with _holder.lock:
        merged: dict[str, Any] = dict(current().overrides)
        for name, spec in _aliases_first(features.items()):
            for feature in _canonical_features(name, "configure()", lambda _: None) or (name,):
                previous = merged.get(feature)
                merged[feature] = {**previous, **spec} if isinstance(previous, Mapping) and isinstance(
                    spec, Mapping) else spec
        if enabled is not None:
            merged["enabled"] = enabled
        return _swap(build_snapshot(overrides=merged))


def reload_flags(strict: bool = True) -> FlagSnapshot:
    """Re-read the file and the environment, dropping ``configure()`` overrides.

    Raises:
        ConfigError: with ``strict`` (the default), when the file or a variable is invalid;
            the flags in force do not change then.
    """
    with _holder.lock:
        return _swap(build_snapshot(strict=strict))
