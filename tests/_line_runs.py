"""The line runs of ``test_litellm_lines``: each older litellm line's SENSITIVE suites, in a subprocess.

They are the slowest part of the test command and use one core, so when the session selects them
``conftest`` starts them in a background thread as soon as collection ends (``start``) and moves
``test_litellm_lines`` to the end of the session: the lines run beside the main suite, one at a
time, and each test then waits for its line's result (``result``).  Tests never time anything, so
running beside the main suite changes no outcome, only the wall time.  Run alone (``-p no:...`` or
a single test), ``result`` runs the line in the calling thread.
"""

from __future__ import annotations

import importlib.util
import subprocess
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from _venvs import ROOT, clean_env, make_venv

__all__ = ["LINES", "SENSITIVE", "result", "start", "stop", "venv"]

LINES = ["1.106.12", "1.108.14", "1.109.3"]  # run SENSITIVE; the newest line is the main suite's
SENSITIVE = ["tests/test_differential_token_counter.py", "tests/test_differential_tools_format.py",
             "tests/test_patching.py", "tests/test_control_plane.py", "tests/test_litellm_guards.py",
             "tests/test_patch_sites.py", "tests/test_every_model_name.py", "tests/test_router_strategies.py",
             "tests/test_quiet_cache.py", "tests/test_router_picks.py", "tests/test_router_filters.py",
             "tests/test_router_headers.py", "tests/test_router_cooldowns.py", "tests/test_router_scoping.py",
             "tests/test_router_usage_v2.py", "tests/test_router_sequences.py", "tests/test_router_redis.py",
             "tests/test_router_least_busy.py", "tests/test_limiter_v3.py"]
# The proxy test needs the proxy's requirements (the test extra installs them); the line venvs see
# the main environment's.  Without them it would only skip.
if all(importlib.util.find_spec(name) for name in ("fastapi", "yaml", "prometheus_client")):
    SENSITIVE.extend(["tests/test_proxy.py", "tests/test_proxy_router.py"])

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_runs: dict[str, Future[subprocess.CompletedProcess[str]]] = {}
_running: set[subprocess.Popen[str]] = set()
_stopped = False


def venv(version: str) -> Path:
    """The python of a venv holding litellm ``version`` on top of the main environment (made once)."""
    return make_venv(f"litellm-{version}", [f"litellm=={version}"])


def _run_line(version: str) -> subprocess.CompletedProcess[str]:
    """Every SENSITIVE suite on ``version``, ``-x``, with ``FL_LINE_RUN=1``."""
    import _redis

    _redis.find_or_install()  # once, here: two apt-gets at a time would fight over dpkg's lock
    python = venv(version)
    args = [str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *SENSITIVE]
    with _lock:
        if _stopped:
            raise RuntimeError("the session ended before this line ran")
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=clean_env(PYTHONPATH=str(ROOT), FL_LINE_RUN="1"), cwd=str(ROOT))
        _running.add(process)
    try:
        out, err = process.communicate(timeout=2400)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        err += "\n(timed out after 2400 s)"
    finally:
        with _lock:
            _running.discard(process)
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def start(versions: list[str]) -> None:
    """Run the lines ``versions`` in one background thread, in order (idempotent)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="litellm-lines")
        for version in versions:
            if version not in _runs:
                _runs[version] = _pool.submit(_run_line, version)


def result(version: str) -> subprocess.CompletedProcess[str]:
    """The finished run of ``version`` (waiting for the background run, or running it here)."""
    with _lock:
        future = _runs.get(version)
    return future.result() if future is not None else _run_line(version)


def stop() -> None:
    """End of session: drop the runs not started and kill those running."""
    global _stopped
    with _lock:
        _stopped = True
        for future in _runs.values():
            future.cancel()
        for process in _running:
            process.kill()
    if _pool is not None:
        _pool.shutdown(wait=True)
