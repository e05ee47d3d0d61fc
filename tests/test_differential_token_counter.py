"""litellm.token_counter patched vs litellm's own, on generated calls of every shape litellm accepts."""

from __future__ import annotations

import base64
import os
import random
import struct
import sys
import threading
import time
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

litellm = pytest.importorskip("litellm")

import fast_litellm  # noqa: E402
from _subprocess import run_python  # noqa: E402
from conftest import load_tiktoken, model_names, stand_in_gate  # noqa: E402
from fast_litellm.adapters.patching import get_original  # noqa: E402
from fast_litellm.control.gate import gate  # noqa: E402

MODELS = [
    "gpt-4o", "gpt-4o-mini", "gpt-4.1", "o1", "o3-mini", "gpt-4", "gpt-3.5-turbo", "gpt-35-turbo",
    "azure/gpt-4o", "openai/gpt-4o", "claude-3-5-sonnet-20240620", "claude-sonnet-4-5", "claude-opus-4-5",
    "claude-haiku-4-5", "claude-2", "unknown-model", "", None,
]
TEXTS = [
    "", "hi", "Hello, world! 12345.", "The quick brown fox jumps over the lazy dog. " * 3,
    "def f(x):\n    return x ** 2  # square\n\n\tpass\r\n", "    \n\n   \t  ", "中文测试，日本語のテキスト、한국어",
    "emoji 👩‍👩‍👧‍👦 👍🏽 🇯🇵 ❤️‍🔥", "العربية مَعَ الحَرَكَات और देवनागरी", "<|endoftext|> <|fim_prefix|>", "x\x00y",
    "a" * 1023 + "é" + "b" * 10, "日本" * 700, "word " * 400, " " * 1500 + "x", "ſ's CAN'T ǅ",
]


TOOLS_REQUEST = [
    {"role": "system", "content": "You are a weather bot."},
    {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Tokyo?"},
                                 {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}}]},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "東京"}'}},
        {"id": "c3", "type": "function", "function": {"name": "search", "arguments": '{"q": "weather"}'}}]},
    {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 21, "sky": "clear"}'},
    {"role": "tool", "tool_call_id": "c2", "content": '{"temp": 17, "sky": "rain"}'},
    {"role": "tool", "tool_call_id": "c3", "content": "Sunny spells."},
    {"role": "assistant", "content": "Paris is clear at 21C; Tokyo has rain at 17C.", "name": "bot"},
]


def png_data_url(width: int, height: int) -> str:
    """A data: URL holding a PNG header of the given size (enough for litellm to read it)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return "data:image/png;base64," + base64.b64encode(png).decode()


class Generator:
    """Seeded random token_counter calls: messages, tools, tool_choice, text, images, odd shapes."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def text(self) -> str:
        r = self.r
        if r.random() < 0.15:
            return "".join(r.choice(TEXTS) for _ in range(r.randint(2, 6)))
        return r.choice(TEXTS)

    def image_block(self) -> Any:
        r = self.r
        detail = r.choice(["low", "auto", "high", None, "ultra"])
        url = r.choice([png_data_url(r.randint(1, 4000), r.randint(1, 4000)), "https://example.com/cat.png", ""])
        if detail == "high" and url.startswith("https"):
            url = png_data_url(512, 512)  # never make litellm fetch over the network
        if r.random() < 0.2:
            return {"type": "image_url", "image_url": url or "  "}
        image: dict[str, Any] = {"url": url}
        if detail is not None:
            image["detail"] = detail
        return {"type": "image_url", "image_url": image}

    def content(self) -> Any:
        r = self.r
        roll = r.random()
        if roll < 0.55:
            return self.text()
        if roll < 0.6:
            return None
        blocks: list[Any] = []
        for _ in range(r.randint(0, 4)):
            kind = r.random()
            if kind < 0.4:
                blocks.append({"type": "text", "text": self.text()})
            elif kind < 0.55:
                blocks.append(self.text())
            elif kind < 0.75:
                blocks.append(self.image_block())
            elif kind < 0.83:
                blocks.append({"type": r.choice(["thinking", "redacted_thinking"]), "thinking": self.text(),
                               "signature": "sig"})
            elif kind < 0.88:
                blocks.append({"type": "tool_reference", "tool_name": r.choice(["get_weather", "", None])})
            elif kind < 0.93:
                blocks.append({"type": "bogus"})
            elif kind < 0.96:
                blocks.append({"text": "no type"})
            else:
                blocks.append({"type": "text", "text": 12345})
        return blocks

    def tool_call(self) -> Any:
        r = self.r
        args = r.choice(['{"city": "Paris"}', "", {"city": "Paris"}, None, '{"q": "日本"}'])
        call: dict[str, Any] = {"id": f"call_{r.randint(0, 999)}", "type": "function",
                                "function": {"name": "get_weather"}}
        if args is not None:
            call["function"]["arguments"] = args
        if r.random() < 0.03:
            del call["function"]
        return call

    def message(self) -> Any:
        r = self.r
        message: dict[str, Any] = {"role": r.choice(["system", "user", "assistant", "tool", "developer"]),
                                   "content": self.content()}
        if r.random() < 0.2:
            message["name"] = r.choice(["bob", "alice_2", "日本"])
        if r.random() < 0.15:
            message["tool_calls"] = [self.tool_call() for _ in range(r.randint(0, 3))]
        if r.random() < 0.05:
            message["function_call"] = {"name": "f", "arguments": r.choice(['{"a": 1}', "x"])}
        if r.random() < 0.1:
            message["tool_call_id"] = f"call_{r.randint(0, 99)}"
        if r.random() < 0.05:
            message["custom_field"] = r.choice([self.text(), 7, {"a": 1}, ["x"]])
        if r.random() < 0.02:
            message["tool_calls"] = "not a list"
        if r.random() < 0.03:
            return litellm.Message(role="assistant", content=self.text() if r.random() < 0.8 else None)
        return message

    def tools(self) -> Any:
        r = self.r
        props = {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer"},
            "flags": {"type": "array", "items": {"type": "boolean"}},
            "nested": {"type": "object", "properties": {"x": {"type": "number", "enum": [1, 2]}}},
        }
        chosen = dict(r.sample(sorted(props.items()), r.randint(0, len(props))))
        tool = {"type": "function", "function": {"name": r.choice(["get_weather", "search"]),
                                                 "description": self.text()[:60],
                                                 "parameters": {"type": "object", "properties": chosen,
                                                                "required": list(chosen)[:1]}}}
        return [tool for _ in range(r.randint(1, 3))]

    def call(self) -> dict[str, Any]:
        r = self.r
        kwargs: dict[str, Any] = {"model": r.choice(MODELS)}
        if r.random() < 0.2:
            kwargs["text"] = r.choice([self.text(), [self.text(), 5, self.text()], []])
            if r.random() < 0.03:
                kwargs["messages"] = [{"role": "user", "content": "x"}]
            if r.random() < 0.03:
                kwargs["tools"] = self.tools()
        else:
            kwargs["messages"] = [self.message() for _ in range(r.randint(0, 6))]
            if r.random() < 0.3:
                kwargs["tools"] = self.tools()
            if r.random() < 0.3:
                kwargs["tool_choice"] = r.choice(["auto", "none", "required", None,
                                                  {"type": "function", "function": {"name": "get_weather"}},
                                                  {"type": "function"}])
            if r.random() < 0.15:
                kwargs["count_response_tokens"] = r.choice([True, None, False])
        if r.random() < 0.2:
            kwargs["use_default_image_token_count"] = r.choice([True, False, None])
        if r.random() < 0.2:
            kwargs["default_token_count"] = r.choice([None, 0, 42])
        return kwargs


def outcome(func: Any, kwargs: dict[str, Any]) -> tuple[Any, ...]:
    try:
        return ("ok", func(**kwargs))
    except Exception as exc:  # noqa: BLE001 - comparing exceptions is the point
        return ("raised", type(exc), str(exc))


@pytest.fixture(autouse=True)
def accelerated() -> Any:
    """Each test runs with the token_counter feature enabled and its stats zeroed."""
    fast_litellm.reload_flags()
    fast_litellm.reset_errors()
    fast_litellm.apply_acceleration()
    gate("token_counter").stats.reset()
    yield


def rules_1109() -> bool:
    """The installed litellm counts with 1.109's rules."""
    return hasattr(sys.modules["litellm.litellm_core_utils.token_counter"], "_count_tool_choice")


def original() -> Any:
    """litellm's core token_counter: pure litellm (its utils wrapper calls the core through a cache
    slot that is patched too, so it is not a clean reference while acceleration is applied)."""
    return get_original("litellm.litellm_core_utils.token_counter", "token_counter")


class TestDifferential:
    @pytest.mark.parametrize("seed", range(8))
    def test_generated_calls(self, seed: int) -> None:
        """2,600 generated calls per seed: patched litellm.token_counter == litellm's own (value or exception)."""
        assert litellm.token_counter.__fast_litellm__
        gen = Generator(seed)
        for _ in range(2600):
            kwargs = gen.call()
            expected = outcome(original(), kwargs)
            assert outcome(litellm.token_counter, kwargs) == expected, kwargs
        stats = gate("token_counter").stats
        assert stats.native.calls > 1000  # the native path answered most of them
        assert stats.native.errors == 0

    @pytest.mark.parametrize("model", MODELS)
    def test_every_model_on_a_tools_request(self, model: str | None) -> None:
        """A request with tool calls, a tool result, an image, tools and tool_choice counts the same for every model."""
        kwargs = {"model": model, "messages": TOOLS_REQUEST, "tools": Generator(7).tools(),
                  "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}
        before = gate("token_counter").stats.native.calls
        assert litellm.token_counter(**kwargs) == original()(**kwargs)
        native = gate("token_counter").stats.native.calls > before
        # Every name is native: tiktoken models, and Claude names that select litellm's bundled
        # Anthropic tokenizer (claude-2 is not in litellm 1.106's anthropic_models: cl100k).  From
        # 1.109 a None model is litellm's (its HuggingFace check raises and logs a warning first).
        assert native or (model is None and rules_1109())

    def test_all_aliases_count_the_same(self) -> None:
        """Every patched alias (utils wrapper, core function, lazy cache) gives litellm's count."""
        from litellm.litellm_core_utils import token_counter as core_module

        kwargs = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello " * 500}]}
        fast_litellm.remove_acceleration()
        expected = litellm.utils.token_counter(**kwargs)
        fast_litellm.apply_acceleration()
        assert original()(**kwargs) == expected
        for func in (litellm.token_counter, litellm.utils.token_counter, core_module.token_counter,
                     sys.modules["litellm.llms.openai.common_utils"].token_counter):
            assert func.__fast_litellm__ and func(**kwargs) == expected

    def test_chunk_boundaries(self) -> None:
        """Strings around 1024 code points, with multi-byte characters at the cut, count as litellm slices them."""
        for n in (1022, 1023, 1024, 1025, 2047, 2048, 2049, 5000):
            for filler in ("a", "é", "日", "😀", " ", "ab "):
                text = (filler * n)[:n] + "tail"
                for model in ("gpt-4o", "gpt-4"):
                    assert litellm.token_counter(model=model, text=text) == original()(model=model, text=text)

    @given(st.lists(st.lists(st.tuples(st.sampled_from(["a", "é", "日", "😀", "ab", "\x00"]),
                                       st.integers(min_value=1, max_value=30)), max_size=12)
                    .map(lambda runs: "".join(c * k for c, k in runs)), max_size=4),
           st.integers(min_value=1, max_value=40))
    def test_slices_of_any_width(self, texts: list[str], chunk: int) -> None:
        """The native slicing (8 bytes at a time, then byte by byte) cuts every text of a request
        after each `chunk` code points, as litellm's Python slicing does, for any mix of 1-4 byte
        characters; counted against tiktoken's count of each Python slice.  The texts are runs
        of one letter or character, so a cut one character off changes the count."""
        from fast_litellm.adapters.token_counter import _vocab

        tt = load_tiktoken("cl100k_base")
        blob = b"\xff".join(t.encode() for t in texts)
        expected = sum(len(tt.encode_ordinary(t[i:i + chunk])) for t in texts for i in range(0, len(t), chunk))
        assert _vocab("cl100k_base").count_chunked(blob, chunk) == expected

    @given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=3000),
           st.sampled_from(["gpt-4o", "gpt-3.5-turbo", "azure/gpt-4o", None]))
    def test_any_text(self, text: str, model: str | None) -> None:
        """Any string, lone surrogates included, counts as litellm counts it."""
        assert outcome(litellm.token_counter, {"model": model, "text": text}) == outcome(
            original(), {"model": model, "text": text})
        messages = [{"role": "user", "content": text}]
        assert outcome(litellm.token_counter, {"model": model, "messages": messages}) == outcome(
            original(), {"model": model, "messages": messages})

    def test_over_the_exact_limit_goes_to_litellm(self) -> None:
        """A string above litellm's exact-count limit is litellm's own sampled estimate."""
        text = "word " * 900_000
        assert litellm.token_counter(model="gpt-4o", text=text) == original()(model="gpt-4o", text=text)
        assert gate("token_counter").stats.fallbacks["not_covered"] >= 1

    def test_disable_token_counter(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """litellm.disable_token_counter makes the patched function return 0, as litellm's does."""
        monkeypatch.setattr(litellm, "disable_token_counter", True)
        assert litellm.token_counter(model="gpt-4o", text="hello") == 0


class TestNativeMessageWalk:
    """native/pymessages.c walks the common request (dicts of str values) and counts it in one
    call; every other shape is left to the Python walk.  Both sides are checked: what it takes is
    counted as litellm counts it, and what it must not take is refused (then litellm's answer)."""

    MODELS = ("gpt-4o", "gpt-4", "gpt-3.5-turbo", "azure/gpt-4o", "claude-sonnet-4-5", "unknown-model", "")

    @staticmethod
    def _vocabs() -> list[tuple[Any, int, bool]]:
        from fast_litellm.adapters.token_counter import _vocab
        from fast_litellm.tokenizer.anthropic import _WHOLE, get_anthropic_tokenizer

        anthropic = get_anthropic_tokenizer()._vocab
        return [(_vocab("o200k_base"), 1024, False), (_vocab("cl100k_base"), 1024, False), (anthropic, _WHOLE, True)]

    TAKEN: list[Any] = [
        [],
        [{"role": "user", "content": "Hello, how are you today?"}],
        [{"role": "system", "content": ""}, {"role": "user", "content": "hi", "name": "alice"}],
        [{"role": "assistant", "content": None}, {}, {"content": "x", "role": None}],
        [{"role": "user", "content": "word " * 700, "name": "n"}],  # slices of 1024 characters
        [{"role": "user", "content": "a" * 1024}, {"role": "user", "content": "b" * 1025}],
        [{"role": "tool", "tool_call_id": "c1", "content": '{"temp": 21}'}],
        [{"role": "user", "content": "x\x00y |endoftext| \t\r\n"}],
        [{"zzz": "any key", "role": "user"}] * 40 + [{"role": "user", "content": "many strings"}] * 40,
    ]
    REFUSED: list[Any] = [
        ({"role": "user", "content": "hi"},),  # a tuple
        [{"role": "user", "content": "\ud800"}],  # a lone surrogate
        [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        [{"role": "assistant", "tool_calls": "[]"}],
        [{"role": "assistant", "function_call": "f"}],
        [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}],
        [{"role": "user", "content": 5}],
        [{1: "x", "role": "user"}],
        [litellm.Message(role="user", content="hi")],
        [{"role": "user", "content": "hi"}, "not a dict"],
    ]

    def test_taken_shapes_count_like_litellm(self) -> None:
        for messages in self.TAKEN:
            for vocab, chunk, no_lt in self._vocabs():
                assert vocab.count_messages(messages, chunk, 4_000_000, no_lt) is not None, messages
            for model in self.MODELS:
                for response in (False, True):
                    kwargs = {"model": model, "messages": messages, "count_response_tokens": response}
                    assert litellm.token_counter(**kwargs) == original()(**kwargs), kwargs

    # Not ASCII: the tiktoken vocabularies take them (UTF-8 made in a buffer of the walk's own), the
    # Anthropic tokenizer's NFKC is the Python path's.  Latin-1, 2-byte and 4-byte str kinds, across
    # litellm's 1024-code-point slices, in names.
    NON_ASCII: list[Any] = [
        [{"role": "user", "content": "héllo"}],
        [{"role": "user", "content": "Café © 2026 — naïve résumé", "name": "zoë"}],
        [{"role": "user", "content": "東京の天気は。 👋🏽 نعم"}, {"role": "assistant", "content": "ok"}],
        [{"role": "user", "content": "é" * 1030}, {"role": "user", "content": "a" * 1023 + "東京" + "b" * 1500}],
        [{"role": "user", "content": "a" * 1022 + "👋🏽👋🏽" + "c" * 10}, {"role": "user", "content": "\u2028x"}],
    ]

    # Characters the tokenizers library's NFKC changes (a ligature, a combining mark, a fraction,
    # NBSP) and added tokens: the Anthropic tokenizer leaves these to the Python path.
    ANTHROPIC_PYTHON: list[Any] = [
        [{"role": "user", "content": "\ufb01ne"}],
        [{"role": "user", "content": "e\u0301 and more"}],
        [{"role": "user", "content": "caf\u00e9 \u00bd"}, {"role": "user", "content": "ok"}],
        [{"role": "user", "content": "x\u00a0y"}],
        [{"role": "user", "content": "naïve <META> text"}],
    ]

    def test_non_ascii_strings_are_taken_by_tiktoken_vocabularies(self) -> None:
        """Stable non-ASCII text is taken by every vocabulary; text NFKC changes (or with an added
        token) by the tiktoken ones only."""
        for messages in self.NON_ASCII + self.ANTHROPIC_PYTHON:
            python_path = messages in self.ANTHROPIC_PYTHON
            for vocab, chunk, no_lt in self._vocabs():
                taken = vocab.count_messages(messages, chunk, 4_000_000, no_lt)
                assert (taken is None) is (no_lt and python_path), messages
            for model in self.MODELS:
                for response in (False, True):
                    kwargs = {"model": model, "messages": messages, "count_response_tokens": response}
                    assert litellm.token_counter(**kwargs) == original()(**kwargs), kwargs

    def test_non_ascii_in_names_tool_arguments_and_blocks(self) -> None:
        """Non-ASCII (stable or not, at the start, middle and end, over a slice boundary) in a name,
        tool-call arguments, a text block and tool_choice: litellm's counts, through the Python walk."""
        texts = ["Ünïcode ﬁne e\u0301", "東京" + "x" * 1023 + "…", "naïve ½ ", "\u00a0"]
        for text in texts:
            messages = [
                {"role": "system", "content": text, "name": "zoë"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": f'{{"q": "{text}"}}'}}]},
                {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": text}]},
            ]
            for model in self.MODELS:
                for extra in ({}, {"tool_choice": {"type": "function", "function": {"name": "fé"}}}):
                    kwargs = {"model": model, "messages": messages, **extra}
                    assert outcome(litellm.token_counter, kwargs) == outcome(original(), kwargs), kwargs

    def test_non_ascii_leaves_no_utf8_in_the_callers_str(self) -> None:
        """CPython keeps a str's UTF-8 once made through its own API; the walk makes its own copy."""
        o200k, _, _ = self._vocabs()[0]
        text = "".join(["naïve ", "東京 ", str(random.random())])
        size = sys.getsizeof(text)
        assert o200k.count_messages([{"role": "user", "content": text}], 1024, 4_000_000) is not None
        assert sys.getsizeof(text) == size
        text.encode("utf-8", "strict")  # (encode() makes bytes and leaves the str as it was, too)
        assert sys.getsizeof(text) == size

    def test_refused_shapes_are_litellms(self) -> None:
        class Text(str):
            pass

        refused = [*self.REFUSED, [{"role": "user", "content": Text("hi")}], [{"role": Text("user"), "content": "x"}]]
        for messages in refused:
            for vocab, chunk, no_lt in self._vocabs():
                assert vocab.count_messages(messages, chunk, 4_000_000, no_lt) is None, messages
            for model in self.MODELS:
                kwargs = {"model": model, "messages": messages}
                assert outcome(litellm.token_counter, kwargs) == outcome(original(), kwargs), kwargs

    def test_limits_and_anthropic_added_tokens(self) -> None:
        """A string over the exact limit is refused (litellm estimates it); "<" before an uppercase
        letter only for the Anthropic tokenizer, whose added tokens start so."""
        o200k, _, _ = self._vocabs()[0]
        long = [{"role": "user", "content": "a" * 101}]
        assert o200k.count_messages(long, 1024, 100) is None
        assert o200k.count_messages(long, 1024, 101) is not None
        tagged = [{"role": "user", "content": "<EOT> a < b"}]
        assert o200k.count_messages(tagged, 1024, 1000) is not None
        assert o200k.count_messages(tagged, 1024, 1000, no_lt=True) is None
        untagged = [{"role": "user", "content": "a < b, <eot>, x<1 and <"}]  # no "<" before A-Z
        assert o200k.count_messages(untagged, 1024, 1000, no_lt=True) is not None
        for model in ("claude-sonnet-4-5", "gpt-4o"):
            assert litellm.token_counter(model=model, messages=untagged) == original()(model=model, messages=untagged)
        for model in ("claude-sonnet-4-5", "gpt-4o"):
            assert litellm.token_counter(model=model, messages=tagged) == original()(model=model, messages=tagged)

    def test_large_requests_release_the_gil(self) -> None:
        """A walk whose strings reach 64 KB counts without the GIL: another thread runs meanwhile.

        The switch interval is raised to 30 s for the test, so the other thread (which gives the GIL
        back at once on every tick) can run only when the counting thread releases the GIL; the
        counts repeat (up to 50 times) until a tick is seen, so a busy machine, whose scheduler may
        not run the other thread during one count, does not fail it.  Without the release no tick
        can come in 50 counts."""
        from fast_litellm.adapters.token_counter import _vocab

        vocab = _vocab("o200k_base")
        messages = [{"role": "user", "content": "The quick brown fox. " * 50_000}]
        ticks = [0]
        done = threading.Event()

        def tick() -> None:
            while not done.is_set():
                ticks[0] += 1
                time.sleep(0)  # gives the GIL back at once

        interval = sys.getswitchinterval()
        sys.setswitchinterval(30)
        thread = threading.Thread(target=tick)
        thread.start()
        try:
            before = ticks[0]
            for _ in range(50):
                vocab.count_messages(messages, 1024, 4_000_000)
                if ticks[0] > before:
                    break
            during = ticks[0] - before
        finally:
            done.set()
            thread.join()
            sys.setswitchinterval(interval)
        assert during > 0
        assert litellm.token_counter(model="gpt-4o", messages=messages) == original()(model="gpt-4o", messages=messages)


class TestCEntry:
    """native/pymessages.c's entry answers the common request in C: the gate's untimed path,
    litellm's model functions (reproduced while litellm holds the 1.106 ones, called otherwise) and
    the count.  Each test drives an entry of its own, bound to a stand-in gate that is always in
    the untimed path, so every call reaches the C code."""

    # Counted differently by the Anthropic tokenizer, o200k and cl100k.
    MESSAGES = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "x = [i**2 for i in range(100)]; print(sum(x)) //// \\\\ " * 3, "name": "al"}]

    @staticmethod
    def entry() -> Any:
        from fast_litellm.adapters.token_counter import _entry
        from fast_litellm.control.monitor import SAMPLES

        litellm.token_counter(model="gpt-4o", messages=[])  # the Python path loads litellm's modules
        fake, stats = stand_in_gate()
        call = _entry(fake)

        def run(model: Any, messages: Any, response: Any = False) -> Any:
            stats.calls = SAMPLES + 1
            return call(model, messages, None, None, response, None, None)

        run.gate, run.stats, run.call = fake, stats, call  # type: ignore[attr-defined]
        return run

    def _check_names(self, entry: Any) -> int:
        """Every name: the entry's count is litellm's, or None exactly where litellm's own
        HuggingFace tokenizers (llama, command-r) count.  Returns how many the entry answered."""
        kind_of = litellm.utils.huggingface_tokenizer_kind
        answered = 0
        for name in model_names():
            if kind_of(name) not in (None, "anthropic"):
                assert entry(name, self.MESSAGES) is None, name
                continue
            expected = original()(model=name, messages=self.MESSAGES)
            litellm.token_counter(model=name, messages=self.MESSAGES)  # the Python path loads the vocabulary
            got = entry(name, self.MESSAGES)
            assert got == expected, name
            answered += 1
        return answered

    @pytest.mark.usefixtures("with_model_rules")
    def test_every_model_name_counts_like_litellm(self) -> None:
        """Thousands of names (litellm's tables, their variants, llama and command-r names,
        non-ASCII and over-long ones): litellm's count, through the reproduced model functions."""
        assert self._check_names(self.entry()) > 2000

    @pytest.mark.usefixtures("without_model_rules")
    def test_without_the_reproduction_litellms_functions_are_called(self) -> None:
        """Another litellm's model functions (no rules): the entry calls them, with the same counts."""
        assert self._check_names(self.entry()) > 2000

    def test_the_source_of_litellms_model_functions_is_checked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from fast_litellm.adapters.token_counter import model_rules_codes

        module = sys.modules["litellm.litellm_core_utils.token_counter"]
        assert model_rules_codes(litellm.utils, module) is not None

        def _fix_model_name(model: str) -> str:
            return model

        monkeypatch.setattr(module, "_fix_model_name", _fix_model_name)
        assert model_rules_codes(litellm.utils, module) is None

    @pytest.mark.parametrize("target", ["huggingface_tokenizer_kind", "uses_anthropic_tokenizer", "_fix_model_name"])
    def test_replaced_model_functions_are_called(self, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
        """A model function replaced at run time is what decides, as in the Python path."""
        entry = self.entry()
        litellm.token_counter(model="claude-sonnet-4-5", messages=self.MESSAGES)  # loads the Anthropic tokenizer
        litellm.token_counter(model="gpt-4o", messages=self.MESSAGES)
        anthropic = entry("claude-sonnet-4-5", self.MESSAGES)
        o200k = entry("gpt-4o", self.MESSAGES)
        assert anthropic is not None and o200k is not None and anthropic != o200k
        module = sys.modules["litellm.litellm_core_utils.token_counter"]
        if target == "huggingface_tokenizer_kind":
            monkeypatch.setattr(litellm.utils, target, lambda model: "llama3")
            assert entry("gpt-4o", self.MESSAGES) is None  # litellm's Llama tokenizer: not ours
        elif target == "uses_anthropic_tokenizer":
            monkeypatch.setattr(litellm.utils, target, lambda model: True)
            assert entry("gpt-4o", self.MESSAGES) == anthropic
        else:
            monkeypatch.setattr(module, target, lambda model: "gpt-4o")
            if rules_1109():  # the names' encodings are found afresh, by the Python path
                assert entry("unknown-model", self.MESSAGES) is None
                litellm.token_counter(model="unknown-model", messages=self.MESSAGES)
            assert entry("unknown-model", self.MESSAGES) == o200k
        monkeypatch.undo()
        if rules_1109():
            litellm.token_counter(model="gpt-4o", messages=self.MESSAGES)
        assert entry("gpt-4o", self.MESSAGES) == o200k

    def test_litellms_tables_are_read_on_every_call(self, monkeypatch: pytest.MonkeyPatch) -> None:
        entry = self.entry()
        litellm.token_counter(model="claude-sonnet-4-5", messages=self.MESSAGES)
        claude = entry("claude-sonnet-4-5", self.MESSAGES)
        # litellm 1.106's tables hold no claude-3 and no command-r name: add some, with case changes.
        monkeypatch.setattr(litellm, "anthropic_models",
                            {*litellm.anthropic_models, "my-new-model", "claude-3-5-sonnet-20240620", "CLAUDE-3-X"})
        monkeypatch.setattr(litellm, "cohere_models", {*litellm.cohere_models, "my-command-r", "Command-R"})
        assert entry("my-new-model", self.MESSAGES) == claude == original()(model="my-new-model", messages=self.MESSAGES)
        assert entry("my-command-r", self.MESSAGES) is None  # litellm's Cohere tokenizer
        for name in ("claude-3-5-sonnet-20240620", "CLAUDE-3-X", "Command-R"):
            litellm.token_counter(model=name, messages=self.MESSAGES)
            assert entry(name, self.MESSAGES) == original()(model=name, messages=self.MESSAGES), name
        assert entry("claude-3-5-sonnet-20240620", self.MESSAGES) != claude
        monkeypatch.setattr(litellm, "azure_llms", {**litellm.azure_llms, "my-35-model": "x"})
        assert entry("my-35-model", self.MESSAGES) is None  # "my-3.5-model": no vocabulary until the Python path
        litellm.token_counter(model="my-35-model", messages=self.MESSAGES)
        assert entry("my-35-model", self.MESSAGES) == original()(model="my-35-model", messages=self.MESSAGES)
        monkeypatch.setattr(litellm, "disable_token_counter", True)
        assert entry("gpt-4o", self.MESSAGES) is None

    def test_the_remembered_backend_is_checked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The catalog objects behind the remembered Python backend are compared on every Claude call."""
        entry = self.entry()
        litellm.token_counter(model="claude-sonnet-4-5", messages=self.MESSAGES)
        claude = entry("claude-sonnet-4-5", self.MESSAGES)
        assert claude is not None
        backend = type("Decision", (), {"name": "RUST_REQUIRED"})()
        monkeypatch.setattr(litellm.utils, "_huggingface_tokenizer_backend", lambda: backend)
        assert entry("claude-sonnet-4-5", self.MESSAGES) is None
        monkeypatch.undo()
        assert entry("claude-sonnet-4-5", self.MESSAGES) == claude

    def test_gate_states_decline(self) -> None:
        """Only the gate's untimed fast path is the entry's: anything else goes to the Python path."""
        from fast_litellm.control.monitor import SAMPLE_EVERY, SAMPLES

        entry = self.entry()
        litellm.token_counter(model="gpt-4o", messages=self.MESSAGES)
        expected = original()(model="gpt-4o", messages=self.MESSAGES)
        call, stats = entry.call, entry.stats
        args = ("gpt-4o", self.MESSAGES, None, None, False, None, None)
        for calls in (0, SAMPLES - 1, SAMPLES, SAMPLES + SAMPLE_EVERY):  # timed calls
            stats.calls = calls
            assert call(*args) is None and stats.calls == calls
        stats.calls = SAMPLES + 3
        assert call(*args) == expected and stats.calls == SAMPLES + 4  # counted, as the gate counts
        assert call("gpt-4o", self.MESSAGES, None, None, True, None, None) == expected - 3
        entry.gate.all_native = False
        assert call(*args) is None
        entry.gate.all_native = True
        entry.gate.breaker.clean = False
        assert call(*args) is None
        entry.gate.breaker.clean = True
        for other in (("x", None, None, None), (None, "text", None, None), (None, None, [], None),
                      (None, None, None, "auto")):
            custom, text, tools, choice = other
            assert call("gpt-4o", self.MESSAGES, custom, text, False, tools, choice) is None
        assert call("gpt-4o", tuple(self.MESSAGES), None, None, False, None, None) is None
        assert call(None, self.MESSAGES, None, None, False, None, None) is None
        with pytest.raises(TypeError):
            call("gpt-4o", self.MESSAGES)

    def test_exceptions(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An Exception in litellm's code declines (the Python path meets it again); KeyboardInterrupt propagates."""
        entry = self.entry()

        def broken(model: str) -> None:
            raise ValueError("broken")

        monkeypatch.setattr(litellm.utils, "huggingface_tokenizer_kind", broken)
        assert entry("gpt-4o", self.MESSAGES) is None

        def interrupted(model: str) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(litellm.utils, "huggingface_tokenizer_kind", interrupted)
        with pytest.raises(KeyboardInterrupt):
            entry("gpt-4o", self.MESSAGES)

    def test_installed_wrapper_takes_the_entry(self) -> None:
        """Once the gate times one call in SAMPLE_EVERY, litellm.token_counter answers through the
        entry: the stats count those calls, and the counts are litellm's."""
        from fast_litellm.control.monitor import SAMPLES

        stats = gate("token_counter").stats.native
        for name in ("gpt-4o", "gpt-3.5-turbo", "claude-sonnet-4-5", "azure/gpt-4o", ""):
            expected = original()(model=name, messages=self.MESSAGES)
            litellm.token_counter(model=name, messages=self.MESSAGES)  # loads the vocabulary
            stats.calls = SAMPLES + 1
            timed = stats.timed
            called: list[str] = []  # the Python functions the call runs

            def profile(frame: Any, event: str, arg: Any) -> None:
                if event == "call":
                    called.append(frame.f_code.co_name)  # noqa: B023 - read before the next name

            sys.setprofile(profile)
            try:
                got = litellm.token_counter(model=name, messages=self.MESSAGES)
            finally:
                sys.setprofile(None)
            assert got == expected, name
            assert stats.calls == SAMPLES + 2 and stats.timed == timed, name
            assert called == ["token_counter"], (name, called)  # the wrapper only: no Python path


class TestConcurrency:
    def test_eight_threads(self) -> None:
        """8 threads counting at once get litellm's counts."""
        calls = [Generator(1000 + i).call() for i in range(400)]
        expected = [outcome(original(), kwargs) for kwargs in calls]
        errors: list[Any] = []
        barrier = threading.Barrier(8)

        def worker(offset: int) -> None:
            barrier.wait()
            for i in range(len(calls)):
                j = (i + offset * 50) % len(calls)
                got = outcome(litellm.token_counter, calls[j])
                if got != expected[j]:
                    errors.append((calls[j], got, expected[j]))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
    def test_forked_child_counts_the_same(self) -> None:
        """A child forked after native counting has started counts exactly, with threads running in the parent."""
        result = run_python(
            """
            import json, os, threading, fast_litellm, litellm
            from fast_litellm.adapters.patching import get_original
            msgs = [{"role": "user", "content": "hello world " * 300}]
            first = litellm.token_counter(model="gpt-4o", messages=msgs)
            stop = threading.Event()
            def spin():
                while not stop.is_set():
                    litellm.token_counter(model="gpt-4", messages=msgs)
            threads = [threading.Thread(target=spin) for _ in range(4)]
            for t in threads: t.start()
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                counts = [litellm.token_counter(model="gpt-4o", messages=msgs) for _ in range(200)]
                os.write(w, json.dumps(counts[-1]).encode()); os._exit(0)
            os.waitpid(pid, 0); stop.set()
            for t in threads: t.join()
            child = json.loads(os.read(r, 100))
            core = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
            print(json.dumps({"first": first, "child": child, "original": core(model="gpt-4o", messages=msgs)}))
            """
        )
        assert result["first"] == result["child"] == result["original"]


class TestMessagesReachTokenCount:
    @pytest.mark.parametrize("seed", range(3))
    def test_generated(self, seed: int) -> None:
        """messages_reach_token_count patched == litellm's own at thresholds around the true count."""
        core = get_original("litellm.litellm_core_utils.token_counter", "messages_reach_token_count")
        patched = sys.modules["litellm.litellm_core_utils.token_counter"].messages_reach_token_count
        assert patched.__fast_litellm__
        gen = Generator(500 + seed)
        for _ in range(500):
            kwargs = gen.call()
            messages = kwargs.get("messages") or [{"role": "user", "content": gen.text()}]
            model = kwargs["model"]
            tools = kwargs.get("tools")
            total = outcome(original(), {"model": model, "messages": messages, "tools": tools})
            base = total[1] if total[0] == "ok" else 50
            for threshold in (0, base - 1, base, base + 1, 10**9):
                args = {"model": model, "messages": messages, "threshold": threshold, "tools": tools}
                assert outcome(patched, args) == outcome(core, args), args

    def test_through_litellm_lazy_cache(self) -> None:
        """The function litellm.utils reaches through its lazy cache is the patched one, and exact."""
        reach = sys.modules["litellm._lazy_imports"].get_messages_reach_token_count()
        assert reach.__fast_litellm__
        messages = [{"role": "user", "content": "hello " * 300}]
        total = original()(model="gpt-4o", messages=messages)
        assert reach(model="gpt-4o", messages=messages, threshold=total) is True
        assert reach(model="gpt-4o", messages=messages, threshold=total + 1) is False


class TestFallbackPath:
    def test_fallback_is_tried_once(self) -> None:
        """An uncovered call falls back once: the patched core does not try native again inside litellm's wrapper."""
        stats = gate("token_counter").stats
        before_fallbacks, before_native = stats.fallbacks["not_covered"], stats.native.calls
        messages = [{"role": "user", "content": [{"type": "document", "source": {"type": "text", "data": "hi"}}]}]
        assert outcome(litellm.token_counter, {"model": "gpt-4o", "messages": messages}) == outcome(
            original(), {"model": "gpt-4o", "messages": messages})
        assert stats.fallbacks["not_covered"] == before_fallbacks + 1
        assert stats.native.calls == before_native

    def test_shadow_compares_with_pure_litellm(self) -> None:
        """In shadow mode the reference is litellm's own count (not native through the patched cache)."""
        from fast_litellm.adapters import token_counter as _litellm_token_counter

        fast_litellm.configure(token_counter="shadow")
        vocabs = _litellm_token_counter._vocabs_by_model
        saved = dict(vocabs)
        try:

            class OffByOne:
                def __init__(self, vocab: Any) -> None:
                    self.vocab = vocab

                def count_chunked(self, blob: bytes, chunk: int) -> int:
                    return int(self.vocab.count_chunked(blob, chunk)) + 1

                def count_messages(self, messages: Any, chunk: int, limit: int) -> int | None:
                    count = self.vocab.count_messages(messages, chunk, limit)
                    return None if count is None else count + 1

            vocabs["gpt-4o"] = OffByOne(_litellm_token_counter._vocab_for_model("gpt-4o"))
            messages = [{"role": "user", "content": "hello world"}]
            assert litellm.token_counter(model="gpt-4o", messages=messages) == original()(
                model="gpt-4o", messages=messages)
            assert gate("token_counter").stats.shadow_mismatches == 1
        finally:
            vocabs.clear()
            vocabs.update(saved)
            fast_litellm.reload_flags()


class TestTokenizerSelection:
    """The model decision reads litellm's state on every call; the HuggingFace backend is
    remembered only while litellm's catalog pins it to Python (see fast_litellm.adapters.backend)."""

    KWARGS = {"messages": [{"role": "user", "content": "Hello there, 日本"}],
              "tools": [{"type": "function", "function": {"name": "f", "description": "d"}}]}

    def _same(self, model: str) -> tuple[int, int]:
        """Patched == litellm's for ``model``; returns (native calls, not-covered fallbacks) added."""
        stats = gate("token_counter").stats
        calls, fallbacks = stats.native.calls, stats.fallbacks["not_covered"]
        kwargs = {"model": model, **self.KWARGS}
        assert outcome(litellm.token_counter, kwargs) == outcome(original(), kwargs)
        return stats.native.calls - calls, stats.fallbacks["not_covered"] - fallbacks

    def test_anthropic_python_backend_is_native(self) -> None:
        """A current Claude name on litellm's Python backend is counted natively."""
        assert self._same("claude-sonnet-4-5") == (1, 0)

    def test_rust_backend_goes_to_litellm(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With litellm's HuggingFace backend switched away from Python, Claude names are litellm's."""
        backend = type("Decision", (), {"name": "RUST_WITH_FALLBACK"})()
        monkeypatch.setattr(litellm.utils, "_huggingface_tokenizer_backend", lambda: backend)
        stats = gate("token_counter").stats
        calls, fallbacks = stats.native.calls, stats.fallbacks["not_covered"]
        litellm.token_counter(model="claude-sonnet-4-5", **self.KWARGS)
        assert (stats.native.calls - calls, stats.fallbacks["not_covered"] - fallbacks) == (0, 1)
        monkeypatch.undo()
        assert self._same("claude-sonnet-4-5") == (1, 0)  # switched back: native again

    @pytest.mark.parametrize("change", ["rules", "context", "backend", "opt_in_env", "opt_in_override"])
    def test_remembered_backend_follows_the_catalog(self, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
        """After a native Claude count has remembered litellm's Python backend, any change to what
        that decision depends on is seen by the next call, which answers as litellm's does."""
        import dataclasses

        from litellm.rust_bridge import catalog, configuration
        from litellm.rust_bridge import tokenizer as dispatch

        from fast_litellm.adapters.backend import hf_backend_is_python

        utils = litellm.utils
        assert self._same("claude-sonnet-4-5") == (1, 0)  # remembered now
        assert hf_backend_is_python(utils)
        rule = catalog.RouteRule(catalog.Route.TOKENIZER, configuration.Rollout.RUST_OPT_OUT,
                                 providers=frozenset({"huggingface"}))
        opt_in = dataclasses.replace(rule, rollout=configuration.Rollout.RUST_OPT_IN)
        if change == "rules":
            monkeypatch.setattr(catalog, "RULES", (rule, *catalog.RULES))
        elif change == "context":
            # OCR's rule is RUST_REQUIRED in the catalog.
            monkeypatch.setattr(dispatch, "HUGGINGFACE_CONTEXT", catalog.RouteContext(catalog.Route.OCR))
        elif change == "backend":
            backend = type("Decision", (), {"name": "RUST_REQUIRED"})()
            monkeypatch.setattr(utils, "_huggingface_tokenizer_backend", lambda: backend)
        else:
            monkeypatch.setattr(catalog, "RULES", (opt_in, *catalog.RULES))
            assert hf_backend_is_python(utils)  # opted out by default: Python, but not remembered
            if change == "opt_in_env":
                monkeypatch.setenv("LITELLM_RUST", "true")
            else:
                monkeypatch.setattr(configuration._CONFIGURATION, "override", True)
        assert utils._huggingface_tokenizer_backend().name != "PYTHON"  # the change took effect
        assert not hf_backend_is_python(utils)
        stats = gate("token_counter").stats
        calls = stats.native.calls
        litellm.token_counter(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}])
        assert stats.native.calls == calls  # litellm's own path answered
        monkeypatch.undo()
        assert self._same("claude-sonnet-4-5") == (1, 0)  # back to Python: native again

    def test_disabled_hf_download_counts_with_tiktoken(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """litellm.disable_hf_tokenizer_download makes every name a tiktoken count, natively."""
        monkeypatch.setattr(litellm, "disable_hf_tokenizer_download", True)
        assert self._same("claude-sonnet-4-5") == (1, 0)
        assert self._same("meta-llama/llama-3-8b") == (1, 0)

    def test_other_huggingface_tokenizers_are_litellms(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """llama names, and a Claude name added to litellm's table at run time, follow litellm."""
        from fast_litellm.adapters.token_counter import native_token_counter
        from fast_litellm.control.gate import NOT_COVERED

        for name in ("meta-llama/llama-3-8b", "replicate/llama-2-70b"):  # litellm's own HF tokenizers
            assert native_token_counter(name, None, "hello") is NOT_COVERED
        assert self._same("my-new-claude-model")[0] == 1  # not in anthropic_models: tiktoken
        monkeypatch.setattr(litellm, "anthropic_models", {*litellm.anthropic_models, "my-new-claude-model"})
        assert self._same("my-new-claude-model") == (1, 0)  # now litellm's Anthropic tokenizer, natively


@pytest.mark.skipif("not rules_1109()", reason="litellm before 1.109 picks the encoding from the fixed name")
class TestEncodingFollowsLitellmsTables:
    """From litellm 1.109 the encoding of a name depends on litellm's tables (the cost map and the
    OpenAI/Azure name sets): the native path remembers each name's encoding only while the tables
    are those it was found under."""

    MESSAGES = [{"role": "user", "content": "naïve café, 東京 and some words to count"}]
    ASCII = [{"role": "user", "content": "x = [i**2 for i in range(100)]; print(sum(x)) //// \\\\ " * 3}]

    def _both(self, name: str, messages: Any) -> tuple[Any, Any]:
        return litellm.token_counter(model=name, messages=messages), original()(model=name, messages=messages)

    def test_a_registered_model_changes_the_encoding(self) -> None:
        """register_model of an Azure chat entry moves a name from cl100k to o200k: counts follow,
        through the Python path and the C entry."""
        name = "my-gpt-thing-%d" % random.randrange(10**9)
        tc = sys.modules["litellm.litellm_core_utils.token_counter"]
        assert tc.openai_tokenizer_encoding_name(name) == "cl100k_base"
        for _ in range(3):
            ours, theirs = self._both(name, self.ASCII)
            assert ours == theirs
        entry = TestCEntry.entry()
        before = entry(name, self.ASCII)
        assert before == theirs
        litellm.register_model({f"azure/{name}": {"litellm_provider": "azure", "mode": "chat",
                                                  "supports_pdf_input": True, "input_cost_per_token": 0,
                                                  "output_cost_per_token": 0}})
        try:
            assert tc.openai_tokenizer_encoding_name(name) == "o200k_base"
            assert entry(name, self.ASCII) is None  # other tables: the Python path finds the encoding again
            ours, theirs = self._both(name, self.ASCII)
            assert ours == theirs != before
            assert entry(name, self.ASCII) == theirs
            ours, theirs = self._both(name, self.MESSAGES)
            assert ours == theirs
        finally:
            litellm.model_cost.pop(f"azure/{name}", None)
        ours, theirs = self._both(name, self.ASCII)
        assert ours == theirs == before

    def test_a_replaced_name_set_is_seen(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Adding a name to litellm.open_ai_chat_completion_models (in place) changes its encoding."""
        name = "gpt-4-my-%d" % random.randrange(10**9)
        first = self._both(name, self.ASCII)
        assert first[0] == first[1]
        monkeypatch.setattr(litellm, "azure_llms", {**litellm.azure_llms, name: name})
        again = self._both(name, self.ASCII)
        assert again[0] == again[1]
