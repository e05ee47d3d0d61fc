"""Locks that a forked child gets back unlocked.

``os.fork()`` copies a lock in whatever state it is in.  If another thread of the parent held it
(between two bytecodes of a ``with`` block, or across a native call that released the GIL), the
child has that lock held by a thread it does not have, and its first ``acquire`` never returns.
gunicorn ``--preload``, multiprocessing's fork start method and Celery's prefork pool all fork
while threads run.  Every lock of fast_litellm is one of these: in a child, each is replaced by a
new, free lock before any code of the child runs.  What a lock guards is published in one store
once complete (a table, a snapshot), so a build the fork interrupted is simply not there in the
child, which builds it again.
"""

from __future__ import annotations

import os
import threading
import weakref
from types import TracebackType
from typing import Any

__all__ = ["ForkSafeLock", "Lock", "RLock"]


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


def _renew_all() -> None:
    for lock in list(_locks):
        lock._renew()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_all)
