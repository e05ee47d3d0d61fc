"""A real ``litellm.Router`` picks the same deployments with fast-litellm's router feature on as off.

Each case builds a Router of mock deployments (``mock_response``) with one strategy, fills its
usage maps with a minute of traffic, puts every tenth deployment in cooldown, seeds ``random`` and
records a sequence of sync and async selections (and, for simple-shuffle, mock completions):
once with ``router=off`` (litellm's own code) and once with ``router=on``.  The sequences must be
equal.  On litellm 1.110 the Router's core is litellm's Rust library, which calls the Python
strategy objects (and the ``random`` module) back.
"""

from __future__ import annotations

import asyncio
import random
import warnings
from datetime import datetime
from typing import Any

import pytest
from conftest import STRATEGY_NOW as NOW

import fast_litellm

litellm = pytest.importorskip("litellm")

from litellm.router_strategy import lowest_latency

# litellm's own warnings: its TypedDicts' ReadOnly items, and its logging worker's coroutine left
# pending when a test's event loop closes.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Items .* are using the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning"),
]

LATENCY_KEY = "latency_normalized" if "_usable_latency_samples" in vars(lowest_latency) else "latency"


@pytest.fixture(autouse=True)
def frozen(strategy_clock: datetime) -> Any:
    warnings.simplefilter("ignore", DeprecationWarning)
    yield
    fast_litellm.reload_flags()


def model_list(n: int, weighted: bool) -> list[dict[str, Any]]:
    models = ("openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-20241022")
    out = []
    for i in range(n):
        params: dict[str, Any] = {"model": models[i % 3], "api_key": "x", "mock_response": "ok",
                                  "api_base": f"https://d{i}.example.com/v1"}
        if weighted and i % 3 == 0:
            params["weight"] = 1 + i % 4
        out.append({"model_name": "g", "litellm_params": params, "model_info": {"id": f"d{i}"}})
    return out


def fill(router: Any, n: int, strategy: str) -> None:
    rng = random.Random(n)
    ids = [f"d{i}" for i in range(n)]
    precise, minute = NOW.strftime("%Y-%m-%d-%H-%M"), NOW.strftime("%H-%M")
    if strategy == "latency-based-routing":
        router.cache.set_cache("g_map", {i: {LATENCY_KEY: [rng.choice([0.5, 1.0, 2.0]) for _ in range(3)],
                                             precise: {"tpm": rng.randrange(100), "rpm": 1}} for i in ids})
    elif strategy == "usage-based-routing":
        router.cache.set_cache(f"g:tpm:{minute}", {i: rng.randrange(5) * 100 for i in ids})
        router.cache.set_cache(f"g:rpm:{minute}", {i: rng.randrange(3) for i in ids})
    elif strategy == "cost-based-routing":
        router.cache.set_cache("cost_map:g", {i: {precise: {"tpm": rng.randrange(100), "rpm": 1}} for i in ids})
    for i in range(1, n, 10):
        router.cooldown_cache.add_deployment_to_cooldown(
            model_id=f"d{i}", original_exception=Exception("429"), exception_status=429, cooldown_time=3600)


def picks(loop: asyncio.AbstractEventLoop, state: str, strategy: str, n: int, weighted: bool) -> list[str]:
    fast_litellm.configure(router=state)
    router = litellm.Router(model_list=model_list(n, weighted), routing_strategy=strategy)
    fill(router, n, strategy)
    seen: list[str] = []
    try:
        random.seed(1234)
        for i in range(12):
            messages = [{"role": "user", "content": f"request {i} " + "word " * i}]
            if strategy != "cost-based-routing":  # litellm has no sync pick for it
                seen.append(router.get_available_deployment(model="g", messages=messages)["model_info"]["id"])
            deployment = loop.run_until_complete(
                router.async_get_available_deployment(model="g", messages=messages, request_kwargs={}))
            seen.append(deployment["model_info"]["id"])
            if strategy == "simple-shuffle":
                response = loop.run_until_complete(router.acompletion(model="g", messages=messages))
                seen.append(response._hidden_params["model_id"])
    finally:
        loop.run_until_complete(asyncio.sleep(0))
    return seen


@pytest.mark.parametrize("n", [1, 10, 100])
@pytest.mark.parametrize("strategy", ["simple-shuffle", "latency-based-routing", "usage-based-routing",
                                      "cost-based-routing"])
def test_router_picks_are_litellms(loop: asyncio.AbstractEventLoop, strategy: str, n: int) -> None:
    weighted = strategy == "simple-shuffle" and n > 1
    expected = picks(loop, "off", strategy, n, weighted)
    assert picks(loop, "on", strategy, n, weighted) == expected
    assert not any(f"d{i}" in expected for i in range(1, n, 10)), "a cooled deployment was picked"
