"""The team filter and the tag filter's per-group override (fast_litellm/router/scoping.py) against
litellm's own, on generated groups.

``filter_team_based_models``: deployments with and without a team (empty, other, the caller's, an
int), ids missing, None or not str, model_info missing, None or empty; requests with no kwargs, no
team, a team in either metadata bucket, a proxy admin without a team; a single deployment (a
dict).  ``_chain_tag_filtering_override``: the first ``enable_tag_filtering`` that is not None,
falsy ones included, over model_info missing, None or empty.

A planted bug fails these tests: comparing team ids by identity instead of ``==`` fails
``test_team_filter_is_litellms``; skipping falsy override values fails
``test_tag_override_is_litellms``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import random
from typing import Any

import pytest

pytest.importorskip("litellm")

from fast_litellm.adapters.patching import get_original

LINE = tuple(int(p) for p in importlib.metadata.version("litellm").split(".")[:2])
TEAM_MODULE = ("litellm.router_utils.common_utils" if LINE <= (1, 108)
               else "litellm.litellm_core_utils.routing_common_utils")
TAG_MODULE = "litellm.router_strategy.tag_based_routing"

pytestmark = [
    pytest.mark.usefixtures("router_on"),
    pytest.mark.filterwarnings("ignore:Items .* are using the `ReadOnly` qualifier:UserWarning"),
]


class _Admin:
    user_role = "proxy_admin"


def _deployment(rng: random.Random, i: int) -> dict[str, Any]:
    d: dict[str, Any] = {"model_name": "g", "litellm_params": {"model": "openai/gpt-4o"}}
    kind = rng.randrange(10)
    if kind == 0:
        return d
    if kind == 1:
        d["model_info"] = None if rng.random() < 0.2 else {}
        return d
    info: dict[str, Any] = {}
    if rng.random() < 0.9:
        info["id"] = rng.choice([f"d{i}", f"d{i}", f"d{i % 4}", None, 17 if rng.random() < 0.05 else "x"])
    team = rng.choice([None, None, None, "", "team-a", "team-b", 5 if rng.random() < 0.05 else "absent", "absent"])
    if isinstance(team, str) and team.startswith("team-"):
        team = "team-" + team[-1]  # a str of its own: equal to the caller's team, never the same object
    if team != "absent":
        info["team_id"] = team
    if rng.random() < 0.2:
        info["enable_tag_filtering"] = rng.choice([None, True, False, 0, ""])
    d["model_info"] = info
    return d


def _request(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return None
    if kind == 1:
        return {}
    bucket = rng.choice(["metadata", "litellm_metadata"])
    if kind == 2:
        return {bucket: {"user_api_key_team_id": rng.choice(["team-a", "team-b", ""])}}
    if kind == 3:
        return {bucket: {"user_api_key_auth": _Admin()}, "model": "g"}
    return {"metadata": None, "litellm_metadata": {"other": 1}}


def _outcome(function: Any, *args: Any) -> Any:
    try:
        result = function(*args)
    except Exception as exc:  # noqa: BLE001 - compared
        return type(exc), str(exc)
    return result, [id(d) for d in result] if isinstance(result, list) else id(result)


def _native_calls() -> int:
    import fast_litellm

    calls: int = fast_litellm.get_performance_stats()["router"]["native"]["calls"]
    return calls


def test_team_filter_is_litellms() -> None:
    module = importlib.import_module(TEAM_MODULE)
    original = get_original(TEAM_MODULE, "filter_team_based_models")
    assert original is not None
    patched = module.filter_team_based_models
    assert getattr(patched, "__fast_litellm__", False)
    before = _native_calls()
    for seed in range(600):
        rng = random.Random(seed)
        group: Any = [_deployment(rng, i) for i in range(rng.randrange(0, 25))]
        if rng.random() < 0.05 and group:
            group = group[0]
        request = _request(rng)
        assert _outcome(patched, group, request) == _outcome(original, group, request), seed
    assert _native_calls() - before > 250  # most cases are the native scan's, not litellm's


def test_tag_override_is_litellms(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module(TAG_MODULE)
    original = get_original(TAG_MODULE, "_chain_tag_filtering_override")
    assert original is not None
    patched = module._chain_tag_filtering_override
    assert getattr(patched, "__fast_litellm__", False)
    before = _native_calls()
    for seed in range(400):
        rng = random.Random(seed)
        group: Any = [_deployment(rng, i) for i in range(rng.randrange(0, 25))]
        if rng.random() < 0.2:
            group = tuple(group)
        monkeypatch.setattr(module, "_all_deployments_or_fallback", lambda owner, model, fallback, g=group: g)
        expected, got = original(None, "g", []), patched(None, "g", [])
        assert got == expected and type(got) is type(expected), seed
    assert _native_calls() - before > 300
