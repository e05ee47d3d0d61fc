"""Generated Router scenarios: the sequence of picks, responses and exceptions equals litellm's own.

Each case draws a Router (strategy, group sizes 1 to 1000, weights, rpm/tpm limits, order, tags,
tag filtering, a second model group, allowed fails, routing groups with their own strategy or
priorities) and a script of operations: sync and async picks (of model groups and routing groups) with
per-request ``_router_weights``, tags, ``_target_order`` and ``routing_strategy``
overrides; mock completions, some of them 429s that put their deployment in cooldown; cooldowns
set directly.  The script runs with the router feature off (litellm's own code) and on, on a
fresh Router each time and with ``random`` seeded before each step; what each step returned or
raised must be the same.  The latency strategy gets no completions: the latencies it would record are
the wall clock's.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sys
import warnings
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from conftest import STRATEGY_NOW

import fast_litellm

litellm = pytest.importorskip("litellm")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Items .* are using the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning"),
]

STRATEGIES = ("simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing",
              "usage-based-routing-v2", "cost-based-routing")
MODELS = ("openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-20241022")
TAGS = (None, ["a"], ["b"], ["a", "b"], ["default"])
SIZES = (1, 2, 3, 5, 10, 40, 200)
# The line runs (tests/test_litellm_lines.py sets FL_LINE_RUN) draw a third of the cases: the
# full set runs once, on the newest line.
CASES = 16 if os.environ.get("FL_LINE_RUN") else 48


@pytest.fixture(autouse=True)
def frozen(strategy_clock: datetime, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from litellm.router_strategy import lowest_tpm_rpm_v2

    monkeypatch.setattr(lowest_tpm_rpm_v2, "get_utc_datetime", lambda: STRATEGY_NOW)
    warnings.simplefilter("ignore", DeprecationWarning)
    fast_litellm.reset_errors()  # a breaker another module opened would leave every pick to litellm
    yield
    fast_litellm.reload_flags()


CALLBACK_LISTS = ("callbacks", "success_callback", "failure_callback", "_async_success_callback",
                  "_async_failure_callback", "input_callback")


def scenario(case: int) -> dict[str, Any]:
    rng = random.Random(case)
    strategy = STRATEGIES[case % len(STRATEGIES)]
    n = 1000 if case in (5, 8) else rng.choice(SIZES)
    deployments = []
    for i in range(n):
        params: dict[str, Any] = {"model": MODELS[i % 3], "api_key": "x", "mock_response": "ok",
                                  "api_base": f"https://d{i}.example.com/v1"}
        if rng.random() < 0.08 and strategy != "latency-based-routing":
            params["mock_response"] = "litellm.RateLimitError"
        for name, chance, values in (("weight", 0.3, (0, 1, 2, 5)), ("rpm", 0.3, (1, 2, 50, 1000)),
                                     ("tpm", 0.3, (10, 100, 100000)), ("order", 0.15, (1, 2)),
                                     ("tags", 0.3, TAGS)):
            if rng.random() < chance:
                params[name] = rng.choice(values)
        group = "h" if n > 1 and rng.random() < 0.1 else "g"
        deployments.append({"model_name": group, "litellm_params": params, "model_info": {"id": f"d{i}"}})
    settings = {"routing_strategy": strategy, "num_retries": 0, "allowed_fails": rng.choice((0, 1, 3)),
                "cooldown_time": 3600, "enable_tag_filtering": rng.random() < 0.4}
    ids = [f"d{i}" for i in range(n)]
    script = []
    for _ in range(rng.randrange(10, 30)):
        kind = rng.choice(("sync", "async", "async", "completion", "completion", "cool"))
        if kind == "completion" and strategy == "latency-based-routing":
            kind = "async"
        kwargs: dict[str, Any] = {}
        if rng.random() < 0.2:
            kwargs["_router_weights"] = {"g": {rng.choice(ids): rng.choice((0.5, 1.0, 3.0)) for _ in range(3)}}
        if rng.random() < 0.2:
            kwargs["metadata"] = {"tags": rng.choice(TAGS[1:])}
        if rng.random() < 0.1:
            kwargs["_target_order"] = rng.choice((1, 2))
        if rng.random() < 0.1:
            kwargs["routing_strategy"] = rng.choice(("simple-shuffle", "least-busy", "latency-based-routing",
                                                     "usage-based-routing-v2", "cost-based-routing", "bogus"))
        script.append((kind, rng.choice(("g", "g", "g", "h")), rng.choice(ids), kwargs))
    groups = routing_groups(case, {d["model_name"] for d in deployments}, script)
    if groups is not None:
        settings["routing_groups"] = groups
    return {"deployments": deployments, "settings": settings, "script": script}


# Strategies a routing group may carry (latency-based is left out: the latencies a completion records
# are the wall clock's); "priority" groups rank their member model groups.
GROUP_STRATEGIES = ("simple-shuffle", "least-busy", "usage-based-routing", "usage-based-routing-v2",
                    "cost-based-routing", "priority")


def routing_groups(case: int, names: set[str], script: list[Any]) -> list[dict[str, Any]] | None:
    """A third of the cases get a routing group "rg" over one or both model groups (its own strategy,
    or priorities), and a quarter of their steps call it (its own random stream, so the draws above
    are the same with or without it)."""
    rng = random.Random(10_000 + case)
    if rng.random() >= 0.35:
        return None
    members = sorted(names) if len(names) > 1 and rng.random() < 0.6 else ["g"]
    strategy = rng.choice(GROUP_STRATEGIES)
    group: dict[str, Any] = {"group_name": "rg", "models": members, "routing_strategy": strategy}
    if strategy == "priority":
        group["model_priorities"] = {name: rng.choice((1, 2)) for name in members}
    for step, (kind, _, target, kwargs) in enumerate(script):
        if rng.random() < 0.25:
            script[step] = (kind, "rg", target, kwargs)
    return [group]


NUMBER = re.compile(r"\d+\.\d+")  # the seconds left in a cooldown, read off the wall clock


def outcome(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {NUMBER.sub('<s>', str(exc))}"


async def settle() -> None:
    """Let litellm's success and failure callbacks (its logging worker's tasks, its thread pool)
    write the usage, in-flight counts and cooldowns that the next pick reads."""
    for _ in range(5):
        await asyncio.sleep(0.01)


async def run(case: dict[str, Any], state: str) -> list[str]:
    fast_litellm.configure(router=state)
    # Each Router adds its strategy's handler to litellm's callback lists; an earlier run's handler
    # (or an earlier test module's Router's) would go on counting this run's traffic and drawing
    # from random, so each run starts from empty lists and puts them back afterwards.
    callbacks = {name: list(getattr(litellm, name)) for name in CALLBACK_LISTS}
    for name in CALLBACK_LISTS:  # and without other modules' handlers (litellm keeps at most 100)
        getattr(litellm, name)[:] = []
    try:
        return await run_script(case)
    finally:
        for name, value in callbacks.items():
            getattr(litellm, name)[:] = value


async def run_script(case: dict[str, Any]) -> list[str]:
    router = litellm.Router(model_list=[{**d, "litellm_params": dict(d["litellm_params"])}
                                        for d in case["deployments"]], **case["settings"])
    seen: list[str] = []
    for kind, model, target, kwargs in case["script"]:
        random.seed(len(seen))  # per step: litellm's background work may draw from random between steps
        messages = [{"role": "user", "content": f"step {len(seen)} " + "word " * len(seen)}]
        request = {key: (dict(value) if isinstance(value, dict) else value) for key, value in kwargs.items()}
        try:
            if kind == "sync":
                seen.append(router.get_available_deployment(model=model, messages=messages,
                                                            request_kwargs=request)["model_info"]["id"])
            elif kind == "async":
                deployment = await router.async_get_available_deployment(model=model, messages=messages,
                                                                         request_kwargs=request)
                seen.append(deployment["model_info"]["id"])
            elif kind == "completion":
                response = await router.acompletion(model=model, messages=messages, **request)
                seen.append(f"ok {response._hidden_params['model_id']}")
            else:
                router.cooldown_cache.add_deployment_to_cooldown(
                    model_id=target, original_exception=Exception("429"), exception_status=429, cooldown_time=3600)
                seen.append(f"cooled {target}")
        except Exception as exc:  # noqa: BLE001 - the exception is the outcome compared
            seen.append(outcome(exc))
        if kind == "completion":
            await settle()
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    return seen


@pytest.mark.parametrize("case", range(CASES))
def test_router_sequences_are_litellms(loop: asyncio.AbstractEventLoop, case: int) -> None:
    drawn = scenario(case)
    if drawn["settings"]["routing_strategy"] == "cost-based-routing":  # litellm has no sync pick for it
        drawn["script"] = [("async" if step[0] == "sync" else step[0], *step[1:]) for step in drawn["script"]]
    expected = loop.run_until_complete(run(drawn, "off"))
    assert loop.run_until_complete(run(drawn, "on")) == expected


@pytest.mark.parametrize(("case", "scan"), [(18, "shuffle_select"), (12, "shuffle_select"),
                                            (20, "latency_select"), (2, "latency_select")])
def test_native_failure_in_selection_gets_litellms_picks(loop: asyncio.AbstractEventLoop, case: int, scan: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A native failure injected into a strategy's scan on every call: the breaker counts it (and
    opens), and every pick, response and exception of the script is still litellm's.  (On 1.110
    simple-shuffle is litellm's Rust core's: nothing native runs there to fail.)"""
    from fast_litellm._bindings import router as native_scans
    from fast_litellm.control.gate import gate

    drawn = scenario(case)
    expected = loop.run_until_complete(run(drawn, "off"))
    fast_litellm.reset_errors()  # the breaker closed: an earlier case opened it

    calls = []

    def broken(*args: Any) -> Any:
        calls.append(1)
        raise RuntimeError("injected")

    monkeypatch.setattr(native_scans, scan, broken)
    errors = gate("router").stats.native.errors
    assert loop.run_until_complete(run(drawn, "on")) == expected
    assert gate("router").stats.native.errors - errors == len(calls)  # each failure counted
    fast_litellm.reset_errors()
    if scan != "shuffle_select" or "litellm.router_rust" not in sys.modules:
        assert calls  # the scan was reached (the breaker opened after the first few)
