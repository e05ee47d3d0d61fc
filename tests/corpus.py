"""Deterministic text corpora for the differential tokenizer tests (a helper module, not a test).

Nothing here touches the network.  Real text comes from files already on this
machine; everything else is synthesised from a seeded ``random.Random``, so a
given ``(seed, size)`` always yields the same chunks on the same installation.

Categories (``CATEGORIES``):

* ``prose``        - docstrings of stdlib / site-packages modules and the
                     ``.md`` / ``.rst`` / ``.txt`` files shipped in them;
* ``code``         - ``.py`` / ``.c`` / ``.h`` / ``.js`` / ``.json`` files of installed packages;
* ``multilingual`` - CJK, kana, Hangul, Arabic with harakat, Devanagari with
                     matras and viramas, Thai, Hebrew with points, Cyrillic,
                     Greek, Latin with combining marks, emoji (ZWJ sequences,
                     skin tones, flags, keycaps, tags, variation selectors);
* ``whitespace``   - long runs of spaces / tabs / newlines / CRLF and every
                     Unicode White_Space character (U+00A0, U+3000, U+0085, U+2028 ...);
* ``contractions`` - apostrophe contractions in every letter case, U+017F (long s)
                     and U+212A (Kelvin sign) after apostrophes, typographic apostrophes;
* ``digits``       - decimal digits of many scripts, Nl / No numbers, digit runs of all lengths;
* ``special``      - special-token text (``<|endoftext|>`` ...), partial and look-alike;
* ``mixed``        - a chunk assembled from pieces of all the above.

Entry point: :func:`corpus_chunks` returns ``(category, text)`` chunks whose
UTF-8 sizes are log-uniformly spread between 1 byte and ``max_chunk`` and add up
to (at least) the requested number of bytes.
"""

from __future__ import annotations

import functools
import math
import os
import random
import re
import sys
import sysconfig
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = [
    "CATEGORIES",
    "SPECIAL_TOKEN_TEXTS",
    "category_chunks",
    "chunk_sizes",
    "corpus_chunks",
    "generate",
    "site_packages_dirs",
    "stdlib_dir",
]

CATEGORIES: tuple[str, ...] = (
    "prose",
    "code",
    "multilingual",
    "whitespace",
    "contractions",
    "digits",
    "special",
    "mixed",
)

SPECIAL_TOKEN_TEXTS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|endofprompt|>",
)

_MAX_FILE_BYTES = 4 << 20  # files larger than this are sliced, never read whole twice


# ---------------------------------------------------------------------------
# Real text from files on this machine
# ---------------------------------------------------------------------------


def stdlib_dir() -> Path:
    """The directory of the running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def site_packages_dirs() -> list[Path]:
    """Every existing site-packages directory of the running interpreter, sorted."""
    dirs = {Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"])}
    dirs.update(Path(p) for p in sys.path if p.endswith("site-packages"))
    return sorted(d for d in dirs if d.is_dir())


def _walk(root: Path, suffixes: frozenset[str], skip: Sequence[Path] = ()) -> list[Path]:
    """Files under ``root`` with one of ``suffixes``, in a stable (sorted) order."""
    skip_strs = tuple(str(s) for s in skip)
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath.startswith(skip_strs):
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in sorted(filenames):
            if os.path.splitext(name)[1].lower() in suffixes:
                found.append(Path(dirpath, name))
    return found


@functools.lru_cache(maxsize=None)
def _doc_files() -> tuple[Path, ...]:
    """``.md`` / ``.rst`` / ``.txt`` files of the stdlib and installed packages."""
    suffixes = frozenset({".md", ".rst", ".txt"})
    files: list[Path] = []
    site = site_packages_dirs()
    files += _walk(stdlib_dir(), suffixes, skip=site)
    for d in site:
        files += _walk(d, suffixes)
    return tuple(f for f in files if _size(f) > 0)


@functools.lru_cache(maxsize=None)
def _python_files() -> tuple[Path, ...]:
    """``.py`` files of the stdlib and installed packages (docstring sources)."""
    suffixes = frozenset({".py"})
    site = site_packages_dirs()
    files = _walk(stdlib_dir(), suffixes, skip=site)
    for d in site:
        files += _walk(d, suffixes)
    return tuple(f for f in files if _size(f) > 0)


@functools.lru_cache(maxsize=None)
def _code_files() -> tuple[Path, ...]:
    """``.py`` / ``.c`` / ``.h`` / ``.js`` / ``.json`` files of installed packages."""
    suffixes = frozenset({".py", ".c", ".h", ".js", ".json"})
    files: list[Path] = []
    for d in site_packages_dirs():
        files += _walk(d, suffixes)
    if not files:  # no third-party packages at all: fall back on the stdlib's sources
        files = _walk(stdlib_dir(), suffixes)
    return tuple(f for f in files if _size(f) > 0)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_utf8(path: Path, rng: random.Random, want: int) -> bytes:
    """Up to about ``want`` bytes of ``path`` re-encoded as valid UTF-8 (a random window if larger)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            limit = min(size, max(want + 8, 1), _MAX_FILE_BYTES)
            start = rng.randrange(0, size - limit + 1) if size > limit else 0
            f.seek(start)
            raw = f.read(limit)
    except OSError:
        return b""
    return raw.decode("utf-8", "replace").encode("utf-8")


_TRIPLE_QUOTED = re.compile(r'("""|\'\'\')(.*?)\1', re.S)


@functools.lru_cache(maxsize=4096)
def _docstrings(path: Path) -> bytes:
    """The triple-quoted strings (docstrings, nearly all) of one Python source file, as UTF-8.

    A regular expression rather than ``ast``: parsing thousands of modules would
    dominate the corpus build time, and a stray non-docstring literal is prose too.
    """
    try:
        text = path.read_bytes()[:_MAX_FILE_BYTES].decode("utf-8", "replace")
    except OSError:
        return b""
    docs = [m.group(2).strip("\n") for m in _TRIPLE_QUOTED.finditer(text)]
    return "\n\n".join(d for d in docs if d.strip()).encode("utf-8")


def _slice_text(data: bytes, rng: random.Random, want: int) -> str:
    """A random window of about ``want`` bytes of UTF-8 ``data``, cut on character boundaries."""
    if len(data) > want:
        start = rng.randrange(0, len(data) - want + 1)
        data = data[start:start + want]
    return data.decode("utf-8", "ignore")


def _real_text(rng: random.Random, nbytes: int, sources: Sequence[Callable[[random.Random, int], bytes]]) -> str:
    parts: list[str] = []
    got = 0
    attempts = 0
    while got < nbytes and attempts < 10_000:
        attempts += 1
        data = rng.choice(sources)(rng, nbytes - got)
        if not data:
            continue
        piece = _slice_text(data, rng, nbytes - got)
        if not piece:
            continue
        parts.append(piece)
        got += len(piece.encode("utf-8"))
    return "".join(parts)


def _from_doc_file(rng: random.Random, want: int) -> bytes:
    files = _doc_files()
    return _read_utf8(rng.choice(files), rng, want) if files else b""


def _from_docstrings(rng: random.Random, want: int) -> bytes:
    files = _python_files()
    return _docstrings(rng.choice(files)) if files else b""


def _from_code_file(rng: random.Random, want: int) -> bytes:
    return _read_utf8(rng.choice(_code_files()), rng, want)


def prose(rng: random.Random, nbytes: int) -> str:
    """Real English-ish prose: docstrings and documentation files found on this machine."""
    return _real_text(rng, nbytes, (_from_doc_file, _from_docstrings))


def code(rng: random.Random, nbytes: int) -> str:
    """Real source code and JSON of installed packages."""
    return _real_text(rng, nbytes, (_from_code_file,))


# ---------------------------------------------------------------------------
# Synthetic text
# ---------------------------------------------------------------------------


def _chars(*ranges: tuple[int, int]) -> list[str]:
    return [chr(cp) for lo, hi in ranges for cp in range(lo, hi + 1)]


_CJK = _chars((0x4E00, 0x9FFF), (0x3400, 0x3420), (0x20000, 0x20030))
_HIRAGANA = _chars((0x3041, 0x3096))
_KATAKANA = _chars((0x30A1, 0x30FA)) + ["\u30fc"]  # U+30FC prolonged sound mark is Lm
_HANGUL = _chars((0xAC00, 0xD7A3))
_JAMO_L, _JAMO_V, _JAMO_T = _chars((0x1100, 0x1112)), _chars((0x1161, 0x1175)), _chars((0x11A8, 0x11C2))
_ARABIC = _chars((0x0621, 0x063A), (0x0641, 0x064A))
_HARAKAT = _chars((0x064B, 0x0652)) + ["\u0670"]
_DEVANAGARI = _chars((0x0915, 0x0939))
_MATRAS = _chars((0x093E, 0x094C))  # Mc and Mn vowel signs
_THAI = _chars((0x0E01, 0x0E2E))
_THAI_MARKS = _chars((0x0E31, 0x0E31), (0x0E34, 0x0E3A), (0x0E47, 0x0E4E))
_HEBREW = _chars((0x05D0, 0x05EA))
_HEBREW_POINTS = _chars((0x05B0, 0x05BC), (0x05C1, 0x05C2))
_CYRILLIC = _chars((0x0410, 0x044F), (0x0400, 0x040F), (0x0450, 0x045F))
_GREEK = _chars((0x0391, 0x03A1), (0x03A3, 0x03A9), (0x03B1, 0x03C9), (0x0386, 0x038F))
_LATIN = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") + _chars((0x00C0, 0x00FF), (0x0100, 0x017F))
_COMBINING = _chars((0x0300, 0x036F))
_SEPARATORS = [
    " ", " ", " ", " ", ", ", ". ", "\n", "\u3001", "\u3002", "\u060c ", "\u0964 ", " - ", "! ", "? ",
    "\u3000", "\u00a0", "\t", ": ", " (", ") ", '"', "\u00ab", "\u00bb", "'", "\u300c", "\u300d", "\uff01",
    "\u061f", "\u05be", "\u0e2f", " \u2014 ", "\u2026", "\r\n", "",
]

_EMOJI_BASES = _chars((0x1F600, 0x1F64F), (0x1F300, 0x1F3FA), (0x1F900, 0x1F9FF), (0x2600, 0x26FF), (0x1FA70, 0x1FAF8))
_PEOPLE = ["\U0001F468", "\U0001F469", "\U0001F9D1", "\U0001F466", "\U0001F467", "\U0001F44D", "\U0001F44B", "\U0001F64B"]
_SKIN_TONES = _chars((0x1F3FB, 0x1F3FF))
_ZWJ_SEQUENCES = [
    "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466",
    "\U0001F469\u200d\U0001F4BB",
    "\U0001F9D1\U0001F3FD\u200d\U0001F680",
    "\U0001F3F3\ufe0f\u200d\U0001F308",
    "\u2764\ufe0f\u200d\U0001F525",
    "\U0001F441\ufe0f\u200d\U0001F5E8\ufe0f",
    "\U0001F3F4\u200d\u2620\ufe0f",
    "\U0001F469\U0001F3FE\u200d\u2764\ufe0f\u200d\U0001F48B\u200d\U0001F468\U0001F3FB",
]
_TAG_FLAG = "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"


def _emoji(rng: random.Random) -> str:
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice(_EMOJI_BASES)
    if kind == 1:
        return rng.choice(_PEOPLE) + rng.choice(_SKIN_TONES)
    if kind == 2:
        return rng.choice(_ZWJ_SEQUENCES)
    if kind == 3:
        return rng.choice(_PEOPLE) + "\u200d" + rng.choice(_EMOJI_BASES)
    if kind == 4:  # a flag: two regional indicators (valid or not)
        return chr(0x1F1E6 + rng.randrange(26)) + chr(0x1F1E6 + rng.randrange(26))
    if kind == 5:  # keycap
        return rng.choice("0123456789#*") + rng.choice(["\ufe0f\u20e3", "\u20e3"])
    if kind == 6:  # text / emoji presentation selectors, also on odd bases
        return rng.choice(["\u263a", "\u2764", "\u00a9", "a", "1", "\u2122", "\u2194"]) + rng.choice(["\ufe0e", "\ufe0f"])
    if kind == 7:  # ideographic variation selector after a CJK ideograph
        return rng.choice(_CJK) + chr(0xE0100 + rng.randrange(0xF0))
    return _TAG_FLAG


def _word(rng: random.Random, script: str) -> str:
    n = rng.randint(1, 9)
    if script == "cjk":
        return "".join(rng.choices(_CJK, k=n))
    if script == "kana":
        return "".join(rng.choices(_HIRAGANA + _KATAKANA, k=n))
    if script == "hangul":
        if rng.random() < 0.2:  # conjoining jamo
            return "".join(rng.choice(_JAMO_L) + rng.choice(_JAMO_V) + rng.choice(_JAMO_T + [""]) for _ in range(n))
        return "".join(rng.choices(_HANGUL, k=n))
    if script == "arabic":
        out = []
        for ch in rng.choices(_ARABIC, k=n):
            out.append(ch)
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                out.append(rng.choice(_HARAKAT))
            if rng.random() < 0.05:
                out.append("\u0640")  # tatweel (Lm)
        return "".join(out)
    if script == "devanagari":
        out = []
        for ch in rng.choices(_DEVANAGARI, k=n):
            out.append(ch)
            r = rng.random()
            if r < 0.1:
                out.append("\u093c")  # nukta
            if r < 0.45:
                out.append(rng.choice(_MATRAS))
            elif r < 0.6:
                out.append("\u094d")  # virama (conjunct follows)
            elif r < 0.65:
                out.append(rng.choice(["\u0902", "\u0901", "\u0903"]))
        return "".join(out)
    if script == "thai":
        out = []
        for ch in rng.choices(_THAI, k=n):
            out.append(ch)
            if rng.random() < 0.4:
                out.append(rng.choice(_THAI_MARKS))
        return "".join(out)
    if script == "hebrew":
        out = []
        for ch in rng.choices(_HEBREW, k=n):
            out.append(ch)
            if rng.random() < 0.6:
                out.append(rng.choice(_HEBREW_POINTS))
        return "".join(out)
    if script == "cyrillic":
        w = "".join(rng.choices(_CYRILLIC, k=n))
        return w.capitalize() if rng.random() < 0.3 else w
    if script == "greek":
        w = "".join(rng.choices(_GREEK, k=n))
        return w + "\u0301" if rng.random() < 0.2 else w
    if script == "latin":
        out = []
        for ch in rng.choices(_LATIN, k=n):
            out.append(ch)
            if rng.random() < 0.15:
                out.append(rng.choice(_COMBINING))
        return "".join(out)
    return _emoji(rng)


_SCRIPTS = ("cjk", "kana", "hangul", "arabic", "devanagari", "thai", "hebrew", "cyrillic", "greek", "latin", "emoji")


def _assemble(rng: random.Random, nbytes: int, pool: Sequence[str], seps: Sequence[str], sep_prob: float) -> str:
    """Join random members of ``pool`` (with random separators) up to about ``nbytes`` UTF-8 bytes."""
    parts: list[str] = []
    got = 0
    while got < nbytes:
        batch = rng.choices(pool, k=min(4096, max(1, nbytes // 8)))
        for w in batch:
            if rng.random() < sep_prob:
                w += rng.choice(seps)
            parts.append(w)
            got += len(w.encode("utf-8"))
            if got >= nbytes:
                break
    return _cut("".join(parts), nbytes)


def _cut(text: str, nbytes: int) -> str:
    """``text`` shortened to at most about ``nbytes`` UTF-8 bytes (never empty if ``text`` is not)."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= nbytes:
        return text
    cut = data[:nbytes].decode("utf-8", "ignore")
    return cut or text[:1]


def multilingual(rng: random.Random, nbytes: int) -> str:
    """Words of many scripts (with their combining marks) and emoji sequences."""
    pool_size = max(8, min(3000, nbytes // 6))
    # Runs of one script with occasional switches, so that both monoscript text and script
    # boundaries get exercised.
    pool: list[str] = []
    script = rng.choice(_SCRIPTS)
    for _ in range(pool_size):
        if rng.random() < 0.1:
            script = rng.choice(_SCRIPTS)
        pool.append(_word(rng, script))
    return _assemble(rng, nbytes, pool, _SEPARATORS, 0.8)


_WHITESPACE_CHARS = [
    " ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\u0085", "\u00a0", "\u1680", "\u2000", "\u2001", "\u2002",
    "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a", "\u2028", "\u2029",
    "\u202f", "\u205f", "\u3000",
]
_SHORT_WORDS = ["word", "x", "I", "42", "7", "!", "...", "\u00e9t\u00e9", "\u65e5\u672c", "def", "A", "//", "'s", "-", "\u0301"]


def _whitespace_run(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:  # a run of one kind
        ch = rng.choice(_WHITESPACE_CHARS)
        n = int(math.exp(rng.uniform(0, math.log(400))))
        if rng.random() < 0.01:
            n = rng.randint(1000, 20_000)
        return ch * n
    if r < 0.8:  # a mixed run
        return "".join(rng.choices(_WHITESPACE_CHARS, weights=[10, 4, 6, 2, 4] + [1] * 21, k=rng.randint(1, 40)))
    return rng.choice(["  \n", " \n ", "\n\n\n", "\r\n\r\n", "\t\n", " \r\n ", "\n \n", "\u3000\n", "\u00a0 ", "  \u2028 "])


def whitespace(rng: random.Random, nbytes: int) -> str:
    """Long and mixed runs of every White_Space character between short words."""
    parts: list[str] = []
    got = 0
    while got < nbytes:
        piece = _whitespace_run(rng) if rng.random() < 0.6 else rng.choice(_SHORT_WORDS)
        parts.append(piece)
        got += len(piece.encode("utf-8"))
    return _cut("".join(parts), nbytes)


_CONTRACTION_HEADS = [
    "don", "I", "we", "they", "it", "you", "Bob", "DON", "WE", "O", "x", "1", "42", "\u65e5\u672c", "\u00e9", "\u00df",
    "\u0130", "\u0131", "\u01c5", "\u0301", "", " ", "\n", "(", "'", "\u212a", "\u017f", "ab\u0301",
]
_APOSTROPHES = ["'"] * 12 + ["\u2019", "\u02bc", "`", "''"]
_CONTRACTION_TAILS = [
    "s", "S", "\u017f", "t", "T", "re", "RE", "Re", "rE", "ve", "VE", "Ve", "vE", "ll", "LL", "Ll", "lL",
    "d", "D", "m", "M", "k", "K", "\u212a", "\u017ft", "\u017f\u017f", "sx", "st", "lle", "ver", "ree", "", "'",
    "'s", "\u017fs", "s'", "T's", "\u0130", "\u0131", "\u0301", "s\u0301",
]
_CONTRACTION_AFTER = ["", "", "", " ", "  ", "\n", ".", "'", "x", "X", "s", "\u017f", "1", "\u212a", "\u00e9", "\r\n", "/"]


def contractions(rng: random.Random, nbytes: int) -> str:
    """Apostrophe contractions in all cases, incl. U+017F / U+212A after the apostrophe."""
    pool = [
        rng.choice(_CONTRACTION_HEADS) + rng.choice(_APOSTROPHES) + rng.choice(_CONTRACTION_TAILS)
        + rng.choice(_CONTRACTION_AFTER)
        for _ in range(max(8, min(3000, nbytes // 5)))
    ]
    return _assemble(rng, nbytes, pool, [" ", "", "\n", ", "], 0.5)


_DIGIT_ZEROS = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50,
    0xED0, 0xF20, 0x1040, 0x17E0, 0x1810, 0x19D0, 0x1B50, 0xA8D0, 0xFF10, 0x104A0, 0x11066, 0x1D7CE, 0x1D7D8,
    0x1E950, 0x1FBF0,
]
_OTHER_NUMBERS = (
    list("\u00b2\u00b3\u00b9\u00bc\u00bd\u00be\u2070\u2074\u2075\u2080\u2089\u3007\u3021\u3029")
    + _chars((0x2160, 0x2188), (0x2460, 0x249B), (0x2776, 0x2793), (0x10107, 0x10133))
)


def digits(rng: random.Random, nbytes: int) -> str:
    """Digit runs of many scripts (Nd), plus Nl / No numbers, with assorted separators."""
    pool: list[str] = []
    for _ in range(max(8, min(3000, nbytes // 5))):
        r = rng.random()
        n = rng.choice((1, 1, 2, 3, 3, 4, 5, 6, 7, 9, 12, 20))
        if r < 0.4:
            pool.append("".join(rng.choices("0123456789", k=n)))
        elif r < 0.75:
            zero = rng.choice(_DIGIT_ZEROS)
            pool.append("".join(chr(zero + rng.randrange(10)) for _ in range(n)))
        elif r < 0.85:  # scripts mixed inside one run
            pool.append("".join(chr(rng.choice(_DIGIT_ZEROS) + rng.randrange(10)) for _ in range(n)))
        else:
            pool.append("".join(rng.choices(_OTHER_NUMBERS, k=rng.randint(1, 4))))
    seps = [" ", ",", ".", "", "", "-", "x", "e", "/", ":", "\n", "%", " $", "\u00a0", "\u066b", "a"]
    return _assemble(rng, nbytes, pool, seps, 0.7)


SPECIAL_LOOKALIKES: tuple[str, ...] = (
    "<|endoftext", "endoftext|>", "<|", "|>", "<||>", "<| endoftext |>", "<|ENDOFTEXT|>", "<|im_start|>",
    "<|im_end|>", "<|startoftext|>", "<|reserved_200000|>", "<|endoftext|>" * 3, "<<|endoftext|>>",
    "<|endoftext|><|endofprompt|>", "\u003c|endoftext|\u003e", "<\u200b|endoftext|>",
)


def special(rng: random.Random, nbytes: int) -> str:
    """Special-token text (plain text to ``encode_ordinary``) in varied surroundings."""
    frags = list(SPECIAL_TOKEN_TEXTS) * 3 + list(SPECIAL_LOOKALIKES)
    around = ["", " ", "\n", "Hello", "world.", "  ", "\n\n", "'s", "1", "\u65e5", "<", ">", "|", "\r\n"]
    pool = [rng.choice(around) + rng.choice(frags) + rng.choice(around) for _ in range(max(8, min(2000, nbytes // 10)))]
    return _assemble(rng, nbytes, pool, ["", " ", "\n"], 0.3)


_GENERATORS: dict[str, Callable[[random.Random, int], str]] = {
    "prose": prose,
    "code": code,
    "multilingual": multilingual,
    "whitespace": whitespace,
    "contractions": contractions,
    "digits": digits,
    "special": special,
}


def mixed(rng: random.Random, nbytes: int) -> str:
    """Pieces of every other category glued together in one chunk."""
    parts: list[str] = []
    got = 0
    while got < nbytes:
        size = min(nbytes - got, int(math.exp(rng.uniform(0, math.log(max(2, nbytes))))))
        piece = _GENERATORS[rng.choice(sorted(_GENERATORS))](rng, max(1, size))
        if not piece:
            continue
        parts.append(piece)
        got += len(piece.encode("utf-8"))
    return "".join(parts)


_GENERATORS["mixed"] = mixed


def generate(category: str, rng: random.Random, nbytes: int) -> str:
    """About ``nbytes`` UTF-8 bytes (at least one character) of text of ``category``."""
    text = _GENERATORS[category](rng, max(1, nbytes))
    return text if text else " "


def chunk_sizes(rng: random.Random, total_bytes: int, max_chunk: int = 1 << 20) -> list[int]:
    """Log-uniform sizes in [1, max_chunk] adding up to ``total_bytes``; 1 and max_chunk included when they fit."""
    sizes: list[int] = []
    if total_bytes >= 2:
        sizes.append(1)
    if total_bytes >= max_chunk + 1:
        sizes.append(max_chunk)
    got = sum(sizes)
    while got < total_bytes:
        s = min(int(math.exp(rng.uniform(0, math.log(max_chunk)))), total_bytes - got)
        s = max(1, s)
        sizes.append(s)
        got += s
    rng.shuffle(sizes)
    return sizes


def corpus_chunks(
    total_bytes: int,
    *,
    seed: int,
    categories: Sequence[str] = CATEGORIES,
    max_chunk: int = 1 << 20,
) -> list[tuple[str, str]]:
    """``(category, text)`` chunks of varied sizes (1 B .. ``max_chunk``) totalling >= ``total_bytes`` UTF-8 bytes.

    Deterministic for a given seed on a given installation.  Categories rotate
    over the chunks so each one gets about the same number of bytes.
    """
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    per_category = {c: 0 for c in categories}
    for size in chunk_sizes(rng, total_bytes, max_chunk):
        category = min(categories, key=lambda c: (per_category[c], rng.random()))
        text = generate(category, rng, size)
        per_category[category] += len(text.encode("utf-8", "surrogatepass"))
        out.append((category, text))
    return out


def category_chunks(category: str, total_bytes: int, *, seed: int, max_chunk: int = 1 << 20) -> list[str]:
    """Chunks of one category, sized as :func:`chunk_sizes`, totalling about ``total_bytes`` UTF-8 bytes."""
    rng = random.Random(f"{category}/{seed}")
    return [generate(category, rng, size) for size in chunk_sizes(rng, total_bytes, max_chunk)]


if __name__ == "__main__":  # pragma: no cover - a quick look at the corpus
    import time

    start = time.perf_counter()
    chunks = corpus_chunks(int(sys.argv[1]) if len(sys.argv) > 1 else 4 << 20, seed=0)
    total = sum(len(t.encode("utf-8")) for _, t in chunks)
    print(f"{len(chunks)} chunks, {total} bytes in {time.perf_counter() - start:.2f}s")
    for category, text in chunks[:20]:
        print(category, len(text), ascii(text[:80]))
