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
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import Any, Final, Protocol

from fast_litellm._forksafe import Lock
from fast_litellm.control import flags as _flags
from fast_litellm.control import rollout as _rollout
from fast_litellm.control.breaker import BreakerState, CircuitBreaker, Permit
from fast_litellm.control.flags import FeatureFlag, FlagSnapshot, Mode
from fast_litellm.control.monitor import SAMPLE_EVERY, SAMPLES, FeatureStats

__all__ = ["NOT_COVERED", "Gate", "Raised", "gate", "gates", "mark_wrapper"]

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


class Raised(Exception):
    """What a native body raises around an exception of litellm's own code it called (a cache
    read, a litellm helper): the gate raises that exception to the caller as litellm's function
    would have, without counting a native failure or calling the original, which would repeat
    litellm's call and its effects."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc


_ENABLED = Mode.ENABLED
_ROLLOUT = Mode.ROLLOUT
_SHADOW = Mode.SHADOW
# Enum members read through the class cost ~0.2 us each on CPython 3.11; the call path uses these.
_NATIVE, _DENIED = Permit.NATIVE, Permit.DENIED
_OPEN = BreakerState.OPEN
_UNTIMED_MASK = SAMPLE_EVERY - 1


class StateKeeper(Protocol):
    """Saves and restores state outside a call (``Gate.keeper``)."""

    def save(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


class _Resolved:
    """A native result already awaited, for ``_compare`` (which calls its native)."""

    def __init__(self, outcome: tuple[Any, BaseException | None]) -> None:
        self.outcome = outcome

    def __call__(self, *args: Any) -> Any:
        result, error = self.outcome
        if error is not None:
            raise error
        return result


async def _maybe_native(native: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> tuple[Any, BaseException | None]:
    try:
        return await native(*args), None
    except Exception as exc:  # noqa: BLE001 - raised again inside _compare, which counts it
        return None, exc


def mark_wrapper(wrapper: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    """``wrapper`` marked as fast-litellm's stand-in for ``original``: ``__wrapped__`` (so
    ``inspect.unwrap`` and the source guards reach the original), its docstring, and
    ``__fast_litellm__`` (what the patcher checks before it wraps anything again)."""
    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    wrapper.__doc__ = original.__doc__
    wrapper.__fast_litellm__ = True  # type: ignore[attr-defined]
    return wrapper


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
        # State outside the call that both paths change (the random module's, for the router):
        # saved and restored around a shadow comparison, so the native twin draws what the
        # original drew and the caller's state goes on from where the original left it.
        self.keeper: StateKeeper | None = None
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
                    except Raised as raised:
                        raise raised.exc from None
                    except Exception as exc:  # noqa: BLE001 - ours: count it, answer with the original
                        return gate._native_failed(exc, _NATIVE, original, args)
                    if result is not NOT_COVERED:
                        stats.calls = n + 1
                        return result
                    return gate._python(original, args, "not_covered")
            return gate._guarded(native, original, args)

        return run

    def async_runner(
        self,
        native: Callable[..., Awaitable[Any]],
        original: Callable[..., Awaitable[Any]],
    ) -> Callable[[tuple[Any, ...]], Awaitable[Any]]:
        """``runner`` for coroutine functions: ``await run(args)`` answers through ``native`` (which
        may return ``NOT_COVERED``) or ``original`` as the flags say.  Every native call is timed
        (the async paths are not the per-token ones); shadow mode awaits both and compares their
        results (not ``keeper``'s state: other tasks may change it between the two awaits)."""
        gate = self

        async def run(args: tuple[Any, ...]) -> Any:
            if not (gate.all_native or (gate.rollout and gate._in_rollout(None, gate.flag.percentage))):
                if gate.rollout:
                    gate.stats.rollout_skipped += 1
                elif gate.flag.mode is _SHADOW:
                    expected = await gate._python_async(original, args, None)
                    return gate._compare(expected, _Resolved(await _maybe_native(native, args)), args)
                return await gate._python_async(original, args, None)
            breaker = gate.breaker
            permit = breaker.allow()
            if permit is _DENIED:
                return await gate._python_async(original, args, "breaker_open")
            start = perf_counter_ns()
            try:
                result = await native(*args)
            except Raised as raised:
                breaker.release(permit)
                raise raised.exc from None
            except Exception as exc:
                gate.stats.native.errors += 1
                gate.stats.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("fast_litellm: native %s failed; litellm's own function answers", gate.name,
                               exc_info=exc)
                breaker.record_failure(permit, gate.stats.last_error)
                return await gate._python_async(original, args, "error")
            if result is NOT_COVERED:
                breaker.release(permit)
                return await gate._python_async(original, args, "not_covered")
            gate.stats.native.record(perf_counter_ns() - start)
            breaker.record_success(permit)
            return result

        return run

    async def _python_async(self, original: Callable[..., Awaitable[Any]], args: tuple[Any, ...],
                            fallback: str | None) -> Any:
        stats = self.stats
        if fallback is not None:
            stats.fallbacks[fallback] += 1
        start = perf_counter_ns()
        try:
            result = await original(*args)
        except BaseException:
            stats.python.errors += 1
            raise
        stats.python.record(perf_counter_ns() - start)
        return result

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
        except Raised as raised:
            breaker.release(permit)
            raise raised.exc from None
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
        keeper = self.keeper
        if keeper is None:
            return self._compare(self._python(original, args, None), native, args)
        before = keeper.save()
        expected = self._python(original, args, None)
        after = keeper.save()
        keeper.restore(before)
        try:
            return self._compare(expected, native, args, lambda: keeper.save() == after)
        finally:
            keeper.restore(after)

    def _compare(self, expected: Any, native: Callable[..., Any], args: tuple[Any, ...],
                 same_state: Callable[[], bool] | None = None) -> Any:
        """The native half of a shadow call: run it, compare with ``expected`` (and, with
        ``same_state``, the state it left with the original's), return ``expected``."""
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
            if same and same_state is not None:
                same = same_state()
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
