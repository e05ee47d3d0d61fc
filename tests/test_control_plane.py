"""The control plane on real litellm: flags steer the patches, shadow and breaker guard encode."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

import fast_litellm  # noqa: E402
from _subprocess import run_python  # noqa: E402
from fast_litellm.adapters import encode as _litellm_tokenizer, patching as _patching  # noqa: E402
from fast_litellm.control.gate import gate  # noqa: E402
from fast_litellm.control.rollout import checker  # noqa: E402

SITES = ("litellm.utils.encode", "litellm.encode", "litellm.utils.decode", "litellm.decode")
TEXTS = ["hello world", "Hello, world! 12345.", "日本語 😀👍🏽", "  \n\n\t x  ", "a" * 500, "x\x00y", ""]


def original_encode() -> Any:
    return _patching.get_original("litellm.utils", "encode")


@pytest.fixture(autouse=True)
def restore() -> Any:
    """Each test starts and ends with the environment's flags, clean stats and patches applied."""
    fast_litellm.reload_flags()
    fast_litellm.reset_errors()
    fast_litellm.apply_acceleration()
    gate("tokenizer").stats.reset()
    yield
    fast_litellm.reload_flags()
    fast_litellm.reset_errors()
    fast_litellm.apply_acceleration()


def patched_sites() -> list[str]:
    """The patched sites of the tokenizer feature (the one these tests steer)."""
    return sorted(site for site, state in fast_litellm.get_patch_status().items()
                  if state["patched"] and state["feature"] == "tokenizer")


class TestFlagsSteerPatches:
    def test_configure_off_restores_originals_and_on_reapplies(self) -> None:
        """configure(tokenizer="off") puts litellm's own objects back; "on" reinstalls the same wrapper."""
        wrapper = litellm.utils.encode
        assert wrapper.__fast_litellm__
        fast_litellm.configure(tokenizer="off")
        assert litellm.utils.encode is original_encode() and litellm.encode is original_encode()
        assert patched_sites() == []
        assert "disabled by configure()" in fast_litellm.get_patch_status()["litellm.encode"]["reason"]
        fast_litellm.configure(tokenizer="on")
        assert litellm.utils.encode is wrapper and patched_sites() == sorted(SITES)

    def test_kill_switch_at_run_time(self) -> None:
        """configure(enabled=False) unpatches everything; reload_flags() brings the patches back."""
        fast_litellm.configure(enabled=False)
        assert patched_sites() == []
        assert fast_litellm.health_check()["enabled"] is False
        fast_litellm.reload_flags()
        assert patched_sites() == sorted(SITES)

    def test_remove_acceleration_wins_over_flag_changes(self) -> None:
        """After remove_acceleration(), a flag change does not patch again until apply_acceleration()."""
        fast_litellm.remove_acceleration()
        fast_litellm.configure(tokenizer="on")
        assert patched_sites() == []
        fast_litellm.apply_acceleration()
        assert patched_sites() == sorted(SITES)

    def test_feature_status_reports_flags_and_sites(self) -> None:
        """get_feature_status() shows each feature's state, its source, breaker and patched sites."""
        fast_litellm.configure(tokenizer={"state": "rollout", "percentage": 20})
        status = fast_litellm.get_feature_status()
        assert set(status) == {"tokenizer", "token_counter", "router", "rate_limiter"}
        tokenizer = status["tokenizer"]
        assert (tokenizer["state"], tokenizer["percentage"], tokenizer["source"]) == ("rollout", 20.0, "configure()")
        assert tokenizer["breaker_state"] == "closed" and tokenizer["patched_sites"] == sorted(SITES)
        assert "litellm.caching.dual_cache.DualCache.get_cache" in status["router"]["patched_sites"]
        assert status["rate_limiter"]["patched_sites"] == []


class TestShadowOnLitellm:
    def test_shadow_returns_litellm_ids_and_compares(self) -> None:
        """In shadow mode litellm.encode returns litellm's ids and every call is compared, no mismatch."""
        fast_litellm.configure(tokenizer="shadow")
        for text in TEXTS:
            assert litellm.encode(model="gpt-4o", text=text) == original_encode()(model="gpt-4o", text=text)
        stats = fast_litellm.get_performance_stats("tokenizer")["tokenizer"]
        assert stats["shadow"] == {"compared": len(TEXTS), "mismatches": 0, "samples": []}
        assert stats["python"]["calls"] == len(TEXTS) and stats["native"]["calls"] == len(TEXTS)

    def test_shadow_mismatch_is_recorded_and_opens_the_breaker(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A native tokenizer that returns wrong ids is caught in shadow mode; callers still get litellm's."""
        vocab = _litellm_tokenizer._Native.load()

        class Wrong:
            def encode(self, data: bytes) -> list[int]:
                return [i + 1 for i in vocab.encode(data)]

        monkeypatch.setattr(_litellm_tokenizer._Native, "vocab", Wrong())
        fast_litellm.configure(tokenizer="shadow")
        for _ in range(6):
            assert litellm.encode(model="gpt-4o", text="hello world") == [15339, 1917]
        stats = fast_litellm.get_performance_stats("tokenizer")["tokenizer"]
        assert stats["shadow"]["mismatches"] == 5 and stats["breaker"]["state"] == "open"
        assert "hello world" in stats["shadow"]["samples"][0]["input"]
        actions = {(a["feature"], a["action"]) for a in fast_litellm.get_recommendations()}
        assert ("tokenizer", "investigate") in actions


class TestBreakerOnLitellm:
    def test_native_errors_open_the_breaker_and_stop_native_calls(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Five native errors open the breaker; afterwards litellm.encode never reaches native code."""
        calls = []

        class Broken:
            def encode(self, data: bytes) -> list[int]:
                calls.append(data)
                raise MemoryError("native out of memory")

        monkeypatch.setattr(_litellm_tokenizer._Native, "vocab", Broken())
        for _ in range(5):
            assert litellm.encode(model="gpt-4o", text="hello world") == [15339, 1917]
        assert len(calls) == 5
        assert fast_litellm.get_feature_status()["tokenizer"]["breaker_state"] == "open"
        for text in TEXTS * 100:
            assert litellm.encode(model="gpt-4o", text=text) == original_encode()(model="gpt-4o", text=text)
        assert len(calls) == 5
        assert fast_litellm.is_enabled("tokenizer") is False
        health = fast_litellm.health_check()
        assert health["healthy"] is False and "tokenizer breaker is open" in health["problems"]
        fast_litellm.reset_errors("tokenizer")
        assert fast_litellm.get_feature_status()["tokenizer"]["breaker_state"] == "closed"


class TestRolloutOnLitellm:
    def test_rollout_by_text_is_deterministic(self) -> None:
        """At 50 %, litellm.encode takes the native path exactly for texts whose bucket is inside."""
        fast_litellm.configure(tokenizer=50)
        inside = checker("tokenizer")
        texts = [f"request number {i}" for i in range(400)]
        for text in texts:
            before = gate("tokenizer").stats.native.calls
            assert litellm.encode(model="gpt-4o", text=text) == original_encode()(model="gpt-4o", text=text)
            assert (gate("tokenizer").stats.native.calls > before) == inside(text, 50)

    def test_is_enabled_follows_flags_and_keys(self) -> None:
        """is_enabled answers per request id, honours aliases, and is False in shadow and off."""
        assert fast_litellm.is_enabled("tokenizer", "any") is True
        fast_litellm.configure(tokenizer=30)
        inside = checker("tokenizer")
        assert [fast_litellm.is_enabled("tokenizer", f"r{i}") for i in range(300)] == [
            inside(f"r{i}", 30) for i in range(300)]
        fast_litellm.configure(tokenizer="shadow")
        assert fast_litellm.is_enabled("tokenizer", "r1") is False
        fast_litellm.configure(rust_token_counting="off")
        assert fast_litellm.is_enabled("rust_token_counting") is False
        with pytest.raises(KeyError):
            fast_litellm.is_enabled("tokeniser")


class TestEnvironmentInFreshProcesses:
    CODE = """
        import json, litellm, fast_litellm
        status = fast_litellm.get_patch_status()
        health = fast_litellm.health_check()
        print(json.dumps({"patched": sorted(k for k, v in status.items()
                                            if v["patched"] and v["feature"] == "tokenizer"),
                          "all_patched": sorted(k for k, v in status.items() if v["patched"]),
                          "features": health["features"], "problems": health["problems"],
                          "ids": litellm.encode(model="gpt-4o", text="hello world"),
                          "available": fast_litellm.NATIVE_ACCELERATION_AVAILABLE,
                          "rust_alias": fast_litellm.RUST_ACCELERATION_AVAILABLE}))
    """

    def test_flags_file_turns_the_tokenizer_off(self, tmp_path: Path) -> None:
        """FAST_LITELLM_FEATURE_FLAGS naming a file with tokenizer off leaves encode unpatched."""
        path = tmp_path / "flags.json"
        path.write_text(json.dumps({"features": {"tokenizer": {"state": "disabled"}}}))
        result = run_python(self.CODE, FAST_LITELLM_FEATURE_FLAGS=str(path))
        assert result["patched"] == [] and result["features"]["tokenizer"] == "disabled"
        assert result["ids"] == [15339, 1917]

    def test_prior_art_token_counting_switch_turns_off_all_three(self) -> None:
        """FAST_LITELLM_RUST_TOKEN_COUNTING=false (the prior art's switch of encode, decode and
        token_counter together): all three run litellm's own code, and no native call is made."""
        result = run_python("""
            import json, litellm, fast_litellm
            ids = litellm.encode(model="gpt-4o", text="hello world")
            text = litellm.decode(model="gpt-4o", tokens=ids)
            count = litellm.token_counter(model="gpt-4o", messages=[{"role": "user", "content": text}])
            stats = fast_litellm.get_performance_stats()
            print(json.dumps({
                "native": [getattr(f, "__fast_litellm__", False) for f in
                           (litellm.encode, litellm.decode, litellm.token_counter, litellm.utils.encode,
                            litellm.utils.decode, litellm.utils.token_counter,
                            litellm.litellm_core_utils.token_counter.token_counter)],
                "calls": [stats[f]["native"]["calls"] for f in ("tokenizer", "token_counter")],
                "features": fast_litellm.health_check()["features"], "result": [ids, text, count]}))
            """, FAST_LITELLM_RUST_TOKEN_COUNTING="false")
        assert result["native"] == [False] * 7
        assert result["calls"] == [0, 0]
        assert result["features"]["tokenizer"] == result["features"]["token_counter"] == "disabled"
        assert result["result"] == [[15339, 1917], "hello world", 9]

    def test_variable_beats_file(self, tmp_path: Path) -> None:
        """FAST_LITELLM_TOKENIZER=on overrides the file's disabled state."""
        path = tmp_path / "flags.json"
        path.write_text(json.dumps({"features": {"tokenizer": "off"}}))
        result = run_python(self.CODE, FAST_LITELLM_FEATURE_FLAGS=str(path), FAST_LITELLM_TOKENIZER="on")
        assert result["patched"] == sorted(SITES)

    def test_shadow_from_the_environment(self) -> None:
        """FAST_LITELLM_TOKENIZER=shadow patches encode and compares on each call."""
        result = run_python(
            """
            import json, litellm, fast_litellm
            ids = [litellm.encode(model="gpt-4o", text=t) for t in ("a b c", "日本", "x" * 99)]
            shadow = fast_litellm.get_performance_stats("tokenizer")["tokenizer"]["shadow"]
            print(json.dumps({"shadow": shadow, "mode": fast_litellm.health_check()["features"]["tokenizer"]}))
            """,
            FAST_LITELLM_TOKENIZER="shadow",
        )
        assert result == {"shadow": {"compared": 3, "mismatches": 0, "samples": []}, "mode": "shadow"}

    def test_broken_file_fails_closed_and_says_why(self, tmp_path: Path) -> None:
        """A flags file with an unknown feature patches nothing and health_check names the problem."""
        path = tmp_path / "flags.json"
        path.write_text(json.dumps({"features": {"tokeniser": "on"}}))
        result = run_python(self.CODE, FAST_LITELLM_FEATURE_FLAGS=str(path))
        assert result["all_patched"] == [] and "unknown feature 'tokeniser'" in result["problems"][0]
        assert result["ids"] == [15339, 1917]

    def test_invalid_variable_fails_closed(self) -> None:
        """FAST_LITELLM_TOKENIZER=bogus leaves encode unpatched and is reported."""
        result = run_python(self.CODE, FAST_LITELLM_TOKENIZER="bogus")
        assert result["patched"] == [] and "FAST_LITELLM_TOKENIZER" in result["problems"][0]

    def test_corrupt_extension_patches_nothing(self, tmp_path: Path) -> None:
        """A native library that fails to load: import succeeds, nothing is patched, health says why."""
        package = Path(fast_litellm.__file__).parent
        copy = tmp_path / "fast_litellm"
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
        for lib in copy.glob("_native*.so"):
            lib.write_bytes(b"\x7fELF this is not a shared object")
        result = run_python(self.CODE, PYTHONPATH=str(tmp_path))
        assert result["all_patched"] == [] and result["available"] is False and result["rust_alias"] is False
        assert "native extension unavailable" in result["problems"][0]
        assert result["ids"] == [15339, 1917]

    def test_import_is_not_slowed_by_the_flags(self) -> None:
        """Importing fast_litellm does not load the native extension or litellm."""
        result = run_python(
            """
            import json, sys, fast_litellm
            print(json.dumps({"native": "fast_litellm._native" in sys.modules, "litellm": "litellm" in sys.modules}))
            """
        )
        assert result == {"native": False, "litellm": False}


def test_public_api_is_complete() -> None:
    """Every name the issue lists is exported."""
    names = {"apply_acceleration", "remove_acceleration", "health_check", "get_feature_status",
             "get_patch_status", "get_performance_stats", "compare_implementations", "get_recommendations",
             "export_performance_data", "reset_errors", "is_enabled", "configure", "reload_flags",
             "NATIVE_ACCELERATION_AVAILABLE", "RUST_ACCELERATION_AVAILABLE"}
    assert names <= set(fast_litellm.__all__)
    assert all(hasattr(fast_litellm, name) for name in names)
    assert sys.modules["fast_litellm"].NATIVE_ACCELERATION_AVAILABLE is True


class TestCommandLine:
    def test_status_tells_features_without_a_site(self, capsys: pytest.CaptureFixture[str]) -> None:
        """rate_limiter has no patch site yet: enabled, but status and get_feature_status() say
        "patched: none", and health_check() does not list it as accelerating."""
        from fast_litellm.__main__ import main

        fast_litellm.apply_acceleration()
        features = fast_litellm.get_feature_status()
        limiter = features["rate_limiter"]
        assert limiter["effective_state"] == "enabled" and limiter["implemented"] is False
        assert limiter["patched"].startswith("none (not implemented for litellm 1.")
        for name in ("tokenizer", "token_counter", "router"):
            assert features[name]["implemented"] is True
            assert features[name]["patched"] == f"{len(features[name]['patched_sites'])} sites"
        assert fast_litellm.health_check()["accelerating"] == ["router", "token_counter", "tokenizer"]
        assert main(["status"]) == 0
        out = capsys.readouterr().out
        assert out.count("enabled, patched: none (not implemented for litellm 1.") == 1

    def test_verify_compares_and_passes(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`verify` compares native and litellm on samples and real files and exits 0 when identical."""
        from fast_litellm.__main__ import main

        assert main(["verify", "--files", "3"]) == 0
        out = capsys.readouterr().out
        assert "tokenizer:" in out and "token_counter:" in out and "identical" in out

    def test_verify_reports_a_mismatch(self, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
        """A native tokenizer returning other ids makes `verify` print the mismatch and exit 1."""
        from fast_litellm.__main__ import main

        vocab = _litellm_tokenizer._Native.load()

        class Wrong:
            def encode(self, data: bytes) -> list[int]:
                return vocab.encode(data)[:-1]

            def decode_bytes(self, ids: Any) -> Any:
                return vocab.decode_bytes(ids)

        monkeypatch.setattr(_litellm_tokenizer._Native, "vocab", Wrong())
        assert main(["verify", "--features", "tokenizer", "--files", "1"]) == 1
        assert "MISMATCHES" in capsys.readouterr().out

    def test_status_prints_tables(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`status` prints health, every feature with its state and the patch sites."""
        from fast_litellm.__main__ import main

        assert main(["status"]) == 0
        out = capsys.readouterr().out
        for word in ("native extension : loaded", "token_counter", "rate_limiter", "litellm.utils.encode"):
            assert word in out
