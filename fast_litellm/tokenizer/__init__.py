"""Native tiktoken-compatible encodings: same ids, same errors, several times faster.

``get_encoding("cl100k_base")`` returns an :class:`Encoding` whose methods
mirror ``tiktoken.Encoding``.  Rank files are read from the local caches that
tiktoken and litellm use (see ``tokenizer.rank_files``); nothing is downloaded.
"""

from __future__ import annotations

import array
import functools
import os
import re
from collections.abc import Callable, Collection, Sequence
from typing import AbstractSet, Literal

from fast_litellm._bindings.tokens import NativeVocabulary
from fast_litellm._forksafe import Lock, loading
from fast_litellm._workers import MIN_PART_BYTES
from fast_litellm.exceptions import UnknownEncodingError
from fast_litellm.tokenizer.rank_files import read_rank_file
from fast_litellm.tokenizer.registry import ENCODINGS, EncodingSpec

__all__ = ["Encoding", "get_encoding", "list_encoding_names"]

_DEFAULT_THREADS = min(8, os.cpu_count() or 1)


def _utf8(text: str) -> bytes:
    """UTF-8 of ``text``; lone surrogates become U+FFFD exactly as tiktoken does it."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def _as_str(text: object) -> str:
    """``text`` as an exact str (a subclass's own encode or __getitem__ is not used,
    as tiktoken reads the characters directly); TypeError with tiktoken's message."""
    if type(text) is str:
        return text
    if isinstance(text, str):
        return str.__str__(text)
    name = "'None'" if text is None else f"'{type(text).__name__}' object"
    raise TypeError(f"{name} is not an instance of 'str'")


def _small(texts: Sequence[str]) -> bool:
    """A batch that gains nothing from threads: one text, or under two parts' worth of text."""
    try:
        return len(texts) < 2 or sum(map(len, texts)) < 2 * MIN_PART_BYTES
    except TypeError:  # not a sized sequence of str: the general path takes it (and raises tiktoken's error)
        return False


def _check_threads(num_threads: int) -> None:
    if num_threads <= 0:
        raise ValueError("max_workers must be greater than 0")  # tiktoken's ThreadPoolExecutor


@functools.lru_cache(maxsize=128)
def _special_regex(tokens: frozenset[str]) -> re.Pattern[str]:
    # Alternatives in the set's own order, as tiktoken builds its regex, so that
    # overlapping disallowed tokens report the same one.
    return re.compile("|".join(re.escape(t) for t in tokens))


class Encoding:
    """A byte-pair encoding with tiktoken's semantics, run by the C core."""

    def __init__(self, spec: EncodingSpec, vocabulary: NativeVocabulary) -> None:
        self.name = spec.name
        self._spec = spec
        self._vocab = vocabulary
        self._special_tokens = dict(spec.special_tokens)
        self._special_decoder = {rank: tok.encode() for tok, rank in self._special_tokens.items()}
        self.max_token_value = max(vocabulary.max_rank - 1, *self._special_tokens.values())
        if spec.explicit_n_vocab is not None and spec.explicit_n_vocab != self.max_token_value + 1:
            raise UnknownEncodingError(f"{spec.name}: vocabulary size does not match the spec")
        # One C call per exact str (the per-call cost of encoding 20 characters: 0.9 -> 0.35 us);
        # these Python paths answer the rest (and raise tiktoken's TypeError).  The encoder,
        # which holds the int table, is made on first use.
        self._encode_str: Callable[[str], list[int]] | None = None
        self._count_str = vocabulary.str_function("count", lambda text: vocabulary.count(_utf8(_as_str(text))))

    def __repr__(self) -> str:
        return f"<fast_litellm.Encoding {self.name!r}>"

    # -- properties tiktoken has -------------------------------------------------

    @property
    def n_vocab(self) -> int:
        return self.max_token_value + 1

    @property
    def eot_token(self) -> int:
        return self._special_tokens["<|endoftext|>"]

    @functools.cached_property
    def special_tokens_set(self) -> set[str]:
        return set(self._special_tokens)

    @property
    def memory_bytes(self) -> int:
        """Heap owned by the native tables of this encoding."""
        return self._vocab.memory

    # -- encoding ------------------------------------------------------------------

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of ``text``, special-token text encoded as plain text."""
        encode = self._encode_str or self._make_encode_str()
        return encode(text)

    def _make_encode_str(self) -> Callable[[str], list[int]]:
        """The encode builtin, made on first use (it holds the int table).  Threads that make it
        at the same moment each get a correct one; the last stays."""
        vocab = self._vocab
        encode: Callable[[str], list[int]] = vocab.str_function(
            "encode", lambda text: vocab.encode(_utf8(_as_str(text))))
        self._encode_str = encode
        return encode

    def count(self, text: str) -> int:
        """``len(encode_ordinary(text))`` without building the list."""
        n: int = self._count_str(text)
        return n

    def encode(
        self,
        text: str,
        *,
        allowed_special: Literal["all"] | AbstractSet[str] = set(),  # noqa: B006 - tiktoken's signature
        disallowed_special: Literal["all"] | Collection[str] = "all",
    ) -> list[int]:
        """Ids of ``text`` with tiktoken's special-token rules.

        Raises:
            ValueError: ``text`` holds a disallowed special token (tiktoken's message).
        """
        text = _as_str(text)
        allowed = self._allowed(allowed_special, disallowed_special, text)
        if not allowed:
            return self.encode_ordinary(text)
        return self._encode_with_specials(text, allowed)

    def _allowed(
        self,
        allowed_special: Literal["all"] | AbstractSet[str],
        disallowed_special: Literal["all"] | Collection[str],
        text: str,
    ) -> frozenset[str]:
        if allowed_special == "all":
            allowed_special = self.special_tokens_set
        if disallowed_special == "all":
            disallowed_special = self.special_tokens_set - allowed_special
        if disallowed_special:
            if not isinstance(disallowed_special, frozenset):
                disallowed_special = frozenset(disallowed_special)
            if match := _special_regex(disallowed_special).search(text):
                from tiktoken.core import raise_disallowed_special_token

                raise_disallowed_special_token(match.group())
        return frozenset(t for t in allowed_special if t in self._special_tokens)

    def _encode_with_specials(self, text: str, allowed: frozenset[str]) -> list[int]:
        ids: list[int] = []
        start = 0
        for match in _special_regex(allowed).finditer(text):
            ids += self._vocab.encode(_utf8(text[start:match.start()]))
            ids.append(self._special_tokens[match.group()])
            start = match.end()
        ids += self._vocab.encode(_utf8(text[start:]))
        return ids

    def encode_ordinary_batch(self, text: Sequence[str], *, num_threads: int = _DEFAULT_THREADS) -> list[list[int]]:
        """``[encode_ordinary(t) for t in text]``; a large batch in parts on up to ``num_threads``
        threads of a reused pool (see ``_workers``)."""
        _check_threads(num_threads)
        if num_threads == 1 or _small(text):
            encode = self._encode_str or self._make_encode_str()
            return [encode(t) for t in text]
        return self._vocab.encode_batch([_utf8(_as_str(t)) for t in text], num_threads)

    def encode_batch(
        self,
        text: Sequence[str],
        *,
        num_threads: int = _DEFAULT_THREADS,
        allowed_special: Literal["all"] | AbstractSet[str] = set(),  # noqa: B006
        disallowed_special: Literal["all"] | Collection[str] = "all",
    ) -> list[list[int]]:
        """``[encode(t, ...) for t in text]``; texts without allowed specials go in one native call."""
        _check_threads(num_threads)
        if num_threads == 1 or _small(text):
            return [self.encode(t, allowed_special=allowed_special, disallowed_special=disallowed_special)
                    for t in text]
        results: list[list[int]] = []
        plain: list[int] = []
        text = [_as_str(t) for t in text]
        for i, t in enumerate(text):
            allowed = self._allowed(allowed_special, disallowed_special, t)
            if allowed and _special_regex(allowed).search(t):
                results.append(self._encode_with_specials(t, allowed))
            else:
                results.append([])
                plain.append(i)
        encoded = self._vocab.encode_batch([_utf8(text[i]) for i in plain], num_threads)
        for i, ids in zip(plain, encoded):
            results[i] = ids
        return results

    def count_batch(self, text: Sequence[str], *, num_threads: int = _DEFAULT_THREADS) -> list[int]:
        """``[count(t) for t in text]``; a large batch as in ``encode_ordinary_batch``."""
        _check_threads(num_threads)
        if num_threads == 1 or _small(text):
            count = self._count_str
            return [count(t) for t in text]
        return self._vocab.count_batch([_utf8(_as_str(t)) for t in text], num_threads)

    # -- decoding ------------------------------------------------------------------

    def decode_bytes(self, tokens: Sequence[int]) -> bytes:
        """Concatenated bytes of ``tokens``, special tokens included.

        Raises:
            KeyError: an id is neither a token nor a special token (tiktoken's error).
            OverflowError, TypeError: an id is not an unsigned 32-bit int.
        """
        if isinstance(tokens, str):
            raise TypeError("Can't extract `str` to `Vec`")
        if isinstance(tokens, (bytes, bytearray)):
            tokens = list(tokens)
        elif not isinstance(tokens, (list, tuple)) and (
            isinstance(tokens, dict) or not hasattr(type(tokens), "__getitem__")
        ):  # what PySequence_Check, tiktoken's test, accepts
            raise TypeError(f"'{type(tokens).__name__}' object is not an instance of 'Sequence'")
        ids = array.array("I", tokens)
        result = self._vocab.decode_bytes(ids)
        if isinstance(result, bytes):
            return result
        parts: list[bytes] = []
        start = 0
        for i in range(result, len(ids)):
            special = self._special_decoder.get(ids[i])
            if special is not None or ids[i] >= self._vocab.max_rank:
                chunk = self._vocab.decode_bytes(ids[start:i])
                if not isinstance(chunk, bytes):
                    raise KeyError(f"Invalid token for decoding: {ids[start + chunk]}")
                if special is None:
                    raise KeyError(f"Invalid token for decoding: {ids[i]}")
                parts += (chunk, special)
                start = i + 1
        tail = self._vocab.decode_bytes(ids[start:])
        if not isinstance(tail, bytes):
            raise KeyError(f"Invalid token for decoding: {ids[start + tail]}")
        return b"".join(parts) + tail

    def decode(self, tokens: Sequence[int], errors: str = "replace") -> str:
        """``decode_bytes(tokens).decode("utf-8", errors)``, as tiktoken."""
        return self.decode_bytes(tokens).decode("utf-8", errors=errors)

    def decode_single_token_bytes(self, token: int) -> bytes:
        """Bytes of one token (special tokens included).

        Raises:
            KeyError: ``token`` is not a token (tiktoken's error, the id as its text).
        """
        try:
            return self.decode_bytes([token])
        except KeyError:
            raise KeyError(str(token)) from None


_lock = Lock()
_cache: dict[str, Encoding] = {}


def list_encoding_names() -> list[str]:
    """Names ``get_encoding`` accepts."""
    return sorted(ENCODINGS)


def get_encoding(name: str) -> Encoding:
    """The shared native encoding ``name``, loaded on first use (thread-safe).

    Raises:
        UnknownEncodingError: ``name`` is not a native encoding.
        RankFileError: its rank file is not cached locally or is corrupt.
    """
    enc = _cache.get(name)
    if enc is not None:
        return enc
    spec = ENCODINGS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise UnknownEncodingError(
            f"Unknown encoding {name!r}; native encodings: {', '.join(list_encoding_names())}"
        )
    with loading(), _lock:
        enc = _cache.get(name)
        if enc is None:
            vocab = NativeVocabulary(read_rank_file(spec.url, spec.sha256), spec.pattern)
            enc = _cache[name] = Encoding(spec, vocab)
    return enc
