"""The gate in front of every native path: flag, then rollout bucket, then breaker.

A patched litellm function binds its arguments and calls
``gate.call(native, original, args, key)``.  ``native(*args)`` returns the
result, or ``NOT_COVERED`` for an input it does not handle exactly; then
``original(*args)``, litellm's own function, answers.  The order of checks:

1. the feature's mode from the current flag snapshot (one attribute read);
2. for ``rollout``, the request's bucket (``control.rollout``);
3. the breaker (``closed`` is one attribute read; otherwise ``allow()``).

A native exception is ours: it is counted, logged once, fed to the breaker
and answered by the original.  An exception of the original is litellm's and
propagates unchanged.  In ``shadow`` mode the original runs first and its
result is returned; native runs after it, and a different result counts as a
native error.  Every path is timed into the feature's ``FeatureStats``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any, Final

from fast_litellm._forksafe import Lock
from fast_litellm.control import flags as _flags
from fast_litellm.control import rollout as _rollout
from fast_litellm.control.breaker import BreakerState, CircuitBreaker, Permit
from fast_litellm.control.flags import FeatureFlag, FlagSnapshot, Mode
from fast_litellm.control.monitor import SAMPLE_EVERY, SAMPLES, FeatureStats

__all__ = ["NOT_COVERED", "Gate", "gate", "gates"]

logger = logging.getLogger("fast_litellm")


class _NotCovered:
    """The native body's answer for an input it does not handle; the original answers instead."""

    _instance: _NotCovered | None = None

    def __new__(cls) -> _NotCovered:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_COVERED"


NOT_COVERED: Final = _NotCovered()

_ENABLED = Mode.ENABLED
_ROLLOUT = Mode.ROLLOUT
_SHADOW = Mode.SHADOW
# Enum members read through the class cost ~0.2 us each on CPython 3.11; the call path uses these.
_NATIVE, _DENIED = Permit.NATIVE, Permit.DENIED
_OPEN = BreakerState.OPEN
_UNTIMED_MASK = SAMPLE_EVERY - 1


def _same(expected: Any, got: Any) -> bool:
    return type(expected) is type(got) and bool(expected == got)


class Gate:
    """Flag, rollout, breaker and monitor of one feature."""

    def __init__(self, flag: FeatureFlag, clock: Callable[[], float] | None = None) -> None:
        self.name = flag.name
        self.stats = FeatureStats(flag.name)
        native = self.stats.native
        self.breaker = CircuitBreaker(
            flag.name, flag.breaker, clock or time.monotonic, outcomes=lambda: native.calls + native.errors
        )
        self.compare: Callable[[Any, Any], bool] = _same
        self._error_logged = False
        self.breaker.add_listener(self._on_transition)
        self.flag = flag
        self.all_native = flag.mode is _ENABLED  # the fast-path checks, with breaker.clean
        self.rollout = flag.mode is _ROLLOUT
        self._in_rollout = _rollout.checker(flag.name)

    def update(self, flag: FeatureFlag) -> None:
        """Swap in the feature's flag from a new snapshot."""
        self.breaker.update_settings(flag.breaker)
        self.flag = flag
        self.all_native = flag.mode is _ENABLED
        self.rollout = flag.mode is _ROLLOUT

    def _on_transition(self, name: str, old: BreakerState, new: BreakerState, reason: str) -> None:
        self.stats.breaker_transitions += 1

    # -- the call --------------------------------------------------------------------------

    def call(self, native: Callable[..., Any], original: Callable[..., Any], args: tuple[Any, ...],
             key: Any = None) -> Any:
        """Answer one call through native code or litellm's original, as the flags say.

        Every native call made here is timed; patched functions use ``runner``, which adds the
        untimed fast path.
        """
        if self.all_native or (self.rollout and self._in_rollout(key, self.flag.percentage)):
            return self._guarded(native, original, args)
        return self._not_native(native, original, args, key)

    def _not_native(self, native: Callable[..., Any], original: Callable[..., Any], args: tuple[Any, ...],
                    key: Any) -> Any:
        """A call the flags do not give to native code: outside the rollout, shadow, or disabled."""
        if self.rollout:
            self.stats.rollout_skipped += 1
            return self._python(original, args, None)
        if self.flag.mode is _SHADOW:
            return self._shadow(native, original, args, key, self.flag)
        return self._python(original, args, None)

    def runner(
        self,
        native: Callable[..., Any],
        original: Callable[..., Any],
        key_of: Callable[[tuple[Any, ...]], Any] | None = None,
    ) -> Callable[[tuple[Any, ...]], Any]:
        """``run(args)``: ``call(native, original, args, key_of(args))`` with the fast path inlined.

        A patched function calls this once per request.  The common case (enabled or inside the
        rollout, breaker clean, an untimed call) reads only closure cells; the rollout key is
        computed only in rollout and shadow modes; everything else goes to ``_guarded`` or
        ``_not_native``.
        """
        gate, breaker, stats, in_rollout = self, self.breaker, self.stats.native, self._in_rollout

        def run(args: tuple[Any, ...]) -> Any:
            key = None
            if not gate.all_native:
                if not gate.rollout:  # shadow (which samples by key) or disabled
                    shadow = key_of is not None and gate.flag.mode is _SHADOW
                    return gate._not_native(native, original, args, key_of(args) if key_of and shadow else None)
                key = None if key_of is None else key_of(args)
                if not in_rollout(key, gate.flag.percentage):
                    return gate._not_native(native, original, args, key)
            if breaker.clean:
                n = stats.calls
                if n & _UNTIMED_MASK and n >= SAMPLES:  # the common case: counted, not timed
                    try:
                        result = native(*args)
                    except Exception as exc:  # noqa: BLE001 - ours: count it, answer with the original
                        return gate._native_failed(exc, _NATIVE, original, args)
                    if result is not NOT_COVERED:
                        stats.calls = n + 1
                        return result
                    return gate._python(original, args, "not_covered")
            return gate._guarded(native, original, args)

        return run

    def _python(self, original: Callable[..., Any], args: tuple[Any, ...], fallback: str | None) -> Any:
        stats = self.stats
        if fallback is not None:
            stats.fallbacks[fallback] += 1
        python = stats.python
        n = python.calls
        if n & _UNTIMED_MASK and n >= SAMPLES:
            try:
                result = original(*args)
            except BaseException:
                python.errors += 1
                raise
            python.calls = n + 1
            return result
        start = perf_counter_ns()
        try:
            result = original(*args)
        except BaseException:
            python.errors += 1
            raise
        python.record(perf_counter_ns() - start)
        return result

    def _native_failed(self, exc: Exception, permit: Permit, original: Callable[..., Any],
                       args: tuple[Any, ...]) -> Any:
        reason = f"{type(exc).__name__}: {exc}"
        self.stats.native.errors += 1
        self.stats.last_error = reason
        if not self._error_logged:
            self._error_logged = True
            logger.warning("fast_litellm: native %s failed; litellm's own function answers",
                           self.name, exc_info=exc)
        else:
            logger.debug("fast_litellm: native %s failed: %s", self.name, reason)
        self.breaker.record_failure(permit, reason)
        return self._python(original, args, "error")

    def _guarded(self, native: Callable[..., Any], original: Callable[..., Any],
                 args: tuple[Any, ...]) -> Any:
        """A timed native call under the breaker's permit (a probe while half-open)."""
        breaker = self.breaker
        permit = breaker.allow()
        if permit is _DENIED:
            return self._python(original, args, "breaker_open")
        start = perf_counter_ns()
        try:
            result = native(*args)
        except Exception as exc:  # noqa: BLE001 - ours: count it, answer with the original
            return self._native_failed(exc, permit, original, args)
        elapsed = perf_counter_ns() - start
        if result is NOT_COVERED:
            breaker.release(permit)
            return self._python(original, args, "not_covered")
        self.stats.native.record(elapsed)
        breaker.record_success(permit)
        return result

    def _shadow(self, native: Callable[..., Any], original: Callable[..., Any], args: tuple[Any, ...],
                key: Any, flag: FeatureFlag) -> Any:
        """Run the original (its result is returned), then native, and compare."""
        if not self._in_rollout(key, flag.percentage):
            return self._python(original, args, None)
        expected = self._python(original, args, None)
        breaker = self.breaker
        permit = breaker.allow()
        if permit is _DENIED:
            self.stats.fallbacks["breaker_open"] += 1
            return expected
        start = perf_counter_ns()
        try:
            got = native(*args)
        except Exception as exc:  # noqa: BLE001
            self.stats.native.errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            breaker.record_failure(permit, self.stats.last_error)
            return expected
        elapsed = perf_counter_ns() - start
        if got is NOT_COVERED:
            breaker.release(permit)
            self.stats.fallbacks["not_covered"] += 1
            return expected
        stats = self.stats
        stats.native.record(elapsed)
        stats.shadow_compared += 1
        try:
            same = self.compare(expected, got)
        except Exception:  # noqa: BLE001 - an uncomparable result is a mismatch
            same = False
        if same:
            breaker.record_success(permit)
        else:
            stats.record_mismatch(args, expected, got)
            stats.native.errors += 1
            stats.last_error = "shadow mismatch"
            logger.warning("fast_litellm: shadow mismatch in %s (kept in get_performance_stats())",
                           self.name)
            breaker.record_failure(permit, "shadow mismatch")
        return expected

    # -- status ----------------------------------------------------------------------------

    def native_would_serve(self, key: Any) -> bool:
        """Whether a call with ``key`` would be answered by native code now."""
        flag = self.flag
        if self.breaker.state is _OPEN:
            return False
        if flag.mode is _ENABLED:
            return True
        return flag.mode is _ROLLOUT and self._in_rollout(key, flag.percentage)


class _Registry:
    def __init__(self) -> None:
        self.lock = Lock()
        self.gates: dict[str, Gate] = {}


_registry = _Registry()


def _effective(snapshot: FlagSnapshot, name: str) -> FeatureFlag:
    flag = snapshot.features[name]
    return flag if snapshot.enabled else flag._replace(mode=Mode.DISABLED, source=snapshot.enabled_source)


def gates() -> dict[str, Gate]:
    """The gate of every feature, created on first use and updated on every flag swap."""
    if not _registry.gates:
        with _registry.lock:
            if not _registry.gates:
                snapshot = _flags.current()
                _registry.gates = {name: Gate(_effective(snapshot, name)) for name in _flags.FEATURES}
                _flags.on_change(_on_flags)
    return _registry.gates


def gate(feature: str) -> Gate:
    """The gate of ``feature``.

    Raises:
        KeyError: ``feature`` is not a feature name.
    """
    return gates()[feature]


def _on_flags(snapshot: FlagSnapshot) -> None:
    for name, feature_gate in _registry.gates.items():
        feature_gate.update(_effective(snapshot, name))
