"""Differential tests aimed at the tokenizer's speed-ups, against tiktoken 0.14.

Each test builds inputs that drive one fast path hard and compares ids and
counts with tiktoken: the two ways of building the Python list of ids (by its
length) and the native list fill's own contract, the one-load case-split word scanner of o200k,
o200k's scanner over 64-byte windows (against the pattern itself and the per-piece scanner), and the lockstep merge
of many short pieces (more pieces that need a merge than one group holds, next
to cache hits, whole-token pieces and long pieces), and the cutting of pieces at
boundaries between multi-byte characters that no token crosses (text made of the
vocabulary's own multi-character tokens, where many boundaries are crossed; more
parts than a batch holds; a vocabulary where cutting would be wrong).
"""

from __future__ import annotations

import base64
import gc
import itertools
import platform
import random
import string
import sys
from collections.abc import Callable

import pytest
import regex  # type: ignore[import-untyped]  # no stubs installed
import tiktoken

from fast_litellm._bindings import ffi, lib, py, tokens
from fast_litellm._bindings.tokens import SIMD_LEVELS, NativeVocabulary, simd_levels
from fast_litellm.tokenizer import Encoding
from fast_litellm.tokenizer.registry import PATTERN_STRINGS

ENCODING_NAMES: tuple[str, ...] = ("cl100k_base", "o200k_base", "p50k_base")


@pytest.fixture(scope="module", params=ENCODING_NAMES)
def pair(
    request: pytest.FixtureRequest,
    native_enc: Callable[[str], Encoding],
    tiktoken_enc: Callable[[str], tiktoken.Encoding],
) -> tuple[Encoding, tiktoken.Encoding]:
    """The (native, tiktoken) pair of each encoding."""
    return native_enc(request.param), tiktoken_enc(request.param)


@pytest.fixture(scope="module")
def o200k(
    native_enc: Callable[[str], Encoding],
    tiktoken_enc: Callable[[str], tiktoken.Encoding],
) -> tuple[Encoding, tiktoken.Encoding]:
    """The (native, tiktoken) pair of o200k_base."""
    return native_enc("o200k_base"), tiktoken_enc("o200k_base")


def assert_same(pair: tuple[Encoding, tiktoken.Encoding], text: str) -> list[int]:
    """Assert encode_ordinary, count and a one-text batch agree with tiktoken; return the ids."""
    native, tt = pair
    theirs = tt.encode_ordinary(text)
    ours = native.encode_ordinary(text)
    assert ours == theirs, next((i, a, b) for i, (a, b) in enumerate(zip(ours + [-1], theirs + [-1])) if a != b)
    assert native.count(text) == len(theirs)
    assert native.encode_ordinary_batch([text], num_threads=1) == [theirs]
    return theirs


class TestListBuilding:
    """Lists of every size class are plain lists of ints equal to tiktoken's."""

    @pytest.mark.parametrize(
        "n_ids",
        [0, 1, tokens._ARRAY_MIN - 1, tokens._ARRAY_MIN, 511, 512, 513, 200_001],
    )
    def test_lengths_at_the_thresholds(self, pair: tuple[Encoding, tiktoken.Encoding], n_ids: int) -> None:
        """A text of exactly n_ids ids encodes to tiktoken's list, of exact type list[int]."""
        text = " a" * n_ids  # " a" is one token in every encoding here
        ids = assert_same(pair, text)
        assert len(ids) == n_ids
        ours = pair[0].encode_ordinary(text)
        assert type(ours) is list
        assert all(type(i) is int for i in ours[:100] + ours[-100:])

    def test_batch_of_mixed_sizes(self, pair: tuple[Encoding, tiktoken.Encoding]) -> None:
        """A batch whose texts fall in different size classes matches tiktoken text by text."""
        native, tt = pair
        texts = [" a" * n for n in (0, 3, tokens._ARRAY_MIN, 5000, 200_007)]
        assert native.encode_ordinary_batch(texts, num_threads=2) == [tt.encode_ordinary(t) for t in texts]


class TestNativeListFill:
    """_native_py.ids_to_list: the list it returns, its checks, its references."""

    @staticmethod
    def fill(ids: list[int], table: object, start: int = 0, n: int | None = None) -> object:
        buf = ffi.new("uint32_t[]", ids or [0])
        filled: object = py.ids_to_list(ffi.buffer(buf, 4 * len(ids)), start, len(ids) - start if n is None else n,
                                        table)
        return filled

    def test_items_are_the_table_objects(self) -> None:
        """Item i is the very object table[ids[i]]; references are taken and released exactly.

        Reference counts are read into locals first and asserted at the end, since
        pytest's assertion rewriting keeps references of its own."""
        table = tuple(object() for _ in range(10))
        refs = [sys.getrefcount(table[3])]
        filled = self.fill([3, 0, 9, 3], table)
        refs.append(sys.getrefcount(table[3]))
        item_ids = [id(item) for item in filled] if type(filled) is list else None
        del filled
        refs.append(sys.getrefcount(table[3]))
        assert item_ids == [id(table[i]) for i in (3, 0, 9, 3)]
        assert refs == [refs[0], refs[0] + 2, refs[0]]

    def test_a_slice_of_the_buffer(self) -> None:
        """start and n pick ids [start, start + n) of the buffer."""
        assert self.fill([5, 6, 7, 8], tuple(range(10)), start=1, n=2) == [6, 7]

    def test_finalizers_that_encode_while_a_list_is_built(self, pair: tuple[Encoding, tiktoken.Encoding]) -> None:
        """Building a list may collect garbage and run finalizers, which may encode on the same
        thread: each call's ids live in memory of its own, so neither result is disturbed.

        With a collection on every allocation and a finalizer that leaves new garbage behind,
        collections (and encodes) happen inside the outer calls; the test checks that some did."""
        native, tt = pair
        outer, inner_text = "outer words " * 300, "inner text, other words " * 40
        expected, expected_inner = tt.encode_ordinary(outer), tt.encode_ordinary(inner_text)
        inner: list[list[int]] = []
        state = {"chain": True, "in_outer": False, "during_outer": 0}

        class Encodes:
            def __init__(self) -> None:
                self.me = self  # a cycle: only the collector frees it

            def __del__(self) -> None:
                if state["chain"]:
                    state["during_outer"] += state["in_outer"]
                    inner.append(native.encode_ordinary(inner_text))
                    Encodes()

        results = []
        threshold = gc.get_threshold()
        gc.set_threshold(1)
        try:
            Encodes()
            for _ in range(200):
                state["in_outer"] = True
                ids = native.encode_ordinary(outer)
                state["in_outer"] = False
                results.append(ids)
        finally:
            gc.set_threshold(*threshold)
            state["chain"] = False
            gc.collect()
        assert state["during_outer"] > 0
        assert all(r == expected for r in results)
        assert all(r == expected_inner for r in inner)

    def test_empty(self) -> None:
        assert self.fill([], ()) == []

    def test_id_past_the_table(self) -> None:
        """An id not below len(table) is a ValueError."""
        with pytest.raises(ValueError, match="past the int table"):
            self.fill([0, 1, 2], (0, 1))

    def test_ids_outside_the_buffer(self) -> None:
        """start and n must stay inside the buffer."""
        for start, n in ((0, 5), (5, 0), (3, 2)):
            with pytest.raises(ValueError, match="inside the buffer"):
                self.fill([0, 1, 2, 3], tuple(range(4)), start=start, n=n)

    @pytest.mark.parametrize("table", [[0, 1], None, "01"])
    def test_a_table_that_is_not_a_tuple(self, table: object) -> None:
        """The table must be an exact tuple."""
        with pytest.raises(TypeError):
            self.fill([0], table)

    def test_objects_that_are_not_handles(self, pair: tuple[Encoding, tiktoken.Encoding]) -> None:
        """Functions that take an encoding refuse anything but its handle (no address is taken)."""
        native = pair[0]
        table = native._vocab.int_table()
        for fake in (None, 0, native._vocab, object()):
            with pytest.raises(TypeError, match="handle"):
                py.encode_list(fake, b"abc", table)
        with pytest.raises(TypeError, match="int table"):
            py.encode_list(native._vocab.handle, b"abc", table[:10])
        with pytest.raises(ValueError):
            py.own_encoding(0)


class TestStrBuiltins:
    """encode_ordinary and count run as one C call for an exact str and hand everything else to
    the Python path: every kind of argument gives tiktoken's answer or its exception."""

    ARGUMENTS: tuple[object, ...] = (
        "", "hello world", "naïve café 你好 👋🏽", "a\ud800b", "\udfff", "x" * 513, "é" * 300,
        type("Sub", (str,), {})("sub class"), None, b"bytes", 42, ["list"],
    )

    @pytest.mark.parametrize("argument", ARGUMENTS, ids=lambda a: type(a).__name__ + str(len(repr(a))))
    def test_every_kind_of_argument(self, pair: tuple[Encoding, tiktoken.Encoding], argument: object) -> None:
        native, tt = pair
        try:
            theirs: object = tt.encode_ordinary(argument)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - the same exception is the expected answer
            for method in (native.encode_ordinary, native.count):
                with pytest.raises(type(exc)) as raised:
                    method(argument)  # type: ignore[arg-type]
                assert str(raised.value) == str(exc)
            return
        assert native.encode_ordinary(argument) == theirs  # type: ignore[arg-type]
        assert native.count(argument) == len(theirs)  # type: ignore[arg-type, arg-type]

    def test_long_texts_from_two_threads(self, o200k: tuple[Encoding, tiktoken.Encoding]) -> None:
        """Texts past 64 KB (encoded with the GIL released) from two threads at once."""
        import concurrent.futures

        native, tt = o200k
        rng = random.Random(12)
        texts = ["".join(rng.choice(string.ascii_letters + "  .,\n") for _ in range(100_000)),
                 "".join(rng.choice("你好世界中文字符。") for _ in range(40_000))] * 3
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            ids = list(pool.map(native.encode_ordinary, texts))
            counts = list(pool.map(native.count, texts))
        for text, got, n in zip(texts, ids, counts):
            assert got == tt.encode_ordinary(text)
            assert n == len(got)


class TestUtf8OfStr:
    """The builtins' own UTF-8 of 1-, 2- and 4-byte strs (native/utf8.c): ASCII 16 code points
    at a time, the rest one by one, surrogates to the Python path."""

    # The first and last code point of each UTF-8 length, and surrogates on either side.
    SPECIALS = ("\x80", "\xe9", "\xff", "\u0100", "\u07ff", "\u0800", "\u20ac", "\ud7ff", "\ue000",
                "\uffff", "\U00010000", "\U0001f600", "\U0010ffff", "\ud800", "\udbff", "\udc00",
                "\udfff")

    @pytest.mark.parametrize("special", SPECIALS, ids=lambda c: f"U+{ord(c):04X}")
    def test_one_code_point_at_every_offset(self, pair: tuple[Encoding, tiktoken.Encoding],
                                            special: str) -> None:
        """ASCII runs of 0..40 code points on both sides, so the code point falls at every place
        of a 16-code-point block and the runs end at every place too; in a str of its own kind
        and, with a wider code point 40 places on, of the wider kinds."""
        native, tt = pair
        ascii_run = "ab cd;" * 7
        for widen in ("", "\u4e2d", "\U0001f600"):
            for before in range(41):
                for after in (0, 1, 15, 16, 17, 40 - before):
                    text = ascii_run[:before] + special + ascii_run[:after]
                    if widen:
                        text += ascii_run[:40] + widen
                    want = tt.encode_ordinary(text)
                    assert native.encode_ordinary(text) == want, (widen, before, after)
                    assert native.count(text) == len(want)

    def test_every_kind_in_long_texts(self, pair: tuple[Encoding, tiktoken.Encoding]) -> None:
        """Random mixes where blocks of pure ASCII and of mixed code points alternate."""
        native, tt = pair
        rng = random.Random(5)
        alphabets = ("\xe9\xff", "\u0100\u20ac\u4e2d\uffff", "\U0001f600\U0010ffff\u4e2d\xe9")
        for alphabet in alphabets:
            for _ in range(40):
                parts = []
                for _ in range(rng.randrange(1, 12)):
                    run = rng.randrange(0, 70)
                    parts.append("".join(rng.choice(string.printable) for _ in range(run)))
                    parts.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 4))))
                text = "".join(parts)
                want = tt.encode_ordinary(text)
                assert native.encode_ordinary(text) == want
                assert native.count(text) == len(want)


class TestCaseSplitWords:
    """ASCII words of every case shape, length and alignment split as tiktoken does."""

    @pytest.mark.parametrize("follow", ["", " ", "'s", "'LL", "\u00e9t\u00e9", "1", "_x", "\n"])
    def test_upper_then_lower_runs(self, pair: tuple[Encoding, tiktoken.Encoding], follow: str) -> None:
        """Every (uppers, lowers) shape up to 12 + 12 letters, at every alignment, then `follow`."""
        rng = random.Random(7)
        parts = []
        for n_up in range(13):
            for n_lo in range(13):
                if n_up + n_lo == 0:
                    continue
                word = "".join(rng.choice(string.ascii_uppercase) for _ in range(n_up))
                word += "".join(rng.choice(string.ascii_lowercase) for _ in range(n_lo))
                for shift in range(8):
                    parts.append("." * shift + " " + word + follow)
        text = "".join(parts)
        assert_same(pair, text)
        # Each shape alone, so that the word also meets the end of the text.
        for part in parts[:: 7]:
            assert_same(pair, part)


# Pieces of every kind the o200k window rules (native/pretokenize.c) name, and
# the bytes >= 0x80 next to which they do not hold: letters of each case class,
# digits (\p{N} too), \s beyond ASCII, punctuation, the long s.
_WINDOW_FRAGMENTS: tuple[str, ...] = (
    "the", "The", "THE", "don't", "It's", "we'LL", "I'm", "'s", "'", "''", "'t", "ab'cd", "x'",
    "hello", "camelCase", "HTTPServer", "1", "12", "123", "1234", "12345678", "3.14",
    "\u00bd", "\u0663", "\u2026", "\u2014", "\u00ab", "\u00bb", "\u3000", "\u0085", "\u00a0",
    "\u2028", "\u00e9", "\u00c9", "\u02b0", "\u01c5", "\u017f", "'\u017f", "\u4e2d\u6587",
    "\U0001f600", "\U0001f44d\U0001f3fd", "\u0301", " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n",
    "\r\n", "\r", "\x0b", "\x0c", " \n", "\n ", "\n  ", "  \n", "\n\t", ".", ",", "!", "?",
    "(", ")", "((", "))", "/", "//", "\\", "-", "--", "_", "#", "@", '"', "\x00", "\x7f", "\x1c",
    ":", "://", "/*", "*/", ";\n", "!\n/", "\n/", "\n//",
)

# Shapes that once split wrongly while the window rules were written.
_WINDOW_REGRESSIONS: tuple[str, ...] = (
    "a's's", "a's'sa", "\u00e9's'sa",                  # a contraction right after another one
    "\r  \u3000\r", "\n  \u3000x", "\n     \u00e9x",   # an SP/TB run after NL that meets a byte >= 0x80
    "\u00bd9999", "\u06639999\u0663", "9\u00bd99999",   # digit runs that go on from \p{N} >= 0x80
    "E'\u017f", "E'\u017fE",                           # the long s in a contraction
    "\u2026\n\n\n  \nx", "\u2026\n  \nx",              # the tail of a P >= 0x80
    ".\n        x", "#\n       \n", "!\n//(x",        # the tail of an ASCII P
)


def _window_texts(seed: int, count: int) -> list[str]:
    """Texts drawn from a few of _WINDOW_FRAGMENTS each, most of them longer than a window."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        chosen = rng.sample(_WINDOW_FRAGMENTS, rng.randint(2, 14))
        weights = [rng.random() ** 2 for _ in chosen]
        texts.append("".join(rng.choices(chosen, weights, k=rng.randint(1, 120))))
    return texts


def _split(data: bytes, modifier: int = 0) -> list[int]:
    """Piece ends of o200k's scanner on data (the encoder's path unless modifier says)."""
    ends = ffi.new("size_t[]", max(len(data), 1))
    n = ffi.new("size_t *")
    assert lib.fl_pretokenize(lib.FL_PATTERN_O200K | modifier, data, len(data), ends, max(len(data), 1), n) == lib.FL_OK
    return list(ends[0:n[0]])


def _regex_ends(pattern: regex.Pattern[str], text: str) -> list[int]:
    ends, end = [], 0
    for piece in pattern.findall(text):
        end += len(piece.encode())
        ends.append(end)
    return ends


class TestO200kWindows:
    """o200k's scanner over 64-byte windows equals the regex, tiktoken and the per-piece scanner."""

    @pytest.mark.parametrize("seed", range(3))
    def test_pieces_are_the_regex_matches(self, seed: int) -> None:
        """Piece by piece against the o200k pattern itself (the `regex` module, tiktoken's own dependency)."""
        pattern = regex.compile(PATTERN_STRINGS["o200k"])
        for text in _window_texts(seed, 6000) + list(_WINDOW_REGRESSIONS):
            assert _split(text.encode()) == _regex_ends(pattern, text), repr(text)

    @pytest.mark.parametrize("seed", range(3))
    def test_ids_against_tiktoken(self, o200k: tuple[Encoding, tiktoken.Encoding], seed: int) -> None:
        """The texts each alone and all together (so each meets a window at many offsets)."""
        texts = _window_texts(100 + seed, 3000)
        for text in texts[:500]:
            assert_same(o200k, text)
        assert_same(o200k, "".join(texts))

    @pytest.mark.parametrize("text", _WINDOW_REGRESSIONS)
    def test_regressions_at_every_window_offset(self, o200k: tuple[Encoding, tiktoken.Encoding], text: str) -> None:
        """Each shape after 0..130 bytes of short words, so that it meets each window at another offset."""
        words = "ab " * 50
        for offset in range(131):
            assert_same(o200k, words[:offset] + text)
            assert_same(o200k, words[:offset] + text + " ab")

    def test_three_scanners_agree_on_every_short_text(self) -> None:
        """All texts of up to 5 characters over an alphabet of one character per rule."""
        alphabet = ["a", "A", "1", " ", "\t", "\n", ".", "'", "/", "s", "\u00e9"]
        for length in range(1, 6):
            for chars in itertools.product(alphabet, repeat=length):
                data = "".join(chars).encode()
                piecewise = _split(data, lib.FL_SCAN_PIECEWISE)
                assert _split(data) == piecewise, data
                assert _split(data, lib.FL_SCAN_PORTABLE) == piecewise, data
                assert _split(data, lib.FL_SCAN_SSE2) == piecewise, data

    @pytest.mark.parametrize("seed", range(2))
    def test_portable_classifier_equals_simd(self, seed: int) -> None:
        """The byte-by-byte classifier (other machines), the SSE2 one and the best this CPU has
        (AVX-512BW where it has it), each against per piece."""
        for text in _window_texts(200 + seed, 4000):
            data = text.encode()
            piecewise = _split(data, lib.FL_SCAN_PIECEWISE)
            assert _split(data) == piecewise, repr(text)
            assert _split(data, lib.FL_SCAN_PORTABLE) == piecewise, repr(text)
            assert _split(data, lib.FL_SCAN_SSE2) == piecewise, repr(text)

    def test_every_ascii_byte_in_every_classifier(self) -> None:
        """Random texts over all 128 ASCII bytes (a few multi-byte characters among them), so that
        each byte value meets each class boundary at each place of a window."""
        rng = random.Random(9)
        alphabet = [chr(b) for b in range(128)] + ["\u00e9", "\u4e2d"]
        for _ in range(3000):
            data = "".join(rng.choices(alphabet, k=rng.randint(1, 200))).encode()
            piecewise = _split(data, lib.FL_SCAN_PIECEWISE)
            assert _split(data) == piecewise, data
            assert _split(data, lib.FL_SCAN_PORTABLE) == piecewise, data
            assert _split(data, lib.FL_SCAN_SSE2) == piecewise, data

    def test_invalid_utf8_and_both_modifiers(self) -> None:
        """Bytes that are not UTF-8 scan like the per-piece scanner; two modifiers at once are refused."""
        rng = random.Random(5)
        for text in _window_texts(300, 2000):
            data = bytearray(text.encode())
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] = rng.choice([0x80, 0xBF, 0xC3, 0xE3, 0xF0, 0xFF])
            assert _split(bytes(data)) == _split(bytes(data), lib.FL_SCAN_PIECEWISE), bytes(data)
        n = ffi.new("size_t *")
        ends = ffi.new("size_t[]", 1)
        for a, b in itertools.combinations((lib.FL_SCAN_PORTABLE, lib.FL_SCAN_PIECEWISE, lib.FL_SCAN_SSE2), 2):
            assert lib.fl_pretokenize(lib.FL_PATTERN_O200K | a | b, b"a", 1, ends, 1, n) == lib.FL_E_ARG


class TestLockstepMerges:
    """Many pieces that need a merge, close together, next to every other kind of piece."""

    @staticmethod
    def _word(rng: random.Random, lo: int, hi: int, alphabet: str) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))

    @pytest.mark.parametrize("seed", range(4))
    def test_fresh_rare_words(self, pair: tuple[Encoding, tiktoken.Encoding], seed: int) -> None:
        """Thousands of never-seen words (merges) mixed with common words, numbers and long pieces."""
        rng = random.Random(1000 + seed)
        pieces = []
        for i in range(4000):
            r = rng.random()
            if r < 0.5:
                pieces.append(" " + self._word(rng, 3, 30, "qxzjkvwyg" + string.ascii_lowercase))
            elif r < 0.7:
                pieces.append(rng.choice([" the", " of", ",", ".", " and", "\n", " is"]))
            elif r < 0.8:
                pieces.append(" " + str(rng.randint(0, 10**9)))
            elif r < 0.9:
                pieces.append(" " + self._word(rng, 1, 12, "\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341\u4eba\u5927"))
            elif r < 0.995:
                pieces.append(" " + self._word(rng, 40, 95, string.ascii_letters))
            else:
                pieces.append(" " + self._word(rng, 96, 400, string.ascii_lowercase))
        assert_same(pair, "".join(pieces))

    def test_runs_of_merge_pieces_longer_than_a_batch(self, pair: tuple[Encoding, tiktoken.Encoding]) -> None:
        """Over a thousand merge pieces in a row, then the same text again (now from the cache)."""
        rng = random.Random(99)
        text = "".join(" " + self._word(rng, 6, 20, "bcdfghjklmnpqrstvwxz") for _ in range(1500))
        assert_same(pair, text)
        assert_same(pair, text)

    @pytest.mark.parametrize("seed", range(3))
    def test_new_words_repeated_before_they_are_resolved(
        self, pair: tuple[Encoding, tiktoken.Encoding], seed: int
    ) -> None:
        """Never-seen pieces of 1 to 16 bytes (one id to many) met again a few pieces later,
        while the first occurrence still waits to be resolved: the later ones copy its ids."""
        rng = random.Random(2000 + seed)
        native, tt = pair
        pieces: list[str] = []
        for _ in range(3000):
            word = " " + self._word(rng, 0, 15, "qxzjkvwyg" + string.ascii_letters + "0123456789_")
            pieces.append(word)
            for _ in range(rng.randint(0, 4)):
                pieces.extend(rng.choice([" the", ",", "\n", " of"]) for _ in range(rng.randint(0, 6)))
                pieces.append(word)
        sizes = {len(tt.encode_ordinary(p)) for p in set(pieces)}
        assert {1, 2, 3, 4} <= sizes  # whole tokens, cached ids and memo marks all repeat
        text = "".join(pieces)
        assert_same(pair, text)
        parts = [text[:5000], text, text[-7000:]]
        assert native.encode_ordinary_batch(parts) == [tt.encode_ordinary(t) for t in parts]


def _fresh_vocabulary(name: str) -> NativeVocabulary:
    """A newly loaded encoding: its own cache tag, so nothing cached for another answers for it."""
    from fast_litellm.tokenizer.rank_files import read_rank_file
    from fast_litellm.tokenizer.registry import ENCODINGS

    info = ENCODINGS[name]
    return NativeVocabulary(read_rank_file(info.url, info.sha256), info.pattern)


class TestVectorMerges:
    """Pieces of up to 16 bytes merge in AVX-512 registers where the CPU has it, the others
    (and every piece elsewhere) in the lanes compiled for AVX2 or the baseline: every level
    gives tiktoken's ids."""

    @pytest.fixture(scope="class", params=list(SIMD_LEVELS))
    def level(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
    def test_rare_words_of_every_length(
        self, tiktoken_enc: Callable[[str], tiktoken.Encoding], level: str, name: str
    ) -> None:
        """Never-seen words of 2-40 bytes, so that groups hold pieces of both kinds, and some
        of exactly 16 and 17 bytes (with the leading space)."""
        native = _fresh_vocabulary(name)
        if not native.set_simd(level):
            pytest.skip(f"this CPU does not run {level}")
        assert native.simd == level
        tt = tiktoken_enc(name)
        rng = random.Random(31)
        letters = "qxzjkvwyg" + string.ascii_letters + string.digits + "_"
        words = [" " + "".join(rng.choice(letters) for _ in range(rng.choice([15, 16]) if i % 5 == 0
                                                                  else rng.randint(1, 39)))
                 for i in range(6000)]
        for i in range(0, len(words), 40):
            text = "".join(words[i:i + 40])
            assert native.encode(text.encode()) == tt.encode_ordinary(text)
            assert native.count(text.encode()) == len(tt.encode_ordinary(text))

    def test_levels_the_cpu_has(self) -> None:
        """set_simd succeeds exactly for the levels the CPU runs (Linux: /proc/cpuinfo), and the
        default is the best of them."""
        native = _fresh_vocabulary("o200k_base")
        try:
            with open("/proc/cpuinfo") as f:
                flags = set(f.read().split())
        except OSError:
            pytest.skip("no /proc/cpuinfo")
        x86 = platform.machine() in ("x86_64", "AMD64")
        has = {"portable": True, "sse2": x86, "avx2": x86 and "avx2" in flags,
               "avx512": x86 and {"avx512f", "avx512bw"} <= flags}
        assert simd_levels() == [level for level in SIMD_LEVELS if has[level]]
        assert native.simd == simd_levels()[-1]
        for level in SIMD_LEVELS:
            assert native.set_simd(level) is has[level]


class TestEverySimdLevel:
    """Every SIMD level the CPU runs (forced per encoding) encodes and counts real text, in the
    str builtins too (their UTF-8 of 1-, 2- and 4-byte strs), exactly as tiktoken."""

    TEXTS = (
        "The café’s “naïve” résumé — ©2024, 3½ × 4 = 14 € … ok?\n" * 40,
        "def f(x):\n    return {'a': [1, 2, 3], \"b\": x ** 2}  # λ → μ\n" * 40,
        "東京都の天気は晴れです。明日は雨が降るでしょう。" * 60,
        "emoji 👋🏽 family 👨‍👩‍👧 flags 🇫🇷🇯🇵 " * 40,
        "Ελληνικά кириллица עברית العربية हिन्दी ไทย " * 40,
        "x" * 70_000 + " " + "é" * 20_000,
    )

    @pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
    def test_real_text(self, tiktoken_enc: Callable[[str], tiktoken.Encoding], name: str) -> None:
        """Each level's ids equal tiktoken's on prose with non-ASCII, code, CJK, emoji, other
        scripts and long pieces; the level is reported back as forced."""
        tt = tiktoken_enc(name)
        expected = [tt.encode_ordinary(text) for text in self.TEXTS]
        for level in simd_levels():
            native = _fresh_vocabulary(name)
            assert native.set_simd(level) and native.simd == level
            encode = native.str_function("encode", lambda text: None)
            count = native.str_function("count", lambda text: None)
            for text, ids in zip(self.TEXTS, expected):
                assert native.encode(text.encode()) == ids, (level, text[:40])
                assert encode(text) == ids, (level, text[:40])
                assert count(text) == len(ids), (level, text[:40])


class TestMergedMemo:
    """Merged pieces the piece cache cannot hold (over 16 bytes, over 3 ids) come back from the
    per-thread memo on their third sight; every call still equals tiktoken."""

    @staticmethod
    def _words(rng: random.Random, count: int, lo: int, hi: int) -> list[str]:
        return [" " + "".join(rng.choice("qxzjkvwyg" + string.ascii_letters) for _ in range(rng.randint(lo, hi)))
                for _ in range(count)]

    def test_pieces_seen_again(self, pair: tuple[Encoding, tiktoken.Encoding]) -> None:
        """Short pieces of many ids and long pieces, each met again in later calls and in one text."""
        rng = random.Random(5)
        words = self._words(rng, 300, 5, 16) + self._words(rng, 300, 17, 95) + self._words(rng, 20, 96, 200)
        many = [w for w in words if len(pair[1].encode_ordinary(w)) > 3]
        assert len(many) > 400  # the memo's cases, not cache hits
        for _ in range(3):
            rng.shuffle(words)
            for i in range(0, len(words), 50):
                assert_same(pair, ",".join(words[i:i + 50]))
        assert_same(pair, "".join(words * 3))

    def test_memo_fills_and_empties(self, o200k: tuple[Encoding, tiktoken.Encoding]) -> None:
        """More distinct pieces seen twice than the memo holds (24K): it empties and refills."""
        rng = random.Random(6)
        words = self._words(rng, 30_000, 17, 30)
        text = "".join(words)
        for _ in range(3):
            assert_same(o200k, text)

    def test_encodings_share_a_thread(
        self,
        native_enc: Callable[[str], Encoding],
        tiktoken_enc: Callable[[str], tiktoken.Encoding],
    ) -> None:
        """The same pieces through two encodings in one thread: each gets its own ids from the memo."""
        rng = random.Random(7)
        words = self._words(rng, 400, 10, 60)
        for _ in range(3):
            for name in ("cl100k_base", "o200k_base"):
                for i in range(0, len(words), 100):
                    assert_same((native_enc(name), tiktoken_enc(name)), "".join(words[i:i + 100]))


def _multichar_tokens(tt: tiktoken.Encoding) -> list[str]:
    """The vocabulary's tokens that decode to two or more characters, not all ASCII."""
    found = []
    for token in tt._mergeable_ranks:
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if len(text) >= 2 and not text.isascii():
            found.append(text)
    return sorted(found)


class TestCutsBetweenCharacters:
    """Pieces cut where no token crosses a boundary between multi-byte characters give tiktoken's ids."""

    CJK = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可"
    OTHER = "ÄäÖöüßéèçñøåЖжЯяΩωλ가나다라마바사아자차카타파하あいうえおアイウエオकखगघ😀👍🏽👨‍👩‍👧🇫🇷"

    @pytest.mark.parametrize("seed", range(4))
    def test_text_of_multicharacter_tokens(self, pair: tuple[Encoding, tiktoken.Encoding], seed: int) -> None:
        """Runs of the vocabulary's own multi-character tokens and loose characters, glued together.

        Boundaries inside and between such tokens are the ones the filter must not cut,
        and a token may end or start in the middle of the next run's characters.
        """
        rng = random.Random(seed)
        tokens_ = _multichar_tokens(pair[1])
        loose = self.CJK + self.OTHER
        pieces = []
        for _ in range(3000):
            run = "".join(rng.choice(tokens_) if rng.random() < 0.6 else rng.choice(loose)
                          for _ in range(rng.randint(1, 8)))
            pieces.append(run + rng.choice(["", "", " ", "，", "\n", "。", "a"]))
        text = "".join(pieces)
        assert_same(pair, text)
        for piece in pieces[:300]:
            assert_same(pair, piece)

    def test_pieces_with_more_parts_than_a_batch(self, pair: tuple[Encoding, tiktoken.Encoding]) -> None:
        """Runs of thousands of CJK characters (one piece cut in several batches), and 300 runs of 10."""
        rng = random.Random(7)
        assert_same(pair, "".join(rng.choice(self.CJK) for _ in range(3000)))
        assert_same(pair, "你" * 5000 + "好")
        assert_same(pair, " " + "".join(rng.choice(self.CJK) for _ in range(1030)))  # parts = 2 batches + 6
        assert_same(pair, " ".join("".join(rng.choice(self.CJK) for _ in range(10)) for _ in range(300)))
        assert_same(pair, "，".join("".join(rng.choice(self.CJK + self.OTHER) for _ in range(40))
                                    for _ in range(100)))


def test_cross_filter_built_after_enough_multibyte_text(
    native_enc: Callable[[str], Encoding],
    tiktoken_enc: Callable[[str], tiktoken.Encoding],
) -> None:
    """A new encoding merges multi-byte pieces whole until 16 KB of them asked for the filter
    (same ids), then builds it (its memory grows) and cuts."""
    from fast_litellm.tokenizer.rank_files import read_rank_file
    from fast_litellm.tokenizer.registry import ENCODINGS

    info = ENCODINGS["o200k_base"]
    native = NativeVocabulary(read_rank_file(info.url, info.sha256), "o200k")
    tt = tiktoken_enc("o200k_base")
    rng = random.Random(8)
    cjk = TestCutsBetweenCharacters.CJK
    before = native.memory
    seen = 0
    while seen < 15_000:
        text = "".join(rng.choice(cjk) for _ in range(rng.randint(2, 60))) + "，"
        assert native.encode(text.encode()) == tt.encode_ordinary(text)
        seen += len(text.encode())
    assert native.memory == before
    text = "".join(rng.choice(cjk) for _ in range(3000))
    assert native.encode(text.encode()) == tt.encode_ordinary(text)
    assert native.memory > before


def test_no_cuts_when_bpe_does_not_rebuild_a_token() -> None:
    """A vocabulary with a token BPE cannot rebuild from its bytes ("éé", without "é") is never cut.

    Cutting "ééü" before "ü" would be allowed by the filter (no token crosses there),
    but its part "éé" would then come out as that token, while BPE of the whole piece
    has no merge to make and keeps the six bytes.
    """
    ranks = {bytes([b]): b for b in range(256)}
    ranks["éé".encode()] = 256
    lines = b"\n".join(base64.b64encode(token) + b" " + str(rank).encode() for token, rank in ranks.items())
    native = NativeVocabulary(lines + b"\n", "cl100k")
    tt = tiktoken.Encoding("test_unreachable", pat_str=PATTERN_STRINGS["cl100k"], mergeable_ranks=ranks,
                           special_tokens={})
    for text in ("ééü", "üééü", "éé", " ééüéé", "éééé"):
        assert native.encode(text.encode()) == tt.encode_ordinary(text), text
        assert native.count(text.encode()) == len(tt.encode_ordinary(text)), text


def _random_vocabulary(rng: random.Random) -> dict[bytes, int]:
    """Every byte, plus up to 400 tokens grown by joining two earlier ones, ranks partly shuffled.

    Grown like a trained vocabulary, long tokens are reachable by merges, most of them in
    several ways; with some ranks swapped, a token may rank below its parts or be one that
    BPE of its own bytes does not give back: the cases in which the pair table's one pair
    per token (vocab.c, build_pairs) must still merge exactly as tiktoken does.
    """
    grown = [b"a", b"b", b"c", b"d", "é".encode(), b" "]
    known = set(grown)
    for _ in range(rng.randint(20, 400)):
        token = rng.choice(grown) + rng.choice(grown)
        if len(token) <= 16 and token not in known:
            known.add(token)
            grown.append(token)
    extra = [token for token in grown if len(token) > 1 or token[0] >= 0x80]
    for _ in range(len(extra) // rng.randint(2, 20)):
        i, j = rng.randrange(len(extra)), rng.randrange(len(extra))
        extra[i], extra[j] = extra[j], extra[i]
    ranks = {bytes([b]): b for b in range(256)}
    for token in extra:
        ranks[token] = len(ranks)
    return ranks


@pytest.mark.parametrize("seed", range(60))
def test_random_vocabularies_merge_like_tiktoken(seed: int) -> None:
    """Ids equal tiktoken's for random vocabularies, on short pieces and on pieces of 100-400 bytes."""
    rng = random.Random(seed)
    ranks = _random_vocabulary(rng)
    lines = b"\n".join(base64.b64encode(token) + b" " + str(rank).encode() for token, rank in ranks.items())
    pattern = rng.choice(["cl100k", "o200k"])
    native = NativeVocabulary(lines + b"\n", pattern)
    levels = simd_levels()
    assert native.set_simd(levels[seed % len(levels)])  # every level the CPU runs, in turn
    tt = tiktoken.Encoding(f"test_random_{seed}", pat_str=PATTERN_STRINGS[pattern], mergeable_ranks=ranks,
                           special_tokens={})
    words = [token.decode() for token in ranks if len(token) > 1]
    texts = ["".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(60)]
    texts += ["".join(rng.choice("abcdé ") for _ in range(rng.randint(1, 80))) for _ in range(20)]
    texts += ["".join(rng.choice(words).replace(" ", "") for _ in range(rng.randint(30, 80))) for _ in range(5)]
    for text in texts:
        assert native.encode(text.encode()) == tt.encode_ordinary(text), text
        assert native.count(text.encode()) == len(tt.encode_ordinary(text)), text
