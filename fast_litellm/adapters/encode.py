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

from fast_litellm._forksafe import loading
from fast_litellm.adapters.token_counter import encode_entry, load_litellm, set_encode_vocabulary
from fast_litellm.control.gate import NOT_COVERED, Gate, mark_wrapper

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
                with loading():
                    from fast_litellm.tokenizer import get_encoding

                    vocab = get_encoding(_DEFAULT_ENCODING)._vocab
                    set_encode_vocabulary(vocab.int_table(), vocab.handle)
                cls.vocab = vocab
            except Exception:  # noqa: BLE001 - any failure means "use litellm's own"
                cls.failed = True
                logger.exception("fast_litellm: native %s unavailable; litellm keeps tiktoken",
                                 _DEFAULT_ENCODING)
        return cls.vocab


_modules: list[Any] = []  # [litellm, litellm.utils] once both are imported; module objects do not change


def _uses_tiktoken(model: object) -> bool:
    """True when litellm would pick its default tiktoken encoding for ``model``."""
    if type(model) is not str:
        return False
    if not _modules:
        litellm, utils = sys.modules.get("litellm"), sys.modules.get("litellm.utils")
        if litellm is None or utils is None:
            return False
        _modules[:] = (litellm, utils)  # one store, atomic under the GIL (threads may race here)
    litellm, utils = _modules
    if getattr(litellm, "disable_hf_tokenizer_download", False) is True:
        return True
    return utils.huggingface_tokenizer_kind(model) is None


def _native_encode(model: Any, text: Any, custom_tokenizer: Any) -> Any:
    """litellm.utils.encode on the native tokenizer, or NOT_COVERED."""
    if custom_tokenizer or type(text) is not str or not _uses_tiktoken(model):
        return NOT_COVERED
    vocab = _Native.vocab or _Native.load()
    if vocab is None:
        return NOT_COVERED
    load_litellm()  # for the C entry, which takes the next calls
    try:
        data = text.encode()
    except UnicodeEncodeError:
        data = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()
    return vocab.encode(data)


def _native_decode(model: Any, tokens: Any, custom_tokenizer: Any, skip_special_tokens: Any) -> Any:
    """litellm.utils.decode on the native tokenizer, or NOT_COVERED."""
    if custom_tokenizer or type(tokens) not in (list, tuple) or not _uses_tiktoken(model):
        return NOT_COVERED
    vocab = _Native.vocab or _Native.load()
    if vocab is None:
        return NOT_COVERED
    try:
        ids = array.array("I", tokens)
    except (TypeError, OverflowError, ValueError):
        return NOT_COVERED
    data = vocab.decode_bytes(ids)
    if type(data) is not bytes:  # an id that is not an ordinary token: litellm's own error or result
        return NOT_COVERED
    return data.decode("utf-8", errors="replace")


def _second(args: tuple[Any, ...]) -> Any:
    """The rollout key of encode and decode: their input (the text, the ids)."""
    return args[1]


def make_encode(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``litellm.utils.encode``; the rollout key is the text."""
    run = gate.runner(_native_encode, original, _second)
    entry = encode_entry(gate)

    def encode(model: Any = "", text: Any = "", custom_tokenizer: Any = None) -> Any:
        ids = entry(model, text, custom_tokenizer)  # the common call, in C (native/pymessages.c)
        if ids is not None:
            return ids
        return run((model, text, custom_tokenizer))

    return mark_wrapper(encode, original)


def make_decode(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``litellm.utils.decode``; the rollout key is the token sequence."""
    run = gate.runner(_native_decode, original, _second)

    def decode(
        model: Any = "", tokens: Any = (), custom_tokenizer: Any = None, skip_special_tokens: Any = True
    ) -> Any:
        return run((model, tokens, custom_tokenizer, skip_special_tokens))

    return mark_wrapper(decode, original)
