"""usage-based-routing-v2's pick (fast_litellm/router/strategies.py ``make_usage_v2_select``) against
litellm's own ``LowestTPMLoggingHandler_v2._common_checks_available_deployment``.

Generated groups of 0-60 deployments: ids with and without ":" (litellm cuts counter keys at the
first one), repeated ids, counters missing, None, int, float, bool, NaN and inf, limits at each of
litellm's three levels (falsy ones too), usage at and over them (``rpm + 1 >= limit``), ties on the
lowest tpm (litellm draws among them with ``random.choice``), value lists shorter than the keys
(litellm's IndexError).  Each case compares the deployment object, the exception and the state of
``random`` afterwards.  A real Router with the strategy gives the same sequence of picks.

A planted bug fails these tests: ``rpm + 1 > limit`` for ``>=``, or keeping only the first of
tied deployments, fails ``test_generated_picks``; a counter-key memo kept across minutes fails
``test_counter_keys_are_litellms``.
"""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

import pytest

pytest.importorskip("litellm")

import litellm
from litellm.caching.dual_cache import DualCache
from litellm.router_strategy.lowest_tpm_rpm_v2 import LowestTPMLoggingHandler_v2

import fast_litellm
from fast_litellm.adapters.patching import get_original

pytestmark = [
    pytest.mark.usefixtures("router_on"),
    pytest.mark.filterwarnings("ignore:Items .* are using the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning"),
]

SITE = ("litellm.router_strategy.lowest_tpm_rpm_v2", "LowestTPMLoggingHandler_v2._common_checks_available_deployment")
LIMITS: list[Any] = [None, None, None, 0, 1, 2, 5, 10, 100, 2.5, float("inf"), True]
COUNTS: list[Any] = [None, 0, 1, 2, 3, 5, 9, 10, 99, 100, 1.5, True, False, float("nan"), float("inf")]


def _group(rng: random.Random, n: int) -> list[dict[str, Any]]:
    group = []
    for i in range(n):
        d: dict[str, Any] = {"model_name": "g",
                             "litellm_params": {"model": rng.choice(["openai/gpt-4o", "azure/gpt-4o"])},
                             "model_info": {"id": rng.choice([f"d{i}", f"d{i}", f"d{i % 5}", f"d{i}:x"])}}
        for key in ("tpm", "rpm"):
            level = rng.randrange(4)
            if level == 0:
                d[key] = rng.choice(LIMITS)
            elif level == 1:
                d["litellm_params"][key] = rng.choice(LIMITS)
            elif level == 2:
                d["model_info"][key] = rng.choice(LIMITS)
        group.append(d)
    return group


@pytest.fixture(scope="module")
def handler(loop: asyncio.AbstractEventLoop) -> Any:
    async def make() -> Any:  # made on the running loop: its task runs and ends there (conftest's loop)
        return LowestTPMLoggingHandler_v2(router_cache=DualCache())

    return loop.run_until_complete(make())


def _counters(handler: Any, rng: random.Random,
              group: list[dict[str, Any]]) -> tuple[list[str], list[Any], list[str], list[Any]]:
    tpm_keys, rpm_keys = handler.usage_counter_keys(group)
    tpm_values = [rng.choice(COUNTS) for _ in tpm_keys]
    rpm_values = [rng.choice(COUNTS) for _ in rpm_keys]
    if rng.random() < 0.03 and tpm_values:
        tpm_values.pop()  # litellm indexes past the end
    if rng.random() < 0.1:  # a tie on the lowest tpm
        tpm_values = [0 if v is not None and rng.random() < 0.5 else v for v in tpm_values]
    return tpm_keys, tpm_values, rpm_keys, rpm_values


def _outcome(method: Any, handler: Any, args: tuple[Any, ...], seed: int) -> tuple[Any, ...]:
    random.seed(seed)
    try:
        picked = method(handler, *args)
    except Exception as exc:  # noqa: BLE001 - compared
        return type(exc), str(exc), random.getstate()
    return id(picked), random.getstate()


def test_generated_picks(handler: Any) -> None:
    original = get_original(*SITE)
    assert original is not None
    patched = vars(LowestTPMLoggingHandler_v2)["_common_checks_available_deployment"]
    assert getattr(patched, "__fast_litellm__", False)
    before = fast_litellm.get_performance_stats()["router"]["native"]["calls"]
    for seed in range(1500):
        rng = random.Random(seed)
        group = _group(rng, rng.choice([0, 1, 2, 3, 5, 10, 30, 60]))
        tpm_keys, tpm_values, rpm_keys, rpm_values = _counters(handler, rng, group)
        words = " ".join(rng.choice(["hello", "naïve", "café", "x" * 40]) for _ in range(rng.randrange(0, 30)))
        messages = [{"role": "user", "content": words}]
        args = ("g", group, tpm_keys, tpm_values, rpm_keys, rpm_values, messages, None)
        assert _outcome(patched, handler, args, seed) == _outcome(original, handler, args, seed), seed
    assert fast_litellm.get_performance_stats()["router"]["native"]["calls"] - before > 1000


def test_nan_and_inf_counts_compare_as_litellm(handler: Any) -> None:
    """NaN never ties nor wins; inf ties with the initial bound."""
    original = get_original(*SITE)
    group = [{"model_info": {"id": "a"}, "litellm_params": {}}, {"model_info": {"id": "b"}, "litellm_params": {}}]
    for values in ([math.nan, math.inf], [math.inf, math.inf], [math.nan, math.nan], [math.inf, 3]):
        args = ("g", group, ["a:m:tpm:x", "b:m:tpm:x"], values, ["a:m:rpm:x", "b:m:rpm:x"], [None, None], None, "")
        for seed in range(5):
            assert (_outcome(handler._common_checks_available_deployment.__func__, handler, args, seed)
                    == _outcome(original, handler, args, seed))


def test_real_router_picks(loop: asyncio.AbstractEventLoop) -> None:
    model_list = [{"model_name": "g", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "x",
                                                        "mock_response": "ok", "rpm": 1000, "tpm": 10**7},
                   "model_info": {"id": f"d{i}"}} for i in range(20)]
    async def make() -> Any:  # on the module's loop: the strategy's task runs and ends there
        return litellm.Router(model_list=model_list, routing_strategy="usage-based-routing-v2")

    router = loop.run_until_complete(make())
    try:
        for i in range(30):
            loop.run_until_complete(router.acompletion(model="g", messages=[{"role": "user", "content": f"hi {i}"}]))
        loop.run_until_complete(asyncio.sleep(0.05))

        def picks() -> list[str]:
            random.seed(11)
            return [loop.run_until_complete(router.async_get_available_deployment(
                model="g", messages=[{"role": "user", "content": f"q {i}"}], request_kwargs={}))["model_info"]["id"]
                for i in range(40)]

        on = picks()
        fast_litellm.configure(router="off")
        off = picks()
    finally:
        fast_litellm.configure(router="on")
        router.discard()
    assert on == off


class _Sub(dict):  # type: ignore[type-arg]
    """A dict subclass: litellm reads it through its own get."""


def test_counter_keys_are_litellms(monkeypatch: pytest.MonkeyPatch, handler: Any) -> None:
    """usage_counter_keys on generated groups: ids and models str, None, missing or int; things that
    are not dicts (skipped), dict subclasses, model_info None (litellm raises); the minute turning
    and ids replaced in place between calls (the key memo must not answer for them)."""
    from datetime import datetime

    import litellm.router_strategy.lowest_tpm_rpm_v2 as module

    original = get_original("litellm.router_strategy.lowest_tpm_rpm_v2", "LowestTPMLoggingHandler_v2.usage_counter_keys")
    assert original is not None
    patched = vars(LowestTPMLoggingHandler_v2)["usage_counter_keys"]
    assert getattr(patched, "__fast_litellm__", False)
    minute = [30]
    monkeypatch.setattr(module, "get_utc_datetime", lambda: datetime(2026, 12, 7, 12, minute[0]))

    def deployment(rng: random.Random, i: int) -> Any:
        kind = rng.randrange(20)
        if kind == 0:
            return "not a deployment"
        d: dict[str, Any] = _Sub() if kind == 1 else {}
        if kind != 2:
            d["model_info"] = None if kind == 3 else {"id": rng.choice([f"d{i}", f"d{i}", None, 7, f"d{i}:x"])}
        if kind != 4:
            d["litellm_params"] = {"model": rng.choice(["openai/gpt-4o", None, "azure/x"])}
        return d

    def outcome(method: Any, group: Any) -> Any:
        try:
            return method(handler, group)
        except Exception as exc:  # noqa: BLE001 - compared
            return type(exc), str(exc)

    for seed in range(300):
        rng = random.Random(seed)
        group = [deployment(rng, i) for i in range(rng.randrange(0, 30))]
        for turn in range(3):
            minute[0] = 30 + (turn == 2)
            if turn and group and isinstance(group[0], dict) and isinstance(group[0].get("model_info"), dict):
                ident = group[0]["model_info"].get("id")
                group[0]["model_info"]["id"] = f"{ident}" + "-new" if turn == 1 else ident
            assert outcome(patched, group) == outcome(original, group), (seed, turn)
