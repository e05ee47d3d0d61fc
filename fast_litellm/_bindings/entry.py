"""Typed wrapper over native/pymessages.c's C entries of token_counter and litellm.encode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fast_litellm._bindings import py

__all__ = ["encode_entry", "token_counter_entry"]


def token_counter_entry(state: tuple[Any, ...]) -> Callable[..., int | None]:
    """The builtin ``entry(model, messages, custom_tokenizer, text, count_response_tokens, tools,
    tool_choice)`` bound to ``state`` (laid out as native/pymessages.c's entry says): a count, or
    None where the Python path answers."""
    entry: Callable[..., int | None] = py.token_counter_entry(state)
    return entry


def encode_entry(state: tuple[Any, ...]) -> Callable[..., list[int] | None]:
    """The builtin ``entry(model, text, custom_tokenizer)`` bound to ``state`` (the layout of
    ``token_counter_entry``'s): litellm.utils.encode's ids, or None where the Python path answers."""
    entry: Callable[..., list[int] | None] = py.encode_entry(state)
    return entry
