"""Rate-limit tables: litellm's in-memory v3 windows per key.

A key's entries live ``window`` ticks from their first write; its logical window starts at that
write's tick and, when a hit comes at or after that tick + ``window`` while the entries still live,
starts once more (count 0) for the rest of the life; after the life a new one starts
(docs/design/litellm_v3_limiter.md section 2.4; native/limiter.c).

A ``Table`` is either private to its process or shared, through a file under ``/dev/shm``, by
every process of the host that opens the same name with the same settings (the proxy's worker
processes).  The C side (native/limiter.c) admits lock-free and reads the clock itself.

* Private tables are reset in a forked child: a child never inherits its parent's budget.
* Shared tables are created race-free: made and initialised under a temporary name, then linked
  into place (``link`` fails if another process got there first; that one's table is used); the
  settings are part of the name, so processes configured differently never share a table.
"""

from __future__ import annotations

import mmap
import os
import secrets
import weakref
from pathlib import Path
from typing import NamedTuple

from fast_litellm._bindings import limiter as native

__all__ = ["FORMAT", "Hit", "Table", "TableFull"]

FORMAT = 2  # native/limiter.c's VERSION: part of a shared table's file name
TableFull = native.TableFull
_DAY_NS = 86_400 * 1_000_000_000


def _epoch(tick_ns: int) -> int:
    """A table counts 2^32 ticks from its epoch: a day before now, or 2^30 ticks when a tick is short."""
    return max(0, native.clock(tick_ns) - min(_DAY_NS // tick_ns, 1 << 30))


class Hit(NamedTuple):
    """One decision: admitted or not, the window charged (its start, in ticks), its count after (used),
    and the start of the key's life (ns since the Unix epoch)."""

    admitted: bool
    window_start: int
    used: int
    life_start: int


class Table:
    """A rate-limit table of windows of ``window`` ticks of ``tick_ns`` nanoseconds."""

    def __init__(self, mapping: mmap.mmap, *, tick_ns: int, window: int, buckets: int, path: Path | None) -> None:
        self._mapping = mapping  # kept for the table's life: the view below refers to it
        self._mem = native.view(mapping)
        self.tick_ns = tick_ns
        self.window = window
        self.buckets = buckets
        self.path = path

    @classmethod
    def private(cls, *, window: int, tick_ns: int = 1_000_000_000, buckets: int = 4096) -> Table:
        """A table of this process alone (a forked child starts from an empty one)."""
        size = native.nbytes(buckets)
        mapping = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
        table = cls(mapping, tick_ns=tick_ns, window=window, buckets=buckets, path=None)
        table._reset()
        _PRIVATE.add(table)
        return table

    @classmethod
    def shared(cls, name: str, *, window: int, tick_ns: int = 1_000_000_000, buckets: int = 4096,
               directory: str | os.PathLike[str] = "/dev/shm") -> Table:
        """The table every process of this host that asks for ``name`` with these settings shares."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"a shared table's name must be a plain file name, not {name!r}")
        path = Path(directory) / f"fast_litellm-limiter{FORMAT}-{name}-t{tick_ns}-w{window}-b{buckets}"
        size = native.nbytes(buckets)
        for _ in range(100):
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                _create(path, size, buckets, tick_ns, window)
                continue  # made (or another process made it): open what is there now
            try:
                if os.fstat(fd).st_size != size:
                    raise ValueError(f"{path} is not a rate-limit table of {buckets} buckets")
                mapping = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
            finally:
                os.close(fd)
            table = cls(mapping, tick_ns=tick_ns, window=window, buckets=buckets, path=path)
            if not native.check(table._mem):
                raise ValueError(f"{path} does not hold a rate-limit table of format {FORMAT}")
            return table
        raise RuntimeError(f"could not open or create {path}")  # pragma: no cover - removed 100 times

    def _reset(self) -> None:
        native.init(self._mem, self.buckets, self.tick_ns, self.window, _epoch(self.tick_ns))

    @staticmethod
    def now_ns() -> int:
        """The wall clock (CLOCK_REALTIME) in nanoseconds, as the table reads it."""
        return native.clock(1)

    def hit(self, key: str | bytes, limit: int, cost: int = 1, *, all_or_nothing: bool = False,
            now_ns: int | None = None) -> Hit:
        """Charge ``cost`` to ``key``'s window against ``limit``.

        Charge-first (the default, litellm's rule for requests): a live key already over its limit
        is rejected unchanged; otherwise the cost is charged and the hit admitted iff the count
        stays within the limit.  ``all_or_nothing`` (reservations): charged and admitted iff it
        fits, else nothing is written.  ``cost=0`` only reads.  Raises ``TableFull`` when a new key
        finds no slot.
        """
        raw = key.encode("utf-8", "surrogatepass") if isinstance(key, str) else key
        mode = native.ALL_OR_NOTHING if all_or_nothing else native.CHARGE_FIRST
        return Hit(*native.hit(self._mem, raw, cost, limit, mode, -1 if now_ns is None else now_ns))

    def rpm_pass(self, keys: list[str], limits: list[int], *, now_ns: int | None = None) -> tuple[str, list[Hit]]:
        """litellm's v3 rpm pass over several keys in one call: the pre-check (a live key over its
        limit rejects the request and nothing is charged: ``"precheck"``), then a charge-first hit
        of 1 on each (``"ok"`` if every count is within its limit, else ``"over"``; every charge
        stays).  The hits are the keys' windows after the pass (as read, after a pre-check), each
        admitted iff its own count is within its limit."""
        if len(limits) != len(keys):
            raise ValueError(f"{len(keys)} keys and {len(limits)} limits")
        raw = [k.encode("utf-8", "surrogatepass") for k in keys]
        code, v = native.rpm_pass(self._mem, raw, limits, -1 if now_ns is None else now_ns)
        verdict = "precheck" if code == native.PASS_PRECHECK else "ok" if code == 1 else "over"
        return verdict, [Hit(v[3 * i + 1] <= limit, v[3 * i], v[3 * i + 1], v[3 * i + 2])
                         for i, limit in enumerate(limits)]

    def stats(self, now_ns: int | None = None) -> dict[str, int]:
        """Counters (checks, rejected, table_full, locks_taken_over, claims, cas_retries), the keys
        alive (live_keys) and the slots in all."""
        return native.stats(self._mem, -1 if now_ns is None else now_ns)


def _create(path: Path, size: int, buckets: int, tick_ns: int, window: int) -> None:
    """Make the table under a temporary name and link it to ``path`` unless someone already did."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)
        with mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE) as mapping:
            mem = native.view(mapping)
            native.init(mem, buckets, tick_ns, window, _epoch(tick_ns))
            del mem  # the view must go before the mapping closes
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: its table is the one
    finally:
        os.close(fd)
        os.unlink(temporary)


_PRIVATE: weakref.WeakSet[Table] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for table in list(_PRIVATE):
        table._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)
