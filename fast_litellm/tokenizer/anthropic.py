"""Exact native token counts for litellm's bundled Anthropic tokenizer.

litellm counts tokens for Anthropic model names without "claude-3" (see
``litellm.utils.huggingface_tokenizer_kind``) with the Hugging Face tokenizer
``litellm/litellm_core_utils/tokenizers/anthropic_tokenizer.json``, loaded with
``tokenizers.Tokenizer.from_str`` and counted as
``len(tokenizer.encode_batch_fast([text])[0])``.  That file specifies:

* added tokens ``<EOT> <META> <META_START> <META_END> <SOS>`` (ids 0-4, special,
  ``normalized: false``, no lstrip/rstrip/single_word): they are cut out of the
  *raw* text first (leftmost-longest), each one id;
* normalizer ``NFKC``, applied to each piece between added tokens separately;
* pre-tokenizer ``ByteLevel`` (``add_prefix_space: false``, regex on): the GPT-2
  split ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+``,
  which is native ``FL_PATTERN_GPT2``;
* model ``BPE`` over the 256 byte symbols (ids 5-260) with 64,739 merges whose
  results have ids 261 + merge index, no dropout, no unk, no byte fallback;
* no post-processor, so nothing is added around the ids.

The BPE runs natively with Hugging Face's rule (only listed merges, earliest
first, leftmost on ties; ``fl_encoding_new_merges``), which here is *not*
tiktoken's "any two tokens spelling a token" rule: 89,362 ways of cutting a
token into two tokens are not listed merges.

NFKC is not reimplemented: the ``tokenizers`` crate ships older Unicode
normalization data than Python's ``unicodedata`` (they disagree on 72 code
points, e.g. U+32FF, U+A7F2), so non-ASCII text is normalized with
``tokenizers.normalizers.NFKC`` - the very code litellm's count runs.  It is
skipped where it changes nothing: ASCII, and every character that the library's
own NFKC leaves as it is in any context (``native/nfkc_stable.h``, generated from
the library by ``native/gen_nfkc_stable.py``: most accented letters, symbols,
CJK and emoji).  Only the runs of other characters are normalized, each with
the character before it (see ``_normalize``).
"""

from __future__ import annotations

import array
import base64
import functools
import importlib.util
import json
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fast_litellm._bindings.plain import nfkc_unstable_runs
from fast_litellm._bindings.tokens import NativeVocabulary
from fast_litellm._forksafe import Lock, loading
from fast_litellm.exceptions import TokenizerConfigError

__all__ = ["AnthropicTokenizer", "anthropic_tokenizer_path", "get_anthropic_tokenizer"]

logger = logging.getLogger("fast_litellm")

_SEP = "\x00"  # stable (and ASCII): normalized pieces joined by it come apart again

_WHOLE = 1 << 62  # a count_chunked slice length no text reaches: each text is counted whole
# What tokenizers raises (and so litellm's token_counter) for a str it cannot
# pass to Rust, such as one holding a lone surrogate.
_TEXT_INPUT_ERROR = "TextEncodeInput must be Union[TextInputSequence, Tuple[InputSequence, InputSequence]]"


def anthropic_tokenizer_path() -> Path:
    """The ``anthropic_tokenizer.json`` bundled with litellm, found without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("litellm is not installed; its anthropic_tokenizer.json is needed")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "litellm_core_utils" / "tokenizers" / "anthropic_tokenizer.json"


def _byte_decoder() -> dict[str, int]:
    """GPT-2's ByteLevel map, inverted: the character standing for each byte -> the byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars)}


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise TokenizerConfigError(f"unsupported tokenizer configuration: {what}")


def _check_config(config: Mapping[str, Any]) -> None:
    """Refuse every setting whose effect the native path does not reproduce exactly."""
    _require(config.get("normalizer") == {"type": "NFKC"}, "normalizer must be NFKC")
    pre = config.get("pre_tokenizer") or {}
    _require(pre.get("type") == "ByteLevel", "pre_tokenizer must be ByteLevel")
    _require(pre.get("add_prefix_space") is False, "ByteLevel add_prefix_space must be false")
    _require(pre.get("use_regex", True) is True, "ByteLevel use_regex must be true")
    _require(config.get("post_processor") is None, "post_processor must be null")
    _require(config.get("truncation") is None and config.get("padding") is None,
             "truncation and padding must be null")
    model = config.get("model") or {}
    _require(model.get("type") == "BPE", "model must be BPE")
    for key in ("dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix"):
        _require(model.get(key) is None, f"model.{key} must be null")
    for key in ("byte_fallback", "ignore_merges"):
        _require(model.get(key, False) is False, f"model.{key} must be false")
    for token in config.get("added_tokens") or []:
        _require(bool(token.get("content")), "added tokens must not be empty")
        # native/pymessages.c leaves text to the Python path where one may start: "<" and [A-Z]
        _require(re.match("<[A-Z]", token["content"]) is not None, "added tokens must start with '<' and A-Z")
        for key in ("normalized", "lstrip", "rstrip", "single_word"):
            _require(token.get(key) is False, f"added token {key} must be false")


class AnthropicTokenizer:
    """litellm's Anthropic Hugging Face tokenizer, natively; immutable and thread-safe."""

    __slots__ = ("_nfkc", "_nfkc_lock", "_special_ids", "_special_re", "_vocab", "vocab_size")

    def __init__(self, config: Mapping[str, Any]) -> None:
        """Build the native tables from a parsed tokenizer JSON (see the module docstring)."""
        _check_config(config)
        model = config["model"]
        vocab: dict[str, int] = model["vocab"]
        specials = {t["content"]: int(t["id"]) for t in config.get("added_tokens") or []}
        decoder = _byte_decoder()
        lines = []
        for token, token_id in vocab.items():
            if token in specials:
                _require(token_id == specials[token], f"added token {token!r} id")
                continue
            try:
                raw = bytes(decoder[ch] for ch in token)
            except KeyError:
                raise TokenizerConfigError(f"vocab token {token!r} is not byte-level") from None
            lines.append(b"%s %d\n" % (base64.b64encode(raw), token_id))
        merges = array.array("I")
        for merge in model["merges"]:
            left, right = merge.split(" ") if isinstance(merge, str) else merge
            try:
                merges.extend((vocab[left], vocab[right], vocab[left + right]))
            except KeyError:
                raise TokenizerConfigError(f"merge {merge!r} is not in the vocabulary") from None
        # fl_encoding_new_merges checks that merge results spell their parts, that
        # their ids rise with merge priority and that every token is reachable.
        self._vocab = NativeVocabulary(b"".join(lines), "gpt2", merges)
        self.vocab_size = len(vocab)
        self._special_ids = specials
        # Longest first: Python's alternation is leftmost-first, tokenizers' added
        # vocabulary leftmost-longest; trying longer literals first makes them agree.
        ordered = sorted(specials, key=len, reverse=True)
        self._special_re = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._nfkc: Callable[[str], str] | None = None
        self._nfkc_lock = Lock()

    @property
    def special_tokens(self) -> Mapping[str, int]:
        """Added (special) token text -> id."""
        return dict(self._special_ids)

    def _normalize(self, text: str) -> str:
        """NFKC exactly as litellm's tokenizer applies it.

        A stable character (``native/gen_nfkc_stable.py``) is its own NFKC, never composes with
        what precedes it and is never reordered, so NFKC(a + b) == NFKC(a) + NFKC(b) whenever b
        starts with one.  So only each run of unstable characters is normalized, together with
        the character before it (which a combining mark may compose with); the rest of the text
        stays as it is.  The runs go to the normalizer in one call, joined by NUL (stable, so a
        cut of its own).
        """
        if text.isascii():
            return text
        regions = [(max(start - 1, 0), end) for start, end in nfkc_unstable_runs(text)]
        if not regions:
            return text  # every character stable
        parts = [text[lo:hi] for lo, hi in regions]
        if len(parts) == 1:
            normalized = [self._nfkc_call(parts[0])]
        elif any(_SEP in part for part in parts):
            return self._nfkc_call(text)
        else:
            normalized = self._nfkc_call(_SEP.join(parts)).split(_SEP)
            if len(normalized) != len(parts):  # cannot happen (NFKC never yields NUL); be safe
                return self._nfkc_call(text)
        out: list[str] = []
        pos = 0
        for (lo, hi), piece in zip(regions, normalized):
            out.append(text[pos:lo])
            out.append(piece)
            pos = hi
        out.append(text[pos:])
        return "".join(out)

    def _nfkc_call(self, text: str) -> str:
        """tokenizers' own NFKC normalizer on ``text``."""
        nfkc = self._nfkc
        if nfkc is None:
            with loading(), self._nfkc_lock:
                if self._nfkc is None:
                    from tokenizers.normalizers import NFKC

                    self._nfkc = NFKC().normalize_str
                nfkc = self._nfkc
            assert nfkc is not None
        try:
            return nfkc(text)
        except UnicodeEncodeError:  # a lone surrogate: Rust cannot take the str
            raise TypeError(_TEXT_INPUT_ERROR) from None

    def _segments(self, text: str) -> list[str | int]:
        """Text between added tokens (normalized, UTF-8 pending) and added-token ids, in order."""
        found = self._special_re.finditer(text) if self._special_re is not None and "<" in text else ()
        parts: list[str | int] = []
        pos = 0
        for match in found:
            if match.start() > pos:
                parts.append(self._normalize(text[pos:match.start()]))
            parts.append(self._special_ids[match.group()])
            pos = match.end()
        if pos < len(text) or not parts:
            parts.append(self._normalize(text[pos:]) if pos else self._normalize(text))
        return parts

    @staticmethod
    def _utf8(text: str) -> bytes:
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            raise TypeError(_TEXT_INPUT_ERROR) from None

    def count(self, text: str) -> int:
        """``len(tokenizer.encode_batch_fast([text])[0])`` for litellm's tokenizer."""
        if text.isascii() and "<" not in text:
            return self._vocab.count(text.encode("ascii"))
        total = 0
        for part in self._segments(text):
            total += 1 if isinstance(part, int) else self._vocab.count(self._utf8(part))
        return total

    def count_all(self, texts: list[str], joined: str | None = None) -> int:
        """``sum(self.count(t) for t in texts)`` with one native call for the plain ASCII texts.

        ASCII text without "<" holds no added token and is NFKC-invariant, so it is counted as
        its bytes (see ``count``); those texts are joined by 0xFF (never in ASCII) and counted
        whole in one ``count_chunked`` call, whose slice length no text reaches.  ``joined``, when
        the caller has it, is ``"".join(texts)``.
        """
        if joined is None:
            joined = "".join(texts)
        if joined.isascii() and "<" not in joined:  # the common case, without a loop
            return self._vocab.count_chunked("\xff".join(texts).encode("latin-1"), _WHOLE)
        plain: list[bytes] = []
        total = 0
        for text in texts:
            if text.isascii() and "<" not in text:
                plain.append(text.encode("ascii"))
            else:
                total += self.count(text)
        if plain:
            total += self._vocab.count_chunked(b"\xff".join(plain), _WHOLE)
        return total

    @property
    def whole_texts(self) -> tuple[Any, int]:
        """(handle of the native encoding, slice length that counts each text whole), for C code
        that counts on it (native/pymessages.c holds the handle while it does)."""
        return self._vocab.handle, _WHOLE

    def count_messages(self, messages: list[Any], max_chars: int) -> int | None:
        """litellm's per-message sum for a list of dicts of plain ASCII str values (see
        ``count_all``: no "<"), each string counted whole; None for any other shape."""
        return self._vocab.count_messages(messages, _WHOLE, max_chars, no_lt=True)

    def encode(self, text: str) -> list[int]:
        """``tokenizer.encode_batch_fast([text])[0].ids`` for litellm's tokenizer."""
        if text.isascii() and "<" not in text:
            return self._vocab.encode(text.encode("ascii"))
        ids: list[int] = []
        for part in self._segments(text):
            if isinstance(part, int):
                ids.append(part)
            else:
                ids.extend(self._vocab.encode(self._utf8(part)))
        return ids


_load_lock = Lock()


def get_anthropic_tokenizer(path: str | None = None) -> AnthropicTokenizer:
    """The native tokenizer for ``path`` (default: litellm's bundled Anthropic JSON), loaded once:
    threads that ask at the same moment wait for the one load (a fork-safe lock)."""
    with loading(), _load_lock:
        return _load(path)


@functools.lru_cache(maxsize=4)
def _load(path: str | None) -> AnthropicTokenizer:
    source = Path(path) if path is not None else anthropic_tokenizer_path()
    with source.open("r", encoding="utf-8") as f:
        config = json.load(f)
    tokenizer = AnthropicTokenizer(config)
    logger.debug("loaded native Anthropic tokenizer from %s (%d ids)", source, tokenizer.vocab_size)
    return tokenizer
