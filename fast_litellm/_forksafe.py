"""Locks that a forked child gets back unlocked, and loads that a fork waits for.

``os.fork()`` copies a lock in whatever state it is in.  If another thread of the parent held it
(between two bytecodes of a ``with`` block, or across a native call that released the GIL), the
child has that lock held by a thread it does not have, and its first ``acquire`` never returns.
gunicorn ``--preload``, multiprocessing's fork start method and Celery's prefork pool all fork
while threads run.  Every lock of fast_litellm is one of these: in a child, each is replaced by a
new, free lock before any code of the child runs.  What a lock guards is published in one store
once complete (a table, a snapshot), so a build the fork interrupted is simply not there in the
child, which builds it again.

Locks of Python's import system are another matter: a module being imported by another thread at
the moment of the fork stays locked in the child (importlib's per-module lock), and the child's
first import of it blocks forever.  fast_litellm imports its tokenizer, extension and vocabularies
on first use, from whatever thread calls first, so each such first use runs inside ``loading()``,
and a fork waits (GIL released) until the loads of other threads are done, up to
``FORK_WAIT_SECONDS``; loads cannot start while the fork runs.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 - its fork hooks first; see the end of this module
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

__all__ = ["FORK_WAIT_SECONDS", "ForkSafeLock", "Lock", "RLock", "loading"]

FORK_WAIT_SECONDS = 30.0


class ForkSafeLock:
    """A ``threading.Lock`` (or ``RLock``) that is replaced by a free one in a forked child."""

    __slots__ = ("__weakref__", "_lock", "_reentrant")

    def __init__(self, reentrant: bool = False) -> None:
        self._reentrant = reentrant
        self._lock: Any = threading.RLock() if reentrant else threading.Lock()
        _locks.add(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """``threading.Lock.acquire``."""
        got: bool = self._lock.acquire(blocking, timeout)
        return got

    def release(self) -> None:
        """``threading.Lock.release``."""
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()

    def _renew(self) -> None:
        self._lock = threading.RLock() if self._reentrant else threading.Lock()


def Lock() -> ForkSafeLock:  # noqa: N802 - named after threading.Lock, which it replaces
    """A new fork-safe lock."""
    return ForkSafeLock()


def RLock() -> ForkSafeLock:  # noqa: N802
    """A new fork-safe reentrant lock."""
    return ForkSafeLock(reentrant=True)


_locks: weakref.WeakSet[ForkSafeLock] = weakref.WeakSet()

# Loads in progress, by thread; a fork holds _fork_gate (no load starts) and waits on _loads_done.
_fork_gate = threading.Lock()
_loads_done = threading.Condition(threading.Lock())
_loads: dict[int, int] = {}
_depth = threading.local()


@contextmanager
def loading() -> Iterator[None]:
    """Mark a first-use load (imports, rank files, tables) that a fork must not cut in two.
    Nested loads on one thread count once."""
    depth = getattr(_depth, "n", 0)
    _depth.n = depth + 1
    me = threading.get_ident()
    if depth == 0:
        with _fork_gate:  # held by a fork in progress: wait for it
            with _loads_done:
                _loads[me] = 1
    try:
        yield
    finally:
        _depth.n = depth
        if depth == 0:
            with _loads_done:
                _loads.pop(me, None)
                _loads_done.notify_all()


def _before_fork() -> None:
    _fork_gate.acquire()
    me = threading.get_ident()
    with _loads_done:  # the wait releases the GIL, so the loading threads go on
        _loads_done.wait_for(lambda: not any(tid != me for tid in _loads), FORK_WAIT_SECONDS)


def _after_fork_in_parent() -> None:
    _fork_gate.release()


def _after_fork_in_child() -> None:
    global _fork_gate, _loads_done
    _fork_gate = threading.Lock()
    _loads_done = threading.Condition(threading.Lock())
    me = threading.get_ident()
    for tid in [tid for tid in _loads if tid != me]:  # threads the child does not have
        del _loads[tid]
    for lock in list(_locks):
        lock._renew()


# A module imported while the hooks of a fork run has its after-hooks run but not its before-hooks
# (CPython reads the before-hooks first): concurrent.futures.thread, which the loads import, would then
# release a lock it never took.  It is imported above, so its hooks are in place before any fork.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
