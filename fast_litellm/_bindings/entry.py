"""Typed wrapper over native/pymessages.c's C entries of token_counter and litellm.encode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fast_litellm._bindings import check, lib

__all__ = ["encode_entry", "token_counter_entry"]


def token_counter_entry(state: tuple[Any, ...]) -> Callable[..., int | None]:
    """The builtin ``entry(model, messages, custom_tokenizer, text, count_response_tokens, tools,
    tool_choice)`` bound to ``state`` (laid out as ``fl_token_counter_entry`` says): a count, or
    None where the Python path answers."""
    holder: list[Any] = [None]
    check(lib.fl_token_counter_entry(id(state), id(holder)))
    entry: Callable[..., int | None] = holder[0]
    return entry


def encode_entry(state: tuple[Any, ...]) -> Callable[..., list[int] | None]:
    """The builtin ``entry(model, text, custom_tokenizer)`` bound to ``state`` (the layout of
    ``token_counter_entry``'s): litellm.utils.encode's ids, or None where the Python path answers."""
    holder: list[Any] = [None]
    check(lib.fl_encode_entry(id(state), id(holder)))
    entry: Callable[..., list[int] | None] = holder[0]
    return entry
