"""least-busy routing's pick (litellm 1.106-1.109): the native pick against litellm's own.

Generated groups of deployments (ids that are str, int, bool, float, None or missing; model_info
missing, None or not a dict; deployments that are not dicts) and in-flight counts held in the
router's in-memory cache (None, ints, floats, NaN, infinities, ints beyond 2**53, strings and
bools, as another writer might leave them), read by litellm's handler and by the replacement,
sync and async: the same deployment object, or the same exception, and the cache left the same.
A real Router's least-busy picks over changing counts and cooled deployments are compared too.  On 1.110 the
handler is another (reservations, a Rust core): the sites are litellm's and this file skips.
"""

from __future__ import annotations

import asyncio
import copy
import math
import random
import warnings
from typing import Any

import pytest

from fast_litellm.adapters.patching import get_original
from fast_litellm.control.gate import gate

litellm = pytest.importorskip("litellm")

from litellm.caching.caching import DualCache
from litellm.router_strategy import least_busy

SYNC = ("litellm.router_strategy.least_busy", "LeastBusyLoggingHandler.get_available_deployments")
ASYNC = ("litellm.router_strategy.least_busy", "LeastBusyLoggingHandler.async_get_available_deployments")

pytestmark = [pytest.mark.usefixtures("router_on"),
              pytest.mark.skipif("_request_count_keys" not in vars(least_busy)
                                 or "_PICK_RESERVES" in vars(least_busy),
                                 reason="litellm 1.110+'s least-busy handler is litellm's own")]


def method(site: tuple[str, str]) -> Any:
    return vars(least_busy.LeastBusyLoggingHandler)[site[1].split(".")[1]]


ODD_IDS = [True, 1.5, None, "", "x y", b"id"]
ODD_COUNTS = [None, 0, 3, -2, 2.9, -0.5, float("nan"), math.inf, 2**53, 2**53 + 1, 2**80, "4", True, 1e300, [1]]


def deployments(rng: random.Random, n: int) -> Any:
    odd = rng.random() < 0.25  # a group with shapes litellm's validation converts or rejects
    out: list[Any] = []
    for i in range(n):
        ident: Any = f"id{rng.randrange(n) if rng.random() < 0.1 else i}"
        if rng.random() < 0.1:
            ident = rng.choice([0, 7, 12345678901234567890])  # int ids: litellm's str(id)
        d: dict[str, Any] = {"model_name": "g", "model_info": {"id": ident}, "litellm_params": {"model": "x"}}
        roll = rng.random() if odd else 1.0
        if roll < 0.05:
            d["model_info"]["id"] = rng.choice(ODD_IDS)
        elif roll < 0.07:
            del d["model_info"]["id"]
        elif roll < 0.09:
            d["model_info"] = rng.choice([None, "info", ["id"]])
        elif roll < 0.1:
            del d["model_info"]
        out.append(d if roll > 0.005 else "not a deployment")
    if odd and rng.random() < 0.1:
        return tuple(out)
    return out


def counts(rng: random.Random, cache: DualCache, group: Any, ds: Any) -> None:
    odd = rng.random() < 0.2
    for d in ds:
        if not isinstance(d, dict) or not isinstance(d.get("model_info"), dict) or "id" not in d["model_info"]:
            continue
        if rng.random() < 0.7:
            value: Any = rng.randrange(0, 6)
            if rng.random() < 0.2:  # float counts: litellm truncates them toward zero
                value = rng.choice([-0.5, -0.9, 0.5, 1.9, 2.0, 3.999, -1.5])
            if odd and rng.random() < 0.2:
                value = rng.choice(ODD_COUNTS)
            cache.set_cache(f"{group}_request_count:{d['model_info']['id']}", value, local_only=True)


def outcome(call: Any) -> tuple[Any, Any]:
    try:
        return call(), None
    except Exception as exc:  # noqa: BLE001 - compared with litellm's
        return None, repr(exc)


def run(fn: Any, handler: Any, group: Any, ds: Any, asynchronous: bool) -> tuple[Any, Any, Any]:
    if asynchronous:
        loop = asyncio.new_event_loop()
        try:
            picked, error = outcome(lambda: loop.run_until_complete(fn(handler, group, ds)))
        finally:
            loop.close()
    else:
        picked, error = outcome(lambda: fn(handler, group, ds))
    return picked, error, copy.deepcopy(handler.router_cache.in_memory_cache.cache_dict)


@pytest.mark.parametrize("sizes", [(0, 1, 2, 3), (5, 10, 30), (100,), (1000,)], ids=str)
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_least_busy_pick(sizes: tuple[int, ...], asynchronous: bool) -> None:
    site = ASYNC if asynchronous else SYNC
    original, ours = get_original(*site), method(site)
    assert getattr(ours, "__fast_litellm__", False), f"{site} is not patched"
    stats = gate("router").stats.native
    calls = stats.calls
    rng = random.Random(sizes[0] * 7 + asynchronous)
    cases = max(40, 1200 // max(1, max(sizes)))
    for i in range(cases):
        ds = deployments(rng, sizes[i % len(sizes)])
        group: Any = "g" if rng.random() > 0.03 else rng.choice([None, 7])
        handler = least_busy.LeastBusyLoggingHandler(router_cache=DualCache())
        counts(rng, handler.router_cache, group, ds if isinstance(ds, (list, tuple)) else [])
        expected = run(original, handler, group, ds, asynchronous)
        got = run(ours, handler, group, ds, asynchronous)
        assert expected[0] is got[0] and expected[1] == got[1], (i, expected[:2], got[:2])
        assert repr(expected[2]) == repr(got[2])
    assert stats.calls - calls >= cases * 0.8  # most picks were the native one's


def test_real_router_least_busy_picks(loop: asyncio.AbstractEventLoop) -> None:
    """A Router with least-busy routing over in-flight counts that change between picks (as the
    handler's own bookkeeping and other writers leave them) and deployments in cooldown: the sync
    and async picks are litellm's."""
    import fast_litellm

    warnings.simplefilter("ignore", DeprecationWarning)
    model_list = [{"model_name": "g", "model_info": {"id": f"d{i}"},
                   "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "x", "mock_response": "ok"}}
                  for i in range(40)]
    messages = [{"role": "user", "content": "x"}]

    async def sequence(state: str) -> list[str]:
        fast_litellm.configure(router=state)
        saved = list(litellm.callbacks)
        rng = random.Random(5)
        try:
            router = litellm.Router(model_list=copy.deepcopy(model_list), routing_strategy="least-busy")
            for i in range(0, 40, 7):
                router.cooldown_cache.add_deployment_to_cooldown(
                    model_id=f"d{i}", original_exception=Exception("429"), exception_status=429, cooldown_time=3600)
            seen: list[str] = []
            for _ in range(30):
                for i in rng.sample(range(40), 10):
                    router.cache.set_cache(f"g_request_count:d{i}", rng.randrange(4), local_only=True)
                seen.append((await router.async_get_available_deployment(
                    model="g", messages=messages, request_kwargs={}))["model_info"]["id"])
                seen.append(router.get_available_deployment(model="g", messages=messages)["model_info"]["id"])
            return seen
        finally:
            litellm.callbacks[:] = saved

    before = gate("router").stats.native.calls
    expected = loop.run_until_complete(sequence("off"))
    got = loop.run_until_complete(sequence("on"))
    assert got == expected
    assert len(set(expected)) > 3  # the counts moved the pick around
    assert gate("router").stats.native.calls - before >= 60
