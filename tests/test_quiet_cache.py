"""The router's cache methods rebuilt without eager debug strings (fast_litellm/adapters/quiet.py):
the same results, the same cache contents, the same printed lines when litellm is verbose.

A planted bug fails these tests: guarding with ``not set_verbose`` prints nothing in
``test_verbose_output_is_litellms``; dropping the guarded statement instead of guarding it fails it
too; guarding any other call changes what ``test_results_and_contents_are_litellms`` sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from typing import Any

import pytest

import fast_litellm
from fast_litellm.adapters.patching import get_original

pytest.importorskip("litellm")

import litellm._logging
from litellm.caching.dual_cache import DualCache

METHODS = ("get_cache", "async_get_cache", "async_set_cache", "async_set_cache_pipeline")

pytestmark = pytest.mark.usefixtures("router_on")


def methods(use_original: bool) -> dict[str, Any]:
    if use_original:
        return {name: get_original("litellm.caching.dual_cache", f"DualCache.{name}") for name in METHODS}
    found = {name: vars(DualCache)[name] for name in METHODS}
    assert all(getattr(f, "__fast_litellm__", False) for f in found.values())
    return found


def session(use_original: bool) -> tuple[list[Any], dict[str, Any]]:
    """A sequence of reads and writes through the four methods; what they return and leave."""
    m = methods(use_original)
    cache = DualCache()
    loop = asyncio.new_event_loop()
    results: list[Any] = []
    try:
        value = {f"deployment-{i}": {"latency": [0.1 * i] * 3, "2026-12-07-12-00": {"tpm": i, "rpm": 1}}
                 for i in range(20)}
        results.append(loop.run_until_complete(m["async_set_cache"](cache, "g_map", value, ttl=60)))
        results.append(m["get_cache"](cache, "g_map"))
        results.append(m["get_cache"](cache, "missing"))
        results.append(loop.run_until_complete(m["async_get_cache"](cache, "g_map")))
        results.append(loop.run_until_complete(m["async_get_cache"](cache, "missing", local_only=True)))
        results.append(loop.run_until_complete(m["async_set_cache_pipeline"](
            cache, [("a", 1), ("b", [2, 3])], ttl=30)))
        results.append(m["get_cache"](cache, "b"))
    finally:
        loop.close()
    return results, dict(cache.in_memory_cache.cache_dict)


def test_results_and_contents_are_litellms() -> None:
    assert session(use_original=False) == session(use_original=True)


@pytest.mark.parametrize("verbose", [False, True])
def test_verbose_output_is_litellms(verbose: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(litellm._logging, "set_verbose", verbose)
    printed = {}
    for use_original in (True, False):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            session(use_original)
        printed[use_original] = out.getvalue()
    assert printed[False] == printed[True]
    assert ("get cache: cache result" in printed[True]) is verbose


def test_rebuilt_code_keeps_litellms_file_and_lines() -> None:
    for name in METHODS:
        original, quiet = methods(True)[name], methods(False)[name]
        assert quiet.__code__.co_filename == original.__code__.co_filename
        assert quiet.__code__.co_firstlineno == original.__code__.co_firstlineno
        assert quiet.__globals__ is original.__globals__


def test_router_off_puts_litellms_methods_back() -> None:
    fast_litellm.configure(router="off")
    assert all(vars(DualCache)[name] is get_original("litellm.caching.dual_cache", f"DualCache.{name}")
               for name in METHODS)


def test_batch_reads_are_litellms() -> None:
    """InMemoryCache.batch_get_cache / async_batch_get_cache: absent keys, live ones, JSON strings,
    expired ones (removed, as litellm's get_cache removes them), in the same order."""
    from litellm.caching.in_memory_cache import InMemoryCache

    now = [1000.0]

    def run(use_original: bool) -> tuple[Any, ...]:
        name = "litellm.caching.in_memory_cache"
        sync = (get_original(name, "InMemoryCache.batch_get_cache") if use_original
                else vars(InMemoryCache)["batch_get_cache"])
        asynchronous = (get_original(name, "InMemoryCache.async_batch_get_cache") if use_original
                        else vars(InMemoryCache)["async_batch_get_cache"])
        cache = InMemoryCache(clock=lambda: now[0])
        now[0] = 1000.0
        cache.set_cache("a", {"x": 1}, ttl=10)
        cache.set_cache("b", '{"json": [1, 2]}', ttl=100)
        cache.set_cache("c", "not json", ttl=5)
        keys = [f"deployment:d{i}:cooldown" for i in range(50)] + ["a", "b", "c", "a"]
        first = sync(cache, keys)
        now[0] = 1007.0  # "c" has expired
        loop = asyncio.new_event_loop()
        try:
            second = loop.run_until_complete(asynchronous(cache, list(reversed(keys))))
        finally:
            loop.close()
        return first, second, dict(cache.cache_dict), dict(cache.ttl_dict)

    assert run(use_original=False) == run(use_original=True)


class _Count(int):
    """An int subclass: litellm's get_cache returns it as it is."""


def test_batch_reads_generated() -> None:
    """Generated caches and key lists: every value type get_cache meets (JSON and other strings,
    bytes, numbers, containers, an int subclass, an object), keys with and without a ttl, expiry
    exactly at the limit and past it, and a clock that advances on every call.  The native read
    returns what litellm's returns, leaves the same dicts, and calls the clock as often (litellm
    1.106-1.108 reads it only for a key with a ttl; 1.109+ for every key the cache holds)."""
    import random

    from litellm.caching.in_memory_cache import InMemoryCache

    values: list[Any] = [1, 2.5, True, None, {"a": [1]}, [1, 2], (3, 4), "7", '{"k": 1}', "not json", b"[1]",
                         b"\xff", bytearray(b"2"), _Count(5), object(), ""]

    def run(use_original: bool, seed: int) -> tuple[Any, ...]:
        rng = random.Random(seed)
        name = "litellm.caching.in_memory_cache"
        sync = (get_original(name, "InMemoryCache.batch_get_cache") if use_original
                else vars(InMemoryCache)["batch_get_cache"])
        calls = [0]
        now = [1000.0]

        def clock() -> float:
            calls[0] += 1
            now[0] += rng.choice((0.0, 0.5))
            return now[0]

        cache = InMemoryCache(clock=clock)
        keys = [f"k{i}" for i in range(rng.randrange(1, 40))]
        for key in keys:
            kind = rng.randrange(4)
            if kind == 0:
                continue  # absent
            cache.cache_dict[key] = rng.choice(values)
            if kind >= 2:  # with a ttl: live, at the limit, or past it
                cache.ttl_dict[key] = now[0] + rng.choice((-1.0, 0.0, 0.5, 1.0, 50.0))
        pool = keys + keys[:5]
        got = sync(cache, rng.sample(pool, k=rng.randrange(1, len(pool) + 1)))
        return got, [type(v) for v in got], list(cache.cache_dict), dict(cache.ttl_dict), calls[0]

    for seed in range(300):
        assert run(use_original=False, seed=seed) == run(use_original=True, seed=seed), seed
