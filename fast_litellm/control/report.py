"""What the monitor saw: stats, native-vs-Python comparison, recommendations and exports.

Exports come from one list of metric families (``metric_families``), so the
dict/JSON, the Prometheus text format and the ``prometheus_client`` collector
always agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fast_litellm._forksafe import Lock
from fast_litellm.control.breaker import BreakerState
from fast_litellm.control.flags import Mode
from fast_litellm.control.gate import Gate, gates

__all__ = [
    "compare_implementations",
    "export_performance_data",
    "get_performance_stats",
    "get_recommendations",
    "metric_families",
    "register_prometheus_collector",
]

MIN_SAMPLES = 50  # calls per path before speed is judged
ENABLE_AFTER = 1000  # clean shadow comparisons before "enable" is recommended
MAX_ERROR_RATE = 0.01  # native error share that calls for a roll-back


def _select(feature: str | None) -> dict[str, Gate]:
    all_gates = gates()
    if feature is None:
        return all_gates
    if feature not in all_gates:
        raise KeyError(f"unknown feature {feature!r}; expected one of {', '.join(all_gates)}")
    return {feature: all_gates[feature]}


def get_performance_stats(feature: str | None = None) -> dict[str, dict[str, Any]]:
    """Per feature: its mode, breaker, and per path calls, errors and latency (us).

    Raises:
        KeyError: ``feature`` is not a feature name.
    """
    result = {}
    for name, gate in _select(feature).items():
        entry = gate.stats.summary()
        entry["mode"] = gate.flag.mode.value
        entry["percentage"] = gate.flag.percentage
        entry["breaker"] = gate.breaker.status()
        result[name] = entry
    return result


def compare_implementations(feature: str | None = None) -> dict[str, dict[str, Any]]:
    """Per feature: native against Python latency, and which one is faster (None: too few calls).

    In shadow mode both paths ran on the same inputs; otherwise the Python samples are
    the calls the native path did not take (other inputs), so read them with care.

    Raises:
        KeyError: ``feature`` is not a feature name.
    """
    result = {}
    for name, gate in _select(feature).items():
        native, python = gate.stats.native.summary(), gate.stats.python.summary()
        enough = native["calls"] >= MIN_SAMPLES and python["calls"] >= MIN_SAMPLES
        speedup = python["mean_us"] / native["mean_us"] if enough and native["mean_us"] else None
        result[name] = {
            "native": {k: native[k] for k in ("calls", "mean_us", "p50_us", "p95_us", "p99_us")},
            "python": {k: python[k] for k in ("calls", "mean_us", "p50_us", "p95_us", "p99_us")},
            "speedup": speedup,
            "p50_speedup": python["p50_us"] / native["p50_us"] if enough and native["p50_us"] else None,
            "faster": None if speedup is None else ("native" if speedup >= 1 else "python"),
            "same_inputs": gate.flag.mode is Mode.SHADOW,
        }
    return result


def _advice(name: str, gate: Gate) -> Iterator[dict[str, Any]]:
    stats, mode = gate.stats, gate.flag.mode
    native = stats.native
    tried = native.calls + native.errors

    def item(action: str, priority: str, reason: str) -> dict[str, Any]:
        return {"feature": name, "action": action, "priority": priority, "reason": reason,
                "mode": mode.value}

    if stats.shadow_mismatches:
        sample = stats.mismatch_samples[-1]["input"] if stats.mismatch_samples else ""
        action = "investigate" if mode is Mode.SHADOW else "roll_back"
        yield item(action, "high", f"{stats.shadow_mismatches} shadow mismatches with litellm's result "
                                   f"(latest input {sample}); keep it off until they are explained")
    if gate.breaker.state is not BreakerState.CLOSED:
        yield item("investigate", "high", f"circuit breaker is {gate.breaker.state.value}: "
                                          f"{gate.breaker.last_failure}")
    elif tried >= 20 and native.errors / tried > MAX_ERROR_RATE:
        yield item("roll_back", "high", f"native errors on {native.errors} of {tried} calls "
                                        f"({native.errors / tried:.1%})")
    comparison = compare_implementations(name)[name]
    if comparison["faster"] == "python":
        yield item("investigate", "medium",
                   f"native is slower than Python here (mean {comparison['native']['mean_us']:.1f} us vs "
                   f"{comparison['python']['mean_us']:.1f} us"
                   + ("" if comparison["same_inputs"] else "; the Python calls had other inputs") + ")")
    clean = not stats.shadow_mismatches and not native.errors
    if mode is Mode.SHADOW and clean and stats.shadow_compared >= ENABLE_AFTER:
        speed = f", {comparison['speedup']:.1f}x faster" if comparison["speedup"] else ""
        yield item("enable", "medium", f"{stats.shadow_compared} shadow comparisons without a mismatch"
                                       f"{speed}")
    if mode is Mode.ROLLOUT and clean and native.calls >= ENABLE_AFTER and gate.flag.percentage < 100:
        yield item("raise_rollout", "low", f"{native.calls} native calls at {gate.flag.percentage:g}% "
                                           "without an error")
    covered = native.calls + stats.fallbacks["not_covered"]
    if covered >= MIN_SAMPLES and stats.fallbacks["not_covered"] > native.calls:
        yield item("info", "low", f"{stats.fallbacks['not_covered']} of {covered} calls had inputs the "
                                  "native path does not cover and ran litellm's own function")


def get_recommendations() -> list[dict[str, Any]]:
    """What the data says to do per feature: enable, roll back, raise a rollout or investigate."""
    order = {"high": 0, "medium": 1, "low": 2}
    advice = [entry for name, gate in gates().items() for entry in _advice(name, gate)]
    return sorted(advice, key=lambda entry: order[entry["priority"]])


# ---------------------------------------------------------------------------------------------
# Metric families and exports


class MetricFamily:
    """One Prometheus metric family: name, type (counter, gauge or summary), help and samples."""

    __slots__ = ("help", "kind", "name", "samples")

    def __init__(self, name: str, kind: str, help: str) -> None:  # noqa: A002 - Prometheus' word
        self.name = name
        self.kind = kind
        self.help = help
        self.samples: list[tuple[str, dict[str, str], float]] = []


_BREAKER_CODES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def metric_families() -> list[MetricFamily]:
    """Every metric of every feature, in Prometheus terms (latencies in seconds)."""
    calls = MetricFamily("fast_litellm_calls", "counter", "Calls answered, by feature and path.")
    errors = MetricFamily("fast_litellm_errors", "counter",
                          "Errors by feature and path (native: exceptions and shadow mismatches).")
    fallbacks = MetricFamily("fast_litellm_fallbacks", "counter",
                             "Calls that went to litellm's original instead of the native path.")
    mismatches = MetricFamily("fast_litellm_shadow_mismatches", "counter",
                              "Shadow-mode results that differed from litellm's.")
    compared = MetricFamily("fast_litellm_shadow_compared", "counter", "Shadow-mode comparisons.")
    latency = MetricFamily("fast_litellm_latency_seconds", "summary",
                           "Latency of recent calls (last 1024 per path).")
    breaker = MetricFamily("fast_litellm_breaker_state", "gauge",
                           "Circuit breaker: 0 closed, 1 half-open, 2 open.")
    trips = MetricFamily("fast_litellm_breaker_trips", "counter", "Times the breaker opened.")
    mode = MetricFamily("fast_litellm_feature_mode", "gauge", "1 for the feature's current mode.")
    for name, gate in gates().items():
        stats = gate.stats
        for path, path_stats in (("native", stats.native), ("python", stats.python)):
            labels = {"feature": name, "path": path}
            calls.samples.append(("fast_litellm_calls_total", labels, path_stats.calls))
            errors.samples.append(("fast_litellm_errors_total", labels, path_stats.errors))
            summary = path_stats.summary()
            for quantile, key in (("0.5", "p50_us"), ("0.95", "p95_us"), ("0.99", "p99_us")):
                value = summary[key]
                latency.samples.append(("fast_litellm_latency_seconds", {**labels, "quantile": quantile},
                                        float("nan") if value is None else value / 1e6))
            latency.samples.append(("fast_litellm_latency_seconds_sum", labels, path_stats.total_ns / 1e9))
            latency.samples.append(("fast_litellm_latency_seconds_count", labels, path_stats.calls))
        for reason, count in stats.fallbacks.items():
            fallbacks.samples.append(("fast_litellm_fallbacks_total", {"feature": name, "reason": reason},
                                      count))
        mismatches.samples.append(("fast_litellm_shadow_mismatches_total", {"feature": name},
                                   stats.shadow_mismatches))
        compared.samples.append(("fast_litellm_shadow_compared_total", {"feature": name},
                                 stats.shadow_compared))
        breaker.samples.append(("fast_litellm_breaker_state", {"feature": name},
                                _BREAKER_CODES[gate.breaker.state]))
        trips.samples.append(("fast_litellm_breaker_trips_total", {"feature": name}, gate.breaker.trips))
        for each in Mode:
            mode.samples.append(("fast_litellm_feature_mode", {"feature": name, "mode": each.value},
                                 1.0 if gate.flag.mode is each else 0.0))
    return [calls, errors, fallbacks, compared, mismatches, latency, breaker, trips, mode]


def _label_text(labels: dict[str, str]) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return ",".join(f'{key}="{escape(value)}"' for key, value in labels.items())


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    return repr(float(value)) if isinstance(value, float) else str(value)


def prometheus_text() -> str:
    """The metrics in the Prometheus text exposition format (version 0.0.4)."""
    lines = []
    for family in metric_families():
        name = f"{family.name}_total" if family.kind == "counter" else family.name  # 0.0.4 convention
        lines.append(f"# HELP {name} {family.help}")
        lines.append(f"# TYPE {name} {family.kind}")
        for sample, labels, value in family.samples:
            lines.append(f"{sample}{{{_label_text(labels)}}} {_number(value)}")
    return "\n".join(lines) + "\n"


def export_performance_data(format: str = "dict") -> Any:  # noqa: A002 - the public name
    """The stats as a ``dict``, a ``json`` string or Prometheus ``prometheus`` text.

    Raises:
        ValueError: an unknown format.
    """
    if format == "dict":
        return get_performance_stats()
    if format == "json":
        return json.dumps(get_performance_stats(), indent=2, sort_keys=True, default=str)
    if format in ("prometheus", "openmetrics", "text"):
        return prometheus_text()
    raise ValueError(f"unknown format {format!r}; expected 'dict', 'json' or 'prometheus'")


class _Collector:
    """A prometheus_client collector over ``metric_families``."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import Metric

        for family in metric_families():
            metric = Metric(family.name, family.help, family.kind)
            for sample, labels, value in family.samples:
                metric.add_sample(sample, labels, value)
            yield metric


_registered: dict[int, _Collector] = {}
_registered_lock = Lock()


def register_prometheus_collector(registry: Any = None) -> Any:
    """Add fast-litellm's metrics to a prometheus_client registry (default: the global one).

    LiteLLM proxy's ``/metrics`` serves the global registry, so after this call its
    output includes ``fast_litellm_*``.  Registering twice is a no-op.

    Raises:
        ImportError: prometheus_client is not installed.
    """
    from prometheus_client import REGISTRY

    target = REGISTRY if registry is None else registry
    with _registered_lock:
        if id(target) not in _registered:
            collector = _Collector()
            target.register(collector)
            _registered[id(target)] = collector
        return _registered[id(target)]
