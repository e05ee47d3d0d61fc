"""The latency-based and usage-based (v1) strategies: the native scans pick what litellm picks.

Each case calls litellm's own method (``get_original``) and the patched one on equal copies of the
same inputs, from the same ``random`` seed, and compares everything a caller can see: the
deployment returned (the same object), the exception, the state of ``random`` afterwards (so every
later draw is litellm's too), the usage map in the cache (entries added, in order) and what was
written into ``request_kwargs``.  The inputs are generated: groups of 1 to 1000 deployments with
repeated ids, rpm/tpm limits at every level litellm reads them from (including falsy ones), usage
maps with stale ids, usage at and over the limits, latency and time-to-first-token samples
(negative, zero, ints, NaN and inf among them), buffers, percentiles and streaming requests.

Planting a bug shows the tests can fail: making the C sort unstable (``y <= x`` in
sort_by_latency), counting rpm with ``>`` instead of ``>=`` in usage_select, or drawing with
``random.choice`` before the shuffle each fail ``test_latency_pick`` / ``test_usage_pick``.
"""

from __future__ import annotations

import asyncio
import copy
import math
import random
import sys
from typing import Any

import pytest
from conftest import STRATEGY_NOW as NOW

import fast_litellm
from fast_litellm.adapters.patching import get_original
from fast_litellm.control.gate import gate

pytest.importorskip("litellm")

from litellm.caching.caching import DualCache
from litellm.router_strategy import lowest_cost, lowest_latency, lowest_tpm_rpm, simple_shuffle  # noqa: F401

LATENCY = ("litellm.router_strategy.lowest_latency", "LowestLatencyLoggingHandler._get_available_deployments")
USAGE = ("litellm.router_strategy.lowest_tpm_rpm", "LowestTPMLoggingHandler.get_available_deployments")
NEWER = "_usable_latency_samples" in vars(lowest_latency)  # litellm 1.109+
LATENCY_KEY = "latency_normalized" if NEWER else "latency"

pytestmark = pytest.mark.usefixtures("router_on", "strategy_clock")




def patched(site: tuple[str, str]) -> Any:
    cls_name, attr = site[1].split(".")
    method = vars(getattr(sys.modules[site[0]], cls_name))[attr]
    assert getattr(method, "__fast_litellm__", False), f"{site} is not patched"
    return method


def group(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        ident = f"id{rng.randrange(2 * n)}" if rng.random() < 0.1 else f"id{i}"  # some ids repeat
        d: dict[str, Any] = {"model_name": "g", "model_info": {"id": ident},
                             "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": f"http://h{i}"}}
        params, info = d["litellm_params"], d["model_info"]
        if rng.random() < 0.3:
            params["rpm"] = rng.choice([0, 1, 2, 5, 100, 2.5])
        if rng.random() < 0.3:
            params["tpm"] = rng.choice([0, 10, 1000, 10**6, 1e9])
        if rng.random() < 0.1:
            d["tpm"] = rng.choice([None, 0, 50, True])
        if rng.random() < 0.1:
            info["rpm"] = rng.choice([1, 3, None])
        if rng.random() < 0.05:
            params["api_base"] = None
        if rng.random() < 0.05:
            del params["api_base"]
        if rng.random() < 0.03:
            params["api_base"] = f"http://h{rng.randrange(n)}"  # two deployments, one api_base
        out.append(d)
    return out


SAMPLES = [0.1, 0.2, 0.5, 1.0, 2.0, 0, 1, 3, 1000.0, 0.1 + 0.2, 1e-9]
ODD_SAMPLES = [-1.0, math.inf, math.nan, -0.5]


def usage_map(rng: random.Random, deployments: list[dict[str, Any]], minute: str, odd: bool) -> dict[str, Any]:
    pool = SAMPLES + (ODD_SAMPLES if odd and NEWER else [])
    counts: dict[str, Any] = {}
    for d in deployments:
        if rng.random() < 0.7:
            entry: dict[str, Any] = {}
            if rng.random() < 0.9:
                entry[LATENCY_KEY] = [rng.choice(pool) for _ in range(rng.randrange(0, 11))]
            if rng.random() < 0.5:
                entry["time_to_first_token_seconds"] = [rng.choice(pool) for _ in range(rng.randrange(0, 4))]
            if rng.random() < 0.8:
                entry[minute] = {"tpm": rng.choice([0, 5, 100, 5000]), "rpm": rng.choice([0, 1, 2, 4])}
            counts[d["model_info"]["id"]] = entry
    for j in range(rng.randrange(3)):
        counts[f"stale{j}"] = {LATENCY_KEY: [0.01]}  # a deployment no longer in the group
    return counts


def outcome(call: Any) -> tuple[Any, Any, Any]:
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 - compared with litellm's
        return None, repr(exc), random.getstate()
    return result, None, random.getstate()


def latency_case(rng: random.Random, n: int) -> dict[str, Any]:
    minute = NOW.strftime("%Y-%m-%d-%H-%M")
    deployments = group(rng, n)
    return {
        "deployments": deployments,
        "counts": usage_map(rng, deployments, minute, odd=rng.random() < 0.3),
        "routing_args": {"lowest_latency_buffer": rng.choice([0, 0.0, 0.5, 2.0]),
                         "ttft_percentile": rng.choice([None, None, 0.5, 0.9, 1.0])},
        "request_kwargs": rng.choice([None, {}, {"stream": True, "metadata": {}}, {"metadata": {"a": 1}},
                                      {"litellm_metadata": {}, "stream": True}, {"stream": False}]),
        "messages": [{"role": "user", "content": "hello " * rng.randrange(1, 40)}],
        "seed": rng.randrange(2**32),
    }


def run_latency(method: Any, case: dict[str, Any]) -> tuple[Any, ...]:
    handler = lowest_latency.LowestLatencyLoggingHandler(DualCache(), case["routing_args"])
    counts, request_kwargs = copy.deepcopy(case["counts"]), copy.deepcopy(case["request_kwargs"])
    random.seed(case["seed"])
    picked, error, state = outcome(lambda: method(
        handler, "g", case["deployments"], case["messages"], None, request_kwargs, counts))
    return picked, error, state, counts, list(counts), request_kwargs


def same(expected: tuple[Any, ...], got: tuple[Any, ...]) -> bool:
    if expected[0] is not got[0]:
        return False
    return all(_equal(a, b) for a, b in zip(expected[1:], got[1:]))


def _equal(a: Any, b: Any) -> bool:
    """== that treats NaN as equal to NaN (the maps hold NaN samples)."""
    return repr(a) == repr(b) and (a == b or "nan" in repr(a))


@pytest.mark.parametrize("sizes", [(1, 2, 3), (5, 10, 30), (100,), (1000,)], ids=str)
def test_latency_pick(sizes: tuple[int, ...]) -> None:
    original, ours = get_original(*LATENCY), patched(LATENCY)
    stats = gate("router").stats.native
    calls = stats.calls
    rng = random.Random(sizes[0])
    cases = max(20, 3000 // max(sizes))
    for i in range(cases):
        case = latency_case(rng, sizes[i % len(sizes)])
        expected, got = run_latency(original, case), run_latency(ours, case)
        assert same(expected, got), (case, expected[:2], got[:2])
    assert stats.calls - calls >= cases * 0.9, "most picks should be native"


def usage_cache(rng: random.Random, deployments: list[dict[str, Any]]) -> DualCache:
    cache = DualCache()
    minute = NOW.strftime("%H-%M")
    if rng.random() < 0.8:
        cache.set_cache(f"g:tpm:{minute}", {d["model_info"]["id"]: rng.choice([0, 10, 500, 10**6, 2.5])
                                            for d in deployments if rng.random() < 0.7})
    if rng.random() < 0.7:
        cache.set_cache(f"g:rpm:{minute}", {d["model_info"]["id"]: rng.choice([0, 1, 2, 4])
                                            for d in deployments if rng.random() < 0.7})
    return cache


def run_usage(method: Any, deployments: list[dict[str, Any]], cache: DualCache, messages: Any) -> tuple[Any, ...]:
    handler = lowest_tpm_rpm.LowestTPMLoggingHandler(cache, {})
    picked, error, _ = outcome(lambda: method(handler, "g", deployments, messages, None))
    return picked, error, copy.deepcopy(cache.in_memory_cache.cache_dict)


@pytest.mark.parametrize("sizes", [(1, 2, 3), (5, 10, 30), (100,), (1000,)], ids=str)
def test_usage_pick(sizes: tuple[int, ...]) -> None:
    original, ours = get_original(*USAGE), patched(USAGE)
    stats = gate("router").stats.native
    calls = stats.calls
    rng = random.Random(sizes[0] + 7)
    cases = max(20, 3000 // max(sizes))
    for i in range(cases):
        deployments = group(rng, sizes[i % len(sizes)])
        messages = [{"role": "user", "content": "hi " * rng.randrange(1, 400)}]
        cache = usage_cache(rng, deployments)
        before = copy.deepcopy(cache.in_memory_cache.cache_dict)
        expected = run_usage(original, deployments, cache, messages)
        cache.in_memory_cache.cache_dict.clear()
        cache.in_memory_cache.cache_dict.update(copy.deepcopy(before))
        got = run_usage(ours, deployments, cache, messages)
        assert same(expected, got), (expected[:2], got[:2])
    assert stats.calls - calls >= cases * 0.9


def test_shapes_it_does_not_take_go_to_litellm() -> None:
    """Non-str ids, a non-dict map entry, a str limit: litellm's own method answers (and raises
    what it raises), having drawn from ``random`` once, not twice."""
    original, ours = get_original(*LATENCY), patched(LATENCY)
    rng = random.Random(3)
    for mutate in (
        lambda c: c["deployments"][0]["model_info"].__setitem__("id", 7),
        lambda c: c["counts"].__setitem__(c["deployments"][0]["model_info"]["id"], [1, 2]),
        lambda c: c["deployments"][0]["litellm_params"].__setitem__("rpm", "10"),
        lambda c: c["deployments"][0].__setitem__("litellm_params", None),
        lambda c: c["deployments"][0]["litellm_params"].__setitem__("api_base", ["unhashable"]),
    ):
        case = latency_case(rng, 5)
        case["counts"][case["deployments"][0]["model_info"]["id"]] = {LATENCY_KEY: [0.5]}
        mutate(case)
        expected, got = run_latency(original, case), run_latency(ours, case)
        assert same(expected, got), (expected[:2], got[:2])


def test_native_failure_answers_with_litellms_pick(monkeypatch: pytest.MonkeyPatch) -> None:
    """A native failure injected into the scan: the breaker counts it and the caller gets
    litellm's pick, with litellm's draws from ``random`` and nothing drawn twice."""
    from fast_litellm._bindings import router as native_scans

    def broken(*args: Any) -> Any:
        raise RuntimeError("injected")

    monkeypatch.setattr(native_scans, "latency_select", broken)
    original, ours = get_original(*LATENCY), patched(LATENCY)
    errors = gate("router").stats.native.errors
    rng = random.Random(11)
    for _ in range(20):
        case = latency_case(rng, 10)
        assert same(run_latency(original, case), run_latency(ours, case))
    assert gate("router").stats.native.errors > errors


def test_shadow_mode_draws_as_litellm_alone() -> None:
    """In shadow mode litellm answers, the native pick is compared with it, and ``random`` ends
    where litellm alone leaves it."""
    fast_litellm.configure(router="shadow")
    original, ours = get_original(*LATENCY), patched(LATENCY)
    stats = gate("router").stats
    compared, mismatches = stats.shadow_compared, stats.shadow_mismatches
    rng = random.Random(5)
    for _ in range(50):
        case = latency_case(rng, 10)
        assert same(run_latency(original, case), run_latency(ours, case))
    assert stats.shadow_compared > compared
    assert stats.shadow_mismatches == mismatches


COST = ("litellm.router_strategy.lowest_cost", "LowestCostLoggingHandler.async_get_available_deployments")
PRICED = ["openai/gpt-4o-mini", "gpt-4o", "anthropic/claude-3-5-haiku-20241022", "no-such-model", "azure/gpt-4o",
          "openai/o3", ""]


def cost_group(rng: random.Random, n: int) -> list[dict[str, Any]]:
    deployments = group(rng, n)
    for d in deployments:
        params, info = d["litellm_params"], d["model_info"]
        params["model"] = rng.choice(PRICED)
        if rng.random() < 0.2:
            info["base_model"] = rng.choice(PRICED + [None])
        if rng.random() < 0.1:
            params["base_model"] = rng.choice(PRICED)
        if rng.random() < 0.15:
            params["input_cost_per_token"] = rng.choice([0, 1e-6, 2e-6, 3])
        if rng.random() < 0.15:
            params["output_cost_per_token"] = rng.choice([0, 1e-6, 4e-6, 1])
    return deployments


def cost_map(rng: random.Random, deployments: list[dict[str, Any]]) -> dict[str, Any] | None:
    if rng.random() < 0.2:
        return None  # nothing cached yet: litellm starts from {}
    minute = NOW.strftime("%Y-%m-%d-%H-%M")
    return {d["model_info"]["id"]: ({minute: {"tpm": rng.choice([0, 5, 100, 5000]), "rpm": rng.choice([0, 1, 2, 4])}}
                                    if rng.random() < 0.8 else {})
            for d in deployments if rng.random() < 0.7}


def run_cost(method: Any, deployments: list[dict[str, Any]], counts: Any, messages: Any) -> tuple[Any, ...]:
    cache = DualCache()
    if counts is not None:
        cache.set_cache("cost_map:g", copy.deepcopy(counts))
    handler = lowest_cost.LowestCostLoggingHandler(cache, {})
    loop = asyncio.new_event_loop()
    try:
        picked, error, _ = outcome(lambda: loop.run_until_complete(method(handler, "g", deployments, messages)))
    finally:
        loop.close()
    return picked, error, copy.deepcopy(cache.in_memory_cache.cache_dict)


@pytest.mark.parametrize("sizes", [(1, 2, 3), (5, 10, 30), (100,), (1000,)], ids=str)
def test_cost_pick(sizes: tuple[int, ...]) -> None:
    original, ours = get_original(*COST), patched(COST)
    stats = gate("router").stats.native
    calls = stats.calls
    rng = random.Random(sizes[0] + 13)
    cases = max(20, 1500 // max(sizes))
    for i in range(cases):
        deployments = cost_group(rng, sizes[i % len(sizes)])
        counts = cost_map(rng, deployments)
        messages = [{"role": "user", "content": "hi " * rng.randrange(1, 400)}]
        expected = run_cost(original, deployments, counts, messages)
        got = run_cost(ours, deployments, counts, messages)
        assert same(expected, got), (expected[:2], got[:2])
    assert stats.calls - calls >= cases * 0.9


def test_cost_pick_follows_the_cost_map() -> None:
    """A price registered with litellm after a pick changes the next pick, as in litellm: the
    rates are read from litellm.model_cost on every call, never remembered."""
    import litellm

    deployments = [{"model_name": "g", "model_info": {"id": f"id{i}"},
                    "litellm_params": {"model": f"fl-test-model-{i}"}} for i in range(2)]
    original, ours = get_original(*COST), patched(COST)
    stats = gate("router").stats.native
    calls = stats.calls
    for cheap in (0, 1, 0):
        litellm.register_model({f"fl-test-model-{i}": {
            "input_cost_per_token": 1e-7 if i == cheap else 1e-5, "output_cost_per_token": 1e-7,
            "litellm_provider": "openai", "mode": "chat"} for i in range(2)})
        picked = run_cost(ours, deployments, None, [{"role": "user", "content": "hi"}])[0]
        assert picked is run_cost(original, deployments, None, [{"role": "user", "content": "hi"}])[0]
        assert picked["model_info"]["id"] == f"id{cheap}"
    assert stats.calls - calls == 3, "registered rows (AliasedCostEntry on 1.110) are read natively"


SHUFFLE = ("litellm.router_strategy.simple_shuffle", "simple_shuffle")


def shuffle_group(rng: random.Random, n: int) -> list[dict[str, Any]]:
    deployments = group(rng, n)
    kind = rng.choice(["none", "weight", "rpm", "tpm", "mixed", "zeros", "negative"])
    for d in deployments:
        params = d["litellm_params"]
        params.pop("rpm", None)
        params.pop("tpm", None)
        if kind == "none":
            continue
        if kind == "zeros":
            params["weight"] = 0
        elif kind == "negative":
            params["weight"] = rng.choice([-2, 1, 0.5])
        else:
            metric = rng.choice(["weight", "rpm", "tpm"]) if kind == "mixed" else kind
            if rng.random() < 0.8:
                params[metric] = rng.choice([1, 2, 3, 0.25, 100, 10**6, True, 0])
    return deployments


def run_shuffle(function: Any, deployments: list[dict[str, Any]], request_kwargs: Any, seed: int) -> tuple[Any, ...]:
    random.seed(seed)
    picked, error, state = outcome(lambda: function(lambda name: None, deployments, "g", request_kwargs))
    return picked, error, state


def router_weights(rng: random.Random, deployments: list[dict[str, Any]]) -> Any:
    if rng.random() < 0.7:
        return rng.choice([None, {}, {"metadata": {}}])
    weights = {d["model_info"]["id"]: rng.choice([0.0, 0.5, 1.0, 3.0]) for d in deployments if rng.random() < 0.6}
    return {"_router_weights": {"g": weights}}


@pytest.mark.parametrize("sizes", [(1, 2, 3), (5, 10, 30), (100,), (1000,)], ids=str)
def test_shuffle_pick(sizes: tuple[int, ...]) -> None:
    original, ours = get_original(*SHUFFLE), vars(sys.modules[SHUFFLE[0]])[SHUFFLE[1]]
    assert getattr(ours, "__fast_litellm__", False)
    stats = gate("router").stats.native
    calls = stats.calls
    rng = random.Random(sizes[0] + 21)
    cases = max(30, 3000 // max(sizes))
    for i in range(cases):
        deployments = shuffle_group(rng, sizes[i % len(sizes)])
        request_kwargs, seed = router_weights(rng, deployments), rng.randrange(2**32)
        assert same(run_shuffle(original, deployments, request_kwargs, seed),
                    run_shuffle(ours, deployments, request_kwargs, seed))
    assert stats.calls - calls >= cases * 0.9


def test_shuffle_distribution_is_litellms() -> None:
    """Over 10**5 picks from one seeded sequence, the weighted picks are the same deployments in the
    same order as litellm's, and their frequencies pass a chi-square test against the weights."""
    weights = [1, 2, 3, 4]
    deployments = [{"model_name": "g", "model_info": {"id": f"id{i}"}, "litellm_params": {"weight": w}}
                   for i, w in enumerate(weights)]
    original, ours = get_original(*SHUFFLE), vars(sys.modules[SHUFFLE[0]])[SHUFFLE[1]]
    counts = [0] * len(weights)
    random.seed(2026)
    picks = [ours(lambda name: None, deployments, "g", None)["model_info"]["id"] for _ in range(10**5)]
    random.seed(2026)
    assert picks == [original(lambda name: None, deployments, "g", None)["model_info"]["id"]
                     for _ in range(10**5)]
    for pick in picks:
        counts[int(pick[2:])] += 1
    expected = [10**5 * w / sum(weights) for w in weights]
    chi_square = sum((c - e) ** 2 / e for c, e in zip(counts, expected))
    assert chi_square < 16.27  # p = 0.001 with 3 degrees of freedom
