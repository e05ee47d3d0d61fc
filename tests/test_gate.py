"""The gate: routing by mode, rollout and breaker; shadow comparisons; the monitor and its exports."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from conftest import FakeClock
from fast_litellm.control import report as _report
from fast_litellm.control.breaker import BreakerState
from fast_litellm.control.flags import BreakerSettings, FeatureFlag, Mode
from fast_litellm.control.gate import NOT_COVERED, Gate
from fast_litellm.control.monitor import SAMPLES, PathStats
from fast_litellm.control.rollout import checker


class Bodies:
    """A native body and an original that count their calls; native can be told to fail or lie."""

    def __init__(self) -> None:
        self.native_calls = 0
        self.original_calls = 0
        self.fail = False
        self.lie = False
        self.cover = True

    def native(self, x: int) -> Any:
        self.native_calls += 1
        if self.fail:
            raise RuntimeError("native broke")
        if not self.cover:
            return NOT_COVERED
        return x * 2 + (1 if self.lie else 0)

    def original(self, x: int) -> int:
        self.original_calls += 1
        if x < 0:
            raise ValueError("litellm's own error")
        return x * 2


def make_gate(mode: Mode = Mode.ENABLED, percentage: float = 100.0, clock: FakeClock | None = None,
              **breaker: Any) -> tuple[Gate, Bodies]:
    settings = BreakerSettings(**{"error_threshold": 3, "window": 20, "min_calls": 10, **breaker})
    return Gate(FeatureFlag("tokenizer", mode, percentage, settings), clock), Bodies()


def call(gate: Gate, bodies: Bodies, x: int, key: Any = None) -> Any:
    return gate.call(bodies.native, bodies.original, (x,), key)


def tripped_gate(clock: FakeClock) -> tuple[Gate, Bodies]:
    """An enabled gate whose breaker three native errors have just opened."""
    gate, bodies = make_gate(clock=clock)
    bodies.fail = True
    for _ in range(3):
        call(gate, bodies, 1)
    return gate, bodies


class TestRouting:
    def test_enabled_answers_natively(self) -> None:
        """Enabled: native answers, the original is not called, the call is counted."""
        gate, bodies = make_gate()
        assert [call(gate, bodies, i) for i in range(5000)] == [i * 2 for i in range(5000)]
        assert bodies.original_calls == 0 and gate.stats.native.calls == 5000

    def test_disabled_answers_with_the_original(self) -> None:
        """Disabled: native is never called."""
        gate, bodies = make_gate(Mode.DISABLED)
        assert call(gate, bodies, 4) == 8
        assert bodies.native_calls == 0 and gate.stats.python.calls == 1

    def test_not_covered_goes_to_the_original(self) -> None:
        """NOT_COVERED hands the call to the original and counts a fallback, not an error."""
        gate, bodies = make_gate()
        bodies.cover = False
        assert call(gate, bodies, 4) == 8
        assert bodies.original_calls == 1 and gate.stats.fallbacks["not_covered"] == 1
        assert gate.stats.native.errors == 0 and gate.breaker.clean

    def test_native_error_falls_back_and_is_counted(self) -> None:
        """A native exception is answered by the original and counted as a native error."""
        gate, bodies = make_gate()
        bodies.fail = True
        assert call(gate, bodies, 4) == 8
        assert gate.stats.native.errors == 1 and gate.stats.fallbacks["error"] == 1
        assert gate.stats.last_error == "RuntimeError: native broke"

    def test_original_exceptions_propagate_unchanged(self) -> None:
        """An exception raised by litellm's function reaches the caller as it is."""
        gate, bodies = make_gate(Mode.DISABLED)
        with pytest.raises(ValueError, match="litellm's own error"):
            call(gate, bodies, -1)
        assert gate.stats.python.errors == 1

    @pytest.mark.parametrize("percentage", [0, 30, 100])
    def test_rollout_follows_the_key_bucket(self, percentage: float) -> None:
        """Rollout: a keyed call is native exactly when its bucket is inside the percentage."""
        gate, bodies = make_gate(Mode.ROLLOUT, percentage)
        inside = checker("tokenizer")
        keys = [f"call-{i}" for i in range(2000)]
        for i, key in enumerate(keys):
            before = bodies.native_calls
            assert call(gate, bodies, i, key) == i * 2
            assert (bodies.native_calls > before) == inside(key, percentage)
        assert gate.stats.rollout_skipped == sum(not inside(k, percentage) for k in keys)

    def test_rollout_key_never_flips(self) -> None:
        """The same key takes the same path on every call."""
        gate, bodies = make_gate(Mode.ROLLOUT, 50)
        for key in ("a", "b", "c", "d"):
            paths = set()
            for _ in range(50):
                before = bodies.native_calls
                call(gate, bodies, 1, key)
                paths.add(bodies.native_calls > before)
            assert len(paths) == 1


class TestShadow:
    def test_returns_the_original_and_compares(self) -> None:
        """Shadow: both run, the original's result is returned, matches are counted."""
        gate, bodies = make_gate(Mode.SHADOW)
        assert [call(gate, bodies, i) for i in range(100)] == [i * 2 for i in range(100)]
        assert bodies.native_calls == 100 and bodies.original_calls == 100
        assert gate.stats.shadow_compared == 100 and gate.stats.shadow_mismatches == 0

    def test_records_mismatches_and_trips_the_breaker(self) -> None:
        """A different native result is recorded (truncated input) and counts as a native error."""
        gate, bodies = make_gate(Mode.SHADOW)
        bodies.lie = True
        results = [call(gate, bodies, 7) for _ in range(5)]
        assert results == [14] * 5  # the caller never sees the wrong value
        assert gate.stats.shadow_mismatches == 3
        assert gate.stats.mismatch_samples[0] == {"input": "(7,)", "expected": "14", "native": "15"}
        assert gate.breaker.state is BreakerState.OPEN
        assert bodies.native_calls == 3  # open: native no longer runs

    def test_long_inputs_are_truncated_in_records(self) -> None:
        """A mismatch keeps at most about 200 characters of each input."""
        gate = Gate(FeatureFlag("tokenizer", Mode.SHADOW, 100.0, BreakerSettings()))
        gate.call(lambda s: s + "!", lambda s: s, ("x" * 10_000,))
        sample = gate.stats.mismatch_samples[0]["input"]
        assert len(sample) < 260 and sample.endswith("chars)")

    def test_type_difference_is_a_mismatch(self) -> None:
        """Equal values of different types (a tuple for a list) count as a mismatch."""
        gate = Gate(FeatureFlag("tokenizer", Mode.SHADOW, 100.0, BreakerSettings()))
        assert gate.call(lambda: (1, 2), lambda: [1, 2], ()) == [1, 2]
        assert gate.stats.shadow_mismatches == 1

    def test_shadow_percentage_samples_calls(self) -> None:
        """Shadow at 20 % compares about a fifth of the keyed calls."""
        gate, bodies = make_gate(Mode.SHADOW, 20)
        for i in range(5000):
            call(gate, bodies, i, f"k{i}")
        assert bodies.original_calls == 5000
        assert 850 < gate.stats.shadow_compared < 1150


class TestBreakerInTheGate:
    def test_open_breaker_makes_zero_native_calls(self, fake_clock: FakeClock) -> None:
        """After the trip, 10,000 calls reach the original only, with correct results."""
        gate, bodies = tripped_gate(fake_clock)
        assert gate.breaker.state is BreakerState.OPEN
        calls = bodies.native_calls
        assert [call(gate, bodies, i) for i in range(10_000)] == [i * 2 for i in range(10_000)]
        assert bodies.native_calls == calls and gate.stats.fallbacks["breaker_open"] == 10_000

    def test_recovery_through_one_probe(self, fake_clock: FakeClock) -> None:
        """After the cool-down one probe runs; its success closes the breaker."""
        gate, bodies = tripped_gate(fake_clock)
        bodies.fail = False
        fake_clock.advance(30)
        assert call(gate, bodies, 5) == 10
        assert gate.breaker.state is BreakerState.CLOSED and gate.stats.breaker_transitions == 3

    def test_failure_rate_trips_through_the_gate(self) -> None:
        """Every third call failing (no three in a row) trips on the rate, counted by the gate."""
        gate, bodies = make_gate(failure_rate=0.3, error_threshold=100)
        for i in range(30):
            bodies.fail = i % 3 == 0
            call(gate, bodies, i)
        assert gate.breaker.state is BreakerState.OPEN

    def test_sixteen_threads_one_probe_reaches_native(self, fake_clock: FakeClock) -> None:
        """16 threads calling in half-open: exactly one native call; the rest get the original's answer."""
        gate, bodies = tripped_gate(fake_clock)
        bodies.fail = False
        fake_clock.advance(30)
        release = threading.Event()
        entered = []

        def slow_native(x: int) -> int:
            entered.append(x)
            release.wait(10)
            return x * 2

        barrier = threading.Barrier(16)
        results: list[int] = []

        def worker(i: int) -> None:
            barrier.wait()
            results.append(gate.call(slow_native, bodies.original, (i,)))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        while len(results) < 15:
            threading.Event().wait(0.01)
        release.set()
        for thread in threads:
            thread.join()
        assert len(entered) == 1 and sorted(results) == [i * 2 for i in range(16)]
        assert gate.breaker.state is BreakerState.CLOSED

    def test_no_lock_is_held_while_native_runs(self) -> None:
        """8 threads are inside the native body at the same time (a held lock would break the barrier)."""
        gate, bodies = make_gate()
        barrier = threading.Barrier(8, timeout=30)

        def native(x: int) -> int:
            barrier.wait()
            return x

        out: list[int] = []
        threads = [threading.Thread(target=lambda i=i: out.append(gate.call(native, bodies.original, (i,))))
                   for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(out) == list(range(8)) and not barrier.broken


class TestMonitor:
    def test_memory_is_fixed(self) -> None:
        """The latency ring keeps SAMPLES entries however many calls are recorded."""
        stats = PathStats()
        for i in range(SAMPLES * 10):
            stats.record(i)
        assert len(stats.ring) == SAMPLES and stats.calls == SAMPLES * 10

    def test_percentiles_of_known_samples(self) -> None:
        """p50/p95/p99 and the mean come from the recorded latencies."""
        stats = PathStats()
        for ns in range(1000, 101_000, 1000):  # 1..100 us
            stats.record(ns)
        summary = stats.summary()
        assert (summary["p50_us"], summary["p95_us"], summary["p99_us"]) == (51.0, 96.0, 100.0)
        assert summary["mean_us"] == pytest.approx(50.5)

    def test_every_call_counted_latency_sampled(self) -> None:
        """All calls are counted; after SAMPLES calls only one in 16 is timed (the runner's fast path)."""
        gate, bodies = make_gate()
        run = gate.runner(bodies.native, bodies.original)
        for i in range(SAMPLES + 1600):
            run((i,))
        assert gate.stats.native.calls == SAMPLES + 1600
        assert gate.stats.native.timed == SAMPLES + 100


class TestReports:
    @pytest.fixture(autouse=True)
    def clean_stats(self) -> Any:
        """Report tests start and end with zeroed feature stats."""
        for feature_gate in _report.gates().values():
            feature_gate.stats.reset()
        yield
        for feature_gate in _report.gates().values():
            feature_gate.stats.reset()

    def test_stats_and_comparison(self) -> None:
        """get_performance_stats and compare_implementations report what the gate recorded."""
        gate = _report.gates()["router"]
        for _ in range(60):
            gate.stats.native.record(1000)
            gate.stats.python.record(5000)
        stats = _report.get_performance_stats("router")["router"]
        assert stats["native"]["calls"] == 60 and stats["python"]["p50_us"] == 5.0
        comparison = _report.compare_implementations("router")["router"]
        assert comparison["speedup"] == pytest.approx(5.0) and comparison["faster"] == "native"
        with pytest.raises(KeyError):
            _report.get_performance_stats("nope")

    def test_recommendations_follow_the_data(self) -> None:
        """Mismatches call for investigation, a slower native for a look, clean shadow for enabling."""
        gates = _report.gates()
        assert _report.get_recommendations() == []
        gates["router"].stats.record_mismatch((1,), 2, 3)
        for _ in range(60):
            gates["rate_limiter"].stats.native.record(9000)
            gates["rate_limiter"].stats.python.record(1000)
        advice = {(a["feature"], a["action"]) for a in _report.get_recommendations()}
        assert ("router", "roll_back") in advice or ("router", "investigate") in advice
        assert ("rate_limiter", "investigate") in advice

    def test_exports_agree(self) -> None:
        """dict, JSON and Prometheus text carry the same counts."""
        gate = _report.gates()["tokenizer"]
        for _ in range(7):
            gate.stats.native.record(2000)
        as_dict = _report.export_performance_data("dict")
        assert json.loads(_report.export_performance_data("json")) == json.loads(json.dumps(as_dict))
        text = _report.export_performance_data("prometheus")
        assert 'fast_litellm_calls_total{feature="tokenizer",path="native"} 7' in text
        prometheus_client = pytest.importorskip("prometheus_client")
        from prometheus_client.parser import text_string_to_metric_families

        families = {f.name: f for f in text_string_to_metric_families(text)}
        calls = [s for s in families["fast_litellm_calls"].samples
                 if s.labels == {"feature": "tokenizer", "path": "native"}]
        assert calls[0].value == 7
        assert prometheus_client  # parsed by the reference parser
        with pytest.raises(ValueError):
            _report.export_performance_data("xml")

    def test_prometheus_collector(self) -> None:
        """A registered collector puts fast_litellm_* into a prometheus_client registry, once."""
        prometheus_client = pytest.importorskip("prometheus_client")
        registry = prometheus_client.CollectorRegistry()
        first = _report.register_prometheus_collector(registry)
        assert _report.register_prometheus_collector(registry) is first
        _report.gates()["tokenizer"].stats.native.record(1000)
        output = prometheus_client.generate_latest(registry).decode()
        assert 'fast_litellm_calls_total{feature="tokenizer",path="native"} 1.0' in output
        assert 'fast_litellm_breaker_state{feature="tokenizer"} 0.0' in output


class TestRunner:
    def test_runner_fast_path_matches_call(self) -> None:
        """Past the timed calls, runner() answers, falls back and counts errors exactly as call() does."""
        gate, bodies = make_gate()
        run = gate.runner(bodies.native, bodies.original)
        assert [run((i,)) for i in range(SAMPLES * 3)] == [i * 2 for i in range(SAMPLES * 3)]
        assert gate.stats.native.calls == SAMPLES * 3 and bodies.original_calls == 0
        bodies.cover = False
        assert [run((i,)) for i in range(100)] == [i * 2 for i in range(100)]
        assert gate.stats.fallbacks["not_covered"] == 100 and bodies.original_calls == 100
        bodies.cover, bodies.fail = True, True
        assert [run((i,)) for i in range(3)] == [0, 2, 4]
        assert gate.stats.native.errors == 3 and gate.breaker.state is BreakerState.OPEN
        native_calls = bodies.native_calls
        assert run((5,)) == 10 and bodies.native_calls == native_calls

    def test_runner_rollout_uses_the_key_and_the_fast_path(self) -> None:
        """In a rollout the runner sends exactly the keys inside the bucket to native, mostly untimed."""
        gate, bodies = make_gate(Mode.ROLLOUT, 40)
        run = gate.runner(bodies.native, bodies.original, lambda args: f"k{args[0]}")
        inside = checker("tokenizer")
        for i in range(6000):
            before = bodies.native_calls
            assert run((i,)) == i * 2
            assert (bodies.native_calls > before) == inside(f"k{i}", 40)
        native = gate.stats.native
        assert native.calls == sum(inside(f"k{i}", 40) for i in range(6000)) and native.timed < native.calls
        assert gate.stats.rollout_skipped == 6000 - native.calls

    def test_runner_respects_flags(self) -> None:
        """runner() follows a flag change made after it was built."""
        gate, bodies = make_gate()
        run = gate.runner(bodies.native, bodies.original)
        gate.update(FeatureFlag("tokenizer", Mode.DISABLED, 100.0, BreakerSettings()))
        assert run((3,)) == 6 and bodies.native_calls == 0
