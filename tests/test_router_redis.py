"""Routers sharing one real Redis, patched and not: a cooldown set by either is honoured by the
other, and the same traffic leaves the same keys and values in Redis.

Each instance runs in its own process (``_router_instance.py``): an unpatched litellm and a patched
one, as in a fleet part-way through a rollout.  Cooldowns come from real failures (deployments
whose mock response is a 429) and are checked where litellm keeps them, under its own
``deployment:<id>:cooldown`` keys in Redis; the other instance, which never saw the failures, must
then never pick a cooled deployment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import redis
from _redis import RedisServer

INSTANCE = Path(__file__).with_name("_router_instance.py")
ROOT = INSTANCE.parent.parent
N = 10
# The instances whose traffic cools deployments draw them at random, so that in 100 requests each
# failing deployment is tried (latency-based routing would keep to the fastest few).
COOLING = "simple-shuffle"


def run_instance(server: RedisServer, *, patched: bool, strategy: str, fail: tuple[str, ...] = (),
                 requests: int = 0, picks: int = 0, seed: int = 0) -> dict[str, Any]:
    args = {"patched": patched, "redis_port": server.port, "n": N, "fail": list(fail), "requests": requests,
            "picks": picks, "strategy": strategy, "seed": seed, "cooldown": 120}
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
           "FAST_LITELLM_ROUTER": "on"}
    out = subprocess.run([sys.executable, str(INSTANCE), json.dumps(args)], check=False, capture_output=True,
                         text=True, env=env, timeout=300, cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cooled(server: RedisServer) -> set[str]:
    """The ids litellm's cooldown keys in Redis name."""
    client = redis.Redis(host=server.host, port=server.port)
    try:
        return {key.decode().split(":")[1] for key in client.keys("deployment:*:cooldown")}
    finally:
        client.close()


def assert_picks(picks: list[str], healthy: set[str], strategy: str) -> None:
    """Every pick is a healthy deployment; the shuffle's 300 draws reach every one of them."""
    assert set(picks) <= healthy
    if strategy == "simple-shuffle":
        assert set(picks) == healthy


# The line runs (FL_LINE_RUN) take simple-shuffle only; the newest line runs both.
@pytest.mark.parametrize("strategy", ["simple-shuffle"] if os.environ.get("FL_LINE_RUN")
                         else ["simple-shuffle", "latency-based-routing"])
def test_cooldowns_cross_patched_and_unpatched_instances(redis_server: RedisServer, strategy: str) -> None:
    redis_server.flush()
    # An unpatched instance's traffic cools three deployments; a patched one honours them.
    run_instance(redis_server, patched=False, strategy=COOLING, fail=("d1", "d3", "d5"), requests=100, seed=1)
    assert cooled(redis_server) == {"d1", "d3", "d5"}
    patched = run_instance(redis_server, patched=True, strategy=strategy, picks=300, seed=2)
    if strategy != "simple-shuffle" or patched["minor"] < 110:  # 1.110's shuffle and cooldowns are its Rust core's
        assert patched["native"] > 0  # the patched instance's router calls went through the native side
    assert_picks(patched["picks"], {f"d{i}" for i in range(N)} - {"d1", "d3", "d5"}, strategy)
    # And back: the patched instance's traffic cools two more; an unpatched one honours all five.
    run_instance(redis_server, patched=True, strategy=COOLING, fail=("d0", "d2"), requests=100, seed=3)
    assert cooled(redis_server) == {"d0", "d1", "d2", "d3", "d5"}
    unpatched = run_instance(redis_server, patched=False, strategy=strategy, picks=300, seed=4)
    assert_picks(unpatched["picks"], {"d4", "d6", "d7", "d8", "d9"}, strategy)


MINUTE = re.compile(r"\b\d{2}-\d{2}\b")  # the minute in litellm's usage keys
SECONDS = re.compile(r"\d+\.\d+")  # timestamps and latencies in the values


def dump(server: RedisServer) -> dict[str, Any]:
    """Every key litellm left in Redis with its value and whether it expires, the minute and the
    clock's readings masked (a run that crossed a minute has its two minutes' counts added)."""
    client = redis.Redis(host=server.host, port=server.port, decode_responses=True)
    try:
        out: dict[str, Any] = {}
        for key in sorted(client.keys("*")):
            kind = client.type(key)
            value: Any = client.get(key) if kind == "string" else (
                client.hgetall(key) if kind == "hash" else client.dump(key) and kind)
            masked = MINUTE.sub("<minute>", key)
            if masked != key and masked in out and str(value).isdigit():  # a run that crossed a minute
                value = str(int(value) + int(out[masked][1]))
            out[masked] = (kind, SECONDS.sub("<s>", str(value)), client.ttl(key) > 0)
        return out
    finally:
        client.close()


def test_patched_instance_leaves_litellms_keys_and_values(redis_server: RedisServer) -> None:
    """The same traffic from an unpatched and a patched instance (successes, 429s that cool two
    deployments) leaves the same outcomes and the same keys, values and expiries in Redis."""
    runs = []
    for patched in (False, True):
        redis_server.flush()
        result = run_instance(redis_server, patched=patched, strategy="simple-shuffle", fail=("d1", "d4"),
                              requests=30, seed=7)
        runs.append((result["outcomes"], dump(redis_server)))
    (expected_outcomes, expected), (outcomes, got) = runs
    assert outcomes == expected_outcomes
    assert any(key.startswith("deployment:d1:cooldown") for key in expected)  # the traffic cooled d1
    assert got == expected
