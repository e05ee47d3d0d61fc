"""Patching litellm.encode / litellm.decode: where, when, and that nothing else changes."""

from __future__ import annotations

import threading
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

import fast_litellm  # noqa: E402
from _subprocess import run_python  # noqa: E402
from fast_litellm import _patching  # noqa: E402

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
        assert all(fast_litellm.get_patch_status()[site]["feature"] in ("tokenizer", "token_counter")
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
