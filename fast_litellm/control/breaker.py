"""A circuit breaker per feature: native errors open it, and then litellm's own function runs.

States (the class docstrings of pybreaker's shape, written as one table):

* **closed**: every call may take the native path.  It opens after
  ``error_threshold`` consecutive native errors, or when at least
  ``min_calls`` of the last ``window`` native calls were seen and the share of
  errors among them reaches ``failure_rate``.
* **open**: no call reaches native code; the gate routes each one to litellm's
  original.  After ``cooldown`` seconds it turns half-open.
* **half-open**: exactly one call at a time (the probe) takes the native
  path; every other call goes to the original.  A successful probe closes the
  breaker; a failed one re-opens it with the cool-down doubled (up to
  ``max_cooldown_seconds``).  A probe whose input native does not cover
  frees the slot for the next call.

The lock is taken only for transitions, failures and the probe claim, never
while the guarded call runs.  The clock is injectable (tests drive every
transition with a fake one).

``clean`` (closed, no error in the window, no consecutive error) is the gate's
fast-path check: while it holds, a success changes nothing, so the gate need
not report it.  The window position then comes from ``outcomes()``, the
gate's count of native calls, which it keeps anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from fast_litellm._forksafe import Lock
from fast_litellm.control.flags import BreakerSettings

__all__ = ["BreakerState", "CircuitBreaker", "Permit"]

logger = logging.getLogger("fast_litellm")


class BreakerState(str, Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Permit(Enum):
    """What ``allow()`` grants one call."""

    NATIVE = "native"  # closed: take the native path
    PROBE = "probe"  # half-open: the one probe; report its outcome
    DENIED = "denied"  # open, or half-open with a probe in flight: use the original


Listener = Callable[[str, BreakerState, BreakerState, str], None]

# Enum members read through the class cost ~0.2 us each on CPython 3.11; the call path uses these.
_CLOSED, _OPEN, _HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
_NATIVE, _PROBE, _DENIED = Permit.NATIVE, Permit.PROBE, Permit.DENIED


class CircuitBreaker:
    """One feature's breaker.  ``closed`` is the lock-free fast-path check."""

    def __init__(
        self,
        name: str,
        settings: BreakerSettings,
        clock: Callable[[], float] = time.monotonic,
        outcomes: Callable[[], int] | None = None,
    ) -> None:
        """``outcomes()``, if given, counts every native outcome already recorded (this one
        included) and successes in the clean state need not be reported; without it the
        breaker counts the calls to record_success/record_failure itself."""
        self.name = name
        self._outcomes = outcomes
        self._count = 0
        self._settings = settings
        self._clock = clock
        self._lock = Lock()
        self._listeners: list[Listener] = []
        self.state = _CLOSED
        self.closed = True
        self.clean = True
        self.trips = 0
        self.last_failure: str | None = None
        self._cooldown = settings.cooldown_seconds
        self._retry_at = 0.0
        self._probe_busy = False
        self._reset_window()

    # -- configuration ---------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(name, old, new, reason)`` after every transition."""
        self._listeners.append(listener)

    @property
    def settings(self) -> BreakerSettings:
        return self._settings

    def update_settings(self, settings: BreakerSettings) -> None:
        """Use new thresholds from now on (a flag reload); the state is kept."""
        with self._lock:
            if settings.window != self._settings.window:
                self._settings = settings
                self._reset_window()
            self._settings = settings
            if self.state is _CLOSED:
                self._cooldown = settings.cooldown_seconds

    def _total(self) -> int:
        return self._outcomes() if self._outcomes is not None else self._count

    def _reset_window(self) -> None:
        self._consecutive = 0
        self._base = self._total()  # outcomes before the window started
        self._failures = 0  # failures among the last `window` outcomes
        self._ring = bytearray(self._settings.window)  # 1 = failure, at (outcome - 1) % window
        self.clean = self.state is _CLOSED

    # -- the call path ---------------------------------------------------------------------

    def allow(self) -> Permit:
        """May this call take the native path?  Never blocks on a running call."""
        if self.closed:
            return _NATIVE
        changed = None
        with self._lock:
            if self.state is _OPEN:
                if self._clock() < self._retry_at:
                    return _DENIED
                changed = self._transition(_HALF_OPEN, "cool-down elapsed")
            if self.state is _HALF_OPEN:
                if self._probe_busy:
                    permit = _DENIED
                else:
                    self._probe_busy = True
                    permit = _PROBE
            else:
                permit = _NATIVE
        self._notify(changed)
        return permit

    def record_success(self, permit: Permit = Permit.NATIVE) -> None:
        """A native call finished and its result was right."""
        if self._outcomes is None:
            self._count += 1
        if permit is _PROBE:
            with self._lock:
                self._probe_busy = False
                changed = self._transition(_CLOSED, "probe succeeded")
                self._cooldown = self._settings.cooldown_seconds
                self._reset_window()
            self._notify(changed)
            return
        if self.clean:
            return
        with self._lock:
            if self.state is _CLOSED:
                self._consecutive = 0
                self._push(0)
                self.clean = self._failures == 0

    def record_failure(self, permit: Permit, reason: str) -> None:
        """A native call raised, or its result differed from litellm's (shadow mode)."""
        if self._outcomes is None:
            self._count += 1
        changed = None
        with self._lock:
            self.last_failure = reason
            if permit is _PROBE:
                self._probe_busy = False
                self._cooldown = min(self._cooldown * 2, self._settings.max_cooldown_seconds)
                changed = self._open(f"probe failed: {reason}")
            elif self.state is _CLOSED:
                self.clean = False
                self._consecutive += 1
                self._push(1)
                settings = self._settings
                calls = min(self._total() - self._base, settings.window)
                if self._consecutive >= settings.error_threshold:
                    changed = self._open(f"{self._consecutive} consecutive native errors: {reason}")
                elif calls >= settings.min_calls and self._failures >= settings.failure_rate * calls:
                    changed = self._open(
                        f"{self._failures} of the last {calls} native calls failed: {reason}"
                    )
        self._notify(changed)

    def release(self, permit: Permit) -> None:
        """A permitted call did not run native code after all (input not covered)."""
        if permit is _PROBE:
            with self._lock:
                self._probe_busy = False

    def reset(self) -> None:
        """Close the breaker and forget every recorded outcome."""
        with self._lock:
            changed = self._transition(_CLOSED, "reset")
            self._cooldown = self._settings.cooldown_seconds
            self._probe_busy = False
            self.last_failure = None
            self._reset_window()
        self._notify(changed)

    # -- internals (lock held) ---------------------------------------------------------------

    def _push(self, failed: int) -> None:
        index = (self._total() - self._base - 1) % len(self._ring)
        self._failures += failed - self._ring[index]
        self._ring[index] = failed

    def _open(self, reason: str) -> tuple[BreakerState, BreakerState, str] | None:
        self._retry_at = self._clock() + self._cooldown
        self.trips += 1
        return self._transition(_OPEN, reason)

    def _transition(self, new: BreakerState, reason: str) -> tuple[BreakerState, BreakerState, str] | None:
        old = self.state
        if old is new:
            return None
        self.state = new
        self.closed = new is _CLOSED
        self.clean = self.closed and self._failures == 0 and self._consecutive == 0
        return old, new, reason

    def _notify(self, changed: tuple[BreakerState, BreakerState, str] | None) -> None:
        if changed is None:
            return
        old, new, reason = changed
        log = logger.warning if new is _OPEN else logger.info
        log("fast_litellm: %s breaker %s -> %s (%s)", self.name, old.value, new.value, reason)
        for listener in list(self._listeners):
            try:
                listener(self.name, old, new, reason)
            except Exception:  # noqa: BLE001 - a listener bug must not break the call path
                logger.exception("fast_litellm: breaker listener failed")

    def status(self) -> dict[str, Any]:
        """State, counters and timing as plain values."""
        retry_in = max(0.0, self._retry_at - self._clock()) if self.state is _OPEN else 0.0
        return {
            "state": self.state.value,
            "consecutive_errors": self._consecutive,
            "recent_failures": self._failures,
            "recent_calls": min(self._total() - self._base, self._settings.window),
            "trips": self.trips,
            "cooldown_seconds": self._cooldown,
            "retry_in_seconds": retry_in,
            "last_failure": self.last_failure,
        }
