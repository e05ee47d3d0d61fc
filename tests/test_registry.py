"""The encoding registry equals tiktoken's, and rank-file loading fails cleanly on bad input.

* Every ``fast_litellm.tokenizer.registry.ENCODINGS`` spec (name, split pattern, special
  tokens, explicit vocabulary size, rank-file URL and SHA-256) equals what the
  constructor in ``tiktoken_ext.openai_public`` produces.
* ``get_encoding`` of an unknown name raises ``UnknownEncodingError`` (a ValueError).
* Corrupt rank files (truncated, bad base64, duplicate ranks or tokens, a missing
  single byte, oversized ranks / tokens, garbage) raise ``RankFileError`` from
  ``NativeVocabulary`` and never crash the interpreter; a cached file with the
  wrong checksum is rejected by ``read_rank_file``.
"""

from __future__ import annotations

import array
import base64
import hashlib
import random
from pathlib import Path
from typing import Any

import pytest
import tiktoken
import tiktoken_ext.openai_public as openai_public
from hypothesis import given
from hypothesis import strategies as st

from fast_litellm import tokenizer
from fast_litellm._bindings.tokens import PATTERNS, NativeVocabulary
from fast_litellm.exceptions import FastLiteLLMError, RankFileError, UnknownEncodingError
from fast_litellm.tokenizer import get_encoding, list_encoding_names
from fast_litellm.tokenizer.rank_files import candidate_dirs, read_rank_file
from fast_litellm.tokenizer.registry import ENCODINGS, PATTERN_STRINGS, EncodingSpec

# Encodings whose rank files litellm bundles (r50k_base's is not).
LOADABLE = ("p50k_base", "p50k_edit", "cl100k_base", "o200k_base")


def _constructor_output(name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[tuple[str, str | None]]]:
    """tiktoken's constructor dict for ``name`` with rank loading replaced by a recorder (no files needed)."""
    calls: list[tuple[str, str | None]] = []

    def fake_load(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        calls.append((blobpath, expected_hash))
        return {}

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", fake_load)
    return openai_public.ENCODING_CONSTRUCTORS[name](), calls


def _bundled_rank_file(name: str) -> bytes:
    spec = ENCODINGS[name]
    return read_rank_file(spec.url, spec.sha256)


@pytest.fixture(scope="module")
def cl100k_lines() -> list[bytes]:
    """The lines of the cl100k_base rank file."""
    return _bundled_rank_file("cl100k_base").splitlines()


@pytest.fixture(scope="module")
def small_rank_file(cl100k_lines: list[bytes]) -> bytes:
    """A valid 3,000-token rank file: the first lines of cl100k_base (all 256 bytes come first)."""
    return b"\n".join(cl100k_lines[:3000]) + b"\n"


def _line(token: bytes, rank: int) -> bytes:
    return base64.b64encode(token) + b" " + str(rank).encode()


class TestRegistryMatchesTiktoken:
    """Each native encoding spec equals tiktoken_ext.openai_public's definition."""

    def test_every_native_encoding_is_a_tiktoken_encoding(self) -> None:
        """Every native encoding name has a constructor in tiktoken_ext.openai_public."""
        assert set(ENCODINGS) <= set(openai_public.ENCODING_CONSTRUCTORS)
        assert set(ENCODINGS) <= set(tiktoken.list_encoding_names())
        assert list_encoding_names() == sorted(ENCODINGS)

    @pytest.mark.parametrize("name", sorted(ENCODINGS))
    def test_spec_equals_constructor(self, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Name, pattern string, special tokens, explicit_n_vocab, URL and hash equal the constructor's."""
        spec = ENCODINGS[name]
        assert spec.name == name
        ctor, calls = _constructor_output(name, monkeypatch)
        assert ctor["name"] == spec.name
        assert PATTERN_STRINGS[spec.pattern] == ctor["pat_str"]
        assert dict(spec.special_tokens) == ctor["special_tokens"]
        assert spec.explicit_n_vocab == ctor.get("explicit_n_vocab")
        assert calls == [(spec.url, spec.sha256)]
        assert set(ctor) <= {"name", "pat_str", "mergeable_ranks", "special_tokens", "explicit_n_vocab"}

    @pytest.mark.parametrize("name", LOADABLE)
    def test_real_constructor_and_vocabulary(self, name: str) -> None:
        """With the offline cache, the real constructor's ranks are exactly our vocabulary's tokens."""
        ctor = openai_public.ENCODING_CONSTRUCTORS[name]()
        spec = ENCODINGS[name]
        assert PATTERN_STRINGS[spec.pattern] == ctor["pat_str"]
        assert dict(spec.special_tokens) == ctor["special_tokens"]
        native = get_encoding(name)
        ranks: dict[bytes, int] = ctor["mergeable_ranks"]
        tt = tiktoken.Encoding(
            name=ctor["name"], pat_str=ctor["pat_str"], mergeable_ranks=ranks,
            special_tokens=ctor["special_tokens"], explicit_n_vocab=ctor.get("explicit_n_vocab"),
        )
        assert (native.n_vocab, native.max_token_value, native.eot_token) == (tt.n_vocab, tt.max_token_value, tt.eot_token)
        wrong = [(token, rank) for token, rank in ranks.items() if native.decode_single_token_bytes(rank) != token]
        assert not wrong, wrong[:5]
        assert native.decode_bytes(sorted(ranks.values())) == b"".join(sorted(ranks, key=ranks.__getitem__))

    def test_pattern_names(self) -> None:
        """Every spec names a pattern that has both a regex string and a native scanner."""
        assert set(PATTERN_STRINGS) == set(PATTERNS) == {"gpt2", "cl100k", "o200k"}
        for spec in ENCODINGS.values():
            assert spec.pattern in PATTERN_STRINGS

    @pytest.mark.parametrize("name", sorted(ENCODINGS))
    def test_cache_file_name_is_tiktokens(self, name: str) -> None:
        """The cache file we look up is the one tiktoken would read: sha1(url) in the cache directory."""
        spec = ENCODINGS[name]
        key = hashlib.sha1(spec.url.encode()).hexdigest()
        source = Path(tiktoken.load.__file__).read_text()
        assert "hashlib.sha1(blobpath.encode()).hexdigest()" in source
        if name in LOADABLE:
            data = read_rank_file(spec.url, spec.sha256)
            assert hashlib.sha256(data).hexdigest() == spec.sha256
            assert any((d / key).exists() for d in candidate_dirs())


class TestGetEncoding:
    """get_encoding: caching and its errors."""

    @pytest.mark.parametrize(
        "name", ["", "cl100k", "CL100K_BASE", "gpt2", "o200k_harmony", "cl100k_base ", "nope"], ids=repr
    )
    def test_unknown_name(self, name: str) -> None:
        """Unknown names raise UnknownEncodingError, a ValueError as tiktoken raises."""
        with pytest.raises(UnknownEncodingError) as info:
            get_encoding(name)
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, FastLiteLLMError)
        assert repr(name) in str(info.value)
        if name not in tiktoken.list_encoding_names():
            with pytest.raises(ValueError):
                tiktoken.get_encoding(name)

    @pytest.mark.parametrize("name", [None, 1, b"cl100k_base", ("cl100k_base",)], ids=repr)
    def test_non_str_name(self, name: Any) -> None:
        """A name that is not a str raises UnknownEncodingError instead of crashing."""
        with pytest.raises(UnknownEncodingError):
            get_encoding(name)

    @pytest.mark.parametrize("name", LOADABLE)
    def test_cached_instance(self, name: str) -> None:
        """get_encoding returns one shared instance per name."""
        assert get_encoding(name) is get_encoding(name)
        assert get_encoding(name).name == name

    def test_rank_file_error_propagates(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """A rank file that passes its checksum but is corrupt makes get_encoding raise RankFileError."""
        corrupt = b"not a rank file\n"
        url = "https://openaipublic.blob.core.windows.net/encodings/corrupt_for_tests.tiktoken"
        (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(corrupt)
        spec = EncodingSpec("corrupt_base", url, hashlib.sha256(corrupt).hexdigest(), "cl100k", {"<|endoftext|>": 1})
        monkeypatch.setattr(tokenizer, "ENCODINGS", {"corrupt_base": spec})
        monkeypatch.setattr(tokenizer, "_cache", {})
        monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
        with pytest.raises(RankFileError):
            get_encoding("corrupt_base")
        assert tokenizer._cache == {}


class TestCorruptRankFiles:
    """NativeVocabulary rejects malformed rank files with RankFileError."""

    def test_small_valid_file_loads(self, small_rank_file: bytes) -> None:
        """The 3,000-line reference file loads and encodes like a real vocabulary."""
        vocab = NativeVocabulary(small_rank_file, "cl100k")
        assert vocab.max_rank == 3000
        assert vocab.encode(b"hello world") != []
        assert vocab.decode_bytes(array.array("I", vocab.encode(b"hello world"))) == b"hello world"

    @pytest.mark.parametrize("pattern", sorted(PATTERNS))
    def test_each_pattern_loads(self, small_rank_file: bytes, pattern: str) -> None:
        """The same file loads with every scanner."""
        assert NativeVocabulary(small_rank_file, pattern).max_rank == 3000

    def test_unknown_pattern(self, small_rank_file: bytes) -> None:
        """An unknown scanner name raises ValueError."""
        with pytest.raises(ValueError):
            NativeVocabulary(small_rank_file, "r50k")

    def test_crlf_line_endings(self, small_rank_file: bytes) -> None:
        """CRLF line endings (as tiktoken's splitlines accepts) give the same vocabulary."""
        a = NativeVocabulary(small_rank_file, "cl100k")
        b = NativeVocabulary(small_rank_file.replace(b"\n", b"\r\n"), "cl100k")
        text = b"The quick brown fox, don't you know? 12345"
        assert a.encode(text) == b.encode(text)

    def test_truncated_inside_a_token(self, small_rank_file: bytes) -> None:
        """A file cut in the middle of a base64 token raises RankFileError."""
        cut = small_rank_file.rindex(b"\n", 0, len(small_rank_file) - 1) + 3  # two characters into the last line
        with pytest.raises(RankFileError):
            NativeVocabulary(small_rank_file[:cut], "cl100k")

    def test_truncated_after_the_space(self, small_rank_file: bytes) -> None:
        """A last line cut right after its space (no rank) raises RankFileError."""
        last = small_rank_file.rstrip(b"\n").rsplit(b"\n", 1)[1]
        cut = len(small_rank_file.rstrip(b"\n")) - len(last) + last.index(b" ") + 1
        with pytest.raises(RankFileError):
            NativeVocabulary(small_rank_file[:cut], "cl100k")

    def test_truncation_sweep(self, small_rank_file: bytes) -> None:
        """Truncated at 300 random points the file either loads or raises RankFileError, never crashes."""
        rng = random.Random(3)
        outcomes = {"loaded": 0, "rejected": 0}
        for cut in [0, 1, 2, 3, 4, 5, 6, 7, 100, 1000] + [rng.randrange(len(small_rank_file)) for _ in range(290)]:
            try:
                NativeVocabulary(small_rank_file[:cut], "cl100k")
            except RankFileError:
                outcomes["rejected"] += 1
            else:
                outcomes["loaded"] += 1
        assert outcomes["rejected"] > 0 and outcomes["loaded"] > 0

    def test_truncated_real_files(self) -> None:
        """The full cl100k / o200k files truncated mid-token raise RankFileError."""
        for name, pattern in (("cl100k_base", "cl100k"), ("o200k_base", "o200k")):
            data = _bundled_rank_file(name)
            for frac in (0.0001, 0.5, 0.999):
                cut = data.index(b"\n", int(len(data) * frac)) + 2
                with pytest.raises(RankFileError):
                    NativeVocabulary(data[:cut], pattern)

    @pytest.mark.parametrize(
        "bad_line",
        [
            b"!!!! 3000",            # characters outside the base64 alphabet
            b"abc 3000",             # length not a multiple of 4
            b"QQ=A 3000",            # padding in the middle
            b"==== 3000",            # only padding
            b"A=== 3000",            # three padding characters
            b"QUJD\xff 3000",        # a non-ASCII byte
            b"QUJD= 3000",           # five characters
            b"QUJ-RA== 3000",        # url-safe alphabet
            b"QUJDRA== 30x0",        # non-digit rank
            b"QUJDRA== -1",          # negative rank
            b"QUJDRA== ",            # no rank
            b"QUJDRA==",             # no space, no rank
            b" 3000",                # no token
            b"QUJDRA==  3000",       # two spaces
            b"QUJDRA== 3000 3001",   # two ranks
            b"QUJDRA==\t3000",       # tab separator
            b"QUJDRA== 99999999999999999999",  # rank overflowing 64 bits
            b"QUJDRA== 2097151",     # rank past the packed tables' limit
        ],
        ids=repr,
    )
    def test_bad_line(self, small_rank_file: bytes, bad_line: bytes) -> None:
        """One malformed line anywhere makes the file raise RankFileError."""
        lines = small_rank_file.splitlines()
        for pos in (0, 1500, len(lines)):
            corrupt = b"\n".join(lines[:pos] + [bad_line] + lines[pos:]) + b"\n"
            with pytest.raises(RankFileError):
                NativeVocabulary(corrupt, "cl100k")

    def test_duplicate_rank(self, small_rank_file: bytes) -> None:
        """Two different tokens with one rank raise RankFileError."""
        with pytest.raises(RankFileError):
            NativeVocabulary(small_rank_file + _line(b"new token", 2999) + b"\n", "cl100k")
        with pytest.raises(RankFileError):
            NativeVocabulary(small_rank_file + _line(b"new token", 5) + b"\n", "cl100k")

    def test_duplicate_token(self, small_rank_file: bytes, cl100k_lines: list[bytes]) -> None:
        """One token under two ranks raises RankFileError."""
        token = base64.b64decode(cl100k_lines[1000].split()[0])
        with pytest.raises(RankFileError):
            NativeVocabulary(small_rank_file + _line(token, 3000) + b"\n", "cl100k")
        with pytest.raises(RankFileError):
            NativeVocabulary(small_rank_file + _line(b"!", 3000) + b"\n", "cl100k")  # a single byte twice

    @pytest.mark.parametrize("byte", [0, ord("!"), ord("a"), 0x80, 0xFF])
    def test_missing_single_byte(self, small_rank_file: bytes, byte: int) -> None:
        """A vocabulary without one of the 256 single-byte tokens raises RankFileError."""
        needle = base64.b64encode(bytes([byte])) + b" "
        lines = [ln for ln in small_rank_file.splitlines() if not ln.startswith(needle)]
        assert len(lines) == 2999
        with pytest.raises(RankFileError):
            NativeVocabulary(b"\n".join(lines) + b"\n", "cl100k")

    def test_token_longer_than_255_bytes(self, small_rank_file: bytes) -> None:
        """A token longer than the native limit raises RankFileError (not a crash or silent cut)."""
        with pytest.raises(RankFileError):
            NativeVocabulary(small_rank_file + _line(b"x" * 256, 3000) + b"\n", "cl100k")
        assert NativeVocabulary(small_rank_file + _line(b"x" * 255, 3000) + b"\n", "cl100k").max_rank == 3001

    @pytest.mark.parametrize("data", [b"", b"\n", b"\n\n\n", b"\r\n", b" ", b"\x00" * 64], ids=repr)
    def test_empty_files(self, data: bytes) -> None:
        """Empty and blank files raise RankFileError."""
        with pytest.raises(RankFileError):
            NativeVocabulary(data, "cl100k")

    def test_only_single_bytes(self) -> None:
        """The 256 single bytes alone are a valid (if useless) vocabulary."""
        data = b"\n".join(_line(bytes([b]), b) for b in range(256))
        vocab = NativeVocabulary(data, "o200k")
        assert vocab.max_rank == 256
        assert vocab.encode(b"abc") == [97, 98, 99]

    def test_rank_gaps_are_allowed(self, small_rank_file: bytes) -> None:
        """Gaps in the ranks (as p50k_base has) load; the unused ranks do not decode."""
        vocab = NativeVocabulary(small_rank_file + _line(b"gap token", 5000) + b"\n", "cl100k")
        assert vocab.max_rank == 5001
        assert vocab.decode_bytes(array.array("I", [5000])) == b"gap token"
        assert vocab.decode_bytes(array.array("I", [1, 4000])) == 1  # index of the first unknown id

    @given(data=st.binary(max_size=4096))
    def test_garbage_never_crashes(self, data: bytes) -> None:
        """Arbitrary bytes either load or raise RankFileError."""
        try:
            NativeVocabulary(data, "cl100k")
        except RankFileError:
            pass

    @given(data=st.data())
    def test_mutated_file_never_crashes(self, small_rank_file: bytes, data: st.DataObject) -> None:
        """A valid file with a few bytes overwritten either loads or raises RankFileError."""
        buf = bytearray(small_rank_file)
        for _ in range(data.draw(st.integers(1, 4))):
            pos = data.draw(st.integers(0, len(buf) - 1))
            buf[pos] = data.draw(st.sampled_from(b"AQZaz09+/= \n\r\x00\xff-"))
        try:
            vocab = NativeVocabulary(bytes(buf), "cl100k")
        except RankFileError:
            return
        vocab.encode(b"hello world, don't stop")


class TestReadRankFile:
    """read_rank_file: looked up by sha1(url), accepted only with tiktoken's SHA-256."""

    URL = "https://openaipublic.blob.core.windows.net/encodings/fast_litellm_test_only.tiktoken"

    def _put(self, directory: Path, url: str, data: bytes) -> Path:
        path = directory / hashlib.sha1(url.encode()).hexdigest()
        path.write_bytes(data)
        return path

    def test_wrong_checksum_rejected(self, tmp_path: Path) -> None:
        """A cached file whose SHA-256 differs from the expected one raises RankFileError."""
        path = self._put(tmp_path, self.URL, b"IQ== 0\n")
        expected = hashlib.sha256(b"something else").hexdigest()
        with pytest.raises(RankFileError, match="SHA-256") as info:
            read_rank_file(self.URL, expected, environ={"TIKTOKEN_CACHE_DIR": str(tmp_path)})
        assert str(path) in str(info.value)

    def test_matching_checksum_accepted(self, tmp_path: Path) -> None:
        """A cached file with the expected SHA-256 is returned as is."""
        data = b"IQ== 0\nIg== 1\n"
        self._put(tmp_path, self.URL, data)
        got = read_rank_file(self.URL, hashlib.sha256(data).hexdigest(), environ={"TIKTOKEN_CACHE_DIR": str(tmp_path)})
        assert got == data

    def test_missing_file(self, tmp_path: Path) -> None:
        """No cached copy anywhere raises RankFileError naming the searched directories."""
        with pytest.raises(RankFileError, match="no cached rank file") as info:
            read_rank_file(self.URL + ".missing", "0" * 64, environ={"TIKTOKEN_CACHE_DIR": str(tmp_path)})
        assert str(tmp_path) in str(info.value)

    def test_bad_copy_falls_back_to_good_copy(self, tmp_path: Path) -> None:
        """A corrupt cl100k copy in TIKTOKEN_CACHE_DIR is skipped for litellm's valid bundled copy."""
        spec = ENCODINGS["cl100k_base"]
        self._put(tmp_path, spec.url, b"corrupted")
        got = read_rank_file(spec.url, spec.sha256, environ={"TIKTOKEN_CACHE_DIR": str(tmp_path)})
        assert hashlib.sha256(got).hexdigest() == spec.sha256

    def test_truncated_copy_with_wrong_checksum(self, tmp_path: Path, small_rank_file: bytes) -> None:
        """A truncated copy of a real file is rejected by checksum before it is parsed."""
        data = _bundled_rank_file("cl100k_base")
        self._put(tmp_path, self.URL, data[: len(data) // 2])
        with pytest.raises(RankFileError, match="SHA-256"):
            read_rank_file(self.URL, ENCODINGS["cl100k_base"].sha256, environ={"TIKTOKEN_CACHE_DIR": str(tmp_path)})

    def test_candidate_dir_order(self, tmp_path: Path) -> None:
        """TIKTOKEN_CACHE_DIR comes first, then CUSTOM_TIKTOKEN_CACHE_DIR, litellm's bundle, the tmp cache."""
        env = {"TIKTOKEN_CACHE_DIR": str(tmp_path / "a"), "CUSTOM_TIKTOKEN_CACHE_DIR": str(tmp_path / "b")}
        dirs = candidate_dirs(env)
        assert dirs[0] == tmp_path / "a"
        assert dirs[1] == tmp_path / "b"
        assert dirs[-1].name == "data-gym-cache"
        assert any(d.name == "tokenizers" and d.parent.name == "litellm_core_utils" for d in dirs)
        dirs = candidate_dirs({"DATA_GYM_CACHE_DIR": str(tmp_path / "c")})
        assert dirs[0] == tmp_path / "c"

