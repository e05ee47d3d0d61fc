"""Feature flags: defaults, file, environment, aliases, configure(), kill switch, fail-closed loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fast_litellm.control import flags as _flags
from fast_litellm.control.flags import FEATURES, Mode, build_snapshot, parse_env_value
from fast_litellm.exceptions import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write_flags(tmp_path: Path, doc: Any) -> dict[str, str]:
    """A flags file holding ``doc``, and the environment that names it."""
    path = tmp_path / "flags.json"
    path.write_text(json.dumps(doc))
    return {"FAST_LITELLM_FEATURE_FLAGS": str(path)}


class TestDefaults:
    def test_embedded_defaults_equal_the_top_level_file(self) -> None:
        """The package's embedded defaults are exactly feature_flags.json."""
        assert json.loads((ROOT / "feature_flags.json").read_text()) == _flags.DEFAULTS

    def test_defaults_enable_every_feature(self) -> None:
        """With no file and no variables every feature is enabled at 100 %, set by the defaults."""
        snap = build_snapshot({})
        assert snap.enabled and snap.errors == ()
        for name in FEATURES:
            flag = snap.features[name]
            assert (flag.mode, flag.percentage, flag.source) == (Mode.ENABLED, 100.0, "default")

    def test_snapshot_is_immutable(self) -> None:
        """A snapshot's features cannot be changed in place."""
        snap = build_snapshot({})
        with pytest.raises(TypeError):
            snap.features["tokenizer"] = snap.features["router"]  # type: ignore[index]


class TestFile:
    def test_file_overrides_defaults_partially(self, tmp_path: Path) -> None:
        """A file entry changes only the settings it names; the rest keep their defaults."""
        env = write_flags(tmp_path, {"features": {"router": {"state": "rollout", "percentage": 25,
                                                             "breaker": {"cooldown_seconds": 5}}}})
        snap = build_snapshot(env, strict=True)
        router = snap.features["router"]
        assert (router.mode, router.percentage) == (Mode.ROLLOUT, 25.0)
        assert router.breaker.cooldown_seconds == 5.0 and router.breaker.window == 100
        assert router.source == f"file:{env['FAST_LITELLM_FEATURE_FLAGS']}"
        assert snap.features["tokenizer"].mode is Mode.ENABLED

    def test_file_can_switch_everything_off(self, tmp_path: Path) -> None:
        """``"enabled": false`` in the file turns the plugin off."""
        snap = build_snapshot(write_flags(tmp_path, {"enabled": False}), strict=True)
        assert snap.enabled is False and snap.mode("tokenizer") is Mode.DISABLED

    @pytest.mark.parametrize("doc, message", [
        ({"features": {"tokeniser": "on"}}, "unknown feature 'tokeniser'"),
        ({"features": {"tokenizer": {"state": "maybe"}}}, "unknown state 'maybe'"),
        ({"features": {"tokenizer": {"stat": "on"}}}, "unknown setting 'stat'"),
        ({"features": {"tokenizer": {"percentage": 101}}}, "percentage must be a number from 0 to 100"),
        ({"features": {"tokenizer": {"percentage": True}}}, "percentage must be a number"),
        ({"features": {"tokenizer": {"breaker": {"windw": 3}}}}, "unknown breaker setting 'windw'"),
        ({"features": {"tokenizer": {"breaker": {"window": 0}}}}, "breaker.window must be an integer >= 1"),
        ({"features": {"tokenizer": {"error_threshold": 0}}}, "error_threshold must be an integer >= 1"),
        ({"features": {"tokenizer": {"breaker": {"failure_rate": 1.5}}}}, "failure_rate must be at most 1"),
        ({"featurez": {}}, "unknown top-level key 'featurez'"),
        ([1, 2], "top level must be an object"),
    ])
    def test_invalid_file_is_rejected_with_a_clear_error(
        self, tmp_path: Path, doc: Any, message: str
    ) -> None:
        """Unknown names, keys, states and out-of-range values raise ConfigError naming the problem."""
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            build_snapshot(write_flags(tmp_path, doc), strict=True)

    def test_invalid_file_fails_closed_when_not_strict(self, tmp_path: Path) -> None:
        """At import a broken file disables every feature and is reported, never raised."""
        snap = build_snapshot(write_flags(tmp_path, {"features": {"tokeniser": "on"}}))
        assert all(snap.features[name].mode is Mode.DISABLED for name in FEATURES)
        assert len(snap.errors) == 1 and "tokeniser" in snap.errors[0]

    def test_missing_and_malformed_files(self, tmp_path: Path) -> None:
        """A file that cannot be read or parsed is a ConfigError naming the path."""
        with pytest.raises(ConfigError, match="cannot read"):
            build_snapshot({"FAST_LITELLM_FEATURE_FLAGS": str(tmp_path / "nope.json")}, strict=True)
        bad = tmp_path / "bad.json"
        bad.write_text("{not json")
        with pytest.raises(ConfigError, match="not valid JSON"):
            build_snapshot({"FAST_LITELLM_FEATURE_FLAGS": str(bad)}, strict=True)


class TestPriorArtAliases:
    def test_json_feature_names_and_keys_of_the_prior_art(self, tmp_path: Path) -> None:
        """rust_* feature names, rollout_percentage, canary and gradual_rollout map onto our flags."""
        env = write_flags(tmp_path, {
            "features": {
                "rust_token_counting": {"state": "gradual_rollout", "rollout_percentage": 30.0,
                                        "error_threshold": 7, "performance_threshold_ms": 100.0},
                "rust_routing": {"state": "canary"},
                "rust_rate_limiting": {"state": "disabled"},
                "rust_connection_pooling": {"state": "enabled"},
                "async_routing": {"state": "shadow", "rollout_percentage": 5},
            },
            "global_settings": {"enable_automatic_degradation": True},
        })
        snap = build_snapshot(env, strict=True)
        counter = snap.features["token_counter"]
        assert (counter.mode, counter.percentage, counter.breaker.error_threshold) == (Mode.ROLLOUT, 30.0, 7)
        assert (snap.features["router"].mode, snap.features["router"].percentage) == (Mode.ROLLOUT, 5.0)
        assert snap.features["rate_limiter"].mode is Mode.DISABLED
        assert snap.features["tokenizer"] == counter._replace(name="tokenizer")  # the alias sets both
        assert any("rust_connection_pooling" in w for w in snap.warnings)
        assert any("global_settings" in w for w in snap.warnings)

    @pytest.mark.parametrize("var, features", sorted(_flags.ENV_ALIASES.items()))
    def test_prior_art_environment_names(self, var: str, features: tuple[str, ...]) -> None:
        """FAST_LITELLM_RUST_* variables set the matching features (token counting: both the
        tokenizer and token_counter, as the prior art's switched encode, decode and token_counter)."""
        snap = build_snapshot({var: "false"}, strict=True)
        for feature in features:
            assert snap.features[feature].mode is Mode.DISABLED
            assert snap.features[feature].source == f"env:{var}"
        others = set(_flags.FEATURES) - set(features)
        assert all(snap.features[name].mode is Mode.ENABLED for name in others)
        assert _flags.ENV_ALIASES["FAST_LITELLM_RUST_TOKEN_COUNTING"] == ("tokenizer", "token_counter")

    def test_canonical_variable_wins_over_alias(self) -> None:
        """When both are set, FAST_LITELLM_TOKEN_COUNTER beats FAST_LITELLM_RUST_TOKEN_COUNTING (for
        token_counter; the alias still sets the tokenizer)."""
        snap = build_snapshot({"FAST_LITELLM_RUST_TOKEN_COUNTING": "off", "FAST_LITELLM_TOKEN_COUNTER": "shadow"})
        assert snap.features["token_counter"].mode is Mode.SHADOW
        assert snap.features["tokenizer"].mode is Mode.DISABLED

    def test_alias_in_a_document_sets_both_and_canonical_wins(self, tmp_path: Path) -> None:
        """In JSON (and configure()), rust_token_counting sets both features; a canonical entry in the
        same document wins for its feature, in whatever order the two are written."""
        path = tmp_path / "flags.json"
        path.write_text(json.dumps({"features": {"tokenizer": {"state": "shadow"},
                                                 "rust_token_counting": {"state": "disabled"}}}))
        snap = build_snapshot({"FAST_LITELLM_FEATURE_FLAGS": str(path)}, strict=True)
        assert snap.features["tokenizer"].mode is Mode.SHADOW
        assert snap.features["token_counter"].mode is Mode.DISABLED
        snap = build_snapshot({}, overrides={"rust_token_counting": "off"}, strict=True)
        assert snap.features["tokenizer"].mode is Mode.DISABLED and snap.features["token_counter"].mode is Mode.DISABLED


class TestEnvironment:
    @pytest.mark.parametrize("value, mode, percentage", [
        ("on", Mode.ENABLED, None), ("true", Mode.ENABLED, None), ("ENABLED", Mode.ENABLED, None),
        ("off", Mode.DISABLED, None), ("False", Mode.DISABLED, None), ("disabled", Mode.DISABLED, None),
        ("shadow", Mode.SHADOW, None), ("25", Mode.ROLLOUT, 25.0), ("0", Mode.ROLLOUT, 0.0),
        ("100", Mode.ROLLOUT, 100.0), ("12.5%", Mode.ROLLOUT, 12.5), (" canary ", Mode.ROLLOUT, 5.0),
    ])
    def test_values(self, value: str, mode: Mode, percentage: float | None) -> None:
        """Each accepted value of FAST_LITELLM_<FEATURE> gives its state (a number is a rollout)."""
        assert parse_env_value(value, "X") == (mode, percentage)

    @pytest.mark.parametrize("value", ["maybe", "101", "-1", "", "on-ish", "nan%"])
    def test_invalid_values(self, value: str) -> None:
        """Anything else raises ConfigError."""
        with pytest.raises(ConfigError):
            parse_env_value(value, "X")

    @pytest.mark.parametrize("feature", FEATURES)
    def test_each_feature_variable_is_read(self, feature: str) -> None:
        """FAST_LITELLM_<FEATURE> reaches its feature and no other."""
        var = f"FAST_LITELLM_{feature.upper()}"
        snap = build_snapshot({var: "40"}, strict=True)
        assert (snap.features[feature].mode, snap.features[feature].percentage) == (Mode.ROLLOUT, 40.0)
        assert snap.features[feature].source == f"env:{var}"
        assert all(snap.features[o].mode is Mode.ENABLED for o in FEATURES if o != feature)

    def test_environment_beats_file(self, tmp_path: Path) -> None:
        """A variable overrides the file's state for its feature."""
        env = write_flags(tmp_path, {"features": {"tokenizer": "off"}})
        env["FAST_LITELLM_TOKENIZER"] = "shadow"
        assert build_snapshot(env).features["tokenizer"].mode is Mode.SHADOW

    def test_invalid_variable_fails_closed_for_its_feature(self) -> None:
        """An unreadable value disables that feature only, and is reported."""
        snap = build_snapshot({"FAST_LITELLM_ROUTER": "sometimes"})
        assert snap.features["router"].mode is Mode.DISABLED
        assert snap.features["tokenizer"].mode is Mode.ENABLED
        assert "FAST_LITELLM_ROUTER" in snap.errors[0]


class TestKillSwitch:
    @pytest.mark.parametrize("value", ["false", "0", "off", "no", "FALSE"])
    def test_kill_switch_disables_everything(self, value: str) -> None:
        """FAST_LITELLM_ENABLED=false makes every feature's effective mode disabled."""
        snap = build_snapshot({"FAST_LITELLM_ENABLED": value, "FAST_LITELLM_TOKENIZER": "on"})
        assert snap.enabled is False
        assert all(snap.mode(name) is Mode.DISABLED for name in FEATURES)

    def test_invalid_kill_switch_fails_closed(self) -> None:
        """A value that is neither true nor false turns the plugin off."""
        snap = build_snapshot({"FAST_LITELLM_ENABLED": "perhaps"})
        assert snap.enabled is False and snap.errors

    def test_kill_switch_beats_configure(self) -> None:
        """configure(enabled=True) cannot undo FAST_LITELLM_ENABLED=false."""
        snap = build_snapshot({"FAST_LITELLM_ENABLED": "false"}, overrides={"enabled": True})
        assert snap.enabled is False and any("ignored" in w for w in snap.warnings)

    def test_environment_true_beats_file_false(self, tmp_path: Path) -> None:
        """Later layers win: FAST_LITELLM_ENABLED=true overrides the file's enabled: false."""
        env = write_flags(tmp_path, {"enabled": False})
        env["FAST_LITELLM_ENABLED"] = "true"
        assert build_snapshot(env).enabled is True


class TestPrecedence:
    @pytest.mark.parametrize("file_state", [None, "off", "shadow"])
    @pytest.mark.parametrize("env_state", [None, "on", "off", "30"])
    @pytest.mark.parametrize("runtime", [None, "shadow", "off"])
    @pytest.mark.parametrize("kill", [None, "false", "true"])
    def test_matrix(self, tmp_path: Path, file_state: str | None, env_state: str | None,
                    runtime: str | None, kill: str | None) -> None:
        """Every combination of file, variable, configure() and kill switch: the latest layer wins."""
        env: dict[str, str] = {}
        if file_state is not None:
            env.update(write_flags(tmp_path, {"features": {"tokenizer": file_state}}))
        if env_state is not None:
            env["FAST_LITELLM_TOKENIZER"] = env_state
        if kill is not None:
            env["FAST_LITELLM_ENABLED"] = kill
        snap = build_snapshot(env, overrides={"tokenizer": runtime} if runtime else None)
        words = {"on": Mode.ENABLED, "off": Mode.DISABLED, "shadow": Mode.SHADOW, "30": Mode.ROLLOUT}
        expected = Mode.ENABLED
        for layer in (file_state, env_state, runtime):
            if layer is not None:
                expected = words[layer]
        if kill == "false":
            expected = Mode.DISABLED
        assert snap.mode("tokenizer") is expected


class TestConfigureAndReload:
    @pytest.fixture(autouse=True)
    def restore(self) -> Any:
        """Each test leaves the flags as the environment gives them."""
        yield
        _flags.reload_flags()

    def test_configure_swaps_one_snapshot(self) -> None:
        """configure() installs a new snapshot object; the old one is unchanged."""
        before = _flags.current()
        after = _flags.configure(tokenizer={"state": "rollout", "percentage": 10})
        assert _flags.current() is after and after is not before
        assert before.features["tokenizer"].mode is Mode.ENABLED
        assert (after.features["tokenizer"].mode, after.features["tokenizer"].percentage) == (Mode.ROLLOUT, 10.0)
        assert after.features["tokenizer"].source == "configure()"

    def test_configure_accumulates_and_reload_drops(self) -> None:
        """Overrides add up across calls; reload_flags() goes back to file and environment."""
        _flags.configure(tokenizer="shadow")
        snap = _flags.configure(rust_routing="off")
        assert snap.features["tokenizer"].mode is Mode.SHADOW and snap.features["router"].mode is Mode.DISABLED
        snap = _flags.reload_flags()
        assert snap.features["tokenizer"].mode is Mode.ENABLED and snap.features["router"].mode is Mode.ENABLED

    def test_configure_rejects_bad_input_and_keeps_flags(self) -> None:
        """An invalid override raises ConfigError and the flags in force stay the same."""
        before = _flags.current()
        with pytest.raises(ConfigError):
            _flags.configure(tokeniser="on")
        with pytest.raises(ConfigError):
            _flags.configure(tokenizer={"percentage": 500})
        assert _flags.current() is before

    def test_listeners_see_each_swap(self) -> None:
        """on_change listeners are called with every new snapshot."""
        seen: list[Mode] = []
        _flags.on_change(lambda snap: seen.append(snap.features["router"].mode))
        _flags.configure(router="shadow")
        _flags.configure(router="off")
        assert seen[-2:] == [Mode.SHADOW, Mode.DISABLED]

    def test_reload_reads_the_environment_again(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A variable changed after import takes effect on reload_flags()."""
        monkeypatch.setenv("FAST_LITELLM_RATE_LIMITER", "shadow")
        assert _flags.reload_flags().features["rate_limiter"].mode is Mode.SHADOW
        monkeypatch.setenv("FAST_LITELLM_RATE_LIMITER", "bogus")
        with pytest.raises(ConfigError):
            _flags.reload_flags()
        assert _flags.current().features["rate_limiter"].mode is Mode.SHADOW
