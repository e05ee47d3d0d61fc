"""The real LiteLLM proxy routes as litellm does with fast-litellm's router on.

A fresh interpreter runs the proxy app on a ``config.yaml`` whose model list has 30 mock
deployments of one model group (weights on some, one group per routing strategy via
``router_settings``), the accelerator named in ``litellm_settings.callbacks``, outbound network
refused.  It sends chat completions through ``fastapi.testclient.TestClient`` from a seeded
``random``, with the router feature on and then off, and records which deployment served each
(``x-litellm-model-id``).  The sequences must be equal and the router's sites patched and used.
"""

from __future__ import annotations

import importlib.util
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

for _name in ("litellm", "fastapi", "httpx", "yaml"):
    if importlib.util.find_spec(_name) is None:
        pytest.skip(f"{_name} is not installed", allow_module_level=True)

import yaml
from test_proxy import RESULT_MARKER, _child_env, _last_result

_SCRIPT = r'''
import json, random, socket, sys

CONFIG, MASTER_KEY = sys.argv[1], sys.argv[2]
_connect = socket.socket.connect


def _refuse(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError("network is disabled in this test")
    return _connect(self, address)


socket.socket.connect = _refuse
from fastapi.testclient import TestClient
from litellm.proxy.proxy_server import app, save_worker_config

save_worker_config(config=CONFIG)
auth = {"Authorization": f"Bearer {MASTER_KEY}"}
out = {}
with TestClient(app) as client:
    import fast_litellm

    def served(state):
        fast_litellm.configure(router=state)
        random.seed(2026)
        ids = []
        for i in range(24):
            response = client.post("/chat/completions", headers=auth, json={
                "model": "g", "messages": [{"role": "user", "content": f"request {i}"}]})
            ids.append(response.headers.get("x-litellm-model-id") if response.is_success else response.text)
        return ids

    out["on"] = served("on")
    stats = fast_litellm.get_performance_stats()["router"]
    out["native_calls"] = stats["native"]["calls"]
    out["router_sites"] = sorted(site for site, entry in fast_litellm.get_patch_status().items()
                                 if entry["patched"] and entry["feature"] == "router")
    out["off"] = served("off")
print("__MARKER__" + json.dumps(out), flush=True)
'''.replace("__MARKER__", RESULT_MARKER)


def run(directory: Path, strategy: str) -> dict[str, Any]:
    master_key = "sk-" + secrets.token_hex(24)
    model_list = []
    for i in range(30):
        params: dict[str, Any] = {"model": "openai/gpt-4o-mini", "api_key": "sk-x", "mock_response": f"from {i}",
                                  "api_base": f"https://d{i}.example.com/v1"}
        if i % 4 == 0:
            params["weight"] = 1 + i % 3
        params["input_cost_per_token"] = 1e-6 * (1 + (i * 7) % 30)  # cost-based routing's ranking
        model_list.append({"model_name": "g", "litellm_params": params, "model_info": {"id": f"deployment-{i}"}})
    config = {"model_list": model_list, "router_settings": {"routing_strategy": strategy},
              "litellm_settings": {"callbacks": ["fast_litellm.proxy.accelerator"]},
              "general_settings": {"master_key": master_key}}
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    completed = subprocess.run([sys.executable, "-c", _SCRIPT, str(path), master_key], check=False, capture_output=True,
                               text=True, cwd=directory, env=_child_env({}), timeout=600)
    if completed.returncode != 0:
        raise AssertionError(f"proxy child failed:\n{completed.stderr[-4000:]}\n{completed.stdout[-2000:]}")
    return _last_result(completed.stdout)


# Strategies whose picks do not depend on when litellm's background success logging lands
# (latency and usage maps are written by it, so those are compared on fixed maps in
# test_router_picks.py instead).
@pytest.mark.parametrize("strategy", ["simple-shuffle", "cost-based-routing"])
def test_proxy_routes_as_litellm(strategy: str, tmp_path: Path) -> None:
    result = run(tmp_path, strategy)
    assert all(str(i).startswith("deployment-") for i in result["on"]), result["on"]
    assert result["on"] == result["off"]
    assert result["router_sites"], result
    if strategy != "simple-shuffle":  # on litellm 1.110 simple-shuffle picks in litellm's Rust core
        assert result["native_calls"] > 0, result
