"""The circuit breaker: every transition on a fake clock, probes under contention, no lock held."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from conftest import FakeClock
from fast_litellm.control.breaker import BreakerState, CircuitBreaker, Permit
from fast_litellm.control.flags import BreakerSettings

SETTINGS = BreakerSettings(error_threshold=3, failure_rate=0.5, window=10, min_calls=6,
                           cooldown_seconds=30.0, max_cooldown_seconds=100.0)


def make(clock: FakeClock, settings: BreakerSettings = SETTINGS) -> tuple[CircuitBreaker, list[Any]]:
    breaker = CircuitBreaker("test", settings, clock)
    events: list[Any] = []
    breaker.add_listener(lambda name, old, new, reason: events.append((old.value, new.value)))
    return breaker, events


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.record_failure(breaker.allow(), "boom")


def succeed(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.record_success(breaker.allow())


class TestClosed:
    def test_starts_closed_and_clean(self, fake_clock: FakeClock) -> None:
        """A new breaker admits native calls and needs no success reports."""
        breaker, _ = make(fake_clock)
        assert breaker.state is BreakerState.CLOSED and breaker.closed and breaker.clean
        assert breaker.allow() is Permit.NATIVE

    def test_opens_on_consecutive_errors(self, fake_clock: FakeClock) -> None:
        """error_threshold consecutive errors open it; one fewer does not."""
        breaker, events = make(fake_clock)
        fail(breaker, 2)
        assert breaker.state is BreakerState.CLOSED and not breaker.clean
        fail(breaker)
        assert breaker.state is BreakerState.OPEN and events == [("closed", "open")]
        assert breaker.trips == 1 and breaker.last_failure == "boom"

    def test_success_resets_the_consecutive_count(self, fake_clock: FakeClock) -> None:
        """Errors separated by successes do not add up to the consecutive threshold."""
        breaker, _ = make(fake_clock, BreakerSettings(error_threshold=3, failure_rate=1.0, window=100,
                                                      min_calls=100))
        for _ in range(20):
            fail(breaker, 2)
            succeed(breaker)
        assert breaker.state is BreakerState.CLOSED

    def test_opens_on_failure_rate_over_the_window(self, fake_clock: FakeClock) -> None:
        """Alternating errors reach a 50 % rate over the window once min_calls calls were seen."""
        breaker, _ = make(fake_clock)
        fail(breaker)
        succeed(breaker)
        fail(breaker)
        succeed(breaker)  # 4 calls, 2 failures: below min_calls
        assert breaker.state is BreakerState.CLOSED
        fail(breaker)  # 5 calls
        succeed(breaker)  # 6 calls, 3 failures: rate judged at the next failure
        fail(breaker)  # 7 calls, 4 failures = 57 %
        assert breaker.state is BreakerState.OPEN

    def test_old_failures_leave_the_window(self, fake_clock: FakeClock) -> None:
        """Failures older than the window no longer count, and the breaker becomes clean again."""
        breaker, _ = make(fake_clock)
        fail(breaker, 2)
        succeed(breaker, 10)
        assert breaker.clean
        fail(breaker)
        assert breaker.status()["recent_failures"] == 1 and breaker.state is BreakerState.CLOSED

    def test_rate_is_not_judged_below_min_calls(self, fake_clock: FakeClock) -> None:
        """Five failures out of five calls stay closed when the rate needs six calls; the sixth opens it."""
        breaker, _ = make(fake_clock, BreakerSettings(error_threshold=100, failure_rate=0.5, window=10,
                                                      min_calls=6))
        fail(breaker, 5)
        assert breaker.state is BreakerState.CLOSED
        fail(breaker)
        assert breaker.state is BreakerState.OPEN


class TestOpenAndHalfOpen:
    def opened(self, clock: FakeClock) -> tuple[CircuitBreaker, list[Any]]:
        breaker, events = make(clock)
        fail(breaker, 3)
        return breaker, events

    def test_open_denies_until_the_cooldown(self, fake_clock: FakeClock) -> None:
        """While open every call is denied, up to the last instant of the cool-down."""
        breaker, _ = self.opened(fake_clock)
        assert all(breaker.allow() is Permit.DENIED for _ in range(10_000))
        fake_clock.advance(29.999)
        assert breaker.allow() is Permit.DENIED

    def test_cooldown_leads_to_one_probe(self, fake_clock: FakeClock) -> None:
        """After the cool-down one call is the probe and the others are denied while it runs."""
        breaker, events = self.opened(fake_clock)
        fake_clock.advance(30)
        assert breaker.allow() is Permit.PROBE
        assert breaker.state is BreakerState.HALF_OPEN
        assert breaker.allow() is Permit.DENIED
        assert events == [("closed", "open"), ("open", "half_open")]

    def test_successful_probe_closes(self, fake_clock: FakeClock) -> None:
        """A successful probe closes the breaker and clears its window."""
        breaker, events = self.opened(fake_clock)
        fake_clock.advance(30)
        breaker.record_success(breaker.allow())
        assert breaker.state is BreakerState.CLOSED and breaker.clean
        assert events[-1] == ("half_open", "closed")
        fail(breaker, 2)
        assert breaker.state is BreakerState.CLOSED  # counts started afresh

    def test_failed_probe_reopens_with_doubled_cooldown(self, fake_clock: FakeClock) -> None:
        """A failed probe re-opens it; the cool-down doubles up to max_cooldown_seconds."""
        breaker, events = self.opened(fake_clock)
        waits = []
        for _ in range(4):
            wait = breaker.status()["cooldown_seconds"]
            waits.append(wait)
            fake_clock.advance(wait - 0.001)
            assert breaker.allow() is Permit.DENIED
            fake_clock.advance(0.001)
            permit = breaker.allow()
            assert permit is Permit.PROBE
            breaker.record_failure(permit, "still broken")
            assert breaker.state is BreakerState.OPEN
        assert waits == [30.0, 60.0, 100.0, 100.0]
        assert events.count(("half_open", "open")) == 4

    def test_probe_not_covered_frees_the_slot(self, fake_clock: FakeClock) -> None:
        """A probe whose input native does not cover lets the next call probe."""
        breaker, _ = self.opened(fake_clock)
        fake_clock.advance(30)
        permit = breaker.allow()
        breaker.release(permit)
        assert breaker.state is BreakerState.HALF_OPEN
        assert breaker.allow() is Permit.PROBE

    def test_close_resets_cooldown(self, fake_clock: FakeClock) -> None:
        """After a close, the next trip waits the base cool-down again."""
        breaker, _ = self.opened(fake_clock)
        fake_clock.advance(30)
        breaker.record_failure(breaker.allow(), "x")  # cool-down now 60
        fake_clock.advance(60)
        breaker.record_success(breaker.allow())
        fail(breaker, 3)
        assert breaker.status()["cooldown_seconds"] == 30.0

    def test_reset_closes(self, fake_clock: FakeClock) -> None:
        """reset() closes an open breaker and forgets its failures."""
        breaker, events = self.opened(fake_clock)
        breaker.reset()
        assert breaker.state is BreakerState.CLOSED and breaker.clean and breaker.last_failure is None
        assert events[-1] == ("open", "closed")

    def test_late_outcomes_of_calls_admitted_before_the_trip(self, fake_clock: FakeClock) -> None:
        """A native call that finishes after the trip changes nothing."""
        breaker, events = self.opened(fake_clock)
        breaker.record_failure(Permit.NATIVE, "late")
        breaker.record_success(Permit.NATIVE)
        assert breaker.state is BreakerState.OPEN and len(events) == 1


class TestThreads:
    def test_sixteen_threads_in_half_open_get_exactly_one_probe(self, fake_clock: FakeClock) -> None:
        """16 threads racing for the half-open slot: exactly one is granted the probe."""
        for _ in range(20):
            breaker, _ = make(fake_clock)
            fail(breaker, 3)
            fake_clock.advance(30)
            barrier = threading.Barrier(16)
            permits: list[Permit] = []

            def race() -> None:
                barrier.wait()
                permits.append(breaker.allow())

            threads = [threading.Thread(target=race) for _ in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert permits.count(Permit.PROBE) == 1 and permits.count(Permit.DENIED) == 15

    def test_threshold_is_exact_under_contention(self, fake_clock: FakeClock) -> None:
        """8 threads failing at once open the breaker exactly once."""
        breaker, events = make(fake_clock, BreakerSettings(error_threshold=50, failure_rate=1.0,
                                                           window=1000, min_calls=1000))
        barrier = threading.Barrier(8)

        def hammer() -> None:
            barrier.wait()
            for _ in range(100):
                breaker.record_failure(Permit.NATIVE, "x")

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert events == [("closed", "open")] and breaker.trips == 1

    def test_settings_can_change_while_open(self, fake_clock: FakeClock) -> None:
        """update_settings keeps the state and applies the new thresholds."""
        breaker, _ = make(fake_clock)
        fail(breaker, 3)
        breaker.update_settings(BreakerSettings(error_threshold=1, window=5))
        assert breaker.state is BreakerState.OPEN
        breaker.reset()
        fail(breaker)
        assert breaker.state is BreakerState.OPEN


@pytest.mark.parametrize("threshold", [1, 2, 5])
def test_any_threshold(fake_clock: FakeClock, threshold: int) -> None:
    """The consecutive threshold is exactly the configured number."""
    breaker, _ = make(fake_clock, BreakerSettings(error_threshold=threshold, failure_rate=1.0, window=100,
                                                  min_calls=100))
    fail(breaker, threshold - 1)
    assert breaker.state is BreakerState.CLOSED
    fail(breaker)
    assert breaker.state is BreakerState.OPEN
