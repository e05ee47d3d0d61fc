"""Public exception hierarchy of fast-litellm."""

from __future__ import annotations

import builtins

__all__ = [
    "ConfigError",
    "FastLiteLLMError",
    "NativeUnavailableError",
    "RankFileError",
    "TokenizerConfigError",
    "UnknownEncodingError",
]


class FastLiteLLMError(Exception):
    """Root of every fast-litellm exception.  Never raised directly."""


class NativeUnavailableError(builtins.ImportError, FastLiteLLMError):
    """The compiled extension ``fast_litellm._native`` is missing or does not match."""


class UnknownEncodingError(builtins.ValueError, FastLiteLLMError):
    """No native encoding has this name (tiktoken raises ValueError here too)."""


class RankFileError(builtins.ValueError, FastLiteLLMError):
    """A tiktoken rank file is missing, fails its checksum or cannot be parsed."""


class ConfigError(builtins.ValueError, FastLiteLLMError):
    """A feature-flag file, environment variable or ``configure()`` argument is invalid."""


class TokenizerConfigError(builtins.ValueError, FastLiteLLMError):
    """A Hugging Face tokenizer JSON uses a feature the native tokenizer does not reproduce exactly."""
