"""Concurrency probes: first use from 8 threads at once, and fork() during a lazy native build.

What breaks is first use, so every run is a fresh interpreter: the runner
starts ``python concurrency_probes.py --child <probe>`` in its own session,
with a timeout, and classifies how it ended:

* ``ok``: exit 0, every result equal to tiktoken's (or litellm's own, computed
  after ``fast_litellm.remove_acceleration()``);
* ``crash``: killed by a signal (SIGSEGV, SIGABRT, ...), or a forked child was;
* ``hang``: the run outlived its timeout (its whole process group is killed),
  or a forked child outlived its deadline (the probe kills it);
* ``wrong``: a result differed, or a native call failed and fell back to litellm;
* ``error``: any other failure of the probe itself (an exception, a bad set-up).

Thread probes (``<encoding>.<method>[.long]``, ``litellm.*``) release 8 threads
from a ``threading.Barrier``; each thread's first call into fast_litellm is the
probed one.  Fork probes (``fork.*``) start one thread that triggers a lazy
build (the token trie, the cross filter, an encoding's load) and fork from the
main thread every ``FORK_INTERVAL`` seconds while it runs; each child at once
does the work that needs the same table and exits.

By hand (the full bar is 50 fresh runs of every probe, 0 crashes, 0 hangs)::

    python tests/concurrency_probes.py list
    python tests/concurrency_probes.py all --runs 50 --jobs 2
    python tests/concurrency_probes.py litellm.encode.nonascii fork.trie --runs 50

``FL_CONCURRENCY_TIMEOUT`` (seconds per run, default 120) and
``FL_CONCURRENCY_CHILD_DEADLINE`` (seconds a forked child may take once the
fork loop ends, default 10) bound the waits; ``FL_CONCURRENCY_SWITCH_INTERVAL``
sets the thread probes' ``sys.setswitchinterval`` (default 1e-4; ``default``
keeps CPython's 5 ms).  A fork probe's summary counts its forks, those that
landed "in the window" (while the thread's call ran and before the table was
published: the encoding's ``memory_bytes`` unchanged, or the name not yet in
``fast_litellm.tokenizer``'s cache) and the children that hung.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FORK_PROBES", "PROBES", "SELFTEST_PROBES", "THREAD_PROBES", "Outcome", "run_many", "run_once"]

THREADS = 8
EXIT_WRONG, EXIT_CHILD_HANG, EXIT_CHILD_CRASH = 3, 4, 5
LONG_BYTES = 70_000  # above native/pylist.c's KEEP_GIL_BELOW (65536): the GIL is released
FORK_INTERVAL = 0.0005  # seconds between forks; a fork of the probe process itself takes ~1 ms
MAX_FORKS = 40
# The threads hand the GIL on every 0.1 ms rather than CPython's 5 ms: more interleavings per run
# (on the unfixed code about twice the crashes; FL_CONCURRENCY_SWITCH_INTERVAL=default keeps 5 ms).
SWITCH_INTERVAL = 1e-4

# A name litellm 1.106 counts with its bundled Anthropic tokenizer (huggingface_tokenizer_kind
# "anthropic": in litellm.anthropic_models, without "claude-3"), which fast_litellm/tokenizer/anthropic.py
# reproduces.  Not "claude-2": litellm's bundled cost map no longer lists it, so it counts with tiktoken.
ANTHROPIC_MODEL = "claude-haiku-4-5"
_ENCODINGS = ("cl100k_base", "o200k_base")
_METHODS = ("encode_ordinary", "encode_all_special", "encode_ordinary_batch", "encode_batch", "count",
            "count_batch", "decode")
_LONG_METHODS = ("encode_ordinary", "count")
_LITELLM = (
    *(f"litellm.encode.{size}" for size in ("ascii", "nonascii", "long")),
    *(f"litellm.token_counter.{model}.{size}" for model in ("gpt-4o", "gpt-3.5-turbo", ANTHROPIC_MODEL)
      for size in ("ascii", "nonascii")),
    "litellm.token_counter.gpt-4o.long",
)
THREAD_PROBES: tuple[str, ...] = (
    *(f"{enc}.{method}" for enc in _ENCODINGS for method in _METHODS),
    *(f"{enc}.{method}.long" for enc in _ENCODINGS for method in _LONG_METHODS),
    *_LITELLM,
)
FORK_PROBES: tuple[str, ...] = ("fork.trie", "fork.cross", "fork.get_encoding")
# The router's native picks (fast_litellm/router): eight threads picking on one shared group, each
# on its own usage map, their first pick at the barrier; and forks while a thread picks.
ROUTER_PROBES: tuple[str, ...] = ("router.threads", "router.fork")
# The rate-limit table (fast_litellm/limiter): eight threads whose first call hits one table (single
# hits and rpm passes on shared keys: each key admits exactly its limit); forks while a thread
# claims slots (a private table is empty in the child, a shared one is shared).
LIMITER_PROBES: tuple[str, ...] = ("limiter.threads", "limiter.fork")
PROBES: tuple[str, ...] = (*THREAD_PROBES, *FORK_PROBES, *ROUTER_PROBES, *LIMITER_PROBES)
SELFTEST_PROBES: tuple[str, ...] = ("selftest.ok", "selftest.crash", "selftest.hang", "selftest.fork_hang",
                                    "selftest.fork_crash")


# -- texts ---------------------------------------------------------------------------------------

def _text(size: str, k: int) -> str:
    """Thread k's text: "ascii", "nonascii" (accents and CJK) or "long" (> LONG_BYTES of UTF-8;
    on odd k it ends in one letter run of LONG_BYTES, a single piece that builds the token trie)."""
    if size == "ascii":
        return f"hello world {k}: the quick brown fox jumps over the lazy dog, {k * k} times!"
    nonascii = (f"héllo wörld {k}: naïve café, déjà vu — 你好，世界{k}！这是一个测试。"
                f"こんにちは世界 {k}, 안녕하세요 🙂 Ünïcödé {k * 7}.\n")
    if size == "nonascii":
        return nonascii
    paragraph = nonascii + f"The quick brown fox {k} jumps over the lazy dog; 1234567 + {k} = ?\n"
    text = paragraph * (LONG_BYTES // len(paragraph.encode()) + 1)
    return text + " " + "a" * LONG_BYTES if k % 2 else text


def _batch(k: int) -> list[str]:
    """Thread k's batch of texts."""
    return [_text("ascii", k), _text("nonascii", k), "", _text("nonascii", k + THREADS)]


def _messages(size: str, k: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": f"You are assistant number {k}."},
        {"role": "user", "content": _text(size, k)},
        {"role": "assistant", "content": _text(size, k + THREADS)[:200]},
    ]


# -- the child side: one probe in this (fresh) interpreter ---------------------------------------

class WrongResult(Exception):
    """A result that differs from the reference."""


def _run_threads(work: Callable[[int], Any]) -> list[Any]:
    """``[work(k) for k in range(THREADS)]``, each on its own thread, all released by one barrier."""
    interval = os.environ.get("FL_CONCURRENCY_SWITCH_INTERVAL", str(SWITCH_INTERVAL))
    if interval != "default":
        sys.setswitchinterval(float(interval))
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS
    errors: list[str] = []

    def worker(k: int) -> None:
        barrier.wait()
        try:
            results[k] = work(k)
        except BaseException:  # noqa: BLE001 - reported by the main thread
            errors.append(f"thread {k}:\n{traceback.format_exc()}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("a thread raised:\n" + "\n".join(errors))
    return results


def _compare(got: list[Any], expected: list[Any]) -> None:
    for k, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            raise WrongResult(f"thread {k}: got {str(g)[:300]}, expected {str(e)[:300]}")


def _tokenizer_probe(probe: str) -> dict[str, Any]:
    import fast_litellm

    enc_name, method, *long = probe.split(".")
    size = "long" if long else "nonascii"
    texts = [_text(size, k) for k in range(THREADS)]
    if method == "encode_all_special":
        texts = [f"{t}<|endoftext|>{t[::-1]}<|endoftext|>" for t in texts]
    ids_in: list[list[int]] = []
    if method == "decode":  # tiktoken's ids, made without touching fast_litellm
        import tiktoken

        ids_in = [tiktoken.get_encoding(enc_name).encode_ordinary(t) for t in texts]

    def work(k: int) -> Any:
        enc = fast_litellm.get_encoding(enc_name)
        if method == "encode_ordinary":
            return enc.encode_ordinary(texts[k])
        if method == "encode_all_special":
            return enc.encode(texts[k], allowed_special="all")
        if method == "encode_ordinary_batch":
            return enc.encode_ordinary_batch(_batch(k))
        if method == "encode_batch":
            return enc.encode_batch(_batch(k))
        if method == "count":
            return enc.count(texts[k])
        if method == "count_batch":
            return enc.count_batch(_batch(k))
        return enc.decode(ids_in[k])

    got = _run_threads(work)
    import tiktoken

    tk = tiktoken.get_encoding(enc_name)
    reference: dict[str, Callable[[int], Any]] = {
        "encode_ordinary": lambda k: tk.encode_ordinary(texts[k]),
        "encode_all_special": lambda k: tk.encode(texts[k], allowed_special="all"),
        "encode_ordinary_batch": lambda k: tk.encode_ordinary_batch(_batch(k)),
        "encode_batch": lambda k: tk.encode_batch(_batch(k)),
        "count": lambda k: len(tk.encode_ordinary(texts[k])),
        "count_batch": lambda k: [len(ids) for ids in tk.encode_ordinary_batch(_batch(k))],
        "decode": lambda k: tk.decode(ids_in[k]),
    }
    _compare(got, [reference[method](k) for k in range(THREADS)])
    return {}


def _litellm_probe(probe: str) -> dict[str, Any]:
    import litellm

    import fast_litellm

    _, function, *rest = probe.split(".", 2)
    if function == "encode":
        (size,) = rest
        texts = [_text(size, k) for k in range(THREADS)]

        def work(k: int) -> Any:
            return litellm.encode(model="gpt-3.5-turbo", text=texts[k])
    else:
        model, size = rest[0].rsplit(".", 1)
        kind = litellm.utils.huggingface_tokenizer_kind(model)
        if model.startswith("claude") and kind != "anthropic":
            raise RuntimeError(f"litellm counts {model} with {kind or 'tiktoken'}, not its Anthropic tokenizer")

        def work(k: int) -> Any:
            return litellm.token_counter(model=model, messages=_messages(size, k))

    feature = "tokenizer" if function == "encode" else "token_counter"
    site = fast_litellm.get_patch_status()[f"litellm.{function}"]
    if not site["patched"]:
        raise RuntimeError(f"litellm.{function} is not patched: {site}")
    got = _run_threads(work)
    stats = fast_litellm.get_performance_stats()[feature]
    fast_litellm.remove_acceleration()
    _compare(got, [work(k) for k in range(THREADS)])  # litellm's own functions now
    failures = {"native errors": stats["native"]["errors"], "fallbacks": stats["fallbacks"],
                "breaker trips": stats["breaker"]["trips"]}
    if stats["native"]["errors"] or any(stats["fallbacks"].values()) or stats["breaker"]["trips"]:
        raise WrongResult(f"native calls failed or fell back to litellm: {failures}")
    if stats["native"]["calls"] == 0:
        raise RuntimeError(f"no native call was made: {stats}")
    from fast_litellm.adapters import token_counter as _litellm_token_counter

    # How many native Anthropic tokenizers the threads built (each loads the JSON; one would do).
    return {"native_calls": stats["native"]["calls"],
            "anthropic_tokenizers": len(_litellm_token_counter._anthropic_tokenizer)}


def _cjk(n_bytes: int) -> str:
    """CJK text of at least ``n_bytes`` of UTF-8, with some punctuation (many pieces)."""
    chars: list[str] = []
    i = 0
    while 3 * len(chars) < n_bytes:
        chars.append(chr(0x4E00 + (i * 7919) % 20000))
        i += 1
        if i % 97 == 0:
            chars.append("。")
    return "".join(chars)


def _fork_probe(probe: str) -> dict[str, Any]:
    """Fork repeatedly while a thread builds a lazy table; every child needs the same table."""
    import tiktoken

    import fast_litellm
    from fast_litellm import tokenizer as fl_tokenizer

    kind = probe.split(".", 1)[1]
    if kind == "get_encoding":
        name, text = "o200k_base", _text("nonascii", 0)
    elif kind == "trie":  # one piece of 150,000 bytes: merge_backtrack builds fl_encoding_trie
        name, text = "cl100k_base", "a" * 150_000
    else:  # 66 KB of CJK: after 16 KiB of it, fl_encoding_cross builds the cross filter
        name, text = "o200k_base", _cjk(66_000)
    expected = tiktoken.get_encoding(name).encode_ordinary(text)

    if kind == "get_encoding":
        def thread_work() -> Any:
            return fast_litellm.get_encoding(name).encode_ordinary(text)

        def published() -> bool:
            return name in fl_tokenizer._cache
    else:
        enc = fast_litellm.get_encoding(name)  # loaded; the lazy table is not built yet
        memory = enc.memory_bytes

        def thread_work() -> Any:
            return enc.encode_ordinary(text)

        def published() -> bool:
            return enc.memory_bytes != memory

    def child_work() -> bool:
        return fast_litellm.get_encoding(name).encode_ordinary(text) == expected

    state = {"started": False}
    result: list[Any] = []

    def target() -> None:
        state["started"] = True
        result.append(thread_work())

    worker = threading.Thread(target=target)
    children: list[tuple[int, bool]] = []  # (pid, forked while the thread's call ran, table unpublished)
    begin = time.perf_counter()
    worker.start()
    while not state["started"]:
        time.sleep(0)
    while worker.is_alive() and len(children) < MAX_FORKS:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = 0 if child_work() else EXIT_WRONG
            except BaseException:  # noqa: BLE001 - the child's exit status reports it
                traceback.print_exc()
            finally:
                os._exit(code)
        children.append((pid, not published()))
        time.sleep(FORK_INTERVAL)
    worker.join()
    thread_ms = (time.perf_counter() - begin) * 1000

    status, hung = _reap([pid for pid, _ in children])
    in_window = [pid for pid, inside in children if inside]
    crashed, wrong = _failed(status)
    info = {
        "forks": len(children), "in_window": len(in_window), "thread_ms": round(thread_ms, 1),
        "hung": len(hung), "hung_in_window": len(set(hung) & set(in_window)),
        "crashed": len(crashed), "wrong": len(wrong),
    }
    if result != [expected]:
        raise WrongResult(f"the building thread's ids differ from tiktoken's; {info}")
    return _children_verdict(info, crashed, hung, wrong)


def _router_work() -> tuple[Any, Callable[[int], Any]]:
    """(fast_litellm, work(k)): thread k's 40 picks through the patched strategies and filters on
    one group of 200 deployments: latency (one deployment fastest for k, so the pick does not
    depend on the draws other threads make), usage-based v1 (deterministic), the order filter, the
    team filter, and the two reads whose key memos all threads share: usage-based v2's counter
    keys and the cooldown read of every deployment."""
    import litellm  # patches on import; its order filter is called below
    from litellm.caching.caching import DualCache
    from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler
    from litellm.router_strategy.lowest_tpm_rpm import LowestTPMLoggingHandler

    import fast_litellm

    fast_litellm.configure(router="on")
    fast_litellm.apply_acceleration()
    n = 200
    group = [{"model_name": "g", "model_info": {"id": f"d{i}"},
              "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": f"http://h{i}", "rpm": 10**6,
                                 "order": 1 + i % 3}} for i in range(n)]
    module = sys.modules[LowestLatencyLoggingHandler.__module__]
    key = "latency_normalized" if "_usable_latency_samples" in vars(module) else "latency"  # 1.109+
    import datetime as datetime_module

    now = datetime_module.datetime(2026, 12, 7, 12, 30, 15)

    class FrozenClock(datetime_module.datetime):
        """The usage strategy's clock: a minute that does not turn between the threads' picks and
        the reference picks (its usage map is keyed by the minute)."""

        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return now

    sys.modules[LowestTPMLoggingHandler.__module__].datetime = FrozenClock  # type: ignore[attr-defined]
    minute = now.strftime("%H-%M")

    from litellm.router_strategy.lowest_tpm_rpm_v2 import LowestTPMLoggingHandler_v2
    from litellm.router_utils.cooldown_cache import CooldownCache

    try:  # litellm 1.106-1.108; 1.109+ keeps it in litellm_core_utils
        from litellm.router_utils.common_utils import filter_team_based_models
    except ImportError:
        from litellm.litellm_core_utils.routing_common_utils import filter_team_based_models
    # the shared key memos: cooldown keys per id, v2 counter keys per id (1.110 keeps cooldowns
    # in its Rust core: no cooldown read there)
    cooldowns = None
    if "active_cooldowns_from_results" in vars(CooldownCache):
        cooldowns = CooldownCache(cache=DualCache(), default_cooldown_time=60)
        for i in range(0, n, 7):
            cooldowns.add_deployment_to_cooldown(model_id=f"d{i}", original_exception=Exception("429"),
                                                 exception_status=429, cooldown_time=3600)
    ids = [f"d{i}" for i in range(n)]
    for i in range(0, n, 5):
        group[i]["model_info"]["team_id"] = f"t{i % 3}"

    def work(k: int) -> Any:
        usage_v2 = LowestTPMLoggingHandler_v2(router_cache=DualCache())
        latency = LowestLatencyLoggingHandler(DualCache(), {})
        latency.router_cache.set_cache("g_map", {f"d{i}": {key: [1.0 + ((i + 17 * k) % n)]} for i in range(n)})
        usage = LowestTPMLoggingHandler(DualCache(), {})
        usage.router_cache.set_cache(f"g:tpm:{minute}", {f"d{i}": (i * 31 + k) % 997 for i in range(n)})
        picks = []
        for j in range(40):
            messages = [{"role": "user", "content": f"thread {k} request {j}"}]
            picks.append(latency.get_available_deployments("g", group, messages)["model_info"]["id"])
            picks.append(usage.get_available_deployments("g", group, messages)["model_info"]["id"])
            picks.append(len(litellm.utils.get_order_filtered_deployments(group)))
            picks.append([key.rsplit(":", 2)[0] for key in usage_v2.usage_counter_keys(group)[0][k::50]])
            kept = filter_team_based_models(group, {"metadata": {"user_api_key_team_id": f"t{(j + k) % 3}"}})
            picks.append([d["model_info"]["id"] for d in kept][::20])
            if cooldowns is not None:
                picks.append([model_id for model_id, _ in cooldowns.get_active_cooldowns(ids, None)])
        return picks

    return fast_litellm, work


def _router_probe(probe: str) -> dict[str, Any]:
    fast_litellm, work = _router_work()
    if probe == "router.fork":
        return _router_fork(fast_litellm, work)
    got = _run_threads(work)
    stats = fast_litellm.get_performance_stats()["router"]
    fast_litellm.remove_acceleration()
    _compare(got, [work(k) for k in range(THREADS)])  # litellm's own code now
    if stats["native"]["errors"] or any(stats["fallbacks"].values()) or stats["native"]["calls"] == 0:
        raise WrongResult(f"native picks failed, fell back or did not run: {stats}")
    return {"native_calls": stats["native"]["calls"]}


def _fork_while(busy: Callable[[], None], child_ok: Callable[[], bool]) -> dict[str, Any]:
    """Fork MAX_FORKS // 2 times while a thread runs ``busy()`` in a loop; each child exits 0 if
    ``child_ok()`` (else EXIT_WRONG, or 1 if it raised); the verdict over every child."""
    state = {"started": False, "done": False}

    def target() -> None:
        state["started"] = True
        while not state["done"]:
            busy()

    worker = threading.Thread(target=target)
    worker.start()
    while not state["started"]:
        time.sleep(0)
    children = []
    for _ in range(MAX_FORKS // 2):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = 0 if child_ok() else EXIT_WRONG
            except BaseException:  # noqa: BLE001 - the child's exit status reports it
                traceback.print_exc()
            finally:
                os._exit(code)
        children.append(pid)
        time.sleep(FORK_INTERVAL * 4)
    state["done"] = True
    worker.join()
    status, hung = _reap(children)
    crashed, wrong = _failed(status)
    info = {"forks": len(children), "hung": len(hung), "crashed": len(crashed), "wrong": len(wrong)}
    return _children_verdict(info, crashed, hung, wrong)


def _router_fork(fast_litellm: Any, work: Callable[[int], Any]) -> dict[str, Any]:
    """Fork while a thread picks: every child picks too (natively) and must get the parent's answer."""
    expected = work(0)
    return _fork_while(lambda: work(1), lambda: work(0) == expected)


LIMIT = 500  # per key; 8 threads x 600 hits over 4 keys: 1,200 a key


def _limiter_probe(probe: str) -> dict[str, Any]:
    import tempfile

    from fast_litellm.limiter.table import Table

    directory = tempfile.mkdtemp(prefix="fl-probe-")
    private = Table.private(window=3600, buckets=8)
    shared = Table.shared("probe", window=3600, buckets=8, directory=directory)
    shutil.rmtree(directory)  # the mapping outlives its file
    if probe == "limiter.fork":
        return _limiter_fork(private, shared)
    keys = [f"k{i}" for i in range(4)]

    def work(k: int) -> int:
        admitted = 0
        for i in range(600):
            key = keys[(i + k) % 4]
            if i % 2:
                admitted += private.hit(key, LIMIT).admitted
            else:
                admitted += private.rpm_pass([key], [LIMIT])[0] == "ok"
            shared.hit(key, LIMIT)
        return admitted

    admitted = sum(_run_threads(work))
    used = [private.hit(key, LIMIT, cost=0).used for key in keys]
    shared_used = [shared.hit(key, LIMIT, cost=0).used for key in keys]
    if admitted != 4 * LIMIT or used != [LIMIT + 1] * 4 or shared_used != [LIMIT + 1] * 4:
        raise WrongResult(f"admitted {admitted} (expected {4 * LIMIT}), counts {used} / {shared_used} "
                          f"(expected {LIMIT + 1} each)")
    return {"admitted": admitted}


def _limiter_fork(private: Any, shared: Any) -> dict[str, Any]:
    """Fork while a thread claims slots for new keys (from the 25th on, every hit takes its segment's
    lock): each child's private table is empty and answers at once; the shared one is the parent's."""
    from fast_litellm.limiter.table import TableFull

    shared.hit("parent", 100)
    counter = [0]

    def claim() -> None:
        counter[0] += 1
        for table in (private, shared):
            try:
                table.hit(f"n{counter[0]}", 5)
            except TableFull:
                pass

    def child_ok() -> bool:
        fresh = private.hit("child", 5).used == 1 and private.stats()["live_keys"] == 1
        return bool(fresh and shared.hit("parent", 100, cost=0).used == 1)

    return _fork_while(claim, child_ok)


def _reap(pids: list[int]) -> tuple[dict[int, int], list[int]]:
    """Wait for the forked ``pids`` until FL_CONCURRENCY_CHILD_DEADLINE seconds (default 10) from
    now; kill the rest.  Returns (wait status of each child that ended, the killed ones)."""
    deadline = time.monotonic() + float(os.environ.get("FL_CONCURRENCY_CHILD_DEADLINE", "10"))
    status: dict[int, int] = {}
    while len(status) < len(pids) and time.monotonic() < deadline:
        for pid in pids:
            if pid not in status:
                done, code = os.waitpid(pid, os.WNOHANG)
                if done:
                    status[pid] = code
        time.sleep(0.01)
    hung = [pid for pid in pids if pid not in status]
    for pid in hung:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return status, hung


def _failed(status: dict[int, int]) -> tuple[list[int], list[int]]:
    """(children killed by a signal, children that exited non-zero)."""
    crashed = [pid for pid, code in status.items() if os.WIFSIGNALED(code)]
    wrong = [pid for pid, code in status.items() if os.WIFEXITED(code) and os.WEXITSTATUS(code) != 0]
    return crashed, wrong


def _children_verdict(info: dict[str, Any], crashed: list[int], hung: list[int], wrong: list[int]) -> dict[str, Any]:
    """``info`` if every forked child ended well; else exit with the worst outcome."""
    if crashed:
        print(f"forked children killed by signals: {info}", file=sys.stderr)
        raise SystemExit(_report(info, EXIT_CHILD_CRASH))
    if hung:
        print(f"forked children hung and were killed: {info}", file=sys.stderr)
        raise SystemExit(_report(info, EXIT_CHILD_HANG))
    if wrong:
        raise WrongResult(f"forked children got wrong ids or failed: {info}")
    return info


def _selftest_probe(probe: str) -> dict[str, Any]:
    """Known failures, to test the runner: a segfault, a hang, a forked child that hangs or dies."""
    kind = probe.split(".", 1)[1]
    if kind == "crash":
        import ctypes

        ctypes.string_at(0)
    if kind == "hang":
        threading.Event().wait()
    if kind == "ok":
        return {}
    pid = os.fork()
    if pid == 0:
        if kind == "fork_hang":
            time.sleep(3600)
        os.kill(os.getpid(), signal.SIGSEGV)
    print(json.dumps({"child": pid}), flush=True)
    status, hung = _reap([pid])
    crashed, wrong = _failed(status)
    return _children_verdict({"forks": 1, "hung": len(hung)}, crashed, hung, wrong)


def _report(info: dict[str, Any], code: int) -> int:
    print(json.dumps(info), flush=True)
    return code


def child_main(probe: str) -> int:
    """Run ``probe`` in this interpreter; print its info as one JSON line; return the exit code."""
    import faulthandler
    import warnings

    faulthandler.enable()  # a crash's Python stacks go to stderr
    warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)  # 3.12+
    os.environ.update(_offline(dict(os.environ)))  # a run started by hand, outside run_once
    try:
        if probe in FORK_PROBES:
            info = _fork_probe(probe)
        elif probe in SELFTEST_PROBES:
            info = _selftest_probe(probe)
        elif probe in ROUTER_PROBES:
            info = _router_probe(probe)
        elif probe in LIMITER_PROBES:
            info = _limiter_probe(probe)
        elif probe.startswith("litellm."):
            info = _litellm_probe(probe)
        elif probe in THREAD_PROBES:
            info = _tokenizer_probe(probe)
        else:
            raise ValueError(f"unknown probe {probe!r}")
    except WrongResult as e:
        print(f"WRONG RESULT in {probe}: {e}", file=sys.stderr)
        return _report({}, EXIT_WRONG)
    import fast_litellm

    info["fast_litellm"] = fast_litellm.__file__
    return _report(info, 0)


# -- the runner side -----------------------------------------------------------------------------

@dataclass
class Outcome:
    """How one fresh run of a probe ended."""

    probe: str
    kind: str  # ok, crash, hang, wrong, error
    returncode: int | None
    stdout: str
    stderr: str
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self, tail: int = 3000) -> str:
        """The run's outcome, exit status, info and stderr tail, for a failure message."""
        if self.returncode is not None and self.returncode < 0:
            how = f"killed by {signal.Signals(-self.returncode).name}"
        else:
            how = f"exit status {self.returncode}"
        return (f"probe {self.probe}: {self.kind} ({how}); info {self.info}\n"
                f"--- stderr tail ---\n{self.stderr[-tail:]}")


def _offline(env: dict[str, str]) -> dict[str, str]:
    """``env`` with litellm's cost map local and tiktoken reading litellm's bundled rank files
    (as tests/conftest.py sets them): nothing is fetched."""
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    spec = importlib.util.find_spec("litellm")
    if not env.get("TIKTOKEN_CACHE_DIR") and spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        env["TIKTOKEN_CACHE_DIR"] = str(root / "litellm_core_utils" / "tokenizers")
    return env


def _child_env() -> dict[str, str]:
    """The environment of a run: offline (see _offline), and this fast_litellm first on the path."""
    env = _offline(dict(os.environ))
    fl = importlib.util.find_spec("fast_litellm")
    if fl is not None and fl.origin:
        root = str(Path(fl.origin).parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_once(probe: str, timeout: float | None = None, **env: str) -> Outcome:
    """One fresh interpreter running ``probe`` (``env`` added to its environment); a run that
    outlives ``timeout`` seconds is killed (with every process it forked) and reported as a hang."""
    if timeout is None:
        timeout = float(os.environ.get("FL_CONCURRENCY_TIMEOUT", "120"))
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", probe],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**_child_env(), **env},
        cwd=tempfile.gettempdir(), start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        timed_out = True
    else:
        try:  # a forked child the probe could not reap
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    info: dict[str, Any] = {}
    lines = stdout.strip().splitlines()
    if lines:
        try:
            info = json.loads(lines[-1])
        except ValueError:
            pass
    rc = proc.returncode
    if timed_out:
        kind = "hang"
    elif rc == 0:
        kind = "ok"
    elif rc < 0 or rc == EXIT_CHILD_CRASH:
        kind = "crash"
    elif rc == EXIT_CHILD_HANG:
        kind = "hang"
    elif rc == EXIT_WRONG:
        kind = "wrong"
    else:
        kind = "error"
    return Outcome(probe, kind, None if timed_out else rc, stdout, stderr, info)


def run_many(probe: str, runs: int, jobs: int = 2, stop_on_failure: bool = False) -> Iterator[Outcome]:
    """``runs`` fresh runs of ``probe``, ``jobs`` at a time, yielded as they end; with
    ``stop_on_failure`` no run starts after one that was not ok."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending: set[Future[Outcome]] = set()
        started = 0
        failed = False
        while pending or (started < runs and not failed):
            while started < runs and len(pending) < jobs and not failed:
                pending.add(pool.submit(run_once, probe))
                started += 1
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                failed = failed or (stop_on_failure and outcome.kind != "ok")
                yield outcome


def _summary(probe: str, outcomes: list[Outcome]) -> str:
    counts = {kind: sum(o.kind == kind for o in outcomes) for kind in ("ok", "crash", "hang", "wrong", "error")}
    line = (f"{probe:47} runs={len(outcomes):3} crashes={counts['crash']:3} hangs={counts['hang']:3} "
            f"wrong={counts['wrong']:3} errors={counts['error']:3} ok={counts['ok']:3}")
    if probe in FORK_PROBES:
        forks = [o.info for o in outcomes if "forks" in o.info]
        total = {key: sum(i.get(key, 0) for i in forks) for key in ("forks", "in_window", "hung_in_window")}
        ms = sorted(i["thread_ms"] for i in forks)
        line += (f"  forks={total['forks']} in_window={total['in_window']} "
                 f"hung_children={sum(i.get('hung', 0) for i in forks)} "
                 f"(in window {total['hung_in_window']})")
        if ms:
            line += f" thread_ms_median={ms[len(ms) // 2]}"
    built = [o.info["anthropic_tokenizers"] for o in outcomes if o.info.get("anthropic_tokenizers")]
    if built:
        line += f"  anthropic_tokenizers_built_per_run={min(built)}-{max(built)}"
    failed = next((o for o in outcomes if o.kind != "ok"), None)
    if failed is not None:  # what the first failed run said, even without -v
        line += "\n  first failure: " + failed.describe()[-2000:].replace("\n", "\n  ")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("probes", nargs="*", help="probe names, 'all', 'threads', 'forks' or 'list'")
    parser.add_argument("--runs", type=int, default=20, help="fresh runs per probe (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per run before it counts as hung")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every failed run's stderr tail")
    parser.add_argument("--child", metavar="PROBE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child)
    if args.timeout is not None:
        os.environ["FL_CONCURRENCY_TIMEOUT"] = str(args.timeout)
    if not args.probes or args.probes == ["list"]:
        print("\n".join(PROBES))
        return 0
    groups = {"all": PROBES, "threads": THREAD_PROBES, "forks": FORK_PROBES}
    probes = [p for name in args.probes for p in groups.get(name, (name,))]
    unknown = [p for p in probes if p not in PROBES]
    if unknown:
        parser.error(f"unknown probes {unknown}; see 'list'")
    fl = importlib.util.find_spec("fast_litellm")
    print(f"fast_litellm: {fl.origin if fl else None}; {args.runs} fresh runs per probe, {args.jobs} at a time",
          flush=True)
    bad = 0
    for probe in probes:
        outcomes = []
        for outcome in run_many(probe, args.runs, args.jobs):
            outcomes.append(outcome)
            if outcome.kind != "ok" and args.verbose:
                print(outcome.describe(1500), flush=True)
        bad += sum(o.kind != "ok" for o in outcomes)
        print(_summary(probe, outcomes), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
