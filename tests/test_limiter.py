"""native/limiter.c's rate-limit tables: exact under load, against a reference model, across forks.

* The hammer (tests/limiter_hammer.c, built here with gcc) makes 10^7 checks across 8 threads and
  across 4 processes sharing one mapping, on the real clock: no window admits more than its limit
  and every saturated window admits exactly its limit.  The same hammer fails a build whose CAS is
  a non-atomic check-then-set; a process that dies holding segment locks stalls no hit for 1 s;
  ThreadSanitizer finds nothing in the table (and does find a race planted in the hammer), nor do
  AddressSanitizer and UBSan.
* A Hypothesis state machine drives a table and a 30-line pure-Python model of litellm's in-memory
  v3 windows with an injected clock: every decision, window start, count and life agree.
* Through the Python table: 4 spawned processes x 2 threads share a table in /dev/shm; processes
  racing to create the same table all get one; a forked child starts from an empty private
  table (and shares a shared one), also while another thread is hitting it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from fast_litellm.limiter.table import Table, TableFull

HERE = Path(__file__).resolve().parent
NATIVE = HERE.parent / "native"
pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="the hammer is built with gcc")

# 16 keys, 200 per 20 ms: enough charges per window for a non-atomic update to collide.
KEYS, LIMIT, WINDOW_MS = "16", "200", "20"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("hammer")

    def make(name: str, *flags: str) -> Path:
        binary = out / name
        if not binary.exists():
            subprocess.run(["gcc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread", *flags,
                            f"-I{NATIVE}", str(HERE / "limiter_hammer.c"), "-o", str(binary)],
                           check=True, capture_output=True, timeout=120)
        return binary

    return make


def hammer(binary: Path, how: str, workers: int, checks: int, keys: str = KEYS) -> dict[str, Any]:
    out = subprocess.run([str(binary), how, str(workers), str(checks), keys, LIMIT, WINDOW_MS],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout)
    return result


class TestExactUnderLoad:
    @pytest.mark.parametrize(("how", "workers"), [("threads", 8), ("processes", 4)])
    def test_no_window_over_and_saturated_windows_exact(self, build: Any, how: str, workers: int) -> None:
        result = hammer(build("hammer"), how, workers, 10**7)
        assert result["checks"] == 10**7 and result["full"] == 0
        assert result["over"] == 0 and result["max_admitted"] == int(LIMIT), result
        assert result["saturated"] > 100 and result["exact"] == result["saturated"], result

    @pytest.mark.parametrize(("how", "workers"), [("threads", 8), ("processes", 4)])
    def test_a_check_then_set_build_fails_it(self, build: Any, how: str, workers: int) -> None:
        """The same hammer catches a non-atomic update (three tries: a race needs two cores at once)."""
        racy = build("hammer_racy", "-DFL_LIMITER_TEST_RACY")
        results = [hammer(racy, how, workers, 10**7) for _ in range(3)]
        assert any(r["over"] > 0 for r in results), results

    def test_a_dead_lock_holder_stalls_nobody(self, build: Any) -> None:
        """A process dies holding half the segment locks; new keys (each needs a lock) still get an
        answer within 1 s, the locks are taken over and counted."""
        result = hammer(build("hammer"), "crash", 4, 200_000, keys="1")
        assert result["stolen"] >= 1 and result["max_hit_ms"] < 1000, result

    @pytest.mark.parametrize("how", ["threads", "processes", "crash"])
    def test_address_and_undefined_sanitizers_are_clean(self, build: Any, how: str) -> None:
        try:
            asan = build("hammer_asan", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined")
        except subprocess.CalledProcessError as exc:  # pragma: no cover - a gcc without libasan
            pytest.skip(f"no AddressSanitizer here: {exc.stderr[-300:]!r}")
        result = hammer(asan, how, 4, 10**6, keys="1" if how == "crash" else KEYS)  # exit 0: no report
        assert result["over"] == 0

    def test_thread_sanitizer_is_clean(self, build: Any) -> None:
        try:
            tsan = build("hammer_tsan", "-O1", "-g", "-fsanitize=thread", "-mcx16")
            planted = build("hammer_tsan_planted", "-O1", "-g", "-fsanitize=thread", "-mcx16", "-DHAMMER_PLAIN_TALLY")
        except subprocess.CalledProcessError as exc:  # pragma: no cover - a gcc without libtsan
            pytest.skip(f"no ThreadSanitizer here: {exc.stderr[-300:]!r}")
        env = {**os.environ, "TSAN_OPTIONS": "halt_on_error=1 exitcode=66"}
        clean = subprocess.run([str(tsan), "threads", "8", "400000", KEYS, LIMIT, WINDOW_MS], env=env,
                               capture_output=True, text=True, timeout=300, check=False)
        assert clean.returncode == 0, clean.stderr[-3000:]
        assert json.loads(clean.stdout)["over"] == 0
        race = subprocess.run([str(planted), "threads", "8", "400000", KEYS, LIMIT, WINDOW_MS], env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert race.returncode == 66 and "data race" in race.stderr, race.stderr[-2000:]


class Model:
    """The table's rule in plain Python: litellm's in-memory v3 windows (a life of ``window`` ticks
    from the first write; a logical window from its tick, moved on once within the life)."""

    def __init__(self, window: int, tick: int) -> None:
        self.window, self.tick = window, tick
        self.state: dict[str, tuple[int, bool, int]] = {}  # key: (life start ns, second window, count)

    def hit(self, key: str, limit: int, cost: int, all_or_nothing: bool, now: int) -> tuple[bool, int, int, int]:
        present = key in self.state
        start, second, count = self.state.get(key, (0, False, 0))
        alive = present and now <= start + self.window * self.tick
        if not alive:
            moved = (now, False, 0)
        elif now // self.tick - (start // self.tick + (self.window if second else 0)) >= self.window:
            moved = (start, True, 0)
        else:
            moved = (start, second, count)
        if all_or_nothing:
            admitted = moved[2] + cost <= limit
            report = (moved[0], moved[1], moved[2] + (cost if admitted else 0))
            write = admitted
        elif alive and count > limit:
            admitted, report, write = False, (start, second, count), False
        else:
            report = (moved[0], moved[1], moved[2] + cost)
            admitted, write = report[2] <= limit, True
        if write and cost > 0:
            self.state[key] = report
        window = report[0] // self.tick + (self.window if report[1] else 0)
        return admitted, window, report[2], report[0]


TICK = 1_000_000


class TableAgainstModel(RuleBasedStateMachine):
    WINDOW = 50

    @initialize()
    def start(self) -> None:
        self.table = Table.private(window=self.WINDOW, tick_ns=TICK, buckets=8)
        self.model = Model(self.WINDOW, TICK)
        self.now = Table.now_ns()

    @rule(key=st.sampled_from(["a", "b", "ключ", "", "a" * 40]), limit=st.integers(0, 6), cost=st.integers(0, 4),
          all_or_nothing=st.booleans())
    def hit(self, key: str, limit: int, cost: int, all_or_nothing: bool) -> None:
        got = self.table.hit(key, limit, cost, all_or_nothing=all_or_nothing, now_ns=self.now)
        assert (got.admitted, got.window_start, got.used, got.life_start) == self.model.hit(
            key, limit, cost, all_or_nothing, self.now)

    @rule(keys=st.lists(st.sampled_from(["a", "b", "ключ", ""]), min_size=1, max_size=3, unique=True),
          limits=st.lists(st.integers(0, 4), min_size=3, max_size=3))
    def rpm_pass(self, keys: list[str], limits: list[int]) -> None:
        """litellm's rpm pass in one call: the model's reads, then (unless one read is over) its hits."""
        limits = limits[:len(keys)]
        verdict, hits = self.table.rpm_pass(keys, limits, now_ns=self.now)
        reads = [self.model.hit(k, limit, 0, False, self.now) for k, limit in zip(keys, limits, strict=True)]
        if not all(r[0] for r in reads):
            assert verdict == "precheck"
            assert [(h.window_start, h.used, h.life_start) for h in hits] == [r[1:] for r in reads]
            assert [h.admitted for h in hits] == [r[0] for r in reads]
            return
        charged = [self.model.hit(k, limit, 1, False, self.now) for k, limit in zip(keys, limits, strict=True)]
        assert verdict == ("ok" if all(c[0] for c in charged) else "over")
        assert [(h.window_start, h.used, h.life_start) for h in hits] == [c[1:] for c in charged]
        assert [h.admitted for h in hits] == [c[0] for c in charged]

    @rule(ns=st.sampled_from([0, 1, TICK // 2, TICK - 1, TICK, (WINDOW - 1) * TICK, WINDOW * TICK - 1,
                              WINDOW * TICK, WINDOW * TICK + 1, 3 * WINDOW * TICK]))
    def advance(self, ns: int) -> None:
        self.now += ns

    @rule(back=st.integers(1, WINDOW * TICK))
    def stale_clock(self, back: int) -> None:
        """A hit whose clock reads earlier than its key's window start is charged to that window."""
        self.now -= back

    @invariant()
    def counters_agree(self) -> None:
        assert self.table.stats(now_ns=self.now)["table_full"] == 0


TestTableAgainstModel = TableAgainstModel.TestCase
TestTableAgainstModel.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)


class TestEdges:
    def test_limits_costs_and_boundaries(self) -> None:
        t = Table.private(window=10, tick_ns=TICK, buckets=8)
        now = Table.now_ns() // TICK * TICK + TICK // 2  # half a tick into a tick
        assert not t.hit("zero", 0, now_ns=now).admitted  # limit 0: charged and rejected
        assert t.hit("zero", 0, cost=0, now_ns=now).used == 1
        assert not t.hit("big", 3, cost=4, all_or_nothing=True, now_ns=now).admitted  # more than the limit
        assert t.hit("big", 3, cost=3, all_or_nothing=True, now_ns=now).admitted
        # limit 2 from mid-tick t0: the window moves on at floor(t0) + 10 ticks while the life goes on;
        # the life ends at t0 + 10 ticks and the next hit starts a new one, whose window starts on
        # the same tick (litellm lets up to twice the limit through within that tick)
        seen = [t.hit("w", 2, now_ns=now + dt) for dt in (0, 9 * TICK, 10 * TICK - TICK // 2, 10 * TICK,
                                                          10 * TICK + 1, 10 * TICK + 2, 10 * TICK + 3)]
        assert [h.admitted for h in seen] == [True, True, True, True, True, True, False]
        assert [h.used for h in seen] == [1, 2, 1, 2, 1, 2, 3]
        tick0 = now // TICK
        assert [h.window_start for h in seen] == [tick0, tick0] + [tick0 + 10] * 5
        assert len({h.life_start for h in seen}) == 2
        with pytest.raises(ValueError, match="clock"):
            t.hit("w", 1, now_ns=1)
        with pytest.raises(ValueError, match="invalid argument"):
            t.hit("w", 2**31 + 1, now_ns=now)

    def test_over_the_limit_waits_for_the_life_not_the_window(self) -> None:
        """litellm's pre-check reads the counter's entry, which lives until t0 + window: a key over
        its limit stays rejected after the logical window moves on, until the life ends."""
        t = Table.private(window=10, tick_ns=TICK, buckets=8)
        now = Table.now_ns() // TICK * TICK + TICK // 2
        assert [t.hit("k", 1, now_ns=now).admitted for _ in range(3)] == [True, False, False]
        assert not t.hit("k", 1, now_ns=now + 10 * TICK - TICK // 4).admitted  # window moved on, life not over
        assert t.hit("k", 1, now_ns=now + 10 * TICK + 1).admitted  # a new life

    @staticmethod
    def full_table() -> tuple[Table, int]:
        """A table of 24 slots holding 24 living keys k0..k23, and the time they were hit."""
        t = Table.private(window=1000, tick_ns=TICK, buckets=8)
        now = Table.now_ns()
        for i in range(24):
            t.hit(f"k{i}", 5, now_ns=now)
        return t, now

    def test_a_pass_meets_a_full_table_before_charging(self) -> None:
        t, now = self.full_table()
        with pytest.raises(TableFull):
            t.rpm_pass(["k1", "new", "k2"], [5, 5, 5], now_ns=now)  # the new key is charged first
        assert [t.hit(k, 5, cost=0, now_ns=now).used for k in ("k1", "k2")] == [1, 1]
        with pytest.raises(ValueError, match="at most 64"):
            t.rpm_pass([f"k{i}" for i in range(65)], [5] * 65, now_ns=now)

    def test_a_full_table_says_so(self) -> None:
        t, now = self.full_table()
        with pytest.raises(TableFull):
            t.hit("one more", 5, now_ns=now)
        assert t.stats(now_ns=now)["table_full"] == 1
        assert t.hit("k3", 5, now_ns=now).used == 2  # the keys it has still count
        assert t.hit("one more", 5, now_ns=now + 1000 * TICK + 1).used == 1  # an ended life's slot is reused


def _worker(path: str, name: str, barrier: Any, checks: int, queue: Any) -> None:
    table = Table.shared(name, window=int(WINDOW_MS), tick_ns=1_000_000, buckets=64, directory=path)
    tallies: Counter[tuple[str, int, bool]] = Counter()
    lock = threading.Lock()

    def run(seed: int) -> None:
        import random

        rng = random.Random(seed)
        mine: Counter[tuple[str, int, bool]] = Counter()
        for _ in range(checks):
            key = f"k{rng.randrange(8)}"
            hit = table.hit(key, 20)
            mine[(key, hit.window_start, hit.admitted)] += 1
        with lock:
            tallies.update(mine)

    barrier.wait()
    threads = [threading.Thread(target=run, args=(os.getpid() * 10 + i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put([[*k, v] for k, v in tallies.items()])


def _open_and_hit(path: str, name: str, barrier: Any) -> None:
    barrier.wait()
    Table.shared(name, window=3600, directory=path).hit("x", 1000)


class TestSharedThroughPython:
    def test_processes_sharing_a_table_stay_within_the_limit(self, tmp_path: Path) -> None:
        directory = "/dev/shm" if os.path.isdir("/dev/shm") else str(tmp_path)
        name = f"test-{os.getpid()}"
        ctx = multiprocessing.get_context("spawn")
        barrier, queue = ctx.Barrier(4), ctx.Queue()
        processes = [ctx.Process(target=_worker, args=(directory, name, barrier, 60_000, queue)) for _ in range(4)]
        try:
            for p in processes:
                p.start()
            parts = [queue.get(timeout=300) for _ in processes]
            for p in processes:
                p.join(timeout=60)
        finally:
            for path in Path(directory).glob(f"fast_litellm-limiter*-{name}-*"):
                path.unlink()
        admitted: dict[tuple[str, int], int] = defaultdict(int)
        rejected: dict[tuple[str, int], int] = defaultdict(int)
        for part in parts:
            for key, start, ok, n in part:
                (admitted if ok else rejected)[(key, start)] += n
        assert sum(admitted.values()) + sum(rejected.values()) == 4 * 2 * 60_000
        assert max(admitted.values()) == 20
        saturated = [w for w in rejected if w in admitted]
        assert saturated and all(admitted[w] == 20 for w in saturated)

    def test_processes_racing_to_create_a_table_share_one(self, tmp_path: Path) -> None:
        ctx = multiprocessing.get_context("fork")
        for attempt in range(3):
            name = f"race{attempt}"
            barrier = ctx.Barrier(8)
            processes = [ctx.Process(target=_open_and_hit, args=(str(tmp_path), name, barrier)) for _ in range(8)]
            for p in processes:
                p.start()
            for p in processes:
                p.join(timeout=60)
                assert p.exitcode == 0
            table = Table.shared(name, window=3600, directory=tmp_path)
            assert table.hit("x", 1000, cost=0).used == 8
            assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestFork:
    def test_a_child_starts_from_an_empty_private_table_and_shares_a_shared_one(self, tmp_path: Path) -> None:
        private = Table.private(window=3600)
        shared = Table.shared("fork", window=3600, directory=tmp_path)
        for _ in range(3):
            private.hit("k", 10)
            shared.hit("k", 10)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.write(w, json.dumps([private.hit("k", 10).used, shared.hit("k", 10).used]).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        assert json.loads(os.read(r, 100)) == [1, 4]
        assert private.hit("k", 10).used == 4 and shared.hit("k", 10, cost=0).used == 4

    def test_fork_while_another_thread_hits_new_keys(self) -> None:
        """A fork while a thread claims slots (and so may hold a segment lock): the child's table is
        fresh and answers at once."""
        table = Table.private(window=3600, buckets=8)
        stop = threading.Event()

        def spin() -> None:
            i = 0
            while not stop.is_set():
                try:
                    table.hit(f"n{i}", 5)
                except TableFull:  # from the 25th key on, every hit takes its segment's lock
                    pass
                i += 1

        thread = threading.Thread(target=spin)
        thread.start()
        try:
            for _ in range(20):
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child
                    import signal

                    signal.alarm(10)
                    ok = table.hit("child", 5).used == 1 and table.stats()["live_keys"] == 1
                    os._exit(0 if ok else 1)
                _, status = os.waitpid(pid, 0)
                assert os.waitstatus_to_exitcode(status) == 0
        finally:
            stop.set()
            thread.join()


def test_module_is_importable_without_litellm() -> None:
    """The limiter's table knows nothing of litellm."""
    code = "import sys, fast_litellm.limiter.table; print('litellm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(HERE.parent))
    assert out.stdout.strip() == "False"
