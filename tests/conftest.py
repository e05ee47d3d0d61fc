"""Shared test setup: offline rank files, hypothesis profiles, native/tiktoken encoding pairs.

Environment set here at import time (before any test module imports litellm or
tiktoken):

* ``LITELLM_LOCAL_MODEL_COST_MAP=True`` so that importing litellm never fetches
  the model cost map over the network;
* ``TIKTOKEN_CACHE_DIR`` = the rank files litellm bundles
  (``<site-packages>/litellm/litellm_core_utils/tokenizers``), located with
  ``importlib.util.find_spec`` so litellm itself is not imported.  tiktoken then
  finds cl100k_base, o200k_base and p50k_base offline (r50k_base is not bundled).

Hypothesis profiles: ``default`` (200 examples) and ``ci`` (2,000 examples),
chosen with ``HYPOTHESIS_PROFILE=ci``.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    import tiktoken

    from fast_litellm.tokenizer import Encoding


def _litellm_tokenizers_dir() -> Path:
    """The directory of rank files bundled with litellm, found without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("litellm is not installed; the differential tests need its bundled rank files")
    return Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"


LITELLM_TOKENIZERS_DIR = _litellm_tokenizers_dir()
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["TIKTOKEN_CACHE_DIR"] = str(LITELLM_TOKENIZERS_DIR)

# Encodings whose rank files litellm bundles (r50k_base is not among them).
AVAILABLE_ENCODINGS: tuple[str, ...] = ("cl100k_base", "o200k_base", "p50k_base")

settings.register_profile(
    "default",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@functools.lru_cache(maxsize=None)
def load_tiktoken(name: str) -> tiktoken.Encoding:
    """tiktoken's encoding ``name`` (cached for the whole session)."""
    import tiktoken

    return tiktoken.get_encoding(name)


@functools.lru_cache(maxsize=None)
def load_native(name: str) -> Encoding:
    """fast_litellm's native encoding ``name`` (cached for the whole session)."""
    from fast_litellm.tokenizer import get_encoding

    return get_encoding(name)


@pytest.fixture(scope="session")
def tiktoken_enc() -> Callable[[str], tiktoken.Encoding]:
    """A function returning tiktoken's (cached) encoding for a name."""
    return load_tiktoken


@pytest.fixture(scope="session")
def native_enc() -> Callable[[str], Encoding]:
    """A function returning fast_litellm's (cached) native encoding for a name."""
    return load_native


@pytest.fixture(scope="session", params=AVAILABLE_ENCODINGS)
def encoding_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each encoding that can be loaded offline."""
    yield request.param


@pytest.fixture(scope="session")
def encodings(encoding_name: str) -> tuple[Encoding, tiktoken.Encoding]:
    """The (native, tiktoken) pair for ``encoding_name``."""
    return load_native(encoding_name), load_tiktoken(encoding_name)


class FakeClock:
    """A monotonic clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    """A fresh FakeClock for breaker tests."""
    return FakeClock()


def model_names() -> list[str]:
    """Model names for the C entries' tests: every name in litellm's model tables, upper-case,
    title-case and azure/ variants of some, and llama, command-r, non-ASCII and over-long names."""
    import litellm

    tables = (litellm.model_cost, litellm.cohere_models, litellm.anthropic_models, litellm.azure_llms,
              litellm.open_ai_chat_completion_models)
    names = sorted({name for table in tables for name in table if isinstance(name, str)})
    variants = [f(name) for name in names[::7] for f in (str.upper, str.title, "azure/{}".format)]
    return [*names, *variants, "", "unknown-model", "Meta-LLAMA-3-8b", "replicate/meta/llama-2-70b",
            "command-r-plus", "COMMAND-R", "gpt-35-turbo-16k", "claude-2", "clàude-2", "modèle", "x" * 300,
            "claude-" + "y" * 300]


@pytest.fixture
def without_model_rules() -> Iterator[None]:
    """The C entries without their reproduction of litellm's model functions: they call litellm's."""
    from fast_litellm.adapters.token_counter import _ENTRY_CONTEXT, _entry_context, load_litellm

    load_litellm()  # first: loading sets the rules
    at = _ENTRY_CONTEXT.index("rules")
    rules, _entry_context[at] = _entry_context[at], None
    try:
        yield
    finally:
        _entry_context[at] = rules


def stand_in_gate() -> tuple[Any, Any]:
    """A gate for the C entries that is always in the untimed fast path: (gate, its native stats);
    the stats' calls start where the monitor stops timing every call."""
    from types import SimpleNamespace

    from fast_litellm.control.monitor import SAMPLES

    stats = SimpleNamespace(calls=SAMPLES + 1)
    gate = SimpleNamespace(all_native=True, breaker=SimpleNamespace(clean=True), stats=SimpleNamespace(native=stats))
    return gate, stats


@pytest.fixture
def with_model_rules() -> None:
    """The C entries reproduce litellm's model functions (litellm holds the 1.106 ones)."""
    from fast_litellm.adapters.token_counter import _ENTRY_CONTEXT, _entry_context, load_litellm

    load_litellm()
    assert _entry_context[_ENTRY_CONTEXT.index("rules")] is not None, "litellm's model functions changed"


# The clock of litellm's routing strategies in the router tests (their usage maps are keyed by the
# minute, which must not turn between litellm's pick and ours).
STRATEGY_NOW = datetime(2026, 12, 7, 12, 30, 15)


@pytest.fixture
def strategy_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """litellm's latency, usage and cost strategy modules read ``STRATEGY_NOW`` as the time."""
    from litellm.router_strategy import lowest_cost, lowest_latency, lowest_tpm_rpm

    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return STRATEGY_NOW

    for module in (lowest_latency, lowest_tpm_rpm, lowest_cost):
        monkeypatch.setattr(module, "datetime", FrozenClock)
    return STRATEGY_NOW


@pytest.fixture
def router_on() -> Iterator[None]:
    """The router feature on and its sites patched, with clean breaker counters; the flags and
    counters as they were afterwards."""
    import fast_litellm

    fast_litellm.configure(router="on")
    fast_litellm.apply_acceleration()
    fast_litellm.reset_errors()
    yield
    fast_litellm.reload_flags()
    fast_litellm.reset_errors()


def pytest_report_header() -> str:
    """Which SIMD levels this machine runs: the tests force each of them (tokenizer fast paths)."""
    try:
        from fast_litellm._bindings.tokens import simd_levels
    except Exception as exc:  # noqa: BLE001 - the header must not stop the run
        return f"fast_litellm SIMD levels: unknown ({exc})"
    levels = simd_levels()
    return f"fast_litellm SIMD levels run here: {', '.join(levels)} (default {levels[-1]})"


@pytest.fixture(scope="module")
def loop() -> Any:
    """One event loop for the module, as in an application: litellm's logging worker lives on it;
    its tasks are cancelled and awaited before the loop closes."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    pending = asyncio.all_tasks(event_loop)
    for task in pending:
        task.cancel()
    if pending:  # gather() of nothing would make its future on another loop
        event_loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    event_loop.close()


@pytest.fixture(scope="session")
def redis_server() -> Any:
    """A real redis-server on a free loopback port for the session (installed if missing; see _redis)."""
    import _redis

    binary, why = _redis.find_or_install()
    if binary is None:
        pytest.skip(f"no redis-server: {why}")
    server = _redis.start(binary)
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """test_litellm_lines runs last: its line runs go on beside the rest of the session (_line_runs)."""
    lines = [item for item in items if item.path.name == "test_litellm_lines.py"]
    items[:] = [item for item in items if item.path.name != "test_litellm_lines.py"] + lines


def pytest_collection_finish(session: pytest.Session) -> None:
    """The selected line runs start now, in the background (after -k/-m deselection)."""
    if session.config.option.collectonly or os.environ.get("FL_LITELLM_LINES") == "0":
        return
    versions = [item.callspec.params["version"] for item in session.items
                if item.path.name == "test_litellm_lines.py" and item.name.startswith("test_sensitive_suites[")
                and hasattr(item, "callspec")]
    if versions:
        import _line_runs

        _line_runs.start([v for v in _line_runs.LINES if v in versions])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Line runs still pending when the session ends (interrupted, -x) are dropped or killed."""
    import sys

    if "_line_runs" in sys.modules:
        sys.modules["_line_runs"].stop()
