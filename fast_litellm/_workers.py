"""The worker threads of batch calls: made once, reused by every batch, made again after a fork.

A batch is worth splitting only when each part is large: handing a part to a thread and waiting
for it costs tens of microseconds, and a thread that encodes for the first time also sets up its
own 2.3 MB piece cache (native/bpe.c).  So a batch runs on the calling thread unless every part
gets at least ``MIN_PART_BYTES``, and the parts that do go to other threads go to a pool whose
threads (and their warm caches) live on.  The native calls release the GIL, so the parts run in
parallel.  A forked child does not have its parent's threads: it starts without a pool and makes
its own on its first large batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from fast_litellm._forksafe import Lock

__all__ = ["MAX_THREADS", "MIN_PART_BYTES", "POOL_THREADS", "parts", "run_parts"]

MAX_THREADS = 64  # parts of one batch at most
MIN_PART_BYTES = 32 * 1024
POOL_THREADS = max(1, min(MAX_THREADS, os.cpu_count() or 1))  # more would only wait for a core

T = TypeVar("T")

_lock = Lock()
_pool: ThreadPoolExecutor | None = None


def parts(sizes: Sequence[int], num_threads: int) -> list[tuple[int, int]]:
    """Cut items with these byte sizes into contiguous runs ``[first, last)`` of about equal
    bytes: one run per thread, at most ``num_threads`` (capped at MAX_THREADS) and no more than
    leave every run ``MIN_PART_BYTES``; a single run covers everything."""
    n = len(sizes)
    total = sum(sizes)
    k = max(1, min(num_threads, MAX_THREADS, n, total // MIN_PART_BYTES))
    if k == 1:
        return [(0, n)]
    runs = []
    first, acc = 0, 0
    for t in range(1, k):
        target = total * t // k
        last = first
        while last < n - (k - t) and (last == first or acc < target):
            acc += sizes[last]
            last += 1
        runs.append((first, last))
        first = last
    runs.append((first, n))
    return runs


def _executor() -> ThreadPoolExecutor:
    global _pool
    pool = _pool
    if pool is None:
        with _lock:
            pool = _pool
            if pool is None:
                pool = _pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="fast_litellm-batch")
    return pool


def run_parts(work: Callable[[int, int], T], runs: Sequence[tuple[int, int]]) -> list[T]:
    """``[work(first, last) for first, last in runs]``, the first run on the calling thread and
    the others on the pool's threads (at most POOL_THREADS, made as needed and kept) at the same
    time."""
    if len(runs) == 1:
        return [work(*runs[0])]
    pool = _executor()
    futures: list[Future[T]] = [pool.submit(work, first, last) for first, last in runs[1:]]
    results = [work(*runs[0])]
    results.extend(future.result() for future in futures)
    return results


def _forget_pool() -> None:
    """In a forked child: the parent's threads are not here, so neither is its pool."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
