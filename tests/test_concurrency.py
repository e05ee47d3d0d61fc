"""Concurrent first use from 8 threads, and fork() during a lazy native build, in fresh interpreters.

Each test runs one probe of ``tests/concurrency_probes.py`` (which says what each
does) in fresh interpreters, because first use is what breaks: a run that
crashes, hangs (it is killed at its timeout), returns ids or counts that differ
from tiktoken's or litellm's own, or whose native call fails fails the test
with that run's stderr tail.  A probe stops at its first failed run.

``FL_CONCURRENCY_RUNS`` sets the fresh runs per probe (default 8, and 6 for the
``litellm.*`` probes, each of which imports litellm: about 3 s); ``FL_CONCURRENCY_JOBS``
how many run at a time (default 2).  The full bar, 50 fresh runs of every probe
with 0 crashes and 0 hangs, is run by hand::

    python tests/concurrency_probes.py all --runs 50
"""

from __future__ import annotations

import importlib.util
import os
import threading

import concurrency_probes as probes
import pytest

if importlib.util.find_spec("litellm") is None or importlib.util.find_spec("tiktoken") is None:
    pytest.skip("the probes need litellm (and its bundled rank files) and tiktoken", allow_module_level=True)

_JOBS = int(os.environ.get("FL_CONCURRENCY_JOBS", "2"))


def _runs(probe: str) -> int:
    value = os.environ.get("FL_CONCURRENCY_RUNS")
    if value:
        return int(value)
    return 6 if probe.startswith(("litellm.", "router.")) else 8


def _assert_every_run_ok(probe: str) -> None:
    runs = _runs(probe)
    for n, outcome in enumerate(probes.run_many(probe, runs, _JOBS, stop_on_failure=True), 1):
        if outcome.kind != "ok":
            pytest.fail(f"fresh run {n} of {runs} failed: {outcome.describe()}", pytrace=False)


_ENCODING_PROBES = [p for p in probes.THREAD_PROBES if not p.startswith("litellm.")]
_LITELLM_PROBES = [p for p in probes.THREAD_PROBES if p.startswith("litellm.")]


class TestThreadsFirstUseOfEncoding:
    """Eight threads whose first call is the same method of a fresh encoding."""

    @pytest.mark.parametrize("probe", _ENCODING_PROBES)
    def test_no_crash_and_tiktoken_results(self, probe: str) -> None:
        """Every fresh run ends normally and every thread's result equals tiktoken's."""
        _assert_every_run_ok(probe)


class TestThreadsFirstUseOfLitellm:
    """Eight threads whose first call is litellm.encode or litellm.token_counter, patched."""

    @pytest.mark.parametrize("probe", _LITELLM_PROBES)
    def test_no_crash_and_litellm_results(self, probe: str) -> None:
        """Every fresh run ends normally, natively, and every result equals litellm's own."""
        _assert_every_run_ok(probe)


class TestRouterPicks:
    """Eight threads picking through the native router at once; forks while a thread picks."""

    @pytest.mark.parametrize("probe", probes.ROUTER_PROBES)
    def test_no_crash_and_litellm_picks(self, probe: str) -> None:
        """Every fresh run ends normally, natively, and every pick equals litellm's own."""
        _assert_every_run_ok(probe)


class TestLimiterTables:
    """Eight threads whose first call hits one rate-limit table; forks while a thread claims slots."""

    @pytest.mark.parametrize("probe", probes.LIMITER_PROBES)
    def test_no_crash_and_exact_counts(self, probe: str) -> None:
        """Every fresh run ends normally; each key admits exactly its limit; forked children get an
        empty private table and the shared one."""
        _assert_every_run_ok(probe)


class TestForkDuringLazyBuild:
    """Forks while another thread builds a lazy table (token trie, cross filter, an encoding)."""

    @pytest.mark.parametrize("probe", probes.FORK_PROBES)
    def test_children_finish_with_tiktoken_results(self, probe: str) -> None:
        """Every forked child that needs the same table gets it, with tiktoken's ids, and exits."""
        _assert_every_run_ok(probe)


class TestProbeRunner:
    """The runner's verdicts on probes that fail on purpose."""

    # Under AddressSanitizer a deliberate segfault is ASan's report and exit status 1, not a signal.
    _ASAN = "asan" in os.environ.get("LD_PRELOAD", "")
    _CRASH = pytest.mark.skipif(_ASAN, reason="ASan turns the deliberate segfault into its own exit")

    @pytest.mark.parametrize(("probe", "kind", "timeout"), [
        ("selftest.ok", "ok", 60),
        pytest.param("selftest.crash", "crash", 60, marks=_CRASH),
        ("selftest.hang", "hang", 3),
        pytest.param("selftest.fork_crash", "crash", 60, marks=_CRASH),
        ("selftest.fork_hang", "hang", 60),
    ])
    def test_verdict(self, probe: str, kind: str, timeout: float) -> None:
        """A run is ok, a crash (it or a forked child dies by a signal) or a hang (it or a child is
        killed)."""
        outcome = probes.run_once(probe, timeout=timeout, FL_CONCURRENCY_CHILD_DEADLINE="1")
        assert outcome.kind == kind, outcome.describe()

    def test_timeout_kills_forked_children(self) -> None:
        """A run killed at its timeout takes the processes it forked with it."""
        outcome = probes.run_once("selftest.fork_hang", timeout=5, FL_CONCURRENCY_CHILD_DEADLINE="600")
        verdict = (outcome.kind, outcome.returncode, "child" in outcome.info)
        assert verdict == ("hang", None, True), outcome.describe()
        child = outcome.info["child"]
        for _ in range(500):  # SIGKILL is delivered at once, but the exit takes a moment
            if not _alive(child):
                return
            threading.Event().wait(0.01)
        pytest.fail(f"forked child {child} outlived its run")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (whose reaping is up to its new parent)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
