"""The native tools renderer vs litellm's ``_format_function_definitions``: same string or same exception."""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

litellm = pytest.importorskip("litellm")

import fast_litellm  # noqa: E402
from fast_litellm.adapters import token_counter as _litellm_token_counter  # noqa: E402
from fast_litellm.adapters import tools_format as _tools_format  # noqa: E402
from fast_litellm.adapters.patching import get_original  # noqa: E402
from fast_litellm.adapters.tools_format import format_function_definitions, render_tools  # noqa: E402

tc = sys.modules["litellm.litellm_core_utils.token_counter"]

# The native renderer reproduces litellm 1.106-1.108's; 1.109 renders differently (web_search tools
# skipped, Anthropic keys merged, strict, no raise on malformed schemas), and requests with tools
# are rendered by litellm's own function there (TestSourceGuard).
RENDERS_1106 = _tools_format._source_sha256(tc) == _tools_format.LITELLM_RENDERER_SHA256
needs_1106_renderer = pytest.mark.skipif(
    not RENDERS_1106, reason="this litellm's renderer is not 1.106's: tools are rendered by litellm")


class FrozenMap(Mapping[Any, Any]):
    """A Mapping that is not a dict (litellm's isinstance(x, Mapping) accepts it)."""

    def __init__(self, data: dict[Any, Any]) -> None:
        self._data = data

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class SubDict(dict[Any, Any]):
    """A dict subclass."""


class Shout(str):
    """A str subclass whose format differs from its value."""

    def __format__(self, spec: str) -> str:
        return self.upper() + "!"


class Liar(str):
    """A str subclass equal to everything (litellm's == chain sees that; a dict lookup would not)."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


class Weird:
    """An object that equals "string", is falsy and formats oddly."""

    def __eq__(self, other: object) -> bool:
        return other == "string"

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return False

    def __format__(self, spec: str) -> str:
        return "<weird>"


def outcome(func: Any, tools: Any) -> tuple[Any, ...]:
    try:
        return ("ok", func(tools))
    except Exception as exc:  # noqa: BLE001 - comparing exceptions is the point
        return ("raised", type(exc), str(exc))


names = st.one_of(st.sampled_from(["get_weather", "search", "", "a b", "日本"]), st.none(), st.integers(-2, 2),
                  st.booleans(), st.text(max_size=6), st.builds(Shout, st.text(max_size=4)))
descriptions = st.one_of(st.none(), st.just(""), st.text(max_size=12), st.integers(-1, 3), st.floats(),
                         st.builds(Shout, st.text(max_size=4)), st.just(Weird()))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=6), st.builds(Shout, st.text(max_size=3)), st.binary(max_size=3))
enums = st.one_of(st.lists(scalars, max_size=4), st.tuples(scalars, scalars), st.text(max_size=4), st.none(),
                  st.integers(0, 3), st.sets(st.integers(0, 5), max_size=3))
types = st.one_of(st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object", "any", "",
                                   "String"]),
                  st.none(), st.integers(0, 2), st.just(["string"]), st.just(Weird()),
                  st.builds(Shout, st.sampled_from(["string", "object", "number"])), st.just(Liar("x")))
keys = st.one_of(st.sampled_from(["city", "unit", "days", "x", ""]), st.text(max_size=5), st.integers(0, 3),
                 st.builds(Shout, st.sampled_from(["city", "q"])))


def chaotic_schema(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A property with any subset of the keys litellm reads, each with any value, nested through items/properties."""
    properties = st.one_of(st.dictionaries(keys, children, max_size=4), st.just({}), st.none(),
                           st.lists(st.text(max_size=3), max_size=2), st.text(max_size=3),
                           st.dictionaries(keys, children, max_size=3).map(FrozenMap))
    required = st.one_of(st.lists(keys, max_size=3), st.tuples(keys), st.text(max_size=5), st.none(),
                         st.just([]), st.integers(0, 2), st.sets(st.sampled_from(["city", "x"])))
    fields = st.fixed_dictionaries({}, optional={
        "type": types, "description": descriptions, "enum": enums, "items": children,
        "properties": properties, "required": required,
    })
    return st.one_of(fields, fields.map(SubDict), fields.map(FrozenMap))


leaf = st.one_of(
    st.fixed_dictionaries({"type": types}, optional={"description": descriptions, "enum": enums}),
    st.none(), st.integers(0, 2), st.text(max_size=3), st.lists(st.integers(0, 2), max_size=2),
)
chaotic_schemas = st.recursive(leaf, chaotic_schema, max_leaves=12)

# Well-formed schemas (each type with the keys it uses), with odd values in some places: these reach
# the deep branches (enums, required checks, nested objects and arrays) that random dictionaries rarely do.
prop_keys = st.sampled_from(["city", "unit", "days", "x", "", "q"])
required_lists = st.one_of(st.lists(prop_keys, max_size=3), st.tuples(prop_keys), st.none(), st.just(""),
                           st.just("cityx"), st.sets(prop_keys, max_size=2), st.lists(keys, max_size=2))
good_enums = st.one_of(st.lists(scalars, min_size=1, max_size=4), enums)
good_leaf = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "number"])},
                          optional={"description": descriptions, "enum": good_enums}),
    st.fixed_dictionaries({"type": st.sampled_from(["boolean", "null", "any", "object"])},
                          optional={"description": descriptions}),
    st.fixed_dictionaries({"type": types}, optional={"description": descriptions, "enum": good_enums}),
)


def good_properties(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.dictionaries(prop_keys, children, min_size=1, max_size=4),
                     st.dictionaries(prop_keys, children, max_size=3).map(FrozenMap),
                     st.dictionaries(keys, children, max_size=2),
                     st.just({}), st.just(["city"]), st.just("city"), st.none())


def good_schema(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("array"), "items": children}, optional={"description": descriptions}),
        st.fixed_dictionaries({"type": st.sampled_from(["object", Shout("object")])},
                              optional={"properties": good_properties(children), "required": required_lists,
                                        "description": descriptions}),
        st.fixed_dictionaries({"type": st.just("array")}),  # no items: KeyError
    )


good_schemas = st.recursive(good_leaf, good_schema, max_leaves=10)
good_parameters = st.one_of(
    st.fixed_dictionaries({"type": st.just("object"), "properties": good_properties(good_schemas)},
                          optional={"required": required_lists}),
    st.fixed_dictionaries({"properties": good_properties(good_schemas)}).map(FrozenMap),
    st.none(), st.just({}), st.just([1]), st.just("p"),
)
parameters = st.one_of(good_parameters, chaotic_schemas, st.none(), st.just({}), st.text(max_size=3),
                       st.lists(st.integers(), max_size=2), st.integers(0, 2),
                       st.builds(lambda p, r: {"type": "object", "properties": p, "required": r},
                                 st.dictionaries(keys, chaotic_schemas, max_size=4), st.lists(keys, max_size=3)))
functions = st.fixed_dictionaries({}, optional={"name": names, "description": descriptions,
                                                "parameters": parameters})
good_functions = st.fixed_dictionaries({"name": names, "parameters": good_parameters},
                                       optional={"description": descriptions})
function_like = st.one_of(good_functions, functions, functions.map(FrozenMap), good_functions.map(SubDict),
                          st.none(), st.text(max_size=3), st.integers(0, 3))
tool = st.one_of(
    st.builds(lambda f: {"type": "function", "function": f}, function_like),
    st.builds(lambda d: {"function_declarations": d}, st.one_of(st.lists(function_like, max_size=3), st.none(),
                                                              st.just([]), st.tuples(function_like),
                                                              st.text(max_size=2))),
    st.builds(lambda d: {"functionDeclarations": d}, st.one_of(st.lists(function_like, max_size=3),
                                                             st.tuples(good_functions))),
    st.builds(lambda a, b: {"function_declarations": a, "functionDeclarations": b},
              st.one_of(st.just([]), st.none()), st.lists(function_like, max_size=2)),
    st.fixed_dictionaries({"name": names}, optional={"description": descriptions, "input_schema": good_parameters,
                                                     "parameters": good_parameters}),
    st.fixed_dictionaries({}, optional={"name": names, "description": descriptions, "input_schema": parameters,
                                        "parameters": parameters, "function": st.one_of(st.none(), st.just(0))}),
    st.none(), st.text(max_size=3), st.integers(0, 3), st.lists(st.integers(0, 1), max_size=2),
)
tool_any = st.one_of(tool, tool.filter(lambda t: isinstance(t, dict)).map(FrozenMap),
                     tool.filter(lambda t: isinstance(t, dict)).map(SubDict))
tools_lists = st.one_of(st.lists(tool_any, max_size=4), st.tuples(tool_any, tool_any))
# Renderer inputs are cheap: five times the profile's example budget.
many = settings(max_examples=5 * settings.default.max_examples)


@needs_1106_renderer
class TestRenderer:
    @many
    @given(tools_lists)
    def test_any_tools(self, tools: Any) -> None:
        """Generated tools of every shape litellm reads render to litellm's string, or raise its exception."""
        assert outcome(render_tools, tools) == outcome(tc._format_function_definitions, tools)

    @many
    @given(st.lists(st.builds(lambda f: {"type": "function", "function": f}, good_functions), min_size=1, max_size=3))
    def test_openai_tools(self, tools: Any) -> None:
        """OpenAI-style tools (the common shape) render to litellm's string, or raise its exception."""
        assert outcome(render_tools, tools) == outcome(tc._format_function_definitions, tools)

    @many
    @given(names, descriptions, keys, descriptions, types, good_enums, required_lists, st.booleans())
    def test_formatted_values(self, name: Any, description: Any, key: Any, prop_description: Any, kind: Any,
                              enum: Any, required: Any, with_enum: bool) -> None:
        """Every value litellm formats or compares (names, descriptions, keys, types, enum items) gives its result."""
        prop: dict[str, Any] = {"type": kind, "description": prop_description}
        if with_enum:
            prop["enum"] = enum
        tools = [{"type": "function", "function": {"name": name, "description": description, "parameters": {
            "type": "object", "required": required, "properties": {
                key: prop, "n": {"type": "object", "properties": {key: prop}, "required": required},
                "a": {"type": "array", "items": prop}}}}}]
        assert outcome(render_tools, tools) == outcome(tc._format_function_definitions, tools)

    @pytest.mark.parametrize("tools", [
        [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"a": {"type": "array"}}}}}],  # KeyError: no items
        [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"a": {"type": "string", "enum": None}}}}}],  # TypeError
        [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"a": "not a dict"}}}}],  # AttributeError
        [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {1: {"type": "string"}}, "required": "abc"}}}],  # TypeError: in <string>
        [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"o": {"type": "object", "properties": ["x"]}}}}}],  # AttributeError
        None, 5,  # not iterable
        {"function": {"name": "f"}},  # a dict: its keys are iterated (strings, skipped)
        "abc", [], (),
    ])
    def test_litellm_errors_and_odd_containers(self, tools: Any) -> None:
        """Inputs on which litellm raises, or iterates something odd, behave identically."""
        assert outcome(render_tools, tools) == outcome(tc._format_function_definitions, tools)

    def test_nested_layout(self) -> None:
        """Deep objects and arrays keep litellm's indentation and brace placement."""
        inner = {"type": "object", "properties": {"b": {"type": "array", "items": {"type": "array", "items": {
            "type": "object", "properties": {"c": {"type": "integer", "enum": [1, True, 2.5, None]}},
            "required": ["c"]}}}, "e": {"type": "object"}}}
        tools = [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {
            "type": "object", "properties": {"a": inner, "z": {"type": "boolean", "description": "zz"}},
            "required": ("a",)}}}, {"name": "anthropic", "input_schema": inner}]
        expected = tc._format_function_definitions(tools)
        assert "\n    c: \"1\" | \"True\" | \"2.5\" | \"None\",\n}[][]," in expected
        assert render_tools(tools) == expected


class TestSourceGuard:
    @pytest.fixture(autouse=True)
    def fresh_check(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        """Each test starts with no cached source check and ends by dropping whatever it cached."""
        monkeypatch.setattr(_tools_format._Checked, "functions", None)
        monkeypatch.setattr(_tools_format._Checked, "exact", False)
        monkeypatch.setattr(_tools_format._Checked, "pure", False)
        yield
        _tools_format._Checked.functions = None

    def test_installed_litellm_matches(self) -> None:
        """The installed litellm's renderer source is the one reproduced (1.106.2's hash), and the
        native renderer runs; on another litellm, litellm's renderer does."""
        tools = [{"type": "function", "function": {"name": "f", "parameters": {"properties": {"a": {}}}}}]
        assert format_function_definitions(tc, tools) == tc._format_function_definitions(tools)
        assert _tools_format._Checked.exact is RENDERS_1106
        version = importlib.metadata.version("litellm")
        assert RENDERS_1106 is (tuple(map(int, version.split(".")[:2])) < (1, 109)), version

    def test_known_renderers_are_pure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """litellm's renderer on every supported line is a known one (counts remembered by the tools'
        plain data); a renderer of another source is not."""
        assert _tools_format.renders_purely(tc)
        monkeypatch.setattr(tc, "_format_type", lambda props, indent: "changed")
        assert not _tools_format.renders_purely(tc)

    def test_changed_hash_uses_litellms_renderer(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """When litellm's renderer source does not hash to 1.106.2's, litellm's own function renders."""
        monkeypatch.setattr(_tools_format, "LITELLM_RENDERER_SHA256", "0" * 64)

        def ours_must_not_run(tools: Any) -> str:
            raise AssertionError("native renderer used although the source hash differs")

        monkeypatch.setattr(_tools_format, "render_tools", ours_must_not_run)
        tools = [{"type": "function", "function": {"name": "f", "description": "d"}}]
        assert format_function_definitions(tc, tools) == tc._format_function_definitions(tools)
        assert _tools_format._Checked.exact is False

    @needs_1106_renderer
    def test_replaced_litellm_function_is_rechecked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Replacing one of litellm's five functions after the check sends rendering back to litellm."""
        tools = [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"a": {"type": "string"}}}}}]
        assert format_function_definitions(tc, tools) == tc._format_function_definitions(tools)
        assert _tools_format._Checked.exact is True
        monkeypatch.setattr(tc, "_format_type", lambda props, indent: "changed")
        assert "a?: changed," in tc._format_function_definitions(tools)
        assert format_function_definitions(tc, tools) == tc._format_function_definitions(tools)
        assert _tools_format._Checked.exact is False

    def test_changed_renderer_reaches_token_counter(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With litellm's renderer replaced, the patched token_counter still counts what litellm counts."""
        fast_litellm.apply_acceleration()
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        monkeypatch.setattr(tc, "_format_single_function_definition", lambda function: ("x " * 50,))
        kwargs = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                  "tools": [{"type": "function", "function": {"name": "f"}}]}
        assert litellm.token_counter(**kwargs) == original(**kwargs)


class TestToolsCountMemo:
    @pytest.fixture(autouse=True)
    def accelerated(self) -> Iterator[None]:
        """Acceleration on, memo empty."""
        fast_litellm.reload_flags()
        fast_litellm.apply_acceleration()
        _litellm_token_counter._tools_counts.clear()
        _litellm_token_counter._tools_by_input.clear()
        yield
        _litellm_token_counter._tools_counts.clear()
        _litellm_token_counter._tools_by_input.clear()

    @staticmethod
    def _tools(description: str) -> list[dict[str, Any]]:
        return [{"type": "function", "function": {"name": "f", "description": description, "parameters": {
            "type": "object", "properties": {"a": {"type": "string"}}}}}]

    def test_plain_keys_tell_values_apart(self) -> None:
        """The memo key is the same for the same exact plain data and differs wherever litellm's
        renderer could tell two values apart: types (1, 1.0, True, "1"; list and tuple; a str
        subclass), float bits (0.0 and -0.0), dict order, nesting; other values get no key."""
        from fast_litellm._bindings.plain import plain_key

        class Text(str):
            pass

        distinct: list[Any] = [
            None, True, False, 0, 1, -1, 2**63 - 1, -(2**63), 1.0, 0.0, -0.0, float("inf"), "", "1", "a",
            "é", "€", "😀", "a\x00", [], (), {}, [1], (1,), [[1]], [1, 2], [2, 1], {"a": 1}, {"a": True},
            {"a": 1.0}, {"a": "1"}, {"a": 1, "b": 2}, {"b": 2, "a": 1}, {1: "a"}, {"1": "a"}, [None],
            [{}], [[]], ["a", "b"], ["ab"], [["a"], "b"], [None, None], {"a": [1, {"b": (2, 3.5)}]},
        ]
        keys = [plain_key(value, 1 << 20) for value in distinct]
        assert None not in keys
        assert len(set(keys)) == len(keys)
        for value, key in zip(distinct, keys):
            assert plain_key(value, 1 << 20) == key
        import copy
        big = self._tools("description " * 40)
        assert plain_key(copy.deepcopy(big), 1 << 20) == plain_key(big, 1 << 20)
        deep: list[Any] = []
        for _ in range(100):
            deep = [deep]
        loop: list[Any] = []
        loop.append(loop)
        for refused in ([object()], {"a": b"bytes"}, [{1, 2}], [Text("a")], [2**64], {"a": SubDict()}, deep, loop,
                        FrozenMap({"a": 1})):
            assert plain_key(refused, 1 << 20) is None
        assert plain_key(big, 100) is None  # longer than the limit

    def test_changed_tools_are_recounted(self) -> None:
        """Tools mutated in place between calls are counted afresh (the key is the rendered block)."""
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        tools = self._tools("short")
        kwargs = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
        first = litellm.token_counter(**kwargs)
        assert first == original(**kwargs)
        tools[0]["function"]["description"] = "a much longer description than before " * 3
        second = litellm.token_counter(**kwargs)
        assert second == original(**kwargs) and second > first

    @pytest.mark.parametrize("models", [("gpt-4o", "gpt-4", "claude-sonnet-4-5")])
    def test_one_entry_per_tokenizer(self, models: tuple[str, ...]) -> None:
        """The same block counted for different tokenizers is remembered separately, each exact."""
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        tools = self._tools("日本語 " * 20 + "weather")
        for _ in range(2):
            for model in models:
                kwargs = {"model": model, "messages": [{"role": "user", "content": "hi"}], "tools": tools}
                assert litellm.token_counter(**kwargs) == original(**kwargs)
        assert len(_litellm_token_counter._tools_counts) == len(models)

    def test_bounded(self) -> None:
        """The memo never holds more than its size, and long blocks are not kept."""
        for i in range(_litellm_token_counter._TOOLS_MEMO_SIZE + 10):
            litellm.token_counter(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                  tools=self._tools(f"tool {i}"))
            assert len(_litellm_token_counter._tools_counts) <= _litellm_token_counter._TOOLS_MEMO_SIZE
        _litellm_token_counter._tools_counts.clear()
        long = self._tools("word " * (_litellm_token_counter._TOOLS_MEMO_MAX_CHARS // 5))
        litellm.token_counter(model="gpt-4o", messages=[{"role": "user", "content": "x"}], tools=long)
        assert _litellm_token_counter._tools_counts == {}

    def test_uncountable_block_is_not_kept(self) -> None:
        """A block litellm would not count exactly (a lone surrogate) goes to litellm and is not remembered."""
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        kwargs = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "tools": self._tools("a\ud800b")}
        assert outcome(lambda kw: litellm.token_counter(**kw), kwargs) == outcome(lambda kw: original(**kw), kwargs)
        assert _litellm_token_counter._tools_counts == {}

    def test_plain_tools_skip_rendering_on_repeat(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Equal plain-data tools (a fresh copy) are counted from the memo without rendering, exactly."""
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        rendered: list[Any] = []
        real = _litellm_token_counter.format_function_definitions

        def counting(module: Any, tools: Any) -> str:
            rendered.append(tools)
            return real(module, tools)

        monkeypatch.setattr(_litellm_token_counter, "format_function_definitions", counting)
        for model in ("gpt-4o", "claude-sonnet-4-5"):
            for _ in range(3):
                kwargs = {"model": model, "messages": [{"role": "user", "content": "hi"}],
                          "tools": self._tools("weather tool")}
                assert litellm.token_counter(**kwargs) == original(**kwargs)
        assert len(rendered) == 2  # once per tokenizer
        assert len(_litellm_token_counter._tools_by_input) == 2

    @pytest.mark.parametrize("value", [FrozenMap({"type": "string"}), SubDict(type="string"), Shout("weather"),
                                       Weird(), 10**5 + 0.5j])
    def test_other_objects_are_rendered_every_time(self, value: Any) -> None:
        """Tools holding anything but plain data get no input key; they are rendered (and counted) as litellm does."""
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        tools = [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {
            "type": "object", "properties": {"a": {"type": "string", "enum": [value]}, "b": value}}}}]
        kwargs = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "tools": tools}
        for _ in range(2):
            assert outcome(lambda kw: litellm.token_counter(**kw), kwargs) == outcome(lambda kw: original(**kw), kwargs)
        assert _litellm_token_counter._tools_by_input == {}

    @pytest.mark.parametrize("variants", [
        ([1], [True], [1.0], ["1"], [b"1"], [bytearray(b"1")], (1,), [None], [0], [False], [-0.0], [0.0]),
        ({"c": 1, "d": 2}, {"d": 2, "c": 1}),  # key order renders differently
    ])
    def test_equal_looking_data_is_not_conflated(self, variants: tuple[Any, ...]) -> None:
        """Values that compare or print alike but render differently keep separate counts (all litellm's)."""
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        for _ in range(2):
            for variant in variants:
                if isinstance(variant, dict):
                    props = {k: {"type": "integer", "description": f"p{v}"} for k, v in variant.items()}
                else:
                    props = {"a": {"type": "integer", "enum": variant}}
                tools = [{"type": "function", "function": {"name": "f", "parameters": {
                    "type": "object", "properties": props}}}]
                for model in ("gpt-4o", "gpt-4"):
                    kwargs = {"model": model, "messages": [{"role": "user", "content": "hi"}], "tools": tools}
                    assert litellm.token_counter(**kwargs) == original(**kwargs), variant

    def test_int_digit_limit_is_obeyed(self) -> None:
        """A huge enum int counted under a high str-digits limit raises like litellm once the limit is
        lowered: such tools are never remembered by input."""
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        kwargs = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                  "tools": [{"type": "function", "function": {"name": "f", "parameters": {
                      "type": "object", "properties": {"a": {"type": "integer", "enum": [10**5000]}}}}}]}
        saved = sys.get_int_max_str_digits()
        try:
            sys.set_int_max_str_digits(0)  # no limit
            assert litellm.token_counter(**kwargs) == original(**kwargs)
            assert len(_litellm_token_counter._tools_by_input) == 0
            sys.set_int_max_str_digits(4300)
            expected = outcome(lambda kw: original(**kw), kwargs)
            assert expected[0] == "raised" and expected[1] is ValueError
            assert outcome(lambda kw: litellm.token_counter(**kw), kwargs) == expected
        finally:
            sys.set_int_max_str_digits(saved)

    def test_no_input_key_when_the_renderer_is_not_exact(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With litellm's renderer replaced, nothing is remembered by input: litellm's renderer runs each time."""
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        monkeypatch.setattr(_tools_format._Checked, "functions", None)
        monkeypatch.setattr(tc, "_format_type", lambda props, indent: "changed " * 3)
        kwargs = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "tools": self._tools("x")}
        for _ in range(2):
            assert litellm.token_counter(**kwargs) == original(**kwargs)
        assert _litellm_token_counter._tools_by_input == {}
        monkeypatch.undo()
        _tools_format._Checked.functions = None

    def test_input_memo_bounded(self) -> None:
        """The input memo never holds more than its size."""
        for i in range(_litellm_token_counter._TOOLS_MEMO_SIZE + 10):
            litellm.token_counter(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                  tools=self._tools(f"tool {i}"))
            assert len(_litellm_token_counter._tools_by_input) <= _litellm_token_counter._TOOLS_MEMO_SIZE

    @many
    @given(st.lists(tools_lists.filter(bool), min_size=2, max_size=4), st.sampled_from(["gpt-4o", "claude-sonnet-4-5"]))
    def test_generated_sequences(self, sequence: list[Any], model: str) -> None:
        """Generated tools counted one after another, and again, all give litellm's result (no stale memo hit)."""
        original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
        for tools in sequence + sequence:
            kwargs = {"model": model, "messages": [{"role": "user", "content": "hi"}], "tools": tools}
            assert outcome(lambda kw: litellm.token_counter(**kw), kwargs) == outcome(lambda kw: original(**kw), kwargs)
