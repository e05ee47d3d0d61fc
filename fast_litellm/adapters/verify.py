"""``python -m fast_litellm verify``: native and litellm's original side by side on real inputs.

Each feature with a native path has a verifier that runs litellm's own
function and the native body on built-in samples and on real text found on
this machine (litellm's source files), and reports every difference.
"""

from __future__ import annotations

import base64
import importlib.util
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["VERIFIERS", "VerifyResult", "verify"]

SAMPLES: tuple[str, ...] = (
    "",
    "Hello, world! 12345.",
    "The quick brown fox jumps over the lazy dog. It's 3.14159, isn't it? We'll see; they've gone.",
    "def f(x):\n    return x ** 2  # square\n\n\n\tif x:\r\n\t\tpass\n",
    "    \n\n   \t  trailing spaces   ",
    "中文测试，日本語のテキスト、한국어 텍스트。",
    "emoji: 👩‍👩‍👧‍👦 👍🏽 🇯🇵 ❤️‍🔥 and ZWJ\u200d sequences",
    "العربية مَعَ الحَرَكَات और देवनागरी संयोजन",
    "NUL\x00inside and \ufffd replacement and \ud800 lone surrogate",
    "ÀÉÎÕÜ ß ſ ﬁ \u0130 \u212a CONTRACTIONS: DON'T WON'T I'M YOU'LL",
    "1234567890 12 345 6789 0.5e-10 ½ ² ٣",
    " " * 300 + "x" + "\n" * 50,
)

# Names for the rules litellm 1.109 changed in openai_tokenizer_encoding_name: provider and region
# prefixes are dropped, and unlisted gpt-5+ / oN names get o200k_base.
PREFIXED_MODELS: tuple[str, ...] = ("openai/gpt-4o", "azure/eu/gpt-4o", "azure_ai/gpt-4o-mini", "gpt-6.2")


@dataclass
class VerifyResult:
    feature: str
    compared: int = 0
    mismatches: list[dict[str, str]] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is None and not self.mismatches

    def check(self, call: str, expected: Any, got: Any) -> bool:
        """Count one comparison; record it if the results differ.  True when they are equal."""
        self.compared += 1
        if got == expected:
            return True
        self.mismatches.append({"call": call, "expected": _short(expected), "native": _short(got)})
        return False


def _real_texts(limit: int) -> Iterator[str]:
    """Source files of the installed litellm: code, docstrings and prompts, some non-ASCII."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return
    root = Path(next(iter(spec.submodule_search_locations)))
    for count, path in enumerate(sorted(root.rglob("*.py"))):
        if count >= limit:
            return
        try:
            yield path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:120] + "..."


def verify_tokenizer(files: int) -> VerifyResult:
    """litellm.utils.encode/decode against the native bodies, for a tiktoken and an HF model."""
    import litellm.utils  # noqa: F401 - loads (and patches) litellm

    from fast_litellm.adapters.encode import _native_decode, _native_encode
    from fast_litellm.adapters.patching import get_original
    from fast_litellm.control.gate import NOT_COVERED

    result = VerifyResult("tokenizer")
    encode = get_original("litellm.utils", "encode")
    decode = get_original("litellm.utils", "decode")
    texts = list(SAMPLES) + list(_real_texts(files))
    for model in ("gpt-4o", "gpt-3.5-turbo", *PREFIXED_MODELS, "deepseek/deepseek-chat"):
        for text in texts if model in ("gpt-4o", "gpt-3.5-turbo") else SAMPLES:
            try:
                expected = encode(model=model, text=text)
            except Exception:  # noqa: BLE001 - litellm (its HF tokenizer) rejects it: native must not answer
                expected = NOT_COVERED
            got = _native_encode(model, text, None)
            if got is NOT_COVERED:
                continue
            if result.check(f"encode({model!r}, {_short(text)})", expected, got):
                decoded = decode(model=model, tokens=expected)
                result.check(f"decode({model!r}, <ids of {_short(text)}>)", decoded,
                             _native_decode(model, expected, None, True))
    if result.compared == 0:
        result.skipped = "the native tokenizer covered none of the inputs"
    return result


def verify_token_counter(files: int) -> VerifyResult:
    """litellm's core token_counter against the native count, on message lists built from the samples."""
    import litellm.utils  # noqa: F401 - loads (and patches) litellm

    from fast_litellm.adapters.patching import get_original
    from fast_litellm.adapters.token_counter import native_token_counter
    from fast_litellm.control.gate import NOT_COVERED

    result = VerifyResult("token_counter")
    original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
    texts = list(SAMPLES) + [text[:20_000] for text in _real_texts(files)]
    tools = [{"type": "function", "function": {"name": "lookup", "description": "Look a word up",
                                               "parameters": {"type": "object", "properties": {
                                                   "word": {"type": "string"}}, "required": ["word"]}}}]
    for model in ("gpt-4o", "gpt-4o-mini", "gpt-4", "gpt-3.5-turbo", "azure/gpt-4o", "unknown-model", None):
        for i, text in enumerate(texts):
            messages = [{"role": "system", "content": SAMPLES[i % len(SAMPLES)]},
                        {"role": "user", "content": text, "name": "user_1"},
                        {"role": "assistant", "content": None, "tool_calls": [
                            {"id": "c", "type": "function",
                             "function": {"name": "lookup", "arguments": text[:50]}}]}]
            for kwargs in ({"text": text}, {"messages": messages, "tools": tools, "tool_choice": "none"}):
                try:
                    expected = original(model=model, **kwargs)
                except Exception:  # noqa: BLE001 - litellm rejects it: native must not answer
                    expected = NOT_COVERED
                got = native_token_counter(model, None, kwargs.get("text"), kwargs.get("messages"), False,
                                           kwargs.get("tools"), kwargs.get("tool_choice"))
                if got is NOT_COVERED:
                    continue
                result.check(f"token_counter({model!r}, {_short(kwargs)})", expected, got)
    for call in _rule_calls(tools):
        try:
            expected = original(**call)
        except Exception:  # noqa: BLE001 - litellm rejects it: native must not answer
            expected = NOT_COVERED
        got = native_token_counter(**call)
        if got is not NOT_COVERED:
            result.check(f"token_counter({_short(call)})", expected, got)
    if result.compared == 0:
        result.skipped = "the native token counter covered none of the inputs"
    return result


def _png_data_url(width: int, height: int) -> str:
    """A data: URL of a complete 1-bit greyscale PNG of the given size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" * (1 + (width + 7) // 8)) * height
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _rule_calls(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """token_counter calls for each counting rule litellm 1.109 changed: prefixed and unlisted names,
    tool_choice shapes, a text block whose text is None, compaction summaries and blocks, an inline
    image priced by detail, DeepSeek names and the chat-template tool sections (deepseek-v4, qwen3.5,
    grok-4.1)."""
    question = {"role": "user", "content": "Look up the word 'naïve', please.", "name": "user_1"}
    image = _png_data_url(1024, 1024)
    calls: list[dict[str, Any]] = []
    for model in (*PREFIXED_MODELS, "o9-mini", "azure/gpt-4o"):
        calls.append({"model": model, "text": SAMPLES[2]})
        calls.append({"model": model, "messages": [question], "tools": tools})
    for tool_choice in ({"type": "none"}, {"name": "lookup"}, {"name": 3}, {"function": {"name": "lookup"}},
                        "none", "required"):
        calls.append({"model": "gpt-4o", "messages": [question], "tools": tools, "tool_choice": tool_choice})
    for content in ([{"type": "text", "text": None}],
                    [{"type": "text", "text": ""}, {"type": "text", "text": "x"}],
                    [{"type": "compaction", "content": "summary text"}]):
        calls.append({"model": "gpt-4o", "messages": [{"role": "user", "content": content}]})
    for fields in ({"compaction_blocks": [{"type": "compaction", "content": "summary text"}]}, {"other": 1}):
        calls.append({"model": "gpt-4o", "messages": [
            question, {"role": "assistant", "content": "Done.", "provider_specific_fields": fields}]})
    for detail in (None, "auto", "low", "high"):
        image_url = {"url": image} if detail is None else {"url": image, "detail": detail}
        calls.append({"model": "gpt-4o", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "What is it?"},
                                         {"type": "image_url", "image_url": image_url}]}]})
    url_image = {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}}
    calls.append({"model": "gpt-4o", "use_default_image_token_count": True,
                  "messages": [{"role": "user", "content": [url_image]}]})
    calls.append({"model": "deepseek/deepseek-chat", "messages": [question]})
    for model in ("deepseek-v4", "qwen3.5-72b", "grok-4.1"):
        calls.append({"model": model, "messages": [question], "tools": tools})
        calls.append({"model": model, "messages": [question], "tools": tools, "tool_choice": "required"})
    return calls


VERIFIERS: dict[str, Callable[[int], VerifyResult]] = {
    "tokenizer": verify_tokenizer,
    "token_counter": verify_token_counter,
}


def verify(features: list[str] | None = None, files: int = 40) -> list[VerifyResult]:
    """Run the verifiers of ``features`` (default: all) on samples and ``files`` real files."""
    names = list(VERIFIERS) if not features else features
    return [VERIFIERS[name](files) for name in names]
