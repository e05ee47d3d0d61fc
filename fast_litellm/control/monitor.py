"""The performance monitor: per feature and path, counters and latency in fixed memory.

Each path (``native``, ``python``) keeps its call and error counts, the sum
of its timed latencies and the last ``SAMPLES`` of them in a ring buffer, from
which p50/p95/p99 are read.  Memory never grows with traffic.  Every call is
counted; latency is timed on the first ``SAMPLES`` calls of a path and then on
one call in ``SAMPLE_EVERY`` (a clock read costs about as much as the gate
itself).  Recording is a few attribute writes and never raises into the call
path; readers take no lock, so counters may be a call apart under threads.
"""

from __future__ import annotations

from array import array
from collections import deque
from typing import Any

__all__ = ["SAMPLES", "FeatureStats", "PathStats"]

SAMPLES = 1024  # latencies kept per path; a power of two
_MASK = SAMPLES - 1
SAMPLE_EVERY = 16  # after the first SAMPLES calls, time one call in this many (a power of two)
MISMATCH_SAMPLES = 5  # shadow mismatches kept per feature
_TRUNCATE = 200  # characters kept of each input and result in a mismatch record


def _truncate(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _TRUNCATE else f"{text[:_TRUNCATE]}... ({len(text)} chars)"


class PathStats:
    """Calls, errors and latencies of one path of one feature."""

    __slots__ = ("calls", "errors", "ring", "timed", "total_ns")

    calls: int
    errors: int
    timed: int
    total_ns: int
    ring: array[int]

    def __init__(self) -> None:
        self.reset()

    def record(self, ns: int) -> None:
        """One completed, timed call that took ``ns`` nanoseconds."""
        t = self.timed
        self.ring[t & _MASK] = ns
        self.timed = t + 1
        self.total_ns += ns
        self.calls += 1

    def summary(self) -> dict[str, Any]:
        """Counts, mean and percentiles (in microseconds) of the timed calls."""
        timed = self.timed
        kept = sorted(self.ring[: min(timed, SAMPLES)])
        result: dict[str, Any] = {"calls": self.calls, "errors": self.errors}
        if kept:
            result["mean_us"] = self.total_ns / timed / 1000
            for name, q in (("p50_us", 0.50), ("p95_us", 0.95), ("p99_us", 0.99)):
                result[name] = kept[min(len(kept) - 1, int(q * len(kept)))] / 1000
            result["samples"] = len(kept)
        else:
            result.update(mean_us=None, p50_us=None, p95_us=None, p99_us=None, samples=0)
        return result

    def reset(self) -> None:
        """Zero the counters and the latency ring."""
        self.calls = 0
        self.errors = 0
        self.timed = 0
        self.total_ns = 0
        self.ring = array("q", bytes(8 * SAMPLES))


class FeatureStats:
    """Both paths of one feature, its fallbacks and its shadow comparisons."""

    def __init__(self, feature: str) -> None:
        self.feature = feature
        self.native = PathStats()
        self.python = PathStats()
        self.fallbacks: dict[str, int] = {"not_covered": 0, "error": 0, "breaker_open": 0}
        self.rollout_skipped = 0
        self.shadow_compared = 0
        self.shadow_mismatches = 0
        self.mismatch_samples: deque[dict[str, str]] = deque(maxlen=MISMATCH_SAMPLES)
        self.last_error: str | None = None
        self.breaker_transitions = 0

    def record_mismatch(self, args: tuple[Any, ...], expected: Any, got: Any) -> None:
        self.shadow_mismatches += 1
        self.mismatch_samples.append(
            {"input": _truncate(args), "expected": _truncate(expected), "native": _truncate(got)}
        )

    def summary(self) -> dict[str, Any]:
        native, python = self.native.summary(), self.python.summary()
        speedup = None
        if native.get("mean_us") and python.get("mean_us"):
            speedup = python["mean_us"] / native["mean_us"]
        return {
            "native": native,
            "python": python,
            "fallbacks": dict(self.fallbacks),
            "rollout_skipped": self.rollout_skipped,
            "shadow": {
                "compared": self.shadow_compared,
                "mismatches": self.shadow_mismatches,
                "samples": list(self.mismatch_samples),
            },
            "speedup": speedup,
            "last_error": self.last_error,
            "breaker_transitions": self.breaker_transitions,
        }

    def reset(self) -> None:
        """Zero every counter in place (the gate keeps references to the path objects)."""
        self.native.reset()
        self.python.reset()
        self.fallbacks = dict.fromkeys(self.fallbacks, 0)
        self.rollout_skipped = 0
        self.shadow_compared = 0
        self.shadow_mismatches = 0
        self.mismatch_samples.clear()
        self.last_error = None
        self.breaker_transitions = 0
