"""Every model name litellm knows, prefixed, invented and odd ones: the patched litellm.token_counter and
litellm.encode give litellm's own results; and one probe per counting rule litellm 1.109 changed.

Both sides are called on the same inputs: the patched public function (``litellm.token_counter``,
``litellm.encode`` after ``import fast_litellm``) and litellm's original (``get_original``).  A result
is the same when the values are equal, or when both raise the same exception type with the same
message.  Where fast-litellm leaves a function to litellm (a source guard does so for token_counter
on litellm >= 1.109 until the native path follows its rules), both sides are litellm and the tests
still pass; they are the check that the native path, once installed, answers as litellm does.

The HuggingFace Hub is put in offline mode for this module: llama and command-r names make litellm
download a tokenizer, which without a network retries for ~25 s per call before litellm falls back
to tiktoken.  Offline, the fallback is immediate and the same on both sides; a tokenizer already in
the local Hub cache is still used.
"""

from __future__ import annotations

import base64
import logging
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

import fast_litellm  # noqa: E402
from fast_litellm.adapters.patching import get_original  # noqa: E402
from fast_litellm.control.gate import gate  # noqa: E402

SENTENCE = "Café © 2026 — naïve résumé, 東京 👋"
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You answer in one line."},
    {"role": "user", "content": SENTENCE, "name": "ana_1"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "東京"}'}}]},
]
# The common request: ASCII strings only, which fast-litellm's C entry answers in one call.  French
# text: cl100k_base, o200k_base and p50k_base count it 20, 15 and 27 tokens (English is often equal).
ASCII_MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You answer in one line."},
    {"role": "user", "name": "bob",
     "content": "Bonjour, comment allez-vous? Je voudrais reserver une chambre pour deux nuits."},
    {"role": "assistant", "content": "Bien sur: deux nuits, une chambre."},
]
PREFIXES = ("", "azure/", "openai/", "azure/eu/", "azure_ai/", "bedrock/us-east-1/")
INVENTED = (
    "gpt-6.2", "gpt-6", "gpt-10", "gpt-5.9", "gpt-5.3-codex", "o9-mini", "o10", "o1-preview-2099",
    "gpt-4o-2099-01-01", "ft:gpt-4o:org::id", "ft:gpt-3.5-turbo:org:custom:id",
    "GPT-4o", "Gpt-4O-Mini", "O3-MINI", "GPT-6.2", "CLAUDE-3-5-SONNET-20240620", "DeepSeek-Chat",
    "gpt-4o\n", "gpt-6.2\n", "claude-sonnet-4-5\n", " gpt-4o", "",
    "deepseek-v4", "deepseek-v4.1", "deepseek-reasoner", "deepseek-chat:free", "qwen3.5-72b", "Qwen3_5-7B",
    "grok-4.1", "grok-4-1-fast", "grok-4.3", "gpt-41", "text-embedding-ada-002-v2", "unknown-model",
)
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Weather of a city, now.", "strict": False,
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "lookup", "description": "Look a word up", "strict": True,
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}},
]
CHOOSE_LOOKUP = {"type": "function", "function": {"name": "lookup"}}

Outcome = tuple[Any, ...]


def outcome(func: Callable[..., Any], kwargs: dict[str, Any]) -> Outcome:
    """("ok", value) or ("raised", exception type, message)."""
    try:
        return ("ok", func(**kwargs))
    except Exception as exc:  # noqa: BLE001 - comparing exceptions is the point
        return ("raised", type(exc), str(exc))


def original_token_counter() -> Callable[..., Any]:
    """litellm's own token_counter.  The core function, not the ``litellm.utils`` wrapper: that wrapper
    (``disable_token_counter`` check, then the core through ``litellm._lazy_imports``' cache slot) reaches
    the core through a slot that is patched too, so ``get_original('litellm.utils', 'token_counter')`` is
    not pure litellm while acceleration is applied."""
    return get_original("litellm.litellm_core_utils.token_counter", "token_counter")


def original_encode() -> Callable[..., Any]:
    """litellm's own encode."""
    return get_original("litellm.utils", "encode")


class Differences:
    """Calls whose patched result is not litellm's, collected to be reported together."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str, dict[str, Any], Outcome, Outcome]] = []
        self.compared = 0

    def compare(self, function: str, kwargs: dict[str, Any]) -> None:
        """Call the patched ``litellm.<function>`` (first: it meets the colder caches) and litellm's own."""
        patched, original = ((litellm.token_counter, original_token_counter()) if function == "token_counter"
                             else (litellm.encode, original_encode()))
        got = outcome(patched, kwargs)
        expected = outcome(original, kwargs)
        self.compared += 1
        if got != expected:
            self.found.append((function, repr(kwargs.get("model")), kwargs, expected, got))

    def report(self) -> str:
        lines = [f"{len(self.found)} of {self.compared} calls differ from litellm (first 20):"]
        for function, model, kwargs, expected, got in self.found[:20]:
            shown = ", ".join(f"{key}={_NAMED.get(id(value)) or _short(value)}"
                              for key, value in kwargs.items() if key != "model")
            lines.append(f"  {function}(model={model}, {shown}): litellm {_short(expected)}, "
                         f"patched {_short(got)}")
        return "\n".join(lines)

    def assert_none(self) -> None:
        assert not self.found, self.report()


_NAMED = {id(MESSAGES): "MESSAGES", id(ASCII_MESSAGES): "ASCII_MESSAGES", id(SENTENCE): "SENTENCE",
          id(TOOLS): "TOOLS"}


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def listed_names() -> list[str]:
    """Every name in litellm.model_cost and in its OpenAI, Azure, Anthropic and Cohere model lists."""
    tables: tuple[Iterable[Any], ...] = (
        litellm.model_cost, litellm.open_ai_chat_completion_models, litellm.azure_llms,
        litellm.anthropic_models, litellm.cohere_models)
    return sorted({name for table in tables for name in table if isinstance(name, str)})


def every_name() -> Iterator[str]:
    """The listed and invented names, each bare and under every prefix in PREFIXES."""
    for name in [*listed_names(), *INVENTED]:
        for prefix in PREFIXES:
            yield prefix + name


def png(width: int, height: int) -> bytes:
    """A complete 1-bit greyscale PNG of the given size (all black), built with zlib and struct."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" + b"\x00" * ((width + 7) // 8)) * height
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def gif(width: int, height: int) -> bytes:
    """A GIF89a header and trailer of the given size: what litellm reads the dimensions from."""
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


def jpeg(width: int, height: int) -> bytes:
    """A JPEG with a JFIF segment and a baseline SOF0 frame header of the given size."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    components = b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + components
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


@pytest.fixture(scope="module", autouse=True)
def offline_hub() -> Iterator[None]:
    """The HuggingFace Hub offline (see the module docstring) and litellm's fallback warnings quiet."""
    hub: Any
    try:
        import huggingface_hub.constants as hub
    except ImportError:
        hub = None
    saved = hub.HF_HUB_OFFLINE if hub is not None else None
    if hub is not None:
        hub.HF_HUB_OFFLINE = True
    logger = logging.getLogger("LiteLLM")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
        if hub is not None:
            hub.HF_HUB_OFFLINE = saved


@pytest.fixture(autouse=True)
def accelerated() -> None:
    """Each test runs with the default flags and acceleration applied (where litellm's sources allow it)."""
    fast_litellm.reload_flags()
    fast_litellm.reset_errors()
    fast_litellm.apply_acceleration()


class TestEveryModelName:
    def test_text_messages_and_encode(self) -> None:
        """Every listed name (bare and with each prefix) and the invented ones: a text= call and two
        messages= calls (non-ASCII with a tool call; ASCII only), and an encode, give litellm's result or
        litellm's exception."""
        diffs = Differences()
        names = list(every_name())
        assert len(names) > 6 * 2000
        counted, encoded = gate("token_counter").stats.native, gate("tokenizer").stats.native
        before = counted.calls, encoded.calls
        for name in names:
            diffs.compare("token_counter", {"model": name, "text": SENTENCE})
            diffs.compare("token_counter", {"model": name, "messages": MESSAGES})
            diffs.compare("token_counter", {"model": name, "messages": ASCII_MESSAGES})
            diffs.compare("encode", {"model": name, "text": SENTENCE})
        diffs.assert_none()
        # Both features are native on every supported line: most names were answered natively.
        assert counted.calls - before[0] > 2 * len(names) and encoded.calls - before[1] > len(names) // 2
        assert counted.errors == 0 and encoded.errors == 0

    def test_no_model(self) -> None:
        """model=None, and no model at all, count and encode as litellm does."""
        diffs = Differences()
        for model in ({"model": None}, {}):
            diffs.compare("token_counter", {**model, "text": SENTENCE})
            diffs.compare("token_counter", {**model, "messages": MESSAGES})
            diffs.compare("encode", {**model, "text": SENTENCE})
        diffs.assert_none()


class TestRulesOf1109:
    """One probe per counting rule litellm 1.109 changed (litellm_versions.md §3.5), each on the
    same inputs for the patched function and litellm's own, so they hold on every litellm line."""

    MODELS = ("gpt-4o", "azure/gpt-4o", "openai/gpt-4o", "azure/eu/gpt-4o", "gpt-4", "gpt-6.2", "o9-mini",
              "claude-sonnet-4-5", "unknown-model")

    def _messages_calls(self, messages: list[Any], models: Iterable[str] = MODELS, **extra: Any) -> None:
        diffs = Differences()
        for model in models:
            for response in (False, True):
                diffs.compare("token_counter", {"model": model, "messages": messages,
                                                "count_response_tokens": response, **extra})
        diffs.assert_none()

    def test_encoding_name_strips_prefixes(self) -> None:
        """Provider and region prefixes, Azure-only names, unlisted gpt-5+/oN names and suffixed variants
        choose litellm's encoding, for counts and for encode."""
        diffs = Differences()
        bases = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4", "gpt-3.5-turbo", "gpt-35-turbo", "gpt-41",
                 "o1-mini", "o3", "text-embedding-ada-002-v2", "text-embedding-3-small", "gpt-5.9", "gpt-6.2",
                 "o9-mini", "o10", "gpt-10", "gpt-4o-2099-01-01", "davinci-002", "unknown-model")
        for base in bases:
            for prefix in (*PREFIXES, "azure/us/", "openai/azure/", "AZURE/"):
                model = prefix + base
                diffs.compare("token_counter", {"model": model, "text": "héllo wörld " + SENTENCE})
                diffs.compare("token_counter", {"model": model, "messages": MESSAGES})
                diffs.compare("encode", {"model": model, "text": SENTENCE})
        diffs.assert_none()

    def test_a_name_added_to_litellms_tables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A name added to azure_llms, open_ai_chat_completion_models or model_cost at run time counts
        with the encoding litellm then chooses for it."""
        cost_entry = {"mode": "chat", "litellm_provider": "azure"}
        for table, entry in (("azure_llms", {"my-deployment-x": "gpt-4"}),
                             ("model_cost", {"azure/my-deployment-y": cost_entry})):
            current = getattr(litellm, table)
            monkeypatch.setattr(litellm, table, {**current, **entry})
            name = next(iter(entry)).split("/")[-1]
            diffs = Differences()
            for model in (name, "azure/" + name, "openai/" + name):
                diffs.compare("token_counter", {"model": model, "text": SENTENCE})
                diffs.compare("token_counter", {"model": model, "messages": MESSAGES})
                diffs.compare("encode", {"model": model, "text": SENTENCE})
            diffs.assert_none()
        monkeypatch.setattr(litellm, "open_ai_chat_completion_models",
                            [*litellm.open_ai_chat_completion_models, "my-chat-z"])
        diffs = Differences()
        for model in ("my-chat-z", "azure/my-chat-z"):
            diffs.compare("token_counter", {"model": model, "messages": MESSAGES})
        diffs.assert_none()

    @pytest.mark.parametrize("tool_choice", [
        "none", "auto", "required", None, {"type": "none"}, {"type": "auto"}, {"name": "f"}, {"name": "東京"},
        {"name": 3}, {"name": None}, {"type": "function", "function": {"name": "f"}},
        {"type": "function", "function": {"name": "get_weather"}}, {"function": {"name": 7}},
        {"type": "function"}, {"function": "f"}, {}, "function",
    ], ids=repr)
    def test_tool_choice(self, tool_choice: Any) -> None:
        """Every tool_choice shape, with and without tools, counts (or raises) as litellm does."""
        models = (*self.MODELS, "grok-4.1", "grok-4.3", "deepseek-v4", "qwen3.5-72b")
        self._messages_calls(MESSAGES, models, tools=TOOLS, tool_choice=tool_choice)
        self._messages_calls(MESSAGES, ("gpt-4o", "azure/gpt-4o"), tool_choice=tool_choice)

    @pytest.mark.parametrize("text", [None, "", 0, "x", 12345, False], ids=repr)
    def test_text_block(self, text: Any) -> None:
        """A text block whose text is None, empty, 0 or another non-string counts as litellm counts it."""
        for content in ([{"type": "text", "text": text}],
                        [{"type": "text", "text": text}, {"type": "text", "text": "after"}],
                        [{"type": "text"}]):
            self._messages_calls([{"role": "user", "content": content}])

    @pytest.mark.parametrize("fields", [
        {"compaction_blocks": [{"type": "compaction", "content": "summary text"}]},
        {"compaction_blocks": [{"type": "compaction", "content": "summary text"},
                               {"type": "compaction", "content": "résumé 東京"}]},
        {"compaction_blocks": [{"type": "compaction", "content": ""}, {"type": "compaction", "content": None},
                               {"type": "other", "content": "not counted?"}, "not a dict", 5]},
        {"compaction_blocks": []}, {"compaction_blocks": "summary text"}, {"compaction_blocks": None},
        {"citations": [{"url": "https://example.test"}]}, {"thinking_blocks": [{"type": "thinking"}]},
        {}, None, "not a dict",
    ], ids=repr)
    def test_provider_specific_fields(self, fields: Any) -> None:
        """An assistant message with provider_specific_fields (compaction summaries or other fields), as a
        dict and as a litellm.Message, counts as litellm counts it."""
        message = {"role": "assistant", "content": "Done.", "provider_specific_fields": fields}
        self._messages_calls([{"role": "user", "content": "Go on."}, message])
        if isinstance(fields, dict):
            typed = litellm.Message(role="assistant", content="Done.", provider_specific_fields=fields)
            self._messages_calls([typed])

    @pytest.mark.parametrize("block", [
        {"type": "compaction", "content": "summary text"}, {"type": "compaction", "content": ""},
        {"type": "compaction", "content": None}, {"type": "compaction"},
        {"type": "compaction", "content": [{"type": "text", "text": "nested"}]},
        {"type": "compaction", "content": "résumé 東京", "extra": 1},
    ], ids=repr)
    def test_compaction_content_block(self, block: dict[str, Any]) -> None:
        """A "compaction" content block, alone and beside text, counts (or raises) as litellm does."""
        self._messages_calls([{"role": "assistant", "content": [block]}])
        self._messages_calls([{"role": "user", "content": [{"type": "text", "text": "hi"}, block]}])

    @pytest.mark.parametrize("image", ["png", "gif", "jpeg", "png-small", "png-tall", "not-an-image"])
    @pytest.mark.parametrize("detail", ["unset", "auto", "low", "high"])
    def test_inline_image(self, image: str, detail: str) -> None:
        """An inline data: image (1024x1024 PNG, GIF and JPEG headers, small and tall PNGs, bytes that are
        no image) with each detail counts as litellm prices it, with and without the default count."""
        data = {"png": data_url("image/png", png(1024, 1024)),
                "gif": data_url("image/gif", gif(1024, 1024)),
                "jpeg": data_url("image/jpeg", jpeg(1024, 1024)),
                "png-small": data_url("image/png", png(64, 48)),
                "png-tall": data_url("image/png", png(300, 4000)),
                "not-an-image": data_url("image/png", b"plain bytes")}[image]
        image_url: dict[str, Any] = {"url": data}
        if detail != "unset":
            image_url["detail"] = detail
        content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": image_url}]
        for default in (False, True):
            self._messages_calls([{"role": "user", "content": content}],
                                 use_default_image_token_count=default)
        if detail == "unset":
            self._messages_calls([{"role": "user", "content": [{"type": "image_url", "image_url": data}]}])

    @pytest.mark.parametrize("detail", ["unset", "auto", "low", "high"])
    def test_url_image_with_default_count(self, detail: str) -> None:
        """An https image URL with use_default_image_token_count=True (no fetch) counts as litellm's."""
        image_url: dict[str, Any] = {"url": "https://example.test/cat.png"}
        if detail != "unset":
            image_url["detail"] = detail
        content = [{"type": "image_url", "image_url": image_url}]
        self._messages_calls([{"role": "user", "content": content}], use_default_image_token_count=True)

    def test_url_image_detail_unset(self) -> None:
        """An https image URL, detail unset or auto (priced without a fetch), counts as litellm's."""
        url = "https://example.test/cat.png"
        for image_url in ({"url": url}, {"url": url, "detail": "auto"}, url):
            content = [{"type": "image_url", "image_url": image_url}]
            self._messages_calls([{"role": "user", "content": content}])

    DEEPSEEK = ("deepseek/deepseek-chat", "deepseek-chat", "deepseek-reasoner", "deepseek/deepseek-reasoner",
                "deepseek-chat:free", "deepseek-flash", "deepseek-v4", "deepseek-v3", "deepseek_chat_v3",
                "DeepSeek-V4", "openrouter/deepseek/deepseek-chat-v3.1", "deepseek-coder", "deepseek-v4.1")

    def test_deepseek_names(self) -> None:
        """DeepSeek names (litellm's bundled DeepSeek tokenizer from 1.109) count and encode as litellm's."""
        diffs = Differences()
        for model in self.DEEPSEEK:
            diffs.compare("token_counter", {"model": model, "text": SENTENCE})
            diffs.compare("token_counter", {"model": model, "messages": MESSAGES})
            diffs.compare("encode", {"model": model, "text": SENTENCE})
        diffs.assert_none()

    @pytest.mark.parametrize("model", [
        "qwen3.5-72b", "Qwen3_5-7B", "qwen3-72b", "deepseek-v4", "deepseek-v4.1", "deepseek/deepseek-chat",
        "deepseek-reasoner", "grok-4.1", "xai/grok-4-1", "grok-4.3", "grok-4"])
    def test_chat_template_tool_sections(self, model: str) -> None:
        """Tools for the models with a chat-template tool section (deepseek-v4, qwen3.5, grok-4.x), with
        and without a system message, strict true and false, and tool_choice, count as litellm's."""
        anthropic_style = [{"name": "get_weather", "description": "Weather", "input_schema": {
            "type": "object", "properties": {"city": {"type": "string"}}}}]
        without_system = MESSAGES[1:]
        for tools in (TOOLS, TOOLS[:1], anthropic_style, []):
            for messages in (MESSAGES, without_system):
                for tool_choice in (None, "auto", "none", CHOOSE_LOOKUP):
                    self._messages_calls(messages, (model,), tools=tools, tool_choice=tool_choice)
