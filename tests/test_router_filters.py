"""The filters in front of the strategy (fast_litellm/router/filters.py): the same lists as litellm's.

Generated groups mix plain deployments with "auto_router/" strategy markers, access windows,
orders in litellm_params or model_info (None, ints, and the floats and strings litellm 1.110
normalises), and malformed blocks; each filter is called as litellm's own and as patched on the
same group, and the results (or exceptions) must be equal, element for element and by identity.
The marker and access-window filters exist on litellm 1.106-1.108 only.

A planted bug fails them: keeping markers (``!marker`` inverted), returning the group when only
some deployments have an order, or comparing orders with ``<=`` for the minimum.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timezone
from typing import Any

import pytest

from fast_litellm.adapters.patching import get_original
from fast_litellm.control.gate import gate

litellm = pytest.importorskip("litellm")
pytest.importorskip("litellm.router")  # binds litellm.router and litellm.utils

OLD_ROUTER = "_drop_strategy_markers" in vars(litellm.router.Router)  # 1.106-1.108

pytestmark = pytest.mark.usefixtures("router_on")


def deployments(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """A group; one in five has odd orders, windows or malformed blocks somewhere in it."""
    out = []
    odd = 0.05 if rng.random() < 0.2 else 0.0
    for i in range(n):
        params: dict[str, Any] = {"model": rng.choice(["openai/gpt-4o", "gpt-4o-mini", "auto_router/complexity",
                                                       "auto_router/my-semantic", "azure/x"])
                                  if rng.random() < 0.3 else "openai/gpt-4o-mini"}
        info: dict[str, Any] = {"id": f"d{i}"}
        d: dict[str, Any] = {"model_name": "g", "litellm_params": params, "model_info": info}
        if rng.random() < 0.3:
            (params if rng.random() < 0.5 else info)["order"] = rng.choice([1, 2, 3, None, 0, -1])
        if rng.random() < odd:
            params["order"] = rng.choice([1.0, "2", True])
        if rng.random() < odd:
            info["access_windows"] = [{"start": "09:00", "end": "17:00", "timezone": "UTC", "team_ids": ["t1"]}]
        if rng.random() < odd:
            d["litellm_params"] = rng.choice([None, "x"])
        if rng.random() < odd:
            params["model"] = rng.choice([None, 3])
        out.append(d)
    return out


def outcome(call: Any) -> tuple[Any, ...]:
    try:
        return "ok", call()
    except Exception as exc:  # noqa: BLE001 - compared with litellm's
        return "raised", type(exc), str(exc)


def same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "raised":
        return a == b
    x, y = a[1], b[1]
    if isinstance(x, list) or isinstance(y, list):
        return type(x) is type(y) and len(x) == len(y) and all(p is q for p, q in zip(x, y))
    return bool(x == y)


@pytest.mark.parametrize("size", [0, 1, 3, 10, 100, 1000])
def test_order_filter(size: int) -> None:
    original = get_original("litellm.utils", "get_order_filtered_deployments")
    ours = litellm.utils.get_order_filtered_deployments
    assert getattr(ours, "__fast_litellm__", False)
    stats = gate("router").stats.native
    calls = stats.calls
    rng = random.Random(size)
    for _ in range(max(20, 2000 // max(size, 1))):
        group = deployments(rng, size)
        target = rng.choice([None, None, 1, 2])
        expected = outcome(lambda: original(group, target))
        got = outcome(lambda: ours(group, target))
        assert same(expected, got), (expected, got)
        if expected[0] == "ok" and expected[1] is group:
            assert got[1] is group  # litellm hands back the same list when nothing has an order
    assert stats.calls > calls


@pytest.mark.skipif(not OLD_ROUTER, reason="Router._drop_strategy_markers is litellm 1.106-1.108's")
@pytest.mark.parametrize("size", [0, 1, 3, 10, 100, 1000])
def test_drop_markers(size: int) -> None:
    router_class = litellm.router.Router
    original = get_original("litellm.router", "Router._drop_strategy_markers")
    ours = vars(router_class)["_drop_strategy_markers"]
    assert getattr(ours, "__fast_litellm__", False)
    router = router_class(model_list=[{"model_name": "g", "litellm_params": {"model": "openai/gpt-4o-mini",
                                                                             "api_key": "x"}}])
    rng = random.Random(size + 1)
    for _ in range(max(20, 2000 // max(size, 1))):
        group = deployments(rng, size)
        shape = tuple(group) if rng.random() < 0.2 else group
        assert same(outcome(lambda: original(router, "g", shape)), outcome(lambda: ours(router, "g", shape)))


@pytest.mark.skipif(not OLD_ROUTER, reason="litellm.router_utils.access_windows is litellm 1.106-1.108's")
@pytest.mark.parametrize("size", [0, 1, 3, 10, 100])
def test_reserved_filter(size: int) -> None:
    module = sys.modules["litellm.router_utils.access_windows"]
    original = get_original("litellm.router_utils.access_windows", "filter_reserved_deployments")
    ours = module.filter_reserved_deployments
    assert getattr(ours, "__fast_litellm__", False) and litellm.router.filter_reserved_deployments is ours
    rng = random.Random(size + 2)
    now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    for _ in range(max(20, 1000 // max(size, 1))):
        group = deployments(rng, size)
        team = rng.choice([None, "t1", "t2"])
        expected, got = outcome(lambda: original(group, team, now)), outcome(lambda: ours(group, team, now))
        assert expected[0] == got[0] == "ok"
        assert expected[1].blocking_window == got[1].blocking_window
        assert all(p is q for p, q in zip(expected[1].deployments, got[1].deployments, strict=True))


@pytest.mark.skipif(not OLD_ROUTER, reason="litellm 1.106-1.108's Router methods")
@pytest.mark.parametrize("size", [0, 1, 10, 100, 1000])
def test_group_members_and_cooldown_filters(size: int) -> None:
    """get_all_deployments (with and without team or alias), _filter_cooldown_deployments and
    _filter_blocked_deployments on a real Router, against litellm's own."""
    router_class = litellm.router.Router
    rng = random.Random(size + 3)
    model_list = []
    for i in range(size):
        info: dict[str, Any] = {"id": f"d{i}"}
        if rng.random() < 0.1:
            info["team_id"] = rng.choice(["t1", "t2"])
        if rng.random() < 0.1:
            info["blocked"] = rng.choice([True, False, None, 1])
        model_list.append({"model_name": rng.choice(["g", "g", "h"]), "model_info": info,
                           "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "x"}})
    router = router_class(model_list=model_list) if model_list else router_class()
    sites = {name: (get_original("litellm.router", f"Router.{source}"), vars(router_class)[name])
             for name, source in (("get_all_deployments", "get_all_deployments"),
                                  ("_get_all_deployments", "get_all_deployments"),
                                  ("_filter_cooldown_deployments", "_filter_cooldown_deployments"),
                                  ("_filter_blocked_deployments", "_filter_blocked_deployments"))}
    assert all(getattr(ours, "__fast_litellm__", False) for _, ours in sites.values())
    for _ in range(20):
        for name in ("get_all_deployments", "_get_all_deployments"):
            args = (rng.choice(["g", "h", "missing"]), rng.choice([None, None, "alias"]), rng.choice([None, None, "t1"]))
            original, ours = sites[name]
            expected, got = outcome(lambda: original(router, *args)), outcome(lambda: ours(router, *args))
            # with an alias litellm returns fresh copies: equal, not the same objects
            assert same(expected, got) if args[1] is None else expected == got
        group = list(router.model_list)
        rng.shuffle(group)
        cooled = [f"d{i}" for i in range(size) if rng.random() < 0.1]
        for name, args2 in (("_filter_cooldown_deployments", (group, cooled)), ("_filter_blocked_deployments", (group,))):
            original, ours = sites[name]
            assert same(outcome(lambda: original(router, *args2)), outcome(lambda: ours(router, *args2)))
