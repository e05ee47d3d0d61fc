"""The LiteLLM proxy turns fast-litellm on from its config.yaml, and the kill switch still wins.

The test process has fast_litellm imported already (conftest), so every claim
is checked in a fresh interpreter that runs the real proxy app the way
``litellm --config config.yaml`` does: ``save_worker_config(config=...)``
(what ``litellm.proxy.proxy_cli.run_server`` calls), then the app's lifespan
(``proxy_startup_event``) under ``fastapi.testclient.TestClient``.  That
interpreter never imports fast_litellm before the proxy has started; the
proxy must import it, from ``litellm_settings.callbacks`` or from
``LITELLM_WORKER_STARTUP_HOOKS``.  Outbound network is refused inside it
and every model answers with a mock response.

One proxy run per scenario (a class-scoped fixture); each test checks one
fact of that run's JSON result.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

# Looked up, not imported: the proxy app is imported only in the child interpreters.
for _name in ("litellm", "fastapi", "httpx", "prometheus_client", "yaml"):
    if importlib.util.find_spec(_name) is None:
        pytest.skip(f"{_name} is not installed (pip install 'litellm[proxy]')", allow_module_level=True)

import yaml  # noqa: E402

ACCELERATOR = "fast_litellm.proxy.accelerator"
SITES = {"litellm.encode", "litellm.utils.encode", "litellm.decode", "litellm.utils.decode"}
TEXT = "Héllo wörld 🙂 — fast-litellm behind the proxy\n\ttabs, 1234567 digits, 'quotes' and  spaces"
MOCK_CONTENT = "hi from mock"
RESULT_MARKER = "FAST_LITELLM_PROXY_RESULT "
NATIVE_CALLS_SAMPLE = 'fast_litellm_calls_total{feature="tokenizer",path="native"}'

# Variables that would change what the proxy or fast_litellm does; the child starts without them.
_SCRUBBED_ENV = (
    "CONFIG_FILE_PATH", "WORKER_CONFIG", "LITELLM_MASTER_KEY", "LITELLM_WORKER_STARTUP_HOOKS",
    "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir",
)

# Runs in the child: argv = config path, master key.  Prints RESULT_MARKER + JSON as its last line.
_PROXY_SCRIPT = r'''
import json
import socket
import sys

CONFIG, MASTER_KEY = sys.argv[1], sys.argv[2]
TEXT = __TEXT__

network_attempts = []
_connect = socket.socket.connect
_getaddrinfo = socket.getaddrinfo


def _refuse_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        network_attempts.append(f"connect {address!r}")
        raise OSError("network is disabled in this test")
    return _connect(self, address)


def _refuse_getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1"):
        network_attempts.append(f"getaddrinfo {host!r}")
        raise socket.gaierror("network is disabled in this test")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _refuse_connect
socket.getaddrinfo = _refuse_getaddrinfo

try:
    from fastapi.testclient import TestClient
    from litellm.integrations.custom_logger import CustomLogger
    from litellm.proxy.proxy_server import app, save_worker_config
except ModuleNotFoundError as exc:  # a litellm[proxy] dependency is missing: the test skips
    print("__MARKER__" + json.dumps({"missing_dependency": str(exc)}), flush=True)
    raise SystemExit(0)

out = {"imported_before_startup": "fast_litellm" in sys.modules}
save_worker_config(config=CONFIG)  # exactly what `litellm --config CONFIG` does before serving `app`


class SeeEmbeddingInput(CustomLogger):
    """Records the input an embeddings request reaches the pre-call hooks with."""

    def __init__(self):
        super().__init__()
        self.inputs = []

    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        if "embedding" in str(call_type):
            self.inputs.append(data.get("input"))
        return data


def native_calls():
    return fast_litellm.get_performance_stats()["tokenizer"]["native"]["calls"]


auth = {"Authorization": f"Bearer {MASTER_KEY}"}
with TestClient(app) as client:
    import litellm

    # Everything below reads what the proxy's start-up did; this script never imports
    # fast_litellm itself (that would patch litellm and prove nothing).
    out["imported_by_proxy"] = "fast_litellm" in sys.modules
    out["proxy_module_imported"] = "fast_litellm.proxy" in sys.modules
    out["encode_native"] = getattr(litellm.encode, "__fast_litellm__", False) is True
    out["utils_encode_native"] = getattr(litellm.utils.encode, "__fast_litellm__", False) is True
    out["decode_native"] = getattr(litellm.decode, "__fast_litellm__", False) is True
    if not out["imported_by_proxy"]:
        print("__MARKER__" + json.dumps(out), flush=True)
        raise SystemExit(0)
    fast_litellm = sys.modules["fast_litellm"]
    accelerator = sys.modules["fast_litellm.proxy"].accelerator if out["proxy_module_imported"] else None
    out["accelerator_callbacks"] = sum(1 for cb in litellm.callbacks if cb is accelerator)
    status = fast_litellm.get_patch_status()
    out["patched_sites"] = sorted(site for site, entry in status.items()
                                  if entry["patched"] and entry["feature"] == "tokenizer")
    out["all_patched_sites"] = sorted(site for site, entry in status.items() if entry["patched"])
    out["status_sites"] = sorted(status)

    original_encode = fast_litellm.get_original("litellm.utils", "encode")
    original_decode = fast_litellm.get_original("litellm.utils", "decode")
    out["encode_is_original"] = litellm.encode is original_encode and litellm.utils.encode is original_encode

    response = client.post(
        "/chat/completions",
        headers=auth,
        json={"model": "fake", "messages": [{"role": "user", "content": TEXT}]},
    )
    out["chat_status"] = response.status_code
    out["chat_content"] = (
        response.json()["choices"][0]["message"]["content"] if response.is_success else response.text
    )

    # /embeddings with token-array input for a provider that takes text only: the proxy
    # itself calls litellm.decode(model="gpt-3.5-turbo", tokens=...) on every array.
    seen = SeeEmbeddingInput()
    litellm.callbacks.append(seen)
    ids = list(original_encode(model="gpt-3.5-turbo", text=TEXT))
    calls_before = native_calls()
    response = client.post("/embeddings", headers=auth, json={"model": "fake-embed", "input": [ids]})
    out["embeddings_native_calls"] = native_calls() - calls_before
    out["embeddings_status"] = response.status_code
    out["embeddings_vector"] = (
        response.json()["data"][0]["embedding"] if response.is_success else response.text
    )
    out["embeddings_seen_input"] = seen.inputs
    out["original_decode_of_ids"] = original_decode(model="gpt-3.5-turbo", tokens=ids)
    litellm.callbacks.remove(seen)

    out["native_calls_at_scrape"] = native_calls()
    response = client.get("/metrics/", headers=auth)
    out["metrics_status"] = response.status_code
    out["metrics_lines"] = [
        line for line in response.text.splitlines() if line.startswith("fast_litellm_calls_total")
    ]

    import prometheus_client

    out["registry_lines"] = [
        line for line in prometheus_client.generate_latest().decode().splitlines()
        if line.startswith("fast_litellm_calls_total")
    ]

    encodings = {}
    for model in ("gpt-4o", "gpt-3.5-turbo"):
        encodings[model] = {
            "litellm.encode": list(litellm.encode(model=model, text=TEXT)),
            "litellm.utils.encode": list(litellm.utils.encode(model=model, text=TEXT)),
            "original": list(original_encode(model=model, text=TEXT)),
            "decoded": litellm.decode(model=model, tokens=list(litellm.encode(model=model, text=TEXT))),
        }
    out["encodings"] = encodings

out["network_attempts"] = network_attempts
print("__MARKER__" + json.dumps(out), flush=True)
'''.replace("__TEXT__", repr(TEXT)).replace("__MARKER__", RESULT_MARKER)


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    """The test's environment without proxy/fast_litellm settings, plus ``extra``."""
    env = {
        name: value for name, value in os.environ.items()
        if name not in _SCRUBBED_ENV and not name.startswith("FAST_LITELLM_")
    }
    env.update({
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_DONT_SHOW_FEEDBACK_BOX": "true",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def _last_result(stdout: str) -> dict[str, Any]:
    """The JSON document after the last result marker in ``stdout``."""
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        raise AssertionError(f"no result line in the child's output:\n{stdout[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_MARKER):])
    return result


def run_proxy(
    directory: Path, *, callbacks: list[str] | None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Start the real proxy app on a config in ``directory`` in a fresh interpreter; its JSON result.

    The config has a mock chat model ``fake`` and a mock Cohere embedding model
    ``fake-embed``, a random master key, and ``litellm_settings.callbacks`` set to
    ``callbacks`` (no ``litellm_settings`` when None).
    """
    master_key = "sk-" + secrets.token_hex(24)  # the proxy refuses to start with a known key like sk-1234
    config: dict[str, Any] = {
        "model_list": [
            {"model_name": "fake",
             "litellm_params": {"model": "openai/fake", "api_key": "sk-x", "mock_response": MOCK_CONTENT}},
            {"model_name": "fake-embed",
             "litellm_params": {"model": "cohere/embed-english-v3.0", "api_key": "sk-x",
                                "mock_response": [0.25, 0.5]}},
        ],
        "general_settings": {"master_key": master_key},
    }
    if callbacks is not None:
        config["litellm_settings"] = {"callbacks": callbacks}
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-c", _PROXY_SCRIPT, str(config_path), master_key],
        capture_output=True, text=True, cwd=directory, env=_child_env(env or {}), timeout=600,
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"proxy child failed ({completed.returncode}):\n"
            f"{completed.stderr[-4000:]}\n{completed.stdout[-2000:]}"
        )
    result = _last_result(completed.stdout)
    if "missing_dependency" in result:
        pytest.skip(f"the LiteLLM proxy cannot be imported: {result['missing_dependency']}")
    if not result["imported_by_proxy"]:
        raise AssertionError(f"the proxy started without importing fast_litellm: {result}")
    return result


def _sample_value(lines: list[str], sample: str) -> float:
    """The value of the exposition line for ``sample`` (name with labels)."""
    for line in lines:
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} not among {lines}")


class TestProxyConfigCallback:
    """``litellm_settings.callbacks: ["fast_litellm.proxy.accelerator"]`` and nothing else."""

    @pytest.fixture(scope="class")
    def run(self, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
        """One proxy run with the accelerator named in the config."""
        return run_proxy(tmp_path_factory.mktemp("proxy_enabled"), callbacks=[ACCELERATOR])

    def test_proxy_imports_fast_litellm_itself(self, run: dict[str, Any]) -> None:
        """fast_litellm is absent before start-up and imported, with fast_litellm.proxy, by the proxy."""
        assert run["imported_before_startup"] is False
        assert run["imported_by_proxy"] is True
        assert run["proxy_module_imported"] is True

    def test_callback_is_the_accelerator_instance(self, run: dict[str, Any]) -> None:
        """The proxy resolved the dotted name to the module's accelerator and registered it once."""
        assert run["accelerator_callbacks"] == 1

    def test_encode_sites_are_native(self, run: dict[str, Any]) -> None:
        """litellm.encode, litellm.utils.encode and litellm.decode are fast_litellm's wrappers."""
        assert run["encode_native"] is True
        assert run["utils_encode_native"] is True
        assert run["decode_native"] is True

    def test_patch_status_says_patched(self, run: dict[str, Any]) -> None:
        """get_patch_status() reports all four patch sites installed."""
        assert SITES <= set(run["status_sites"])
        assert set(run["patched_sites"]) == SITES

    def test_chat_completion_returns_mock(self, run: dict[str, Any]) -> None:
        """POST /chat/completions for the mock model answers 200 with the mock content."""
        assert run["chat_status"] == 200
        assert run["chat_content"] == MOCK_CONTENT

    def test_embeddings_token_input_decoded_natively(self, run: dict[str, Any]) -> None:
        """The proxy's own decode of token-array embeddings input runs natively and yields litellm's text."""
        assert run["embeddings_status"] == 200
        assert run["embeddings_vector"] == [0.25, 0.5]
        assert run["original_decode_of_ids"] == TEXT
        assert run["embeddings_seen_input"] == [[TEXT]]
        assert run["embeddings_native_calls"] == 1

    def test_encode_ids_equal_litellm_original(self, run: dict[str, Any]) -> None:
        """After the proxy ran, both patched encode sites give the ids of litellm's own encode."""
        for model, result in run["encodings"].items():
            assert result["original"], model
            assert result["litellm.encode"] == result["original"], model
            assert result["litellm.utils.encode"] == result["original"], model
            assert result["decoded"] == TEXT, model

    def test_no_network_attempted(self, run: dict[str, Any]) -> None:
        """Nothing in the proxy run tried to reach the network."""
        assert run["network_attempts"] == []


class TestProxyKillSwitch:
    """The same config with ``FAST_LITELLM_ENABLED=false``: the callback loads and does nothing."""

    @pytest.fixture(scope="class")
    def run(self, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
        """One proxy run with the accelerator in the config and the kill switch set."""
        return run_proxy(
            tmp_path_factory.mktemp("proxy_killed"),
            callbacks=[ACCELERATOR],
            env={"FAST_LITELLM_ENABLED": "false"},
        )

    def test_callback_still_loads(self, run: dict[str, Any]) -> None:
        """The proxy still imports fast_litellm.proxy and registers the accelerator."""
        assert run["imported_before_startup"] is False
        assert run["accelerator_callbacks"] == 1

    def test_nothing_patched(self, run: dict[str, Any]) -> None:
        """No patch site is installed and litellm.encode is litellm's own function."""
        assert run["patched_sites"] == [] and run["all_patched_sites"] == []
        assert run["encode_native"] is False
        assert run["utils_encode_native"] is False
        assert run["decode_native"] is False
        assert run["encode_is_original"] is True

    def test_requests_still_succeed(self, run: dict[str, Any]) -> None:
        """Chat and token-array embeddings requests answer 200 through litellm's own functions."""
        assert run["chat_status"] == 200
        assert run["chat_content"] == MOCK_CONTENT
        assert run["embeddings_status"] == 200
        assert run["embeddings_seen_input"] == [[TEXT]]
        assert run["embeddings_native_calls"] == 0

    def test_encode_ids_unchanged(self, run: dict[str, Any]) -> None:
        """litellm.encode still gives litellm's ids because it is litellm's function."""
        for model, result in run["encodings"].items():
            assert result["litellm.encode"] == result["original"], model

    def test_no_metrics_registered(self, run: dict[str, Any]) -> None:
        """Under the kill switch no fast_litellm_* series reaches prometheus_client's registry."""
        assert run["registry_lines"] == []


class TestProxyMetrics:
    """``callbacks: ["prometheus", "fast_litellm.proxy.accelerator"]``: /metrics includes fast_litellm_*."""

    @pytest.fixture(scope="class")
    def run(self, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
        """One proxy run with litellm's prometheus callback and the accelerator."""
        return run_proxy(tmp_path_factory.mktemp("proxy_metrics"), callbacks=["prometheus", ACCELERATOR])

    def test_metrics_endpoint_serves_fast_litellm_calls(self, run: dict[str, Any]) -> None:
        """The proxy's /metrics shows fast_litellm_calls_total with the native call the proxy made."""
        assert run["metrics_status"] == 200
        scraped = _sample_value(run["metrics_lines"], NATIVE_CALLS_SAMPLE)
        assert scraped == run["native_calls_at_scrape"]
        assert scraped >= 1

    def test_global_registry_has_fast_litellm_calls(self, run: dict[str, Any]) -> None:
        """prometheus_client's global registry in the proxy process carries fast_litellm_calls_total."""
        assert _sample_value(run["registry_lines"], NATIVE_CALLS_SAMPLE) >= 1

    def test_accelerator_patches_alongside_prometheus(self, run: dict[str, Any]) -> None:
        """With prometheus also configured, all four sites are still patched."""
        assert set(run["patched_sites"]) == SITES


class TestProxyStartupHook:
    """``LITELLM_WORKER_STARTUP_HOOKS=fast_litellm.proxy:enable`` with a config that names no callback."""

    @pytest.fixture(scope="class")
    def run(self, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
        """One proxy run enabled from the environment only."""
        return run_proxy(
            tmp_path_factory.mktemp("proxy_hook"),
            callbacks=None,
            env={"LITELLM_WORKER_STARTUP_HOOKS": "fast_litellm.proxy:enable"},
        )

    def test_hook_patches_without_callback(self, run: dict[str, Any]) -> None:
        """The start-up hook alone imports fast_litellm.proxy and patches every site; no callback is added."""
        assert run["imported_before_startup"] is False
        assert run["accelerator_callbacks"] == 0
        assert set(run["patched_sites"]) == SITES

    def test_hook_requests_use_native_path(self, run: dict[str, Any]) -> None:
        """Requests succeed and the proxy's decode of token-array input runs natively."""
        assert run["chat_status"] == 200
        assert run["embeddings_status"] == 200
        assert run["embeddings_seen_input"] == [[TEXT]]
        assert run["embeddings_native_calls"] == 1


class TestProxyModule:
    """fast_litellm.proxy on its own, outside a running proxy."""

    def test_metrics_failure_does_not_break_import(self, tmp_path: Path) -> None:
        """A failing Prometheus registration is logged on the fast_litellm logger and the import succeeds."""
        script = textwrap.dedent(
            """
            import json, logging
            records = []

            class Keep(logging.Handler):
                def emit(self, record):
                    records.append((record.levelname, record.getMessage()))

            logging.getLogger("fast_litellm").addHandler(Keep())
            import fast_litellm

            def broken(registry=None):
                raise RuntimeError("registry is broken")

            fast_litellm.register_prometheus_collector = broken
            import fast_litellm.proxy
            from litellm.integrations.custom_logger import CustomLogger
            print("__MARKER__" + json.dumps({
                "records": records,
                "is_custom_logger": isinstance(fast_litellm.proxy.accelerator, CustomLogger),
                "enable_sites": sorted(fast_litellm.proxy.enable()),
            }))
            """
        ).replace("__MARKER__", RESULT_MARKER)
        completed = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
            env=_child_env({}), timeout=600,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        result = _last_result(completed.stdout)
        warning = ["WARNING", "fast_litellm.proxy: could not register the Prometheus collector"]
        assert warning in result["records"]
        assert result["is_custom_logger"] is True
        assert SITES <= set(result["enable_sites"])
