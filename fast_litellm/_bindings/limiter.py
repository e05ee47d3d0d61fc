"""Typed wrappers over native/limiter.c's rate-limit tables.

A table lives in memory its owner (``fast_litellm.limiter.table.Table``) keeps mapped for as long
as the table exists; every call passes the cffi view of that buffer, which holds the buffer for the
call, never a bare address.
"""

from __future__ import annotations

import threading
from typing import Any

from fast_litellm._bindings import ffi, lib, strerror

__all__ = ["ALL_OR_NOTHING", "CHARGE_FIRST", "PASS_PRECHECK", "STAT_NAMES", "TableFull", "check", "clock", "hit",
           "init", "nbytes", "rpm_pass", "stats", "view"]

CHARGE_FIRST: int = lib.FL_LIMIT_CHARGE_FIRST
ALL_OR_NOTHING: int = lib.FL_LIMIT_ALL_OR_NOTHING
STAT_NAMES = ("checks", "rejected", "table_full", "locks_taken_over", "claims", "cas_retries", "live_keys",
              "slots")


class TableFull(Exception):
    """The table has no slot for a new key (every slot of its segment holds a running window)."""


def nbytes(buckets: int) -> int:
    """Bytes a table of ``buckets`` buckets (a multiple of 8; 3 keys each) needs."""
    return int(lib.fl_limiter_bytes(buckets))


def view(buffer: Any) -> Any:
    """The cffi view of a writable buffer (an mmap), passed to every call below."""
    return ffi.from_buffer(buffer, require_writable=True)


def init(mem: Any, buckets: int, tick_ns: int, window: int, epoch: int) -> None:
    """Make a table in ``mem`` (before anyone else sees it)."""
    rc = lib.fl_limiter_init(mem, len(mem), buckets, tick_ns, window, epoch)
    if rc != lib.FL_OK:
        raise ValueError(f"cannot make a rate-limit table: {strerror(rc)}")


def check(mem: Any) -> bool:
    """Whether ``mem`` holds a complete table of this version."""
    return bool(lib.fl_limiter_check(mem, len(mem)) == lib.FL_OK)


def clock(tick_ns: int) -> int:
    """The wall clock (CLOCK_REALTIME) in ticks of ``tick_ns``."""
    return int(lib.fl_limiter_clock(tick_ns))



def hit(mem: Any, key: bytes, cost: int, limit: int, mode: int, now_ns: int) -> tuple[bool, int, int, int]:
    """(admitted, window start in ticks, count after, life start in ns) of one hit; ``now_ns`` < 0
    reads the clock in C."""
    out = ffi.new("int64_t[3]")
    rc = lib.fl_limiter_hit(mem, len(mem), key, len(key), cost, limit, mode, now_ns, out)
    if rc < 0:
        if rc == lib.FL_E_FULL:
            raise TableFull(strerror(rc))
        raise ValueError(f"rate-limit hit refused: {strerror(rc)}")
    return rc == 1, int(out[0]), int(out[1]), int(out[2])


PASS_PRECHECK: int = lib.FL_PASS_PRECHECK


MAX_PASS = 64  # keys per pass (native/limiter.c)
_scratch = threading.local()  # per thread: the pass's argument and result arrays, made once


def _arrays() -> tuple[Any, Any, Any]:
    arrays: tuple[Any, Any, Any] | None = getattr(_scratch, "arrays", None)
    if arrays is None:
        arrays = (ffi.new("size_t[]", MAX_PASS), ffi.new("uint32_t[]", MAX_PASS), ffi.new("int64_t[]", 3 * MAX_PASS))
        _scratch.arrays = arrays
    return arrays


def rpm_pass(mem: Any, keys: list[bytes], limits: list[int], now_ns: int) -> tuple[int, list[int]]:
    """litellm's rpm pass in one call: 1 admitted / 0 over after charging / PASS_PRECHECK, and per
    key its window start, count and life start, one after another."""
    n = len(keys)
    if n > MAX_PASS:
        raise ValueError(f"rate-limit pass refused: {n} keys, at most {MAX_PASS}")
    lens, caps, out = _arrays()  # this thread's: no other call uses them while this one runs
    for i in range(n):
        lens[i] = len(keys[i])
        caps[i] = limits[i]
    rc = lib.fl_limiter_pass(mem, len(mem), b"".join(keys), lens, caps, n, now_ns, out)
    if rc < 0:
        if rc == lib.FL_E_FULL:
            raise TableFull(strerror(rc))
        raise ValueError(f"rate-limit pass refused: {strerror(rc)}")
    values: list[int] = ffi.unpack(out, 3 * n)
    return rc, values


def stats(mem: Any, now_ns: int = -1) -> dict[str, int]:
    """The table's counters, its keys alive at ``now_ns`` (< 0: the clock) and its slots."""
    out = ffi.new("int64_t[]", lib.FL_LIMITER_STATS)
    rc = lib.fl_limiter_stats(mem, len(mem), now_ns, out, lib.FL_LIMITER_STATS)
    if rc != lib.FL_OK:
        raise ValueError(strerror(rc))
    return dict(zip(STAT_NAMES, (int(v) for v in out), strict=True))
