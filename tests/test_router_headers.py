"""The remaining-usage headers' read (fast_litellm/router/usage.py): ``Router.get_model_group_usage``
(``PythonCore._core_get_model_group_usage`` on litellm 1.109) against litellm's own.

Generated groups: deployments without ``model_info``, with a None or non-str id or model, a
missing ``litellm_params`` (litellm raises KeyError), counters of every value type in the cache
(ints, bools, an int subclass, floats and strings litellm skips), the minute turning, and ids
changed in place (the key memo must not answer for the old id).  A real Router's
``get_remaining_model_group_usage`` after mock requests is compared too.

A planted bug fails these tests: summing floats or keeping memo entries across minutes fails
``test_generated_groups``; a key memo looked up by anything but the id (the model) fails
``test_changed_ids_get_new_keys``.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

pytest.importorskip("litellm")

import litellm

import fast_litellm
from fast_litellm.adapters.patching import get_original

pytestmark = [
    pytest.mark.usefixtures("router_on"),
    pytest.mark.filterwarnings("ignore:Items .* are using the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

LINE = tuple(int(p) for p in importlib.metadata.version("litellm").split(".")[:2])


def _site() -> tuple[str, str]:
    if LINE <= (1, 108):
        return "litellm.router", "Router.get_model_group_usage"
    if LINE == (1, 109):
        return "litellm.router_python_core", "PythonCore._core_get_model_group_usage"
    pytest.skip("litellm 1.110+ computes the headers in its host layer (not patched)")


def _methods() -> tuple[Any, Any]:
    module, attr = _site()
    original = get_original(module, attr)
    if original is None:
        pytest.skip(f"{module}.{attr} is not patched on this litellm")
    owner = getattr(importlib.import_module(module), attr.split(".")[0])
    patched = vars(owner)[attr.split(".")[1]]
    assert getattr(patched, "__fast_litellm__", False)
    return original, patched


class _Tokens(int):
    pass


class _FakeRouter:
    """What the function reads of its router: the model list and the cache (litellm's DualCache)."""

    def __init__(self, model_list: list[Any]) -> None:
        from litellm.caching.dual_cache import DualCache

        self.models = model_list
        self.cache = self._core_cache = DualCache()

    def get_model_list(self, model_name: str | None = None) -> list[Any]:
        return self.models

    _core_get_model_list = get_model_list


MINUTES = ("12-30", "12-31")


@pytest.fixture
def usage_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The module's get_utc_datetime answers MINUTES[turn[0]]."""
    module = importlib.import_module(_site()[0])
    turn = [0]

    def now() -> datetime:
        return datetime(2026, 12, 7, *(int(p) for p in MINUTES[turn[0]].split("-")))

    monkeypatch.setattr(module, "get_utc_datetime", now)
    yield turn


def _group(rng: random.Random, n: int) -> list[Any]:
    group = []
    for i in range(n):
        d: dict[str, Any] = {"model_name": "g"}
        kind = rng.randrange(12)
        if kind != 0:
            d["model_info"] = {"id": rng.choice([f"d{i}", f"d{i}", f"d{i}", None, f"d{i % 3}"])}
        if kind != 1:
            d["litellm_params"] = {"model": rng.choice(["openai/gpt-4o", "azure/x", None])}
        else:
            d["litellm_params"] = {}
        group.append(d)
    return group


VALUES: list[Any] = [1, 7, 0, -2, True, False, _Tokens(3), 2.5, "5", None, [1], 10**30]


def _fill(router: _FakeRouter, rng: random.Random, minute: str) -> None:
    for d in router.models:
        for kind in ("tpm", "rpm"):
            if rng.random() < 0.7:
                key = (f"global_router:{(d.get('model_info') or {}).get('id')}:"
                       f"{d['litellm_params'].get('model')}:{kind}:{minute}")
                router.cache.in_memory_cache.cache_dict[key] = rng.choice(VALUES)


def test_generated_groups(usage_clock: list[int]) -> None:
    original, patched = _methods()
    loop = asyncio.new_event_loop()
    try:
        for seed in range(200):
            rng = random.Random(seed)
            router = _FakeRouter(_group(rng, rng.randrange(0, 30)))
            for turn in (0, 0, 1, 1, 0):
                usage_clock[0] = turn
                _fill(router, rng, MINUTES[turn])
                if rng.random() < 0.3 and router.models:  # an id changed in place: same text, new object
                    d = rng.choice(router.models)
                    if isinstance(d.get("model_info"), dict) and isinstance(d["model_info"].get("id"), str):
                        d["model_info"]["id"] = "".join(list(d["model_info"]["id"]))
                expected = loop.run_until_complete(original(router, "g"))
                got = loop.run_until_complete(patched(router, "g"))
                assert got == expected and [type(v) for v in got] == [type(v) for v in expected], seed
    finally:
        loop.close()


def test_changed_ids_get_new_keys(usage_clock: list[int]) -> None:
    """An id replaced in place after a read: the next read uses the new id's counters."""
    _, patched = _methods()
    router = _FakeRouter([{"model_info": {"id": "a"}, "litellm_params": {"model": "m"}}])
    cache = router.cache.in_memory_cache.cache_dict
    cache[f"global_router:a:m:tpm:{MINUTES[0]}"] = 5
    cache[f"global_router:b:m:tpm:{MINUTES[0]}"] = 9
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(patched(router, "g")) == (5, None)
        router.models[0]["model_info"]["id"] = "b"
        assert loop.run_until_complete(patched(router, "g")) == (9, None)
    finally:
        loop.close()


@pytest.mark.parametrize("case", ["missing litellm_params", "int id", "model_info not a dict"])
def test_what_litellm_raises_or_formats_is_litellms(usage_clock: list[int], case: str) -> None:
    original, patched = _methods()
    deployment: dict[str, Any] = {"model_info": {"id": "a"}, "litellm_params": {"model": "m"}}
    if case == "missing litellm_params":
        del deployment["litellm_params"]
    elif case == "int id":
        deployment["model_info"]["id"] = 17
    else:
        deployment["model_info"] = None
    router = _FakeRouter([deployment])
    router.cache.in_memory_cache.cache_dict[f"global_router:17:m:tpm:{MINUTES[0]}"] = 4
    loop = asyncio.new_event_loop()

    def outcome(method: Any) -> Any:
        try:
            return loop.run_until_complete(method(router, "g"))
        except Exception as exc:  # noqa: BLE001 - compared
            return type(exc), str(exc)

    try:
        assert outcome(patched) == outcome(original)
    finally:
        loop.close()


def test_real_router_headers(loop: asyncio.AbstractEventLoop) -> None:
    """A real Router after mock requests: the same headers with the router feature off and on."""
    model_list = [{"model_name": "g", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "x",
                                                        "mock_response": "ok", "rpm": 1000 + i, "tpm": 10**6},
                   "model_info": {"id": f"d{i}"}} for i in range(12)]
    router = litellm.Router(model_list=model_list)
    try:
        for i in range(20):
            loop.run_until_complete(router.acompletion(model="g", messages=[{"role": "user", "content": f"hi {i}"}]))
        loop.run_until_complete(asyncio.sleep(0.05))
        read = (getattr(router, "get_remaining_model_group_usage", None)
                or router._core_get_remaining_model_group_usage)
        on = loop.run_until_complete(read("g"))
        fast_litellm.configure(router="off")
        off = loop.run_until_complete(read("g"))
    finally:
        fast_litellm.configure(router="on")
    assert on == off
    assert on["x-ratelimit-remaining-requests"] < on["x-ratelimit-limit-requests"]
