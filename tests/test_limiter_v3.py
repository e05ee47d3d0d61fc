"""The rate-limit table decides as litellm's own v3 limiter does, on the same traffic and the same clock.

litellm's ``should_rate_limit`` (the proxy's v3 limiter, in memory) runs generated traffic: requests
naming one to three rpm descriptors out of a small pool, each descriptor with its own limit (0 to
4), the clock moving by whole windows, single ticks, fractions of a second and exact boundaries,
with the window size at 10 s.  One clock drives both sides: litellm's ``time_provider`` (its
logical windows) and its in-memory cache's clock (its entries' lives).  The native side makes
litellm's rpm pass with the table's ``rpm_pass`` (one call into C): the pre-check (a read of each
descriptor), then a charge-first hit on each.  Every request's verdict, and every charged descriptor's window start, must equal
litellm's.

On 1.110 litellm's store is its Rust library, whose clock is the wall clock: no clock can be
injected there, so this runs on the lines before it (tests/test_litellm_lines.py); the rule is the
same on 1.110 (docs/design/litellm_v3_limiter.md section 0).
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from datetime import datetime
from typing import Any

import pytest

from fast_litellm.limiter.table import Table

litellm = pytest.importorskip("litellm")
pytest.importorskip("fastapi")
v3 = pytest.importorskip("litellm.proxy.hooks.parallel_request_limiter_v3")

pytestmark = [
    pytest.mark.skipif(
        not hasattr(v3._PROXY_MaxParallelRequestsHandler_v3, "_in_memory_cache_sliding_window")
        or "rate_limit_store" in inspect.signature(v3._PROXY_MaxParallelRequestsHandler_v3.__init__).parameters,
        reason="litellm's v3 store here is its Rust library, whose clock cannot be injected"),
    pytest.mark.filterwarnings("ignore:Items .* are using the `ReadOnly` qualifier:UserWarning"),
]

WINDOW = 10
TICK = 1_000_000_000


class Clock:
    """Whole microseconds (datetime's resolution), so both sides floor the same seconds."""

    def __init__(self, start_us: int) -> None:
        self.us = start_us

    def __call__(self) -> float:
        return self.us / 1e6

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.us / 1e6)


async def _no_tags(names: Any) -> dict[str, Any]:
    return {}


def litellm_handler(clock: Clock) -> Any:
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy.utils import InternalUsageCache

    cache = DualCache()
    cache.in_memory_cache._clock = clock
    kwargs: dict[str, Any] = {"internal_usage_cache": InternalUsageCache(cache), "time_provider": clock.datetime,
                              "tag_rate_limit_resolver": _no_tags, "model_group_resolver": lambda m: None,
                              "fail_closed_resolver": lambda: False, "force_hash_tag_grouping_resolver": lambda: False}
    params = inspect.signature(v3._PROXY_MaxParallelRequestsHandler_v3.__init__).parameters
    for name, fn in (("ptu_team_ceiling_resolver", lambda t, m: None), ("counted_models_resolver", lambda m, t: (m,)),
                     ("media_model_resolver", lambda m, t: (m,))):
        if name in params:
            kwargs[name] = fn
    return v3._PROXY_MaxParallelRequestsHandler_v3(**kwargs)


def native_rpm_pass(table: Table, descriptors: list[tuple[str, str, int]], now_ns: int) -> tuple[bool, list[Any]]:
    """litellm's rpm pass on the table: (admitted, each descriptor's hit when charged)."""
    keys = [f"{{{key}:{value}}}:requests" for key, value, _ in descriptors]
    verdict, hits = table.rpm_pass(keys, [limit for _, _, limit in descriptors], now_ns=now_ns)
    return verdict == "ok", [] if verdict == "precheck" else hits


SECOND = 1_000_000  # µs
STEPS = (0, 0, 1, 1_000, 300_000, 500_000, 999_999, SECOND, 2_700_000, (WINDOW - 1) * SECOND, WINDOW * SECOND - 1,
         WINDOW * SECOND, WINDOW * SECOND + 1, 2 * WINDOW * SECOND)


@pytest.mark.parametrize("seed", range(40))
def test_same_verdicts_as_litellms_v3(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_RATE_LIMIT_WINDOW_SIZE", str(WINDOW))
    rng = random.Random(seed)
    clock = Clock(int(time.time() * 1e6) + rng.randrange(10**9))  # after the table's epoch (a day before now)
    pool = [("api_key", f"k{i}", rng.randrange(5)) for i in range(4)] + [("user", "u", rng.randrange(1, 6)),
                                                                         ("team", "t", rng.randrange(1, 8))]

    async def run() -> tuple[list[Any], list[Any]]:
        handler = litellm_handler(clock)
        memory = handler.internal_usage_cache.dual_cache.in_memory_cache
        table = Table.private(window=WINDOW, tick_ns=TICK, buckets=8)
        theirs: list[Any] = []
        ours: list[Any] = []
        ends: set[int] = set()  # the lives' ends (µs)
        for _ in range(120):
            # Not exactly at a life's end: there litellm compares t0 + window in floats, whose rounding
            # decides (a coincidence of the same microsecond, which real clock readings in ns do not
            # make); anywhere else the two sides must agree.
            step = rng.choice(STEPS)
            while clock.us + step in ends:
                step = rng.choice(STEPS)
            clock.us += step
            chosen = sorted(rng.sample(range(len(pool)), rng.randint(1, 3)))
            descriptors = [pool[i] for i in chosen]
            response = await handler.should_rate_limit([
                {"key": key, "value": value, "rate_limit": {"requests_per_unit": limit, "window_size": WINDOW}}
                for key, value, limit in descriptors])
            admitted, hits = native_rpm_pass(table, descriptors, clock.us * 1000)
            theirs.append(response["overall_code"] == "OK")
            ours.append(admitted)
            if hits:  # litellm's window entry of each charged descriptor
                seen = [memory.get_cache(key=f"{{{key}:{value}}}:window") for key, value, _ in descriptors]
                theirs.append([int(w) for w in seen])
                ours.append([h.window_start for h in hits])
                ends.update(h.life_start // 1000 + WINDOW * SECOND for h in hits)
        return theirs, ours

    theirs, ours = asyncio.run(run())
    assert ours == theirs
