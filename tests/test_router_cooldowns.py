"""The cooldown read of every deployment (fast_litellm/router/cooldowns.py) against litellm's own:
``Router.get_model_ids`` (litellm 1.106-1.108) and ``CooldownCache.get_active_cooldowns`` /
``async_get_active_cooldowns`` / ``active_cooldowns_from_results`` (1.106-1.109).

Generated routers: team deployments, several groups, deployments added and deleted; cooldowns
live, expired (litellm deletes them on read) and over-long (litellm shortens their ttl), values
under cooldown keys that are not cooldowns (empty dicts, strings, numbers).  Each case compares
the result and the cooldown cache left behind.

A planted bug fails these tests: keeping team models with ``exclude_team_models``, or passing on
empty dicts as cooldowns, fails ``test_model_ids_are_litellms`` / ``test_active_cooldowns_are_litellms``;
a gate that does not pass litellm's exceptions through fails ``test_a_failing_read_is_litellms``.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import random
import time
from typing import Any

import pytest

pytest.importorskip("litellm")

import litellm

import fast_litellm
from fast_litellm.adapters.patching import get_original

LINE = tuple(int(p) for p in importlib.metadata.version("litellm").split(".")[:2])
COOLDOWNS = "litellm.router_utils.cooldown_cache"

pytestmark = [
    pytest.mark.usefixtures("router_on"),
    pytest.mark.filterwarnings("ignore:Items .* are using the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.skipif(LINE >= (1, 110), reason="litellm 1.110+ keeps cooldowns in its Rust core"),
]


def _model_list(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        info: dict[str, Any] = {"id": f"dep-{i}"}
        if rng.random() < 0.2:
            info["team_id"] = rng.choice(["team-a", ""])
        out.append({"model_name": rng.choice(["g", "g", "h"]),
                    "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "x", "mock_response": "ok"},
                    "model_info": info})
    return out


def _router(seed: int) -> tuple[Any, random.Random]:
    rng = random.Random(seed)
    router = litellm.Router(model_list=_model_list(rng, rng.randrange(1, 40)))
    if rng.random() < 0.5:
        router.add_deployment(litellm.types.router.Deployment(
            model_name="g", litellm_params={"model": "openai/gpt-4o", "api_key": "x"}, model_info={"id": "added"}))
    if rng.random() < 0.3 and len(router.model_list) > 2:
        router.delete_deployment(id=router.model_list[0]["model_info"]["id"])
    return router, rng


def test_model_ids_are_litellms() -> None:
    if LINE > (1, 108):
        pytest.skip("Router.get_model_ids is patched on litellm 1.106-1.108")
    original = get_original("litellm.router", "Router.get_model_ids")
    assert original is not None
    for seed in range(60):
        router, _ = _router(seed)
        for name in (None, "g", "h", "missing"):
            for exclude in (False, True):
                assert router.get_model_ids(name, exclude) == original(router, name, exclude), (seed, name, exclude)


def _cool(router: Any, rng: random.Random, now: float) -> None:
    """Cooldowns on some deployments: live, expired, over-long ttl; and non-cooldown values."""
    memory = _memory(router)
    for d in router.model_list:
        key = f"deployment:{d['model_info']['id']}:cooldown"
        kind = rng.randrange(8)
        if kind == 0:
            memory.set_cache(key, {"exception_received": "429", "status_code": "429", "timestamp": now,
                                   "cooldown_time": rng.choice([5, 60])}, ttl=60)
        elif kind == 1:  # expired by its own timestamp (litellm deletes it on read)
            memory.set_cache(key, {"exception_received": "x", "status_code": "429", "timestamp": now - 100,
                                   "cooldown_time": 5}, ttl=300)
        elif kind == 2:  # a ttl far longer than the cooldown (litellm shortens it)
            memory.set_cache(key, {"exception_received": "x", "status_code": "429", "timestamp": now,
                                   "cooldown_time": 5}, ttl=600)
        elif kind == 3:
            memory.set_cache(key, rng.choice([{}, "text", 7, '{"not": "a cooldown"}']), ttl=60)


def _memory(router: Any) -> Any:
    store = router.cooldown_cache
    return store.in_memory_cache if hasattr(store, "in_memory_cache") else store.cooldown_store.in_memory_cache


def _outcome(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as exc:  # noqa: BLE001 - compared: litellm raises on a dict that is not a cooldown
        return type(exc), str(exc)


def test_active_cooldowns_are_litellms() -> None:
    import litellm.router_utils.cooldown_cache as module

    cls = module.CooldownCache
    sync_original = get_original(COOLDOWNS, "CooldownCache.get_active_cooldowns")
    async_original = get_original(COOLDOWNS, "CooldownCache.async_get_active_cooldowns")
    assert sync_original is not None and async_original is not None
    loop = asyncio.new_event_loop()
    try:
        for seed in range(80):
            outcomes = []
            now = time.time()
            for patched in (False, True):
                router, rng = _router(seed)
                _cool(router, rng, now)
                ids = [d["model_info"]["id"] for d in router.model_list] + (["unknown"] if seed % 3 else [])
                cache = router.cooldown_cache
                sync_read = cls.get_active_cooldowns if patched else sync_original
                async_read = cls.async_get_active_cooldowns if patched else async_original
                got_sync = _outcome(sync_read, cache, ids, None)
                got_async = _outcome(lambda read, *a: loop.run_until_complete(read(*a)), async_read, cache, ids, None)
                memory = _memory(router)
                outcomes.append((got_sync, got_async, sorted(memory.cache_dict.items(), key=str),
                                 dict(memory.ttl_dict)))
            assert outcomes[1][:3] == outcomes[0][:3], seed
            ttl, expected_ttl = outcomes[1][3], outcomes[0][3]  # expiry times: the runs' clocks differ
            assert ttl.keys() == expected_ttl.keys(), seed
            assert all(abs(ttl[k] - expected_ttl[k]) < 1.0 for k in ttl), seed
    finally:
        loop.close()


def test_results_of_a_batch_are_litellms() -> None:
    """active_cooldowns_from_results on result lists of every shape: all None, empty dicts,
    shorter and longer than the ids, a tuple."""
    import litellm.router_utils.cooldown_cache as module

    original = get_original(COOLDOWNS, "CooldownCache.active_cooldowns_from_results")
    assert original is not None
    now = time.time()
    live = {"exception_received": "x", "status_code": "429", "timestamp": now, "cooldown_time": 60}
    router, _ = _router(1)
    cache = router.cooldown_cache
    ids = ["a", "b", "c"]
    for results in (None, [None, None, None], [{}, None, live], (live, {}, None), [live], [None, live, live, live],
                    [None, "x", live], [], [{"not": "a cooldown"}, live]):
        expected = _outcome(original, cache, ids, results)
        got = _outcome(module.CooldownCache.active_cooldowns_from_results, cache, ids, results)
        assert got == expected, results


def test_a_failing_read_is_litellms(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception of litellm's own batch read reaches the caller once, as litellm's function
    raises it: the read is not repeated and no native failure is counted."""
    import litellm.router_utils.cooldown_cache as module

    router, _ = _router(2)
    cache = router.cooldown_cache
    store = cache.cooldown_store if hasattr(cache, "cooldown_store") else cache
    reads = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        raise ConnectionError("the store is down")

    monkeypatch.setattr(store, "batch_get_cache", failing)
    fast_litellm.reset_errors()
    for _ in range(1100):  # the timed first calls (monitor.SAMPLES) and the untimed ones after them
        with pytest.raises(ConnectionError, match="the store is down"):
            module.CooldownCache.get_active_cooldowns(cache, ["dep-0", "dep-1"], None)
    assert len(reads) == 1100
    assert fast_litellm.get_performance_stats()["router"]["native"]["errors"] == 0
