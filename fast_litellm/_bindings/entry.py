"""Typed wrapper over native/pymessages.c's C entry of token_counter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fast_litellm._bindings import check, lib

__all__ = ["token_counter_entry"]


def token_counter_entry(state: tuple[Any, ...]) -> Callable[..., int | None]:
    """The builtin ``entry(model, messages, custom_tokenizer, text, count_response_tokens, tools,
    tool_choice)`` bound to ``state`` (laid out as ``fl_token_counter_entry`` says): a count, or
    None where the Python path answers."""
    holder: list[Any] = [None]
    check(lib.fl_token_counter_entry(id(state), id(holder)))
    entry: Callable[..., int | None] = holder[0]
    return entry
