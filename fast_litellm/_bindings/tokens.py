"""Typed wrapper over native/bpe.c, native/vocab.c and native/pretokenize.c."""

from __future__ import annotations

import array
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from fast_litellm._bindings import CPYTHON, check, ffi, lib, py
from fast_litellm._workers import parts, run_parts

__all__ = ["PATTERNS", "SIMD_LEVELS", "NativeVocabulary", "pretokenize", "simd_levels"]

PATTERNS = {
    "gpt2": lib.FL_PATTERN_GPT2,
    "cl100k": lib.FL_PATTERN_CL100K,
    "o200k": lib.FL_PATTERN_O200K,
}

# The vector code an encoding runs (fl_encoding_set_simd), lowest first.
SIMD_LEVELS = {
    "portable": lib.FL_SIMD_PORTABLE,
    "sse2": lib.FL_SIMD_SSE2,
    "avx2": lib.FL_SIMD_AVX2,
    "avx512": lib.FL_SIMD_AVX512,
}


def simd_levels() -> list[str]:
    """The levels this CPU runs, lowest first; the last is every encoding's default."""
    best = lib.fl_simd_max()
    return [name for name, level in SIMD_LEVELS.items() if level <= best]


_new_nonzero = ffi.new_allocator(should_clear_after_alloc=False)

# Bound once: a cffi lib/ffi attribute read costs about as much as a small encode's list.
_fl_encode = lib.fl_encode
_fl_count_chunked = lib.fl_count_chunked

# How a list of ids is built.  On CPython, native/pylist.c fills it with
# references to pre-made ints (~3 ns/id, where array('I').tolist(), numpy or
# ffi.unpack make a new int per id at 10-30 ns, plus as much again to free
# them): the int table is an argument of the call (fast_litellm._native_py),
# referenced while it runs, and a single encode is one call (encode_list),
# with no Python-side buffer.  Elsewhere, ffi.unpack under _ARRAY_MIN ids and
# array('I').tolist() above.
_ARRAY_MIN = 64
_U32 = "I" if array.array("I").itemsize == 4 else "L"
if CPYTHON:
    _encode_list = py.encode_list
    _ids_to_list = py.ids_to_list
    _count_messages = py.count_messages


class NativeVocabulary:
    """One loaded rank file and its scanner; immutable, shared by all threads.

    On CPython the native encoding is owned by ``handle``, a capsule that the functions of
    fast_litellm._native_py take as an argument (or hold in their state), so it lives as long as
    any call that uses it; cffi calls use ``_ptr``, valid while this object is.
    """

    __slots__ = ("_ints", "_lazy", "_ptr", "handle", "max_rank")

    def __init__(self, rank_file: bytes, pattern: str,
                 merges: array.array[int] | None = None) -> None:
        """Load ``rank_file`` (tiktoken format).  With ``merges`` (flat uint32
        triples left, right, merged in priority order) only those pairs merge,
        as in Hugging Face BPE (``fl_encoding_new_merges``)."""
        if pattern not in PATTERNS:
            raise ValueError(f"unknown pre-tokenizer pattern {pattern!r}")
        out = ffi.new("fl_encoding **")
        if merges is None:
            check(lib.fl_encoding_new(rank_file, len(rank_file), PATTERNS[pattern], out))
        else:
            if merges.itemsize != 4 or len(merges) % 3:
                raise ValueError("merges must be uint32 triples")
            buf = ffi.from_buffer("uint32_t[]", merges)
            check(lib.fl_encoding_new_merges(rank_file, len(rank_file), buf, len(merges) // 3,
                                              PATTERNS[pattern], out))
        if CPYTHON:
            try:
                self.handle: Any = py.own_encoding(int(ffi.cast("uintptr_t", out[0])))
            except BaseException:
                lib.fl_encoding_free(out[0])
                raise
            self._ptr = out[0]  # owned by the handle
        else:  # pragma: no cover - the tests run on CPython
            self.handle = None
            self._ptr = ffi.gc(out[0], lib.fl_encoding_free, size=lib.fl_encoding_memory(out[0]))
        self.max_rank: int = lib.fl_encoding_max_rank(self._ptr)
        self._ints: Any = None
        self._lazy: dict[str, Any] = {}  # lazily built tables, published with setdefault

    @property
    def memory(self) -> int:
        """Heap bytes the native tables own now (the token trie is built on first use)."""
        result: int = lib.fl_encoding_memory(self._ptr)
        return result

    def str_function(self, kind: str, fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """A builtin ``f(text)`` that encodes (kind "encode": the list of ids; builds the int
        table) or counts (kind "count") an exact str in one C call, and returns
        ``fallback(text)`` for anything else (another type, lone surrogates, a failure):
        ``_native_py.str_function`` (native/pylist.c)."""
        if not CPYTHON:  # pragma: no cover
            return fallback
        kinds = {"encode": lib.FL_STR_ENCODE, "count": lib.FL_STR_COUNT}
        ints = self.int_table() if kind == "encode" else None
        function: Callable[[Any], Any] = py.str_function(kinds[kind], (ints, self.handle, fallback))
        return function

    def set_simd(self, level: str) -> bool:
        """Run this encoding's code at SIMD ``level`` (a key of SIMD_LEVELS; the default is the
        best this CPU has): the same ids at every level, for tests.  False if the CPU cannot."""
        return bool(lib.fl_encoding_set_simd(self._ptr, SIMD_LEVELS[level]) == lib.FL_OK)

    @property
    def simd(self) -> str:
        """The SIMD level this encoding's code runs at."""
        level = lib.fl_encoding_simd(self._ptr)
        return next(name for name, value in SIMD_LEVELS.items() if value == level)

    def int_table(self) -> tuple[int, ...]:
        """The tuple whose item i is the int i, for every rank (built on first use).

        Threads that ask at the same moment may each build one, but ``dict.setdefault`` (atomic
        under the GIL) publishes the first, and every caller gets and keeps that one; a call
        that uses the table takes it as an argument, so no table is freed while in use.
        """
        ints = self._ints
        if ints is None:
            ints = self._ints = self._lazy.setdefault("ints", tuple(range(self.max_rank)))
        return ints

    @staticmethod
    def _to_list(buf: Any, n: int) -> list[int]:  # pragma: no cover - not CPython (it has ids_to_list)
        """The Python list of the n ids in buf (memory of the caller's own call)."""
        if n < _ARRAY_MIN:
            unpacked: list[int] = ffi.unpack(buf, n)
            return unpacked
        ids = array.array(_U32)
        ids.frombytes(ffi.buffer(buf, 4 * n))
        return ids.tolist()

    def encode(self, data: bytes) -> list[int]:
        """Ids of UTF-8 ``data`` as ordinary text."""
        if not CPYTHON:  # pragma: no cover
            return self._encode_unpacked(data)
        ids: list[int] = _encode_list(self.handle, data, self._ints or self.int_table())
        return ids

    def _encode_unpacked(self, data: bytes) -> list[int]:  # pragma: no cover - not CPython
        cap = len(data)
        buf = _new_nonzero("uint32_t[]", cap)
        n = _fl_encode(self._ptr, data, cap, buf, cap)
        if n < 0:
            check(n)
        return self._to_list(buf, n)

    def count(self, data: bytes) -> int:
        """Number of ids ``encode(data)`` would return."""
        n: int = lib.fl_count(self._ptr, data, len(data))
        if n < 0:
            check(n)
        return n

    @staticmethod
    def _batch_bounds(datas: Sequence[bytes]) -> tuple[bytes, Any, list[int]]:
        """The texts joined, their bounds (size_t[n + 1]) and their sizes."""
        sizes = [len(d) for d in datas]
        bounds = _new_nonzero("size_t[]", [0, *itertools.accumulate(sizes)])
        return b"".join(datas), bounds, sizes

    def encode_batch(self, datas: Sequence[bytes], num_threads: int) -> list[list[int]]:
        """Ids of every text in ``datas``: one native call per part, parts on up to
        ``num_threads`` threads when they are large (``_workers.parts``)."""
        blob, bounds, sizes = self._batch_bounds(datas)
        out = _new_nonzero("uint32_t[]", max(len(blob), 1))
        counts = _new_nonzero("size_t[]", max(len(datas), 1))

        def encode_part(first: int, last: int) -> int:
            return int(lib.fl_encode_batch(self._ptr, blob, len(blob), bounds + first, last - first, out,
                                           counts + first))

        for rc in run_parts(encode_part, parts(sizes, num_threads)):
            check(rc)
        if not CPYTHON:  # pragma: no cover
            return [self._to_list(out + bounds[i], counts[i]) for i in range(len(datas))]
        ids = ffi.buffer(out)
        table = self._ints or self.int_table()
        return [_ids_to_list(ids, bounds[i], counts[i], table) for i in range(len(datas))]

    def count_batch(self, datas: Sequence[bytes], num_threads: int) -> list[int]:
        """Token counts of every text in ``datas`` (parts as in ``encode_batch``)."""
        blob, bounds, sizes = self._batch_bounds(datas)
        counts = _new_nonzero("size_t[]", max(len(datas), 1))

        def count_part(first: int, last: int) -> int:
            return int(lib.fl_count_batch(self._ptr, blob, len(blob), bounds + first, last - first,
                                          counts + first))

        for rc in run_parts(count_part, parts(sizes, num_threads)):
            check(rc)
        return ffi.unpack(counts, len(datas)) if datas else []

    def count_chunked(self, blob: bytes, chunk_chars: int) -> int:
        """litellm's sum over the 0xFF-separated UTF-8 texts of ``blob``, each counted in slices
        of ``chunk_chars`` code points; one native call."""
        total: int = _fl_count_chunked(self._ptr, blob, len(blob), chunk_chars)
        if total < 0:
            check(total)
        return total

    def count_messages(self, messages: list[Any], chunk_chars: int, max_chars: int,
                       no_lt: bool = False) -> int | None:
        """litellm's token_counter sum for a list of dicts of ASCII str values (3 per message,
        1 per "name", each string counted in slices of ``chunk_chars`` characters), walked and
        counted in one native call; None for any other shape (``_native_py.count_messages``)."""
        if not CPYTHON:  # pragma: no cover
            return None
        total: int | None = _count_messages(self.handle, messages, chunk_chars, max_chars,
                                            lib.FL_MSG_NO_LT if no_lt else 0)
        return total

    def decode_bytes(self, tokens: array.array[int]) -> bytes | int:
        """Concatenated bytes of ``tokens``; the index of the first unknown id if any."""
        n = len(tokens)
        if n == 0:
            return b""
        ids = ffi.from_buffer("uint32_t[]", tokens)
        size = ffi.new("size_t *")
        bad = ffi.new("size_t *")
        rc = lib.fl_decode_len(self._ptr, ids, n, size, bad)
        if rc == lib.FL_E_TOKEN:
            return int(bad[0])
        check(rc)
        out = _new_nonzero("char[]", max(size[0], 1))
        check(lib.fl_decode(self._ptr, ids, n, out, size[0], size))
        return ffi.unpack(out, size[0])


def pretokenize(pattern: str, data: bytes) -> list[bytes]:
    """Split UTF-8 ``data`` into the pieces of a pre-tokenizer pattern."""
    cap = max(len(data), 1)
    ends = _new_nonzero("size_t[]", cap)
    n = ffi.new("size_t *")
    check(lib.fl_pretokenize(PATTERNS[pattern], data, len(data), ends, cap, n))
    pieces = []
    start = 0
    for i in range(n[0]):
        pieces.append(data[start:ends[i]])
        start = ends[i]
    return pieces
