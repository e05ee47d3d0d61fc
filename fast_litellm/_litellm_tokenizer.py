"""Drop-in replacements for ``litellm.utils.encode`` / ``decode`` on the native tokenizer.

litellm encodes with cl100k_base for every model that does not select a
HuggingFace tokenizer (``litellm.utils.huggingface_tokenizer_kind``), with
``disallowed_special=()``, which is ``encode_ordinary``.  The replacements take
exactly that case; everything else (``custom_tokenizer``, HuggingFace models,
argument types tiktoken would reject, token sequences that are not plain
lists/tuples of known ids) goes to litellm's original function, so results
and exceptions stay litellm's own.
"""

from __future__ import annotations

import array
import logging
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["make_decode", "make_encode"]

logger = logging.getLogger("fast_litellm")

_DEFAULT_ENCODING = "cl100k_base"


class _Native:
    """The cl100k vocabulary, loaded on first use; ``failed`` once loading failed."""

    vocab: Any = None
    failed = False

    @classmethod
    def load(cls) -> Any:
        if cls.vocab is None and not cls.failed:
            try:
                from fast_litellm.tokenizer import get_encoding

                cls.vocab = get_encoding(_DEFAULT_ENCODING)._vocab
            except Exception:  # noqa: BLE001 - any failure means "use litellm's own"
                cls.failed = True
                logger.exception("fast_litellm: native %s unavailable; litellm keeps tiktoken",
                                 _DEFAULT_ENCODING)
        return cls.vocab


def _uses_tiktoken(model: object) -> bool:
    """True when litellm would pick its default tiktoken encoding for ``model``."""
    if type(model) is not str:
        return False
    litellm = sys.modules.get("litellm")
    utils = sys.modules.get("litellm.utils")
    if litellm is None or utils is None:
        return False
    if getattr(litellm, "disable_hf_tokenizer_download", False) is True:
        return True
    return utils.huggingface_tokenizer_kind(model) is None


def make_encode(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``litellm.utils.encode``."""

    def encode(model: Any = "", text: Any = "", custom_tokenizer: Any = None) -> Any:
        if not custom_tokenizer and type(text) is str and _uses_tiktoken(model):
            vocab = _Native.vocab or _Native.load()
            if vocab is not None:
                try:
                    data = text.encode("utf-8")
                except UnicodeEncodeError:
                    data = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()
                return vocab.encode(data)
        return original(model=model, text=text, custom_tokenizer=custom_tokenizer)

    encode.__wrapped__ = original  # type: ignore[attr-defined]
    encode.__doc__ = original.__doc__
    encode.__fast_litellm__ = True  # type: ignore[attr-defined]
    return encode


def make_decode(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``litellm.utils.decode``."""

    def decode(
        model: Any = "", tokens: Any = (), custom_tokenizer: Any = None, skip_special_tokens: Any = True
    ) -> Any:
        if not custom_tokenizer and type(tokens) in (list, tuple) and _uses_tiktoken(model):
            vocab = _Native.vocab or _Native.load()
            if vocab is not None:
                try:
                    ids = array.array("I", tokens)
                except (TypeError, OverflowError, ValueError):
                    ids = None
                if ids is not None:
                    data = vocab.decode_bytes(ids)
                    if type(data) is bytes:
                        return data.decode("utf-8", errors="replace")
        return original(
            model=model, tokens=tokens, custom_tokenizer=custom_tokenizer,
            skip_special_tokens=skip_special_tokens,
        )

    decode.__wrapped__ = original  # type: ignore[attr-defined]
    decode.__doc__ = original.__doc__
    decode.__fast_litellm__ = True  # type: ignore[attr-defined]
    return decode
