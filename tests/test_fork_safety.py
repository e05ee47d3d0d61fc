"""The pieces the threading and fork rules rest on (docs/architecture.md, "Threads and forks"):
fork-safe locks, the reused batch pool and how it cuts batches, and no address passing.

The end-to-end probes (fresh processes, barriers, forks during lazy builds) are in
tests/test_concurrency.py.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fast_litellm import _forksafe, _workers

BINDINGS = Path(__file__).resolve().parent.parent / "fast_litellm" / "_bindings"
PACKAGE = BINDINGS.parent


def _in_child(check: Callable[[], int]) -> int:
    """Fork; the child runs ``check`` with a 10 s alarm and exits with its result (0 good); the
    parent returns the child's wait status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        import signal

        signal.alarm(10)  # a hang kills the child, which the parent sees as a signal
        try:
            os._exit(check())
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    return status


def _takes(*locks: Any) -> Callable[[], int]:
    """A child check: 0 if it acquires each of ``locks`` within 5 s, else 1."""
    def check() -> int:
        for lock in locks:
            if not lock.acquire(timeout=5):
                return 1
            lock.release()
        return 0

    return check


_held = _forksafe.Lock()
_held_r = _forksafe.RLock()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestForkSafeLock:
    """A lock another thread holds when the process forks is free in the child."""

    def test_the_child_gets_the_locks_free(self) -> None:
        """Another thread holds both locks across the fork; the child acquires each at once."""
        taken, done = threading.Event(), threading.Event()

        def hold() -> None:
            with _held, _held_r:
                taken.set()
                done.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert taken.wait(10)
            status = _in_child(_takes(_held, _held_r))
        finally:
            done.set()
            holder.join()
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

    def test_locks_still_exclude(self) -> None:
        """In the process that made it, the lock excludes as threading.Lock does."""
        lock = _forksafe.Lock()
        with lock:
            assert not lock.acquire(blocking=False)
        assert lock.acquire(blocking=False)
        lock.release()

    def test_package_locks_are_fork_safe(self) -> None:
        """No module of the package makes a plain threading lock (every one must be renewed in a
        forked child)."""
        plain = re.compile(r"threading\.(R?Lock|Condition|Semaphore|BoundedSemaphore)\(")
        offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                     if path.name != "_forksafe.py" and plain.search(path.read_text())]
        assert offenders == []


_module_lock = threading.Lock()  # stands for importlib's lock of a module another thread imports


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestLoads:
    """A fork waits for the first-use loads (imports, tables) of other threads."""

    def test_a_fork_waits_for_a_load(self) -> None:
        """A thread inside loading() holds a plain lock (as an import holds its module's lock); a
        fork meanwhile waits for the load, so the child finds the lock free."""
        inside = threading.Event()

        def load() -> None:
            with _forksafe.loading(), _module_lock:
                inside.set()
                threading.Event().wait(0.3)

        loader = threading.Thread(target=load)
        loader.start()
        try:
            assert inside.wait(10)
            status = _in_child(_takes(_module_lock))
        finally:
            loader.join()
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

    def test_nested_loads_and_forks_in_a_load(self) -> None:
        """Loads nest on one thread, and a fork from inside a load does not wait for itself."""
        with _forksafe.loading(), _forksafe.loading():
            status = _in_child(_takes(_held, _held_r))
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert _forksafe._loads == {}


class TestNoAddresses:
    """No Python object crosses into C as an address."""

    def test_bindings_pass_no_ids(self) -> None:
        """The bindings never call id(): objects go to C as arguments of _native_py's methods."""
        calls = {str(path.name): re.findall(r"(?<![\w.])id\(", path.read_text())
                 for path in BINDINGS.glob("*.py")}
        assert {name: found for name, found in calls.items() if found} == {}


class TestBatchParts:
    """How a batch is cut for the worker threads."""

    @given(st.lists(st.integers(0, 200_000), max_size=40), st.integers(1, 80))
    def test_runs_cover_the_batch_in_order(self, sizes: list[int], threads: int) -> None:
        """Runs are non-empty, contiguous, in order, cover every item, number at most the threads
        asked for (and MAX_THREADS), and leave a run of more than one only when every run can get
        MIN_PART_BYTES on average."""
        runs = _workers.parts(sizes, threads)
        assert runs[0][0] == 0 and runs[-1][1] == len(sizes)
        assert all(a[1] == b[0] for a, b in zip(runs, runs[1:]))
        assert all(first < last for first, last in runs) or runs == [(0, 0)]
        assert len(runs) <= max(1, min(threads, _workers.MAX_THREADS))
        if len(runs) > 1:
            assert sum(sizes) >= len(runs) * _workers.MIN_PART_BYTES

    def test_small_batches_stay_on_the_calling_thread(self) -> None:
        """Eight short texts make one run, whatever the threads asked for."""
        assert _workers.parts([40] * 8, 8) == [(0, 8)]

    def test_large_batches_are_split_evenly(self) -> None:
        """Eight texts of 100 KB over 4 threads: four runs of two."""
        assert _workers.parts([100_000] * 8, 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]


class TestPool:
    """Large batches reuse one pool of threads; a forked child makes its own."""

    def test_threads_are_reused(self) -> None:
        """Twenty large batches run their parts on at most POOL_THREADS pool threads, never on
        threads started for the call."""
        idents: set[int] = set()
        for _ in range(20):
            runs = _workers.run_parts(lambda a, b: threading.get_ident(), [(0, 1), (1, 2), (2, 3)])
            idents.update(runs[1:])
        pool_threads = {t.ident for t in threading.enumerate() if t.name.startswith("fast_litellm-batch")}
        assert idents <= pool_threads
        assert 1 <= len(idents) <= _workers.POOL_THREADS
        assert threading.get_ident() not in idents

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_a_forked_child_runs_batches(self) -> None:
        """After a fork, the child's large batch runs (on a pool of its own) instead of waiting
        for the parent's threads."""
        _workers.run_parts(lambda a, b: a, [(0, 1), (1, 2)])  # the parent's pool exists
        status = _in_child(_child_runs_parts)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def _child_runs_parts() -> int:
    return 0 if _workers.run_parts(lambda a, b: a + b, [(0, 1), (1, 2), (2, 3)]) == [1, 3, 5] else 1


class TestLazyModuleState:
    """Module-level state filled on first use stays whole when threads fill it at the same moment."""

    def test_litellm_modules_filled_once(self) -> None:
        """Eight threads released together into _uses_tiktoken with its module cache empty, 300
        times: none fails (extending the cache twice made it four items long: a native error, then
        litellm's own encode, which the litellm.encode probe saw once in 50 runs)."""
        pytest.importorskip("litellm")
        import sys

        import litellm  # noqa: F401
        import litellm.utils  # noqa: F401

        from fast_litellm.adapters import encode as _litellm_tokenizer

        errors: list[BaseException] = []
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            for _ in range(300):
                _litellm_tokenizer._modules.clear()
                start = threading.Barrier(8)

                def work() -> None:
                    start.wait()
                    try:
                        _litellm_tokenizer._uses_tiktoken("gpt-4o")
                    except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                        errors.append(exc)

                threads = [threading.Thread(target=work) for _ in range(8)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
        finally:
            sys.setswitchinterval(interval)
        assert errors == []
        assert len(_litellm_tokenizer._modules) == 2
