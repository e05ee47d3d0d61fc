"""Patching litellm.encode / litellm.decode: where, when, and that nothing else changes."""

from __future__ import annotations

import threading
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

import fast_litellm  # noqa: E402
from _subprocess import run_python  # noqa: E402
from conftest import model_names, stand_in_gate  # noqa: E402
from fast_litellm.adapters import patching as _patching  # noqa: E402

SITES = ("litellm.utils.encode", "litellm.encode", "litellm.utils.decode", "litellm.decode")


@pytest.fixture(autouse=True)
def accelerated() -> Any:
    """Every test starts and ends with acceleration applied."""
    fast_litellm.apply_acceleration()
    yield
    fast_litellm.apply_acceleration()


def outcome(func: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """What a call returns, or the type and text of what it raises."""
    try:
        return ("ok", func(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - comparing exceptions is the point
        return ("raised", type(exc), str(exc))


def originals() -> tuple[Any, Any]:
    return _patching.get_original("litellm.utils", "encode"), _patching.get_original("litellm.utils", "decode")


class TestImportOrder:
    def test_import_before_litellm_patches_on_import(self) -> None:
        """Importing fast_litellm first does not import litellm, and patches it once it is imported."""
        result = run_python(
            """
            import json, sys
            import fast_litellm
            before = "litellm" in sys.modules
            import litellm
            status = fast_litellm.get_patch_status()
            print(json.dumps({"before": before, "patched": [k for k, v in status.items() if v["patched"] and v["feature"] == "tokenizer"],
                              "ids": litellm.encode(model="gpt-4o", text="hello world"),
                              "native": getattr(litellm.encode, "__fast_litellm__", False)}))
            """
        )
        assert result["before"] is False
        assert sorted(result["patched"]) == sorted(SITES)
        assert result["native"] is True
        assert result["ids"] == [15339, 1917]

    def test_import_after_litellm_patches_at_once(self) -> None:
        """Importing fast_litellm after litellm patches every site immediately."""
        result = run_python(
            """
            import json
            import litellm
            import fast_litellm
            status = fast_litellm.get_patch_status()
            print(json.dumps({"patched": [k for k, v in status.items() if v["patched"] and v["feature"] == "tokenizer"],
                              "native": getattr(litellm.decode, "__fast_litellm__", False)}))
            """
        )
        assert sorted(result["patched"]) == sorted(SITES)
        assert result["native"] is True

    @pytest.mark.parametrize("env", [{"FAST_LITELLM_ENABLED": "false"}, {"FAST_LITELLM_ENABLED": "0"},
                                     {"FAST_LITELLM_TOKENIZER": "off"}])
    def test_switches_leave_litellm_unpatched(self, env: dict[str, str]) -> None:
        """The kill switch and the tokenizer switch leave litellm's own functions in place."""
        result = run_python(
            """
            import json
            import fast_litellm, litellm, litellm.utils
            print(json.dumps({"patched": [k for k, v in fast_litellm.get_patch_status().items() if v["patched"] and v["feature"] == "tokenizer"],
                              "native": getattr(litellm.encode, "__fast_litellm__", False),
                              "same": litellm.encode is litellm.utils.encode}))
            """,
            **env,
        )
        assert result == {"patched": [], "native": False, "same": True}

    def test_missing_extension_patches_nothing(self) -> None:
        """Without the compiled extension, import succeeds, nothing is patched and health_check says why."""
        result = run_python(
            """
            import json, sys
            sys.modules["fast_litellm._native"] = None   # makes "import fast_litellm._native" fail
            import fast_litellm, litellm
            health = fast_litellm.health_check()
            print(json.dumps({"patched": health["patched_sites"], "healthy": health["healthy"],
                              "error": health["native_error"],
                              "ids": litellm.encode(model="gpt-4o", text="hello world")}))
            """
        )
        assert result["patched"] == []
        assert result["healthy"] is False
        assert "fast_litellm._native" in result["error"]
        assert result["ids"] == [15339, 1917]


class TestApplyRemove:
    def test_remove_restores_exact_originals(self) -> None:
        """remove_acceleration() puts litellm's own function objects back at every site."""
        enc, dec = originals()
        fast_litellm.remove_acceleration()
        assert litellm.utils.encode is enc and litellm.encode is enc
        assert litellm.utils.decode is dec and litellm.decode is dec
        assert not any(s["patched"] for s in fast_litellm.get_patch_status().values())

    def test_apply_and_remove_are_idempotent(self) -> None:
        """Applying twice installs one wrapper; removing twice restores once."""
        fast_litellm.apply_acceleration()
        wrapper = litellm.utils.encode
        fast_litellm.apply_acceleration()
        assert litellm.utils.encode is wrapper and litellm.encode is wrapper
        assert wrapper.__wrapped__ is originals()[0]
        fast_litellm.remove_acceleration()
        fast_litellm.remove_acceleration()
        assert litellm.utils.encode is originals()[0]
        fast_litellm.apply_acceleration()
        assert litellm.utils.encode is wrapper

    def test_never_clobbers_a_later_patch(self) -> None:
        """A function someone installed over ours survives remove and apply."""
        def theirs(*args: Any, **kwargs: Any) -> list[int]:
            return [42]

        saved = litellm.encode
        litellm.encode = theirs
        try:
            status = fast_litellm.remove_acceleration()
            assert litellm.encode is theirs
            assert "left in place" in status["litellm.encode"]["reason"]
            status = fast_litellm.apply_acceleration()
            assert litellm.encode is theirs
            assert status["litellm.encode"]["patched"] is False
            assert status["litellm.utils.encode"]["patched"] is True
        finally:
            litellm.encode = saved

    def test_health_check_reports_patches(self) -> None:
        """health_check() lists the patched sites and the native state truthfully."""
        health = fast_litellm.health_check()
        assert health["native_available"] is True
        assert set(SITES) <= set(health["patched_sites"])
        assert all(fast_litellm.get_patch_status()[site]["feature"] in ("tokenizer", "token_counter", "router")
                   for site in health["patched_sites"])


TEXTS = [
    "", "hello world", "Hello, world! 12345.", "<|endoftext|> is plain text here",
    "日本語 😀👍🏽 مرحبا नमस्ते", "  \n\n\t x  ", "lone \ud800 surrogate", "a" * 3000, "x\x00y",
]
MODELS = ["gpt-4o", "gpt-3.5-turbo", "gpt-4", "azure/gpt-4o", "", "unknown-model", "claude-3-5-sonnet-20240620",
          "claude-sonnet-4-5", "claude-2"]


class TestSameResults:
    @pytest.mark.parametrize("model", MODELS)
    def test_encode_matches_litellm(self, model: str) -> None:
        """litellm.encode returns exactly what litellm's own encode returns, for every model name."""
        enc, _ = originals()
        for text in TEXTS:
            assert outcome(litellm.encode, model=model, text=text) == outcome(enc, model=model, text=text)
            assert outcome(litellm.encode, model, text) == outcome(enc, model, text)

    @pytest.mark.parametrize("model", MODELS)
    def test_decode_matches_litellm(self, model: str) -> None:
        """litellm.decode returns exactly what litellm's own decode returns."""
        enc, dec = originals()
        for text in TEXTS:
            ids = enc(model="gpt-4o", text=text)
            assert outcome(litellm.decode, model=model, tokens=ids) == outcome(dec, model=model, tokens=ids)
            assert outcome(litellm.decode, model=model, tokens=tuple(ids)) == outcome(
                dec, model=model, tokens=tuple(ids))

    def test_decode_special_and_partial_utf8(self) -> None:
        """Special-token ids and ids that split a UTF-8 character decode as tiktoken does."""
        _, dec = originals()
        for ids in ([100257], [9906, 100257, 1917], [8164], [8164, 8164, 239], []):
            assert litellm.decode(model="gpt-4o", tokens=ids) == dec(model="gpt-4o", tokens=ids)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"model": "gpt-4o", "text": 5},
            {"model": "gpt-4o", "text": None},
            {"model": "gpt-4o", "text": b"bytes"},
            {"model": None, "text": "x"},
            {"model": "gpt-4o", "text": "x", "custom_tokenizer": {"type": "bogus"}},
        ],
    )
    def test_encode_bad_input_raises_like_litellm(self, kwargs: dict[str, Any]) -> None:
        """Inputs litellm rejects raise the same exception type and message through the wrapper."""
        enc, _ = originals()
        with pytest.raises(BaseException) as ours:
            litellm.encode(**kwargs)
        with pytest.raises(BaseException) as theirs:
            enc(**kwargs)
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)

    @pytest.mark.parametrize("tokens", [[10**6], [-1], ["a"], [2**32], "ab", [1.0], None, [100261]])
    def test_decode_bad_input_raises_like_litellm(self, tokens: Any) -> None:
        """Invalid token lists raise what litellm's own decode raises."""
        _, dec = originals()
        with pytest.raises(BaseException) as ours:
            litellm.decode(model="gpt-4o", tokens=tokens)
        with pytest.raises(BaseException) as theirs:
            dec(model="gpt-4o", tokens=tokens)
        assert type(ours.value) is type(theirs.value)
        assert str(ours.value) == str(theirs.value)

    def test_generator_tokens_go_to_litellm(self) -> None:
        """A generator of ids is handed to litellm untouched, so it fails exactly as litellm does."""
        _, dec = originals()
        assert outcome(litellm.decode, model="gpt-4o", tokens=(i for i in [9906, 1917])) == outcome(
            dec, model="gpt-4o", tokens=(i for i in [9906, 1917]))

    def test_huggingface_models_keep_litellm_path(self) -> None:
        """Models that select a HuggingFace tokenizer are encoded by litellm itself."""
        enc, _ = originals()
        text = "Claude counts differently"
        assert litellm.encode(model="claude-sonnet-4-5", text=text) == enc(model="claude-sonnet-4-5", text=text)
        assert litellm.encode(model="claude-sonnet-4-5", text=text) != enc(model="gpt-4o", text=text)


class TestThreads:
    def test_concurrent_encodes_are_exact(self) -> None:
        """Eight threads encoding different texts at once each get litellm's exact ids."""
        enc, _ = originals()
        texts = [f"thread {i} " * 2000 + "日本語" * i for i in range(8)]
        expected = [enc(model="gpt-4o", text=t) for t in texts]
        results: list[Any] = [None] * 8
        barrier = threading.Barrier(8)

        def work(i: int) -> None:
            barrier.wait()
            for _ in range(5):
                results[i] = litellm.encode(model="gpt-4o", text=texts[i])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == expected


class TestEncodeEntry:
    """native/pymessages.c's entry of litellm.encode answers the common call in C: the gate's
    untimed path, litellm's choice of tokenizer (its model functions reproduced while litellm holds
    the 1.106 ones, called otherwise) and the native encode.  Each test drives an entry of its own,
    bound to a stand-in gate that is always in the untimed path, so every call reaches the C code."""

    TEXTS = ("Hello, world!", "", "x", "<|endoftext|> is plain text here", "tab\tnul\x00 end\n\n  ",
             "def f(x):\n    return x ** 2  # comment\n" * 50, "word " * 20000)  # the last: GIL released

    @staticmethod
    def entry() -> Any:
        from fast_litellm.adapters.token_counter import encode_entry
        from fast_litellm.control.monitor import SAMPLES

        litellm.encode(model="gpt-4o", text="load")  # the Python path loads the vocabulary and litellm
        fake, stats = stand_in_gate()
        call = encode_entry(fake)

        def run(model: Any, text: Any, custom_tokenizer: Any = None, calls: int = SAMPLES + 1) -> Any:
            stats.calls = calls
            return call(model, text, custom_tokenizer)

        run.gate, run.stats = fake, stats  # type: ignore[attr-defined]
        return run

    def _check_names(self, entry: Any) -> int:
        """Every name: litellm's ids where litellm encodes with tiktoken, None where it uses a
        HuggingFace tokenizer.  Returns how many names the entry answered."""
        enc, _ = originals()
        kind_of = litellm.utils.huggingface_tokenizer_kind
        answered = 0
        for name in model_names():
            text = self.TEXTS[answered % 6]
            got = entry(name, text)
            if kind_of(name) is not None:
                assert got is None, name
                continue
            assert got == enc(model=name, text=text), name
            answered += 1
        return answered

    @pytest.mark.usefixtures("with_model_rules")
    def test_every_model_name_encodes_like_litellm(self) -> None:
        assert self._check_names(self.entry()) > 2000

    @pytest.mark.usefixtures("without_model_rules")
    def test_without_the_reproduction_litellms_function_is_called(self) -> None:
        assert self._check_names(self.entry()) > 2000

    def test_every_text_encodes_like_litellm(self) -> None:
        enc, _ = originals()
        entry = self.entry()
        for text in self.TEXTS:
            for model in ("gpt-4o", "gpt-3.5-turbo"):
                assert entry(model, text) == enc(model=model, text=text)

    def test_a_replaced_model_function_decides(self, monkeypatch: pytest.MonkeyPatch) -> None:
        enc, _ = originals()
        entry = self.entry()
        monkeypatch.setattr(litellm.utils, "huggingface_tokenizer_kind", lambda model: "llama3")
        assert entry("gpt-4o", "hi") is None
        monkeypatch.setattr(litellm.utils, "huggingface_tokenizer_kind", lambda model: None)
        assert entry("claude-sonnet-4-5", "hi") == enc(model="gpt-4o", text="hi")

    def test_disabled_hf_download_encodes_every_model_with_tiktoken(self, monkeypatch: pytest.MonkeyPatch) -> None:
        enc, _ = originals()
        entry = self.entry()
        monkeypatch.setattr(litellm, "disable_hf_tokenizer_download", True)
        assert entry("claude-sonnet-4-5", "hi there") == enc(model="claude-sonnet-4-5", text="hi there")

    def test_other_calls_are_left_to_the_python_path(self) -> None:
        from fast_litellm.control.monitor import SAMPLE_EVERY, SAMPLES

        class Text(str):
            pass

        entry = self.entry()
        assert entry("gpt-4o", "hi") is not None
        for args in (("gpt-4o", "日本語"), ("gpt-4o", "lone \ud800"), ("gpt-4o", Text("hi")), (None, "hi"),
                     ("gpt-4o", b"hi"), ("gpt-4o", 5), ("gpt-4o", "hi", {"type": "openai_tokenizer"}),
                     ("gpt-4o", "hi", "")):
            assert entry(*args) is None, args
        for value in (False, 1):
            entry.gate.all_native = value
            assert entry("gpt-4o", "hi") is None
        entry.gate.all_native = True
        entry.gate.breaker.clean = False
        assert entry("gpt-4o", "hi") is None
        entry.gate.breaker.clean = True
        for calls in (0, SAMPLES - 1, SAMPLES + SAMPLE_EVERY * 3):  # calls the monitor times
            assert entry("gpt-4o", "hi", calls=calls) is None, calls
            assert entry.stats.calls == calls
        assert entry("gpt-4o", "hi") is not None

    def test_counts_the_call_as_the_gate_does(self) -> None:
        entry = self.entry()
        from fast_litellm.control.monitor import SAMPLES

        assert entry("gpt-4o", "hi") is not None
        assert entry.stats.calls == SAMPLES + 2

    def test_exceptions_decline_and_interrupts_propagate(self, monkeypatch: pytest.MonkeyPatch) -> None:
        entry = self.entry()

        def broken(model: str) -> None:
            raise ValueError("broken")

        monkeypatch.setattr(litellm.utils, "huggingface_tokenizer_kind", broken)
        assert entry("gpt-4o", "hi") is None

        def interrupted(model: str) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(litellm.utils, "huggingface_tokenizer_kind", interrupted)
        with pytest.raises(KeyboardInterrupt):
            entry("gpt-4o", "hi")

    def test_installed_wrapper_takes_the_entry(self) -> None:
        """Once the gate times one call in SAMPLE_EVERY, litellm.encode answers through the entry
        alone: the stats count the call, nothing is timed, and the ids are litellm's."""
        import sys

        from fast_litellm.control.gate import gate
        from fast_litellm.control.monitor import SAMPLES

        enc, _ = originals()
        stats = gate("tokenizer").stats.native
        for model, text in (("gpt-4o", "Hello there"), ("gpt-3.5-turbo", "x = 1\n"), ("", "")):
            expected = enc(model=model, text=text)
            litellm.encode(model=model, text=text)
            stats.calls = SAMPLES + 1
            timed = stats.timed
            called: list[str] = []

            def profile(frame: Any, event: str, arg: Any) -> None:
                if event == "call":
                    called.append(frame.f_code.co_name)  # noqa: B023 - read before the next model

            sys.setprofile(profile)
            try:
                got = litellm.encode(model=model, text=text)
            finally:
                sys.setprofile(None)
            assert got == expected
            assert stats.calls == SAMPLES + 2 and stats.timed == timed
            assert called == ["encode"], called
