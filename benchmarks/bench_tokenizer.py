#!/usr/bin/env python
"""Benchmark fast_litellm's native tokenizer against tiktoken, side by side.

    python benchmarks/bench_tokenizer.py [--quick] [--encodings cl100k_base,o200k_base] [--json out.json]

Both libraries are timed in the same run and process (except where a fresh
process is the point: pathological inputs and memory), with the order of the
two alternated per chunk or per pass so machine noise hits both.  Every input
is a fresh ``str`` built outside the timed region, so no cached UTF-8 form or
repeated input can help either side.  Ids are compared with tiktoken's on every
measured chunk, outside the timed region; the script exits with status 1 on any
mismatch or native failure.  See benchmarks/README.md for the sections.
"""

from __future__ import annotations

import argparse
import array
import gc
import hashlib
import importlib.util
import inspect
import json
import math
import os
import platform
import queue
import random
import re
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import timeit
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

KB = 1_000
MB = 1_000_000
LIBS = ("tiktoken", "native")
CORPUS_VERSION = 1  # bump when the corpus builders change (invalidates the on-disk cache)


def _litellm_dir() -> Path:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("litellm is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


# Before litellm or tiktoken is imported: no network, rank files from litellm's bundled dir.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["TIKTOKEN_CACHE_DIR"] = str(_litellm_dir() / "litellm_core_utils" / "tokenizers")


# ----------------------------------------------------------------------------- helpers


def _proc_status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (VmRSS, VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _ids_digest(ids: Sequence[int]) -> str:
    return hashlib.sha256(array.array("I", ids).tobytes()).hexdigest()


def _cut_at_char(data: bytes, end: int) -> int:
    """Largest position <= end that is not inside a UTF-8 sequence."""
    end = min(end, len(data))
    while 0 < end < len(data) and (data[end] & 0xC0) == 0x80:
        end -= 1
    return end


def chunk(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into pieces of about ``size`` bytes, never inside a character."""
    pieces = []
    pos = 0
    while pos < len(data):
        end = _cut_at_char(data, pos + size)
        if end <= pos:  # size smaller than one character
            end = pos + 1
            while end < len(data) and (data[end] & 0xC0) == 0x80:
                end += 1
        pieces.append(data[pos:end])
        pos = end
    return pieces


def size_label(n: int) -> str:
    if n >= MB:
        return f"{n / MB:g} MB"
    if n >= KB:
        return f"{n / KB:g} KB"
    return f"{n} B"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def fmt_ratio(r: float | None) -> str:
    if r is None or not math.isfinite(r):
        return "—"
    return f"{r:.2f}×" if r >= 0.1 else f"{r:.2g}×"


# ----------------------------------------------------------------------------- corpora

_STDLIB = Path(sysconfig.get_paths()["stdlib"])
_SITE = Path(sysconfig.get_paths()["purelib"])


def _source_files(exts: tuple[str, ...]) -> list[Path]:
    """Files with one of ``exts`` in the stdlib and site-packages, in a stable order."""
    found: list[tuple[str, Path]] = []
    for tag, root in (("stdlib", _STDLIB), ("site", _SITE)):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            if tag == "stdlib" and Path(dirpath) == _STDLIB:
                dirnames[:] = [d for d in dirnames if d not in ("site-packages", "dist-packages")]
            for name in filenames:
                if name.endswith(exts):
                    p = Path(dirpath) / name
                    found.append((f"{tag}/{p.relative_to(root)}", p))
    found.sort()
    return [p for _, p in found]


def _read_text(path: Path, max_size: int = 2 * MB) -> str | None:
    try:
        if path.is_symlink() or path.stat().st_size > max_size:
            return None
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _head(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > limit // 2 else limit]


_DOCSTRING = re.compile(r"^[ \t]*[rRuU]?(\"\"\"|''')(.*?)\1", re.S | re.M)
_WORD = re.compile(r"[A-Za-z]{2,}")


def _is_prose(text: str, min_words: int = 12) -> bool:
    words = _WORD.findall(text)
    return len(words) >= min_words and sum(map(len, words)) >= 0.6 * len(text)


def _english_docs(rng: random.Random) -> Iterator[str]:
    files = _source_files((".py", ".md", ".rst", ".txt"))
    rng.shuffle(files)
    for path in files:
        text = _read_text(path)
        if not text:
            continue
        if path.suffix == ".py":
            parts = []
            for m in _DOCSTRING.finditer(text):
                doc = inspect.cleandoc(m.group(2))
                if len(doc) >= 40 and _is_prose(doc, 6):
                    parts.append(doc)
            doc = "\n\n".join(parts)
            if len(doc) >= 200:
                yield _head(doc, 30_000)
        elif _is_prose(text):
            yield _head(text.replace("\r\n", "\n"), 30_000)


def _code_files(rng: random.Random) -> Iterator[str]:
    files = _source_files((".py",))
    rng.shuffle(files)
    for path in files:
        text = _read_text(path)
        if text and text.strip():
            yield _head(text, 100_000)


def _fill(parts: Iterator[str], target: int, sep: str) -> bytes:
    out: list[bytes] = []
    total = 0
    sep_b = sep.encode()
    for part in parts:
        b = part.encode("utf-8", "surrogatepass")
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append(b)
        total += len(b) + len(sep_b)
        if total >= target:
            break
    data = sep_b.join(out)
    if len(data) < target:
        raise RuntimeError(f"not enough source text for a {target}-byte corpus ({len(data)} bytes)")
    return data[: _cut_at_char(data, target)]


_ASSIGN = re.compile(r"([\w.\[\]'\"]+)\s*(=|:)\s+(\S.*)")
_TABLE_WORDS = ("alpha", "beta", "gamma", "delta", "count", "total", "name", "value", "id",
                "status", "ok", "FAILED", "None", "True", "0.25", "1024", "-17", "3.14159")


def _whitespace_heavy(text: str, rng: random.Random) -> str:
    """``text`` (Python source) re-laid-out with long runs of spaces and tabs."""
    mode = rng.random()
    tabs, deep = mode < 0.35, 0.35 <= mode < 0.7
    mult = rng.choice((2, 3, 4))
    eol = "\r\n" if rng.random() < 0.4 else "\n"
    col = rng.choice((24, 32, 40, 48, 60, 80))
    out: list[str] = []
    for line in text.split("\n"):
        body = line.lstrip(" ").rstrip("\r")
        indent = len(line) - len(line.lstrip(" "))
        if tabs:
            ind = "\t" * (indent // 4) + " " * (indent % 4)
        elif deep:
            ind = " " * (indent * mult)
        else:
            ind = " " * indent
        m = _ASSIGN.fullmatch(body)
        if m and rng.random() < 0.6:
            body = m.group(1).ljust(max(col - len(ind), len(m.group(1)) + 1)) + m.group(2) + " " + m.group(3)
        if rng.random() < 0.1:
            body += rng.choice((" ", "\t", "  \t")) * rng.randint(1, 12)
        out.append(ind + body)
        r = rng.random()
        if r < 0.12:
            out.extend(rng.choice(("", "", " " * rng.randint(1, 8), "\t")) for _ in range(rng.randint(1, 6)))
        elif r < 0.14:
            out.append(rng.choice((" ", "\t")) * rng.randint(40, 400))
        elif r < 0.15:
            widths = [rng.randint(6, 24) for _ in range(rng.randint(3, 6))]
            for _ in range(rng.randint(3, 10)):
                cells = (rng.choice(_TABLE_WORDS) for _ in widths)
                out.append("    " + "  ".join(c.ljust(w) if i % 2 == 0 else c.rjust(w)
                                              for i, (c, w) in enumerate(zip(cells, widths))))
    return eol.join(out)


# CJK / emoji / RTL / Indic text, generated from seeded choices.  Han and Hangul
# characters are drawn mostly from real text (CPython's cjkencodings test
# samples) and partly uniformly from their blocks.
_SKIN = [chr(c) for c in range(0x1F3FB, 0x1F400)]
_PEOPLE = list("👍👋👏🙌👌🤞💪🙏👶🧒👦👧🧑👨👩🧓👴👵🤷🙋")
_OBJECTS = ["💻", "🚀", "🔬", "🎨", "🍳", "🏫", "🔧", "⚕\ufe0f", "🌾", "🎤"]
_FLAGS = ["JP", "KR", "CN", "TW", "IN", "SA", "EG", "US", "FR", "BR", "UA", "NG"]
_ZWJ_FIXED = ["👨\u200d👩\u200d👧\u200d👦", "👩\u200d❤\ufe0f\u200d👨", "🏳\ufe0f\u200d🌈",
              "🏴\u200d☠\ufe0f", "👩\u200d👩\u200d👦", "🧑\u200d🤝\u200d🧑", "🐻\u200d❄\ufe0f"]
_SIMPLE_EMOJI = [chr(c) for r in ((0x1F600, 0x1F64F), (0x1F300, 0x1F5FF), (0x1F680, 0x1F6C5),
                                  (0x1F90C, 0x1F9FF)) for c in range(*r)] + ["❤\ufe0f", "✨", "☀\ufe0f", "1\ufe0f\u20e3"]


def _emoji(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return rng.choice(_SIMPLE_EMOJI)
    if r < 0.65:
        return rng.choice(_PEOPLE) + rng.choice(_SKIN)
    if r < 0.8:
        return rng.choice("🧑👩👨") + rng.choice(_SKIN) + "\u200d" + rng.choice(_OBJECTS)
    if r < 0.92:
        return rng.choice(_ZWJ_FIXED)
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in rng.choice(_FLAGS))


class _CjkGen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        sample = ""
        for p in sorted((_STDLIB / "test" / "cjkencodings").glob("*-utf8.txt")):
            sample += p.read_text("utf-8", "replace")
        han_real = [c for c in sample if "\u4e00" <= c <= "\u9fff"] or ["的"]
        hangul_real = [c for c in sample if "\uac00" <= c <= "\ud7a3"] or ["다"]
        self.han = han_real * 4 + [chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(len(han_real))]
        self.hangul = hangul_real * 3 + [chr(rng.randint(0xAC00, 0xD7A3)) for _ in range(len(hangul_real))]
        self.hira = [chr(c) for c in range(0x3041, 0x3097)]
        self.kata = [chr(c) for c in range(0x30A1, 0x30FB)]
        self.arabic = [chr(c) for c in range(0x0621, 0x064B) if not 0x063B <= c <= 0x0640]
        self.harakat = [chr(c) for c in range(0x064B, 0x0653)]
        self.deva_cons = [chr(c) for c in range(0x0915, 0x093A)]
        self.deva_vowel = [chr(c) for c in range(0x093E, 0x094D)]

    def _run(self, pool: list[str], lo: int, hi: int) -> str:
        return "".join(self.rng.choices(pool, k=self.rng.randint(lo, hi)))

    def zh(self) -> str:
        rng = self.rng
        s = [self._run(self.han, 4, 24) + rng.choice("，，，。。、；：？！") for _ in range(rng.randint(3, 12))]
        if rng.random() < 0.3:
            s.insert(rng.randrange(len(s)), f"“{self._run(self.han, 2, 8)}”")
        if rng.random() < 0.2:
            s.insert(rng.randrange(len(s)), f"{rng.randint(1900, 2030)}年{rng.randint(1, 12)}月")
        return "".join(s)

    def ja(self) -> str:
        rng = self.rng
        out = []
        for _ in range(rng.randint(8, 40)):
            r = rng.random()
            if r < 0.4:
                out.append(self._run(self.han, 1, 3))
            elif r < 0.85:
                out.append(self._run(self.hira, 1, 5))
            else:
                out.append(self._run(self.kata, 2, 6) + ("ー" if rng.random() < 0.3 else ""))
            if rng.random() < 0.12:
                out.append(rng.choice(("、", "。", "「", "」")))
        return "".join(out) + "。"

    def ko(self) -> str:
        rng = self.rng
        words = [self._run(self.hangul, 1, 5) for _ in range(rng.randint(6, 30))]
        return " ".join(words) + rng.choice((".", "다.", "요?", "!"))

    def ar(self) -> str:
        rng = self.rng
        words = []
        for _ in range(rng.randint(6, 30)):
            w = self._run(self.arabic, 2, 7)
            if rng.random() < 0.2:
                w = "".join(c + (rng.choice(self.harakat) if rng.random() < 0.5 else "") for c in w)
            words.append(w)
            if rng.random() < 0.05:
                words.append("".join(chr(0x0660 + rng.randrange(10)) for _ in range(rng.randint(1, 4))))
        return " ".join(words) + rng.choice(("،", ".", "؟"))

    def hi(self) -> str:
        rng = self.rng
        words = []
        for _ in range(rng.randint(6, 30)):
            w = []
            for _ in range(rng.randint(1, 4)):
                w.append(rng.choice(self.deva_cons))
                r = rng.random()
                if r < 0.5:
                    w.append(rng.choice(self.deva_vowel))
                elif r < 0.65:
                    w.append("\u094d" + rng.choice(self.deva_cons))
                if rng.random() < 0.1:
                    w.append(rng.choice("\u0902\u0901\u0903"))
            words.append("".join(w))
        return " ".join(words) + " ।"

    def paragraph(self) -> str:
        rng = self.rng
        kind = rng.choices(("zh", "ja", "ko", "ar", "hi", "emoji"), weights=(25, 20, 20, 12, 12, 11))[0]
        if kind == "emoji":
            base = getattr(self, rng.choice(("zh", "ja", "ko", "ar", "hi")))()
            parts = base.split(" ") if " " in base else [base[i:i + 6] for i in range(0, len(base), 6)]
            text = "".join(p + (" " + "".join(_emoji(rng) for _ in range(rng.randint(1, 3))) + " "
                                if rng.random() < 0.4 else (" " if " " in base else ""))
                           for p in parts)
        else:
            text = getattr(self, kind)()
            if rng.random() < 0.25:
                text += " " + _emoji(rng)
        if rng.random() < 0.08:
            text += f" (v{rng.randint(1, 9)}.{rng.randint(0, 30)}, {rng.randint(1, 99999)} tokens)"
        return text + rng.choice(("\n", "\n", "\n\n"))

    def __iter__(self) -> Iterator[str]:
        while True:
            yield self.paragraph()


def build_corpus(category: str, size: int) -> bytes:
    seed = {"english": 11, "code": 22, "cjk_emoji": 33, "whitespace": 44}[category]
    rng = random.Random(seed)
    if category == "english":
        return _fill(_english_docs(rng), size, "\n\n")
    if category == "code":
        return _fill(_code_files(rng), size, "\n\n")
    if category == "whitespace":
        return _fill((_whitespace_heavy(t, rng) for t in _code_files(rng)), size, "\n\n\n")
    if category == "cjk_emoji":
        return _fill(iter(_CjkGen(rng)), size, "")
    raise ValueError(category)


CATEGORIES = ("english", "code", "cjk_emoji", "whitespace")


def load_corpora(size: int, cache_dir: Path | None) -> dict[str, bytes]:
    corpora = {}
    for cat in CATEGORIES:
        path = cache_dir / f"v{CORPUS_VERSION}-{cat}-{size}.bin" if cache_dir else None
        t0 = time.perf_counter()
        if path is not None and path.exists():
            data, how = path.read_bytes(), "cache"
        else:
            data, how = build_corpus(cat, size), "built"
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(data)
                tmp.replace(path)
        text = data.decode("utf-8")
        print(f"  corpus {cat:<10} {len(data):>10,} bytes {len(text):>10,} chars  "
              f"sha256 {hashlib.sha256(data).hexdigest()[:12]}  ({how}, {time.perf_counter() - t0:.1f} s)",
              flush=True)
        corpora[cat] = data
    return corpora


# ----------------------------------------------------------------------------- timing


def stream_bench(
    chunks: Sequence[bytes], fns: dict[str, Callable[[str], Any]], passes: int,
) -> tuple[dict[str, float], list[int], dict[str, Any]]:
    """Encode every chunk once per pass with each library, alternating which goes first.

    Returns the best pass time per library, the indices of chunks whose results
    differ (checked on the first pass, outside the timed region), and extras.
    """
    best = {name: math.inf for name in fns}
    per_pass: dict[str, list[float]] = {name: [] for name in fns}
    mismatches: list[int] = []
    tokens = 0
    items = list(fns.items())
    for p in range(passes):
        totals = dict.fromkeys(fns, 0.0)
        for i, data in enumerate(chunks):
            order = items if (i + p) % 2 == 0 else items[::-1]
            out: dict[str, Any] = {}
            for name, fn in order:
                s = data.decode("utf-8")  # a fresh str: no cached UTF-8 from an earlier call
                r = None
                t0 = time.perf_counter()
                r = fn(s)
                t1 = time.perf_counter()
                totals[name] += t1 - t0
                out[name] = r
                del s, r
            if p == 0:
                if out["native"] != out["tiktoken"]:
                    mismatches.append(i)
                t = out["tiktoken"]
                tokens += t if isinstance(t, int) else len(t)
            del out
        for name in fns:
            best[name] = min(best[name], totals[name])
            per_pass[name].append(totals[name])
    return best, mismatches, {"tokens": tokens, "pass_seconds": per_pass}


def latency_bench(
    fns: dict[str, Callable[[str], Any]], pool: Sequence[bytes], repeats: int, min_time: float,
) -> dict[str, float]:
    """Best-of-``repeats`` µs per call with timeit, inputs cycled from ``pool``."""
    n = len(pool)

    def timer(fn: Callable[[str], Any], cycles: int) -> timeit.Timer:
        return timeit.Timer(
            stmt="for s in strs: fn(s)",
            setup="strs = [pool[i % n].decode() for i in range(n * cycles)]",  # fresh objects per repeat
            globals={"fn": fn, "pool": pool, "n": n, "cycles": cycles},
        )

    for fn in fns.values():  # warm up (first call may load a tokenizer)
        timer(fn, 1).timeit(1)
    one = max(timer(fn, 1).timeit(1) for fn in fns.values())
    cycles = max(1, math.ceil(min_time / max(one, 1e-9)))
    best = {name: math.inf for name in fns}
    items = list(fns.items())
    for r in range(repeats):
        for name, fn in items if r % 2 == 0 else items[::-1]:
            best[name] = min(best[name], timer(fn, cycles).timeit(1))
    return {name: best[name] / (n * cycles) * 1e6 for name in fns}


# ----------------------------------------------------------------------------- workers (subprocesses)

PATHO_SAMPLE = ("The quick brown fox jumps over the lazy dog; 1234 tokens, naïve café, 東京 🙂.\n" * 16)[:1000]
# Long enough (> 1000 ids) to take every lazy first-use path (e.g. the id-list table) before timing.
WARMUP_TEXT = PATHO_SAMPLE * 5 + "    \t\r\n 123456 " * 50 + "a" * 3000


def warm_up(enc: Any) -> None:
    enc.encode_ordinary(WARMUP_TEXT)
    enc.encode_ordinary_batch([WARMUP_TEXT, PATHO_SAMPLE], num_threads=2)
    if hasattr(enc, "count"):
        enc.count(WARMUP_TEXT)


def _load(lib: str, enc: str) -> Any:
    if lib == "tiktoken":
        import tiktoken

        return tiktoken.get_encoding(enc)
    from fast_litellm.tokenizer import get_encoding

    return get_encoding(enc)


def worker_main(spec: dict[str, Any]) -> None:
    def emit(**kw: Any) -> None:
        print(json.dumps(kw), flush=True)

    if spec["kind"] == "memory":
        r0, h0 = _proc_status("VmRSS"), _proc_status("VmHWM")
        if spec["lib"] == "tiktoken":
            import tiktoken as mod  # noqa: F401
        else:
            import fast_litellm.tokenizer as mod  # noqa: F401
        r1 = _proc_status("VmRSS")
        t0 = time.perf_counter()
        enc = _load(spec["lib"], spec["enc"])
        t1 = time.perf_counter()
        ids = enc.encode_ordinary(PATHO_SAMPLE)
        t2 = time.perf_counter()
        r2, h2 = _proc_status("VmRSS"), _proc_status("VmHWM")
        emit(event="done", start=r0, import_delta=r1 - r0, load_delta=r2 - r1, total_delta=r2 - r0,
             peak_delta=h2 - r0, hwm_start=h0, digest=_ids_digest(ids), load_s=t1 - t0, first_encode_s=t2 - t1,
             native_bytes=getattr(enc, "memory_bytes", None))
        return

    # pathological: cases are files of UTF-8 in spec["dir"]
    enc = _load(spec["lib"], spec["enc"])
    warm_up(enc)
    emit(event="ready")
    for case in spec["cases"]:
        data = (Path(spec["dir"]) / f"{case}.bin").read_bytes()
        emit(event="start", case=case)
        try:
            best = math.inf
            ids: list[int] = []
            for i in range(spec["repeats"]):
                s = data.decode("utf-8")
                ids = []
                gc.collect()
                t0 = time.perf_counter()
                ids = enc.encode_ordinary(s)
                best = min(best, time.perf_counter() - t0)
                del s
                if best > spec["repeat_below"]:
                    break
            roundtrip = enc.decode_bytes(ids) == data
            emit(event="done", case=case, time=best, bytes=len(data), tokens=len(ids),
                 digest=_ids_digest(ids), roundtrip=roundtrip)
        except BaseException as e:  # pyo3's PanicException derives from BaseException
            emit(event="error", case=case, error=f"{type(e).__name__}: {str(e)[:200]}")
            if not isinstance(e, Exception) and type(e).__name__ != "PanicException":
                raise


def _spawn(spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _pump(stream: Any, q: queue.Queue[str | None]) -> None:
    for line in stream:
        q.put(line)
    q.put(None)


def run_patho_cases(lib: str, enc: str, cases: list[str], directory: str, timeout: float,
                    repeats: int, repeat_below: float) -> dict[str, dict[str, Any]]:
    """Run ``cases`` in worker processes; a case that hangs or kills its worker is recorded, the rest go on."""
    results: dict[str, dict[str, Any]] = {}
    remaining = list(cases)
    while remaining:
        proc = _spawn({"kind": "patho", "lib": lib, "enc": enc, "cases": remaining, "dir": directory,
                       "repeats": repeats, "repeat_below": repeat_below})
        out_q: queue.Queue[str | None] = queue.Queue()
        err_q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, out_q), daemon=True).start()
        threading.Thread(target=_pump, args=(proc.stderr, err_q), daemon=True).start()
        current: str | None = None
        deadline = time.monotonic() + 180  # loading the encoding
        while True:
            try:
                line = out_q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                proc.kill()
                proc.wait()
                if current is None:
                    for c in remaining:
                        results[c] = {"status": "error", "detail": "worker did not start"}
                    remaining = []
                else:
                    results[current] = {"status": "timeout", "detail": f">{timeout:g} s"}
                    remaining.remove(current)
                break
            if line is None:
                rc = proc.wait()
                err_lines = []
                while True:
                    try:
                        e = err_q.get(timeout=2)
                    except queue.Empty:
                        break
                    if e is None:
                        break
                    err_lines.append(e.strip())
                last = next((e for e in reversed(err_lines) if e), "")
                if current is not None:
                    results[current] = {"status": "crash", "detail": f"exit {rc}: {last[:160]}"}
                    remaining.remove(current)
                elif remaining:
                    for c in remaining:
                        results[c] = {"status": "error", "detail": f"worker exit {rc}: {last[:160]}"}
                    remaining = []
                break
            msg = json.loads(line)
            if msg["event"] == "ready":
                deadline = time.monotonic() + 60
            elif msg["event"] == "start":
                current = msg["case"]
                deadline = time.monotonic() + timeout
            elif msg["event"] in ("done", "error"):
                if msg["event"] == "error":
                    msg = {"status": "crash", "detail": msg["error"]}
                else:
                    msg["status"] = "ok"
                results[current] = msg  # type: ignore[index]
                remaining.remove(current)  # type: ignore[arg-type]
                current = None
                deadline = time.monotonic() + 60
    return results


def run_memory(lib: str, enc: str) -> dict[str, Any]:
    proc = _spawn({"kind": "memory", "lib": lib, "enc": enc})
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"status": "timeout"}
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("event") == "done":
            msg["status"] = "ok"
            return msg  # type: ignore[no-any-return]
    return {"status": "crash", "detail": (err.strip().splitlines() or [""])[-1][:160]}


# ----------------------------------------------------------------------------- report


class Report:
    def __init__(self) -> None:
        self.sections: dict[str, Any] = {}
        self.failed = False
        self.t_last = time.perf_counter()

    def table(self, key: str, title: str, note: str, header: list[str], rows: list[list[str]],
              exact: bool | None, exact_note: str = "", data: Any = None) -> None:
        print(f"\n## {title}\n")
        if note:
            print(note + "\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        verdict = "n/a" if exact is None else ("yes" if exact else "NO")
        print(f"\nexact: {verdict}" + (f" ({exact_note})" if exact_note else ""))
        elapsed = time.perf_counter() - self.t_last
        print(f"\n_(section took {elapsed:.0f} s; load average now {loadavg()})_", flush=True)
        self.t_last = time.perf_counter()
        if exact is False:
            self.failed = True
        self.sections[key] = {"title": title, "header": header, "rows": rows, "exact": exact,
                              "exact_note": exact_note, "data": data, "seconds": round(elapsed, 1),
                              "loadavg_end": loadavg()}


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 MB corpora, fewer repetitions (smoke test)")
    ap.add_argument("--encodings", default="cl100k_base,o200k_base")
    ap.add_argument("--json", metavar="PATH", help="also write all results as JSON")
    ap.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "fast_litellm_bench"),
                    help="where built corpora are kept between runs (default: %(default)s)")
    ap.add_argument("--no-cache", action="store_true", help="rebuild corpora, do not read or write the cache")
    ap.add_argument("--sections", default="1,2,3,4,5,6", help="comma-separated subset of sections to run")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(json.loads(args.worker))
        return 0

    encodings = [e.strip() for e in args.encodings.split(",") if e.strip()]
    sections = {int(s) for s in args.sections.split(",") if s.strip()}
    quick = args.quick
    corpus_size = 1 * MB if quick else 10 * MB
    chunk_sizes = [100 * KB, corpus_size]
    passes = 2 if quick else 3
    lat_repeats, lat_min_time = (3, 0.02) if quick else (7, 0.2)
    batch_docs, batch_doc_size = (100, 10 * KB) if quick else (1000, 10 * KB)
    thread_text = (MB // 2) if quick else 5 * MB
    patho_small, patho_big = (100 * KB, 1 * MB) if quick else (1 * MB, 10 * MB)
    tk_timeout, nat_timeout = (20.0, 60.0) if quick else (60.0, 300.0)

    # litellm first, so its encode can be captured before fast_litellm (which may patch it) is imported
    import litellm
    import litellm.utils
    import tiktoken

    preloaded = "fast_litellm" in sys.modules
    encode_before = litellm.encode
    utils_encode_before = litellm.utils.encode

    import fast_litellm
    from fast_litellm.tokenizer import get_encoding

    # litellm's own encode: captured before fast_litellm was imported; if it was already patched
    # (fast_litellm imported earlier), ask fast_litellm for the original or follow __wrapped__.
    plain_encode = encode_before
    if preloaded or getattr(plain_encode, "__wrapped__", None) is not None:
        try:
            plain_encode = fast_litellm.get_original("litellm", "encode")
        except Exception:
            plain_encode = inspect.unwrap(encode_before)

    def _version(mod: str) -> str:
        try:
            from importlib.metadata import version

            return version(mod)
        except Exception:
            return "?"

    try:
        git = subprocess.run(["git", "-C", str(Path(fast_litellm.__file__).parent.parent), "describe",
                              "--always", "--dirty"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        git = "?"
    meta = {
        "mode": "quick" if quick else "full", "encodings": encodings,
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "tiktoken": _version("tiktoken"), "litellm": _version("litellm"),
        "fast_litellm": _version("fast-litellm"), "fast_litellm_git": git,
        "loadavg_start": loadavg(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    try:
        import fast_litellm._native as _native_mod

        so = Path(_native_mod.__file__ or "?")
    except Exception:
        so = Path("?")
    try:
        meta["native_extension"] = f"{so.name}, built {time.strftime('%Y-%m-%d %H:%M', time.localtime(so.stat().st_mtime))}"
    except OSError:
        meta["native_extension"] = str(so)
    print(f"# fast_litellm tokenizer benchmark ({meta['mode']})\n")
    print(f"python {meta['python']} on {meta['platform']}, {meta['cpus']} CPUs; tiktoken {meta['tiktoken']}, "
          f"litellm {meta['litellm']}, fast_litellm {meta['fast_litellm']} ({git}); "
          f"load average {meta['loadavg_start']}; native extension {meta['native_extension']}")
    print("MB = 10^6 bytes of UTF-8; ratio = native speed-up over tiktoken (>1 = native faster).\n")

    tk = {e: tiktoken.get_encoding(e) for e in encodings}
    nat = {e: get_encoding(e) for e in encodings}
    for e in encodings:
        warm_up(tk[e])
        warm_up(nat[e])
    cache_dir = None if args.no_cache else Path(args.cache_dir)
    corpora = load_corpora(corpus_size, cache_dir)
    report = Report()
    gc.collect()
    gc.disable()
    t_start = time.perf_counter()

    # ---- 1 / 2: throughput ------------------------------------------------------
    for sec, key, title, make in (
        (1, "encode_ordinary", "1. encode_ordinary throughput (MB/s, list of ids returned)",
         lambda e: {"tiktoken": tk[e].encode_ordinary, "native": nat[e].encode_ordinary}),
        (2, "count", "2. count-only throughput (MB/s): native count() vs len(tiktoken encode_ordinary())",
         lambda e: {"tiktoken": lambda s, f=tk[e].encode_ordinary: len(f(s)), "native": nat[e].count}),
    ):
        if sec not in sections:
            continue
        rows, data, exact, bad = [], [], True, []
        for e in encodings:
            for cat in CATEGORIES:
                for cs in chunk_sizes:
                    chunks = chunk(corpora[cat], cs)
                    best, mism, extra = stream_bench(chunks, make(e), passes)
                    nbytes = len(corpora[cat])
                    mbps = {k: nbytes / v / MB for k, v in best.items()}
                    rows.append([f"{e} · {cat} · {size_label(cs)} chunks ×{len(chunks)}",
                                 f"{mbps['tiktoken']:.1f}", f"{mbps['native']:.1f}",
                                 fmt_ratio(best["tiktoken"] / best["native"])])
                    data.append({"encoding": e, "category": cat, "chunk": cs, "chunks": len(chunks),
                                 "bytes": nbytes, "seconds": best, "mb_per_s": mbps, **extra,
                                 "mismatched_chunks": mism})
                    if mism:
                        exact = False
                        bad.append(f"{e}/{cat}/{size_label(cs)}: chunks {mism[:5]}")
                    gc.collect()
        n_chunks = sum(d["chunks"] for d in data)
        report.table(key, title,
                     f"Each {size_label(corpus_size)} corpus cut into chunks, every chunk encoded once per pass "
                     f"(fresh str each call); best of {passes} passes, libraries alternated per chunk.",
                     ["case", "tiktoken MB/s", "native MB/s", "native/tiktoken"], rows, exact,
                     f"all {n_chunks} chunks compared" if exact else "; ".join(bad), data)

    # ---- 3: latency ---------------------------------------------------------------
    if 3 in sections:
        eng = corpora["english"].decode()
        rng = random.Random(7)

        def pool(length: int) -> list[bytes]:
            seen: dict[str, None] = {}
            tries = 0
            while len(seen) < 1000 and tries < 200_000:
                tries += 1
                i = rng.randrange(0, len(eng) - length)
                s = eng[i:i + length]
                if s.isascii():
                    seen[s] = None
            return [s.encode() for s in seen]

        pool20, pool1k = pool(20), pool(1000)
        pool8 = [b"\0".join(pool20[i:i + 8]) for i in range(0, len(pool20) - 7, 8)]
        # Random lowercase words: ~4 unseen pieces per string, far more than the native per-thread
        # piece cache holds, so every repeat runs the uncached BPE path.
        cold: dict[str, None] = {}
        while len(cold) < (10_000 if quick else 50_000):
            w = " ".join("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 7)))
                         for _ in range(6))[:20].ljust(20, "z")
            cold[w] = None
        pool_cold = [w.encode() for w in cold]
        patched_by = []
        if litellm.encode is not encode_before or litellm.utils.encode is not utils_encode_before:
            patched_by.append("litellm.encode replaced when fast_litellm was imported")
        if getattr(litellm.encode, "__wrapped__", None) is not None or \
                getattr(litellm.utils.encode, "__wrapped__", None) is not None:
            patched_by.append("__wrapped__ present")
        api_status: dict[str, Any] = {}
        status_fn = getattr(fast_litellm, "get_patch_status", None)
        if callable(status_fn):
            try:
                full = status_fn()
                api_status = {site: v.get("patched") if isinstance(v, dict) else v
                              for site, v in full.items() if "encode" in site}
                if isinstance(full.get("litellm.encode"), dict) and full["litellm.encode"].get("patched"):
                    patched_by.append("fast_litellm.get_patch_status() reports litellm.encode patched")
            except Exception as exc:  # the API may be in flux
                api_status = {"get_patch_status": f"error: {exc!r}"[:200]}
        patched = bool(patched_by)

        select = getattr(litellm.utils, "select_tokenizer", None)

        def native_litellm_encode(model: str = "", text: str = "", custom_tokenizer: Any = None) -> Any:
            """Thin stand-in for a patched litellm.encode: litellm's tokenizer choice, native BPE."""
            if custom_tokenizer is None:
                sel = select(model=model) if select else {"type": "openai_tokenizer",
                                                          "tokenizer": tk.get("cl100k_base")}
                if sel["type"] == "openai_tokenizer":
                    return get_encoding(sel["tokenizer"].name).encode(text, disallowed_special=())
            return plain_encode(model=model, text=text, custom_tokenizer=custom_tokenizer)

        native_path = litellm.encode if patched else native_litellm_encode
        plain_tok = select(model="gpt-4o")["tokenizer"] if select else None
        plain_is_tiktoken = type(plain_tok).__module__.startswith("tiktoken") if plain_tok is not None else None

        cases: list[tuple[str, dict[str, Callable[[str], Any]], list[bytes]]] = [
            ('litellm.encode(model="gpt-4o", text=<20 chars>)',
             {"tiktoken": lambda s: plain_encode(model="gpt-4o", text=s),
              "native": lambda s: native_path(model="gpt-4o", text=s)}, pool20)]
        for e in encodings:
            cases += [
                (f"{e} · encode_ordinary 20 B", {"tiktoken": tk[e].encode_ordinary, "native": nat[e].encode_ordinary},
                 pool20),
                (f"{e} · encode_ordinary 1 KB", {"tiktoken": tk[e].encode_ordinary, "native": nat[e].encode_ordinary},
                 pool1k),
                (f"{e} · count 20 B (tiktoken: len(encode_ordinary))",
                 {"tiktoken": lambda s, f=tk[e].encode_ordinary: len(f(s)), "native": nat[e].count}, pool20),
                (f"{e} · encode_ordinary 20 B random words, pool {len(pool_cold):,} (native piece cache cold)",
                 {"tiktoken": tk[e].encode_ordinary, "native": nat[e].encode_ordinary}, pool_cold),
                # Eight distinct 20 B strings per call (joined by NUL in the pool, split on both sides).
                (f"{e} · encode_ordinary_batch 8×20 B",
                 {"tiktoken": lambda s, f=tk[e].encode_ordinary_batch: f(s.split("\0")),
                  "native": lambda s, f=nat[e].encode_ordinary_batch: f(s.split("\0"))}, pool8),
                (f"{e} · 8×20 B, both native: loop of count (left) vs count_batch (right)",
                 {"tiktoken": lambda s, f=nat[e].count: [f(t) for t in s.split("\0")],
                  "native": lambda s, f=nat[e].count_batch: f(s.split("\0"))}, pool8),
            ]
        rows, data, exact, bad = [], [], True, []
        for label, fns, p in cases:
            for b in p:  # exactness, outside the timed region
                s = b.decode()
                if fns["tiktoken"](s) != fns["native"](s):
                    exact = False
                    bad.append(f"{label}: {s!r}")
                    break
            us = latency_bench(fns, p, lat_repeats, lat_min_time)
            rows.append([label, f"{us['tiktoken']:.2f}", f"{us['native']:.2f}",
                         fmt_ratio(us["tiktoken"] / us["native"])])
            data.append({"case": label, "us_per_call": us, "pool": len(p)})
            gc.collect()
        how = ("litellm.encode as patched by fast_litellm (" + "; ".join(patched_by) + ")" if patched else
               "thin wrapper with litellm.encode's signature: litellm's select_tokenizer, then the fast_litellm "
               "encoding of the same name, .encode(text, disallowed_special=())")
        note = (f"µs per call, timeit best of {lat_repeats}, distinct strings cycled from a pool of "
                f"{len(pool20)} (20 B) / {len(pool1k)} (1 KB) (the last row: {len(pool_cold):,}), "
                f"fresh str objects each repeat, libraries alternated per repeat.\n\n"
                f"litellm.encode patched: {'yes' if patched else 'no'}"
                + (f"; fast_litellm.get_patch_status(): {api_status}" if api_status else
                   "; fast_litellm has no patch-status API yet")
                + f".\nlitellm column 'tiktoken' = unpatched litellm.encode (selects {plain_tok!r} for gpt-4o"
                + ("" if plain_is_tiktoken in (True, None) else " — WARNING: not a tiktoken Encoding")
                + f"); column 'native' = {how}.")
        report.table("latency", "3. latency (µs per call)", note,
                     ["case", "tiktoken µs", "native µs", "native/tiktoken"], rows, exact,
                     "every pool string compared" if exact else "; ".join(bad),
                     {"rows": data, "patched": patched, "patched_by": patched_by, "api_status": api_status,
                      "plain_tokenizer": repr(plain_tok)})

    # ---- 4: pathological ------------------------------------------------------------
    if 4 in sections:
        tmp = tempfile.TemporaryDirectory(prefix="fl_bench_")

        def rand_text(alphabet: bytes, n: int, seed: int) -> bytes:
            table = bytes(alphabet[i % len(alphabet)] for i in range(256))
            return random.Random(seed).randbytes(n).translate(table)

        def space_runs(n: int, seed: int) -> bytes:
            r = random.Random(seed)
            out = bytearray()
            while len(out) < n:
                out += b"x" + b" " * r.randint(257, 1100)
            return bytes(out[:n])

        en = corpora["english"]
        inputs = {
            f"English prose {size_label(patho_small)} (reference)": en[:_cut_at_char(en, patho_small)],
            f"'a' × {size_label(patho_small)}": b"a" * patho_small,
            f"' ' × {size_label(patho_small)}": b" " * patho_small,
            f"random digits {size_label(patho_small)}": rand_text(b"0123456789", patho_small, 1),
            f"random letters {size_label(patho_small)}": rand_text(b"abcdefghijklmnopqrstuvwxyz", patho_small, 2),
            f"runs of 257–1100 spaces between letters, {size_label(patho_small)}": space_runs(patho_small, 4),
            f"'a' × {size_label(patho_big)} (one piece)": b"a" * patho_big,
            f"random letters {size_label(patho_big)} (one piece)":
                rand_text(b"abcdefghijklmnopqrstuvwxyz", patho_big, 3),
        }
        files = {}
        for i, (label, data) in enumerate(inputs.items()):
            files[label] = f"case{i}"
            (Path(tmp.name) / f"case{i}.bin").write_bytes(data)
        by_file = {v: k for k, v in files.items()}
        ref_label = next(iter(inputs))
        rows, data_out, exact, notes = [], [], True, []
        compared = 0
        for e in encodings:
            res = {}
            for lib, limit in (("native", nat_timeout), ("tiktoken", tk_timeout)):
                r = run_patho_cases(lib, e, list(files.values()), tmp.name, limit,
                                    repeats=1 if quick else 3, repeat_below=5.0)
                res[lib] = {by_file[k]: v for k, v in r.items()}
            ref = {lib: res[lib][ref_label].get("time") for lib in LIBS}
            for label, data in inputs.items():
                n, t = res["native"][label], res["tiktoken"][label]
                nt = n.get("time") if n["status"] == "ok" else None
                tt = t.get("time") if t["status"] == "ok" else None

                def cell(r: dict[str, Any], tv: float | None) -> str:
                    return f"{tv:.4f}" if tv is not None else f"{r['status']} ({r.get('detail', '')})"

                if n["status"] != "ok":
                    report.failed = True
                    notes.append(f"native {r_status(n)} on {e}/{label}")
                elif not n.get("roundtrip"):
                    exact = False
                    notes.append(f"native decode(encode(x)) != x on {e}/{label}")
                if nt is not None and tt is not None:
                    compared += 1
                    if (n["digest"], n["tokens"]) != (t["digest"], t["tokens"]):
                        exact = False
                        notes.append(f"ids differ on {e}/{label}")
                elif n["status"] == "ok":
                    notes.append(f"{e}/{label}: tiktoken {t['status']}, not compared")
                rows.append([
                    f"{e} · {label}", cell(t, tt), cell(n, nt),
                    fmt_ratio(tt / nt if tt and nt else None),
                    f"{len(data) / nt / MB:.2f}" if nt else "—",
                    fmt_ratio(nt / ref["native"] if nt and ref["native"] else None),
                    fmt_ratio(tt / ref["tiktoken"] if tt and ref["tiktoken"] else None),
                ])
                data_out.append({"encoding": e, "case": label, "bytes": len(data),
                                 "native": n, "tiktoken": t})
        tmp.cleanup()
        report.table(
            "pathological", "4. pathological inputs (seconds per call)",
            f"Each library in its own worker process (one per encoding; restarted after a crash or timeout), "
            f"per-case limit {tk_timeout:g} s for tiktoken and {nat_timeout:g} s for native; "
            f"{'one run' if quick else 'best of 3 runs when a run takes < 5 s'}. "
            f"'÷ English' = time ÷ the same library's time for the first {size_label(patho_small)} of the English "
            f"corpus (row 1); the {size_label(patho_big)} rows are {patho_big // patho_small}× larger inputs.",
            ["case", "tiktoken s", "native s", "native/tiktoken", "native MB/s",
             f"native ÷ English {size_label(patho_small)}", f"tiktoken ÷ English {size_label(patho_small)}"],
            rows, exact,
            f"{compared} cases compared by SHA-256 of the ids; native output round-trips on every case"
            + ("; " + "; ".join(notes) if notes else ""), data_out)

    # ---- 5: batch and threads ---------------------------------------------------------
    if 5 in sections:
        per_cat = batch_docs // len(CATEGORIES)
        docs: list[bytes] = []
        pieces = {c: chunk(corpora[c], batch_doc_size) for c in CATEGORIES}
        for i in range(per_cat):
            for c in CATEGORIES:
                docs.append(pieces[c][i])
        docs_bytes = sum(map(len, docs))
        half = _cut_at_char(corpora["english"], thread_text)
        thread_texts = [corpora["english"][:half], corpora["code"][:_cut_at_char(corpora["code"], thread_text)]]
        thread_bytes = sum(map(len, thread_texts))

        def batch(obj: Any, num_threads: int) -> tuple[float, float, Any]:
            texts = [d.decode() for d in docs]  # fresh strs, built outside the timed region
            c0, t0 = time.process_time(), time.perf_counter()
            r = obj.encode_ordinary_batch(texts, num_threads=num_threads)
            return time.perf_counter() - t0, time.process_time() - c0, r

        def two_threads(encode: Callable[[str], list[int]]) -> tuple[float, float, Any]:
            strs = [b.decode() for b in thread_texts]
            results: list[Any] = [None, None]
            barrier = threading.Barrier(3)

            def work(i: int) -> None:
                barrier.wait()
                results[i] = encode(strs[i])

            ths = [threading.Thread(target=work, args=(i,)) for i in range(2)]
            for t in ths:
                t.start()
            c0, t0 = time.process_time(), time.perf_counter()
            barrier.wait()
            for t in ths:
                t.join()
            return time.perf_counter() - t0, time.process_time() - c0, results

        rows, data, exact, bad = [], [], True, []
        for e in encodings:
            objs = {"tiktoken": tk[e], "native": nat[e]}
            variants: list[tuple[str, int, Callable[[str], tuple[float, float, Any]]]] = [
                (f"{e} · encode_ordinary_batch {len(docs)}×{size_label(batch_doc_size)}, num_threads=2",
                 docs_bytes, lambda lib: batch(objs[lib], 2)),  # noqa: B023
                (f"{e} · encode_ordinary_batch {len(docs)}×{size_label(batch_doc_size)}, num_threads=1",
                 docs_bytes, lambda lib: batch(objs[lib], 1)),  # noqa: B023
                (f"{e} · 2 Python threads × {size_label(thread_text)} single text (English | code)",
                 thread_bytes, lambda lib: two_threads(objs[lib].encode_ordinary)),  # noqa: B023
            ]
            for label, nbytes, run in variants:
                best: dict[str, tuple[float, float]] = {lib: (math.inf, 0.0) for lib in LIBS}
                ok = True
                for p in range(passes):
                    out = {}
                    for lib in LIBS if p % 2 == 0 else LIBS[::-1]:
                        wall, cpu, r = run(lib)
                        if wall < best[lib][0]:
                            best[lib] = (wall, cpu)
                        out[lib] = r
                        del r
                    if p == 0 and out["native"] != out["tiktoken"]:
                        ok = False
                    del out
                    gc.collect()
                if not ok:
                    exact = False
                    bad.append(label)
                (tw, tc), (nw, nc) = best["tiktoken"], best["native"]
                rows.append([label, f"{nbytes / tw / MB:.1f}", f"{nbytes / nw / MB:.1f}", fmt_ratio(tw / nw),
                             f"{tc / tw:.2f}", f"{nc / nw:.2f}"])
                data.append({"case": label, "bytes": nbytes, "wall": {"tiktoken": tw, "native": nw},
                             "cpu": {"tiktoken": tc, "native": nc}})
        report.table(
            "batch", "5. batch and threads (MB/s; cpu/wall = cores kept busy)",
            f"Batch docs: {len(docs)} pieces of ~{size_label(batch_doc_size)}, interleaved from the four corpora. "
            f"Threads: two threading.Thread each encoding one {size_label(thread_text)} str at once "
            f"(English and code corpora). Best of {passes} by wall time, libraries alternated per pass; "
            f"cpu = process CPU time of that run.",
            ["case", "tiktoken MB/s", "native MB/s", "native/tiktoken", "tiktoken cpu/wall", "native cpu/wall"],
            rows, exact, "every doc and text compared" if exact else "mismatch: " + "; ".join(bad), data)

    # ---- 6: memory ------------------------------------------------------------------
    if 6 in sections:
        rows, data, exact, bad = [], [], True, []
        for e in encodings:
            m = {lib: run_memory(lib, e) for lib in LIBS}
            if any(v["status"] != "ok" for v in m.values()):
                report.failed = True
                rows.append([e, m["tiktoken"]["status"], m["native"]["status"], "—"])
                continue
            if m["tiktoken"]["digest"] != m["native"]["digest"]:
                exact = False
                bad.append(e)

            def mb(lib: str, k: str) -> float:
                return m[lib][k] / MB  # noqa: B023

            for k, label in (("load_delta", "get_encoding + first encode, RSS Δ MB"),
                             ("import_delta", "import module, RSS Δ MB"),
                             ("peak_delta", "peak RSS (VmHWM) above process start, MB")):
                t, n = mb("tiktoken", k), mb("native", k)
                rows.append([f"{e} · {label}", f"{t:.1f}", f"{n:.1f}", fmt_ratio(t / n if n > 0 else None)])
            for k, label in (("load_s", "get_encoding time, ms"), ("first_encode_s", "first encode (1 KB) time, ms")):
                t, n = m["tiktoken"][k] * 1e3, m["native"][k] * 1e3
                rows.append([f"{e} · {label}", f"{t:.1f}", f"{n:.1f}", fmt_ratio(t / n if n > 0 else None)])
            if m["native"].get("native_bytes"):
                rows.append([f"{e} · native tables (Encoding.memory_bytes)", "—",
                             f"{m['native']['native_bytes'] / MB:.1f}", "—"])
            data.append({"encoding": e, **m})
        report.table(
            "memory", "6. memory and start-up (each library and encoding in a fresh process)",
            "RSS = VmRSS from /proc/self/status, measured after `import` (tiktoken / fast_litellm.tokenizer), "
            "then after get_encoding + encode_ordinary of 1 KB; ratio = tiktoken ÷ native (>1 = native "
            "uses less / is quicker).",
            ["case", "tiktoken", "native", "tiktoken/native"], rows, exact,
            "ids of the first encode compared" if exact else "differ: " + ", ".join(bad), data)

    meta["loadavg_end"] = loadavg()
    meta["seconds"] = round(time.perf_counter() - t_start, 1)
    print(f"\nload average at end {meta['loadavg_end']}; benchmark time {meta['seconds']} s "
          f"(plus corpus setup)")
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "sections": report.sections}, indent=1,
                                              default=repr))
    if report.failed:
        print("\nFAILED: ids differ from tiktoken or native failed; see 'exact' lines above", file=sys.stderr)
        return 1
    return 0


def r_status(r: dict[str, Any]) -> str:
    return f"{r['status']} ({r.get('detail', '')})"


if __name__ == "__main__":
    sys.exit(main())
