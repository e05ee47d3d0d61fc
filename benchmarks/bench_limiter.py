"""Rate limiting: the native table's decision against litellm's in-memory v3 limiter, side by side in one run.

Rows:

* **one rpm descriptor**: litellm's ``should_rate_limit`` (the proxy's v3 limiter, in memory, no
  Redis) for one api_key descriptor with an rpm limit, against the same pass on the native table
  (``Table.rpm_pass``, one call into C: the pre-check as a read of each descriptor, then a
  charge-first hit on each);
* **three rpm descriptors** (key, user, team): the same with three descriptors;
* **native, shared table**: the same hits on a table in ``/dev/shm`` (what worker processes share);
* **litellm hook** (litellm only, for scale): the whole ``async_pre_call_hook`` with a key rpm limit,
  and with key rpm+tpm, user rpm and team rpm+tpm; the native hook is not built yet (issue 24).

Limits never bind (every call is admitted) and every call names one of 256 keys in turn, so no
memo answers a repeated request.  Both sides run in this process, interleaved, best of ``--rounds``;
litellm's coroutines are driven in batches of 100 per event-loop entry.

    python benchmarks/bench_limiter.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import inspect
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
warnings.filterwarnings("ignore")

from litellm.caching.dual_cache import DualCache
from litellm.proxy._types import UserAPIKeyAuth
from litellm.proxy.hooks import parallel_request_limiter_v3 as v3
from litellm.proxy.utils import InternalUsageCache

from fast_litellm.limiter.table import Table

BIG = 10**9
KEYS = [f"{i:064x}" for i in range(256)]
BATCH = 100


async def _no_tags(names: Any) -> dict[str, Any]:
    return {}


def handler() -> Any:
    """litellm's v3 handler on its own in-memory cache, every resolver injected (no proxy server)."""
    kwargs: dict[str, Any] = {"internal_usage_cache": InternalUsageCache(DualCache()),
                              "tag_rate_limit_resolver": _no_tags, "model_group_resolver": lambda m: None,
                              "fail_closed_resolver": lambda: False, "force_hash_tag_grouping_resolver": lambda: False}
    params = inspect.signature(v3._PROXY_MaxParallelRequestsHandler_v3.__init__).parameters
    for name, fn in (("ptu_team_ceiling_resolver", lambda t, m: None), ("counted_models_resolver", lambda m, t: (m,)),
                     ("media_model_resolver", lambda m, t: (m,))):
        if name in params:
            kwargs[name] = fn
    return v3._PROXY_MaxParallelRequestsHandler_v3(**kwargs)


def descriptor(key: str, value: str) -> Any:
    return {"key": key, "value": value, "rate_limit": {"requests_per_unit": BIG, "window_size": 60}}


def best_per_call(run: Callable[[int], None], rounds: int, calls: int) -> float:
    """Best of ``rounds`` of ``calls`` calls (µs per call)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run(calls)
        best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


def litellm_should_rate_limit(loop: asyncio.AbstractEventLoop, names: tuple[str, ...]) -> Callable[[int], None]:
    h = handler()

    async def batch(offset: int) -> None:
        for i in range(offset, offset + BATCH):
            key = KEYS[i % 256]
            await h.should_rate_limit([descriptor(name, f"{name}-{key}") for name in names])

    def run(calls: int) -> None:
        for offset in range(0, calls, BATCH):
            loop.run_until_complete(batch(offset))

    return run


def native_hits(table: Table, names: tuple[str, ...]) -> Callable[[int], None]:
    """litellm's rpm pass on the table, one call into C (``Table.rpm_pass``: a read of each
    descriptor, then a charge-first hit on each; tests/test_limiter_v3.py checks it decides as
    litellm does)."""
    limits = [BIG] * len(names)

    def run(calls: int) -> None:
        for i in range(calls):
            key = KEYS[i % 256]
            table.rpm_pass([f"{{{name}:{name}-{key}}}:requests" for name in names], limits)

    return run


def litellm_hook(loop: asyncio.AbstractEventLoop, **limits: Any) -> Callable[[int], None]:
    h = handler()
    keys = [UserAPIKeyAuth(api_key=f"sk-bench-{i}", **limits) for i in range(256)]
    cache = DualCache()
    messages = [{"role": "user", "content": "Die Straße führt über die Brücke — café, naïve façade."}]

    async def one(i: int) -> None:
        data = {"model": "gpt-4o-mini", "messages": messages, "litellm_call_id": f"c{i}"}
        await h.async_pre_call_hook(user_api_key_dict=keys[i % 256], cache=cache, data=data, call_type="acompletion")

    async def batch(offset: int) -> None:
        for i in range(offset, offset + BATCH):
            await asyncio.create_task(one(i))  # own task: the hook's request stash is a context variable

    def run(calls: int) -> None:
        for offset in range(0, calls, BATCH):
            loop.run_until_complete(batch(offset))

    return run


def same_decisions(loop: asyncio.AbstractEventLoop) -> bool:
    """Before timing: 5 keys x 8 calls against a limit of 3 give the same admit/reject sequence."""
    h, table = handler(), Table.private(window=60)

    async def theirs() -> list[bool]:
        out = []
        for i in range(40):
            limits = {"requests_per_unit": 3, "window_size": 60}
            response = await h.should_rate_limit([{"key": "api_key", "value": KEYS[i % 5], "rate_limit": limits}])
            out.append(response["overall_code"] == "OK")
        return out

    ours = [table.rpm_pass([f"{{api_key:{KEYS[i % 5]}}}:requests"], [3])[0] == "ok" for i in range(40)]
    return loop.run_until_complete(theirs()) == ours


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    private = Table.private(window=60)
    shared = Table.shared(f"bench-{os.getpid()}", window=60)
    try:
        print(f"litellm {importlib.metadata.version('litellm')}, Python {sys.version.split()[0]}")
        if not same_decisions(loop):
            print("the native table's decisions differ from litellm's")
            return 1
        print(f"{'decision':<34} {'litellm µs':>11} {'native µs':>10} {'ratio':>7}  {'shared µs':>9} {'ratio':>7}")
        for label, names in (("one rpm descriptor", ("api_key",)), ("three rpm descriptors", ("api_key", "user", "team"))):
            theirs = litellm_should_rate_limit(loop, names)
            ours, ours_shared = native_hits(private, names), native_hits(shared, names)
            theirs(BATCH), ours(BATCH), ours_shared(BATCH)  # warm up
            a = best_per_call(theirs, args.rounds, args.calls)
            b = best_per_call(ours, args.rounds, args.calls)
            c = best_per_call(ours_shared, args.rounds, args.calls)
            print(f"{label:<34} {a:>11.2f} {b:>10.2f} {a / b:>6.1f}x  {c:>9.2f} {a / c:>6.1f}x")
        for label, limits in (("litellm hook: key rpm", {"rpm_limit": BIG}),
                              ("litellm hook: key+user+team", {"rpm_limit": BIG, "tpm_limit": BIG, "user_id": "u",
                                                               "user_rpm_limit": BIG, "team_id": "t",
                                                               "team_rpm_limit": BIG, "team_tpm_limit": BIG})):
            run = litellm_hook(loop, **limits)
            run(BATCH)
            print(f"{label:<34} {best_per_call(run, args.rounds, args.calls // 5):>11.2f}")
    finally:
        if shared.path is not None:
            shared.path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
