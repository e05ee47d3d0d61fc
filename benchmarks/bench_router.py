"""litellm's routing strategies: fast-litellm's native scans against litellm's own, side by side in one run.

For each strategy and group size, prints litellm's time per pick, the patched time per pick and the
ratio.  Both run in this process on the same inputs, interleaved, best of several rounds; the picks
are compared first (same deployment from the same ``random`` seed) and the script exits 1 on any
difference.

Levels:

* **strategy**: the strategy's own pick, as litellm's router calls it with the healthy deployments
  (``simple_shuffle``; ``get_available_deployments`` of the latency-based and usage-based-v1
  strategies, ``async_get_available_deployments`` of usage-based-v2 and cost-based routing,
  least-busy's ``get_available_deployments``), on usage that holds a minute of traffic for every
  deployment (latency samples, tpm and rpm; v2's per-deployment counters; requests in flight);
* **router**: ``Router.get_available_deployment`` (``async_get_available_deployment`` for
  usage-based-v2 and cost-based routing) of a real
  ``litellm.Router`` with that strategy, the whole selection (model group, cooldown filter,
  strategy), also with 10% of the deployments in cooldown.  On litellm 1.110 the router core is
  litellm's Rust library, which calls the Python strategy objects back;
* **headers**: ``Router.get_remaining_model_group_usage``, the ``x-ratelimit-remaining-*`` headers
  every successful response gets (every deployment's tpm and rpm counter of this minute read and
  summed), after 3 mock requests per deployment (at most 400) wrote the counters; timed as ten
  reads in one coroutine (the figures are per ten reads), so the event loop's entry is not most
  of the small case;
* **request**: process CPU per mock ``Router.acompletion`` (simple-shuffle; litellm's SDK call,
  logging and cost calculation included, which fast-litellm does not touch).

Every call counts a fresh message (one of 256, in turn): no memo answers a repeated request.

    python benchmarks/bench_router.py [--rounds 3] [--sizes 10,100,1000]
                                      [--level strategy|router|headers|request|all]
                                      [--strategies shuffle,latency,usage,usage2,cost,least]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
warnings.filterwarnings("ignore")

import litellm
from litellm.caching.caching import DualCache
from litellm.router_strategy.lowest_cost import LowestCostLoggingHandler
from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler
from litellm.router_strategy.lowest_tpm_rpm import LowestTPMLoggingHandler

import fast_litellm

MODULES = {"latency": "litellm.router_strategy.lowest_latency", "usage": "litellm.router_strategy.lowest_tpm_rpm",
           "cost": "litellm.router_strategy.lowest_cost"}
STRATEGIES = {"shuffle": "simple-shuffle", "latency": "latency-based-routing", "usage": "usage-based-routing",
              "usage2": "usage-based-routing-v2", "cost": "cost-based-routing", "least": "least-busy"}
ASYNC_ONLY = ("cost", "usage2")  # measured through the async pick (cost-based routing has no sync one)
LATENCY_KEY = ("latency_normalized" if "_usable_latency_samples" in vars(sys.modules[MODULES["latency"]])
               else "latency")
PROSE = ("Die Straße führt über die Brücke — café, naïve façade, 25 °C… «Bonjour», said the señor. "
         "The quick brown fox jumps over the lazy dog while seven wizards quietly judge boxing matches.")


def messages(i: int) -> list[dict[str, str]]:
    words = PROSE.split()
    return [{"role": "user", "content": " ".join(words[(i * 7 + k) % len(words)] for k in range(8 + i % 24))}]


MESSAGES = [messages(i) for i in range(256)]


def model_list(n: int) -> list[dict[str, Any]]:
    """n deployments of group "g": limits that never bind (so rpm is simple-shuffle's weight), and
    a weight on every seventh."""
    models = ("openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4.1-mini", "anthropic/claude-3-5-haiku-20241022")
    out = []
    for i in range(n):
        params: dict[str, Any] = {"model": models[i % len(models)], "api_key": "x", "mock_response": "ok",
                                  "api_base": f"https://deployment-{i}.example.com/v1", "rpm": 10**6, "tpm": 10**9}
        if i % 7 == 0:
            params["weight"] = 1 + i % 3
        out.append({"model_name": "g", "litellm_params": params, "model_info": {"id": f"deployment-{i}"}})
    return out


def fill_usage(cache: DualCache, deployments: list[dict[str, Any]], strategy: str) -> None:
    """A minute of traffic on every deployment, as litellm's success callbacks leave it."""
    rng = random.Random(7)
    ids = [d["model_info"]["id"] for d in deployments]
    precise = datetime.now().strftime("%Y-%m-%d-%H-%M")
    minute = datetime.now().strftime("%H-%M")
    if strategy == "latency":
        cache.set_cache("g_map", {i: {LATENCY_KEY: [rng.uniform(0.2, 2.0) for _ in range(10)],
                                      precise: {"tpm": rng.randrange(10**4), "rpm": rng.randrange(100)}}
                                  for i in ids}, ttl=3600)
    elif strategy == "usage":
        cache.set_cache(f"g:tpm:{minute}", {i: rng.randrange(10**4) for i in ids}, ttl=60)
        cache.set_cache(f"g:rpm:{minute}", {i: rng.randrange(100) for i in ids}, ttl=60)
    elif strategy == "usage2":
        from litellm.router_strategy.lowest_tpm_rpm_v2 import LowestTPMLoggingHandler_v2

        keys_of = vars(LowestTPMLoggingHandler_v2)["usage_counter_keys"]  # what litellm's v2 reads
        tpm_keys, rpm_keys = keys_of(None, deployments)
        for key in tpm_keys:
            cache.set_cache(key, rng.randrange(10**4), ttl=60)
        for key in rpm_keys:
            cache.set_cache(key, rng.randrange(100), ttl=60)
    elif strategy == "least":
        for i in ids:  # requests in flight, as least-busy's own bookkeeping counts them
            cache.set_cache(f"g_request_count:{i}", rng.randrange(8), local_only=True, ttl=3600)
    else:
        cache.set_cache("cost_map:g", {i: {precise: {"tpm": rng.randrange(10**4), "rpm": rng.randrange(100)}}
                                       for i in ids})


def on_loop(loop: asyncio.AbstractEventLoop, make: Callable[[], Any]) -> Any:
    """``make()`` inside ``loop``: litellm's v2 strategy starts a task on the running loop (and, with
    none running, makes and sets a loop of its own)."""
    async def made() -> Any:
        return make()

    return loop.run_until_complete(made())


def best_per_call(call: Callable[[int], Any], budget: float) -> float:
    """Seconds per call: the fastest of a few timed loops within ``budget`` seconds."""
    call(0)
    best, spent, i = float("inf"), 0.0, 0
    while spent < budget:
        loops = 0
        start = time.perf_counter()
        while True:
            call(i)
            i, loops = i + 1, loops + 1
            elapsed = time.perf_counter() - start
            if elapsed > budget / 5:
                break
        best = min(best, elapsed / loops)
        spent += elapsed
    return best


def strategy_calls(strategy: str, n: int, loop: asyncio.AbstractEventLoop) -> Callable[[int], Any]:
    deployments = model_list(n)
    cache = DualCache()
    fill_usage(cache, deployments, strategy)
    handler: Any
    if strategy == "shuffle":
        from litellm.router_strategy import simple_shuffle

        def shuffle(i: int) -> Any:
            return simple_shuffle.simple_shuffle(lambda name: None, deployments, "g", None)
        return shuffle
    if strategy == "latency":
        handler = LowestLatencyLoggingHandler(cache, {})
        site = "get_available_deployments"
    elif strategy == "usage":
        handler = LowestTPMLoggingHandler(cache, {})
        site = "get_available_deployments"
    elif strategy == "usage2":
        from litellm.router_strategy.lowest_tpm_rpm_v2 import LowestTPMLoggingHandler_v2

        handler = on_loop(loop, lambda: LowestTPMLoggingHandler_v2(router_cache=cache))
        site = "async_get_available_deployments"
    elif strategy == "least":
        from litellm.router_strategy.least_busy import LeastBusyLoggingHandler

        handler = LeastBusyLoggingHandler(cache)
        method = type(handler).get_available_deployments
        return lambda i: method(handler, "g", deployments)
    else:
        handler = LowestCostLoggingHandler(cache, {})
        site = "async_get_available_deployments"
    method = getattr(type(handler), site)

    def pick(i: int) -> Any:
        result = method(handler, "g", deployments, MESSAGES[i % 256], None)
        return loop.run_until_complete(result) if asyncio.iscoroutine(result) else result

    return pick


def router_calls(strategy: str, n: int, cooled: bool, asynchronous: bool,
                 loop: asyncio.AbstractEventLoop) -> Callable[[int], Any]:
    router = on_loop(loop, lambda: litellm.Router(model_list=model_list(n), routing_strategy=STRATEGIES[strategy]))
    cache = router.cache
    fill_usage(cache, model_list(n), strategy)
    if cooled:
        for i in range(1, n, 10):
            router.cooldown_cache.add_deployment_to_cooldown(
                model_id=f"deployment-{i}", original_exception=Exception("429"), exception_status=429,
                cooldown_time=3600)

    def pick(i: int) -> Any:
        if asynchronous:
            return loop.run_until_complete(router.async_get_available_deployment(
                model="g", messages=MESSAGES[i % 256], request_kwargs={}))
        return router.get_available_deployment(model="g", messages=MESSAGES[i % 256])

    return pick


def header_calls(n: int, loop: asyncio.AbstractEventLoop) -> Callable[[int], Any]:
    """The remaining-usage headers of group "g" (rpm and tpm limits on every deployment), on
    counters written by mock requests."""
    router = litellm.Router(model_list=model_list(n), routing_strategy="simple-shuffle")
    router_feature("off")
    for i in range(min(3 * n, 400)):
        loop.run_until_complete(router.acompletion(model="g", messages=MESSAGES[i % 256]))
    loop.run_until_complete(asyncio.sleep(0.05))
    read = router.get_remaining_model_group_usage

    async def ten() -> Any:
        for _ in range(9):
            await read("g")
        return await read("g")

    def headers(i: int) -> Any:
        return {"model_info": loop.run_until_complete(ten())}  # compare() compares "model_info"

    return headers


def request_cpu(n: int, rounds: int, loop: asyncio.AbstractEventLoop, rows: list[tuple[str, float, float]]) -> None:
    """Process CPU per mock ``Router.acompletion`` (simple-shuffle), background logging included:
    300 requests per timed block, then the loop drained; best of ``rounds`` blocks per side."""
    router = litellm.Router(model_list=model_list(n), routing_strategy="simple-shuffle")

    async def requests(count: int, offset: int) -> None:
        for i in range(count):
            await router.acompletion(model="g", messages=MESSAGES[(i + offset) % 256])

    best = {"off": float("inf"), "on": float("inf")}
    for r in range(rounds):
        for state in ("off", "on"):
            router_feature(state)
            loop.run_until_complete(requests(20, r))
            loop.run_until_complete(asyncio.sleep(0.05))
            start = time.process_time()
            loop.run_until_complete(requests(300, r + 1))
            loop.run_until_complete(asyncio.sleep(0.05))
            best[state] = min(best[state], (time.process_time() - start) / 300)
    router_feature("on")
    label = f"simple-shuffle · acompletion (mock), CPU per request · {n}"
    rows.append((label, best["off"], best["on"]))
    print(f"{label:<52} {best['off'] * 1e6:>11.1f} {best['on'] * 1e6:>11.1f} "
          f"{best['off'] / best['on']:>7.2f}x", flush=True)


def router_feature(state: str) -> None:
    """litellm's own strategies ("off") or fast-litellm's ("on"), for the calls that follow."""
    fast_litellm.configure(router=state)


def compare(label: str, pick: Callable[[int], Any], rounds: int, budget: float,
            rows: list[tuple[str, float, float]]) -> bool:
    """Check equal picks from equal seeds, then time both, alternating, best of ``rounds``."""
    for i in range(8):
        router_feature("off")
        random.seed(i)
        expected = pick(i)
        router_feature("on")
        random.seed(i)
        got = pick(i)
        if (expected or {}).get("model_info") != (got or {}).get("model_info"):
            print(f"MISMATCH {label}: {expected and expected['model_info']} != {got and got['model_info']}")
            return False
    times: dict[str, float] = {"litellm": float("inf"), "fast": float("inf")}
    for _ in range(rounds):
        router_feature("off")
        times["litellm"] = min(times["litellm"], best_per_call(pick, budget))
        router_feature("on")
        times["fast"] = min(times["fast"], best_per_call(pick, budget))
    rows.append((label, times["litellm"], times["fast"]))
    print(f"{label:<52} {times['litellm'] * 1e6:>11.1f} {times['fast'] * 1e6:>11.1f} "
          f"{times['litellm'] / times['fast']:>7.1f}x", flush=True)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per timed loop set")
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="of " + ",".join(STRATEGIES))
    parser.add_argument("--level", choices=("strategy", "router", "headers", "request", "all"), default="all")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    fast_litellm.configure(router="on")
    fast_litellm.apply_acceleration()
    print(f"litellm {litellm.__version__ if hasattr(litellm, '__version__') else ''}".strip(),
          f"· python {sys.version.split()[0]} · µs per pick, best of {args.rounds} rounds")
    print(f"{'case':<52} {'litellm':>11} {'fast':>11} {'ratio':>8}")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    rows: list[tuple[str, float, float]] = []
    ok = True
    for strategy in args.strategies.split(","):
        for n in sizes:
            if args.level in ("strategy", "all"):
                pick = strategy_calls(strategy, n, loop)
                ok &= compare(f"{STRATEGIES[strategy]} · strategy pick · {n}", pick, args.rounds, args.budget,
                              rows)
            if args.level in ("router", "all"):
                for cooled in (False, True):
                    asynchronous = strategy in ASYNC_ONLY
                    pick = router_calls(strategy, n, cooled, asynchronous, loop)
                    kind = "async_get_available_deployment" if asynchronous else "get_available_deployment"
                    label = f"{STRATEGIES[strategy]} · {kind} · {n}{' · 10% cooled' if cooled else ''}"
                    ok &= compare(label, pick, args.rounds, args.budget, rows)
    if args.level in ("headers", "all"):
        for n in sizes:
            ok &= compare(f"remaining-usage headers (10 reads) · {n}", header_calls(n, loop), args.rounds,
                          args.budget, rows)
    if args.level in ("request", "all"):
        for n in sizes:
            request_cpu(n, args.rounds, loop, rows)
    pending = asyncio.all_tasks(loop)  # litellm's background tasks (v2's sync task, logging)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
