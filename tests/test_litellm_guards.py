"""Each feature patches litellm only where every litellm function it reproduces has a source we
checked (fast_litellm/adapters/guards.py); anywhere else exactly that feature stays litellm's."""

from __future__ import annotations

import pytest
from _subprocess import run_python

pytest.importorskip("litellm")


class TestInstalledLitellm:
    """On the installed litellm (a checked one in CI) every guard passes."""

    def test_every_reproduced_function_is_a_checked_source(self) -> None:
        """Both features' functions are found and their sources are listed."""
        result = run_python(
            """
            import json
            import litellm, litellm.utils, litellm.litellm_core_utils.token_counter
            from fast_litellm.adapters.guards import check_feature
            print(json.dumps({f: check_feature(f) for f in ("tokenizer", "token_counter")}))
            """
        )
        assert result == {"tokenizer": [True, ""], "token_counter": [True, ""]}


class TestUnknownLitellm:
    """A litellm whose reproduced function changed keeps exactly the affected feature."""

    CODE = """
        import json
        import fast_litellm, litellm, litellm.utils
        import litellm.litellm_core_utils.token_counter as tc
        import linecache
        original = getattr(tc, "NAME")
        # The same behaviour from another source, as an unknown release would have it.
        source = "def NAME(*args, **kwargs):\\n    return original(*args, **kwargs)\\n"
        name = "<unknown litellm>"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        namespace = {"original": original}
        exec(compile(source, name, "exec"), namespace)
        setattr(tc, "NAME", namespace["NAME"])
        status = fast_litellm.apply_acceleration()
        def patched(feature):
            return sorted({v["patched"] for v in status.values() if v["feature"] == feature})
        reasons = [v["reason"] for k, v in status.items() if k == "litellm.token_counter"]
        messages = [{"role": "user", "content": "hello world"}]
        count = litellm.token_counter(model="gpt-4o", messages=messages)
        setattr(tc, "NAME", original)
        again = fast_litellm.apply_acceleration()
        print(json.dumps({"tokenizer": patched("tokenizer"), "token_counter": patched("token_counter"),
                          "reason": reasons[0], "count": count,
                          "after": [v["patched"] for k, v in again.items() if k == "litellm.token_counter"],
                          "encode_native": getattr(litellm.encode, "__fast_litellm__", False)}))
        """

    @pytest.mark.parametrize("name", ["_count_extra", "openai_tokenizer_encoding_name", "_count_content_list"])
    def test_a_changed_function_leaves_its_feature_to_litellm(self, name: str) -> None:
        """token_counter's sites go back to litellm, status names the function, the tokenizer stays
        native, and the original source brings the patch back."""
        result = run_python(self.CODE.replace("NAME", name))
        assert result["token_counter"] == [False]
        assert result["tokenizer"] == [True] and result["encode_native"] is True
        assert f"litellm.litellm_core_utils.token_counter.{name} differs" in result["reason"]
        assert result["count"] == 9
        assert result["after"] == [True]
