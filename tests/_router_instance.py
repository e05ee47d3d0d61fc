"""One Router instance sharing a real Redis with others; run in its own process by test_router_redis.py.

Its one argument is a JSON object: ``patched`` (import fast_litellm first), ``redis_port``, ``n``
deployments of the group ``g`` with the ids ``d0..``, ``fail`` (the ids whose mock response is a
429, so that this instance's traffic cools them), ``requests`` to send through ``acompletion``,
``picks`` to make with ``async_get_available_deployment`` afterwards, ``strategy`` and ``seed``.
It prints one JSON line: each request's deployment (or exception), the picks, and how many
router calls the native side answered.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import warnings
from importlib.metadata import version
from typing import Any

ARGS: dict[str, Any] = json.loads(sys.argv[1])
if ARGS["patched"]:
    import fast_litellm

import litellm

MESSAGES = [{"role": "user", "content": "Which deployment answers?"}]


def model_list() -> list[dict[str, Any]]:
    failing = set(ARGS["fail"])
    return [{"model_name": "g",
             "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-test", "rpm": 1000 + i,
                                "mock_response": "litellm.RateLimitError" if f"d{i}" in failing else "ok"},
             "model_info": {"id": f"d{i}"}} for i in range(ARGS["n"])]


async def main() -> dict[str, Any]:
    random.seed(ARGS["seed"])
    router = litellm.Router(model_list=model_list(), redis_host="127.0.0.1", redis_port=ARGS["redis_port"],
                            cooldown_time=ARGS["cooldown"], num_retries=0, allowed_fails=0,
                            routing_strategy=ARGS["strategy"])
    outcomes = []
    for i in range(ARGS["requests"]):
        try:
            response = await router.acompletion(model="g", messages=[{"role": "user", "content": f"request {i}"}])
            outcomes.append(f"ok {response._hidden_params['model_id']}")
        except litellm.RateLimitError as exc:  # the deployment is cooled: litellm's key for it is in Redis
            outcomes.append(f"{type(exc).__name__}")
        for _ in range(3):  # litellm's success and failure callbacks write before the next request
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # writes litellm sends to Redis in the background land before the picks
    picks = []
    for _ in range(ARGS["picks"]):
        deployment = await router.async_get_available_deployment(model="g", messages=MESSAGES, request_kwargs={})
        picks.append(deployment["model_info"]["id"])
    native = 0
    if ARGS["patched"]:
        native = fast_litellm.get_performance_stats()["router"]["native"]["calls"]
    await asyncio.sleep(0.5)
    return {"outcomes": outcomes, "picks": picks, "native": native, "minor": int(version("litellm").split(".")[1])}


if __name__ == "__main__":
    warnings.simplefilter("ignore", DeprecationWarning)  # 1.110 names async_get_available_deployment deprecated
    print(json.dumps(asyncio.new_event_loop().run_until_complete(main())))
