"""litellm's tools block (``_format_function_definitions``) rendered in one tight pass.

litellm 1.106.2 counts a request's ``tools`` by rendering them as the TypeScript-like
namespace OpenAI is believed to use (``litellm.litellm_core_utils.token_counter``:
``_format_function_definitions``, ``_function_definitions_for_tool``,
``_format_single_function_definition``, ``_format_object_parameters``, ``_format_type``)
and counting that string.  ``render_tools`` is the same algorithm written without
generators, tuples or per-level joins; it performs the same ``.get`` / ``[]`` / ``in`` /
``==`` / truth-value / ``format`` operations on the input, in the same order, so it
returns the same string, or raises the same exception, for every input.  The only
shortcuts are ones that cannot change an answer:

* ``type(x) is dict`` before ``isinstance(x, Mapping)`` (a dict is always a Mapping);
* for a ``type`` value that is exactly ``str``, one dict lookup instead of the chain of
  ``==`` comparisons (a str equals a str literal exactly when they hash and compare
  equal); any other value goes through litellm's chain, so custom ``__eq__`` runs as
  it would there;
* lines are written into one list with their indentation already in front, instead of
  joined per nesting level and prefixed afterwards (the same characters result).

``format_function_definitions`` is the entry point: it uses ``render_tools`` only while
litellm's five functions are the ones this file reproduces (a hash of their source text,
checked once, and their identity, checked per call); otherwise it calls litellm's own.

litellm 1.109 renders differently (Anthropic web_search tools skipped, unmapped Anthropic keys
merged into the parameters, ``strict``, no exception on malformed schemas).  That renderer is not
reproduced, but it is known (``LITELLM_1109_RENDERER``): like 1.106's, its string is a function of
the tools' plain data alone, so a count of it may be remembered by that data (``renders_purely``).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["LITELLM_RENDERER_SHA256", "format_function_definitions", "render_tools", "renders_natively",
           "renders_purely"]

logger = logging.getLogger("fast_litellm")

# sha256 of the source text of litellm 1.106.2's five functions, in _FUNCTIONS order, joined
# by "\n" (``inspect.getsource`` of each).
LITELLM_RENDERER_SHA256 = "8d06dc3a3d4a5e8be0569bb5600f2871fc461dabfb6091a56596ac03cd4019ef"
_FUNCTIONS = (
    "_format_function_definitions",
    "_function_definitions_for_tool",
    "_format_single_function_definition",
    "_format_object_parameters",
    "_format_type",
)
# litellm 1.109.3-1.110.2: the sha256 of the same five functions, and of the two more they call.
LITELLM_1109_RENDERER = ("7b7b4fd9498891644ff39d05bed6fabf928d6460ce501939a46c8a80e2b70baf", {
    "_function_definitions": "dcfafe521381ddf667928ab1deda1610712767419ed4f8871c9cae2c832b0737",
    "_tool_mappings": "d1c97ac5a1a0984c28e56bc43cf4fec2c5a508471d8a961674db28045dae32e9",
})
_ALL_FUNCTIONS = _FUNCTIONS + tuple(LITELLM_1109_RENDERER[1])

# _format_type's answers for a "type" that is exactly a str: 0 string, 1 array, 2 object,
# 3 integer/number, 4 boolean, 5 null; anything else (absent here) is "any".
_KIND = {"string": 0, "array": 1, "object": 2, "integer": 3, "number": 3, "boolean": 4, "null": 5}
_SCALAR = {4: "boolean", 5: "null", -1: "any"}


def _kind(t: Any) -> int:
    """litellm's ``==`` chain on a ``type`` value that is not exactly a str."""
    if t == "string":
        return 0
    if t == "array":
        return 1
    if t == "object":
        return 2
    if t in ["integer", "number"]:
        return 3
    if t == "boolean":
        return 4
    if t == "null":
        return 5
    return -1


def _type(props: Any, indent: int, out: list[str]) -> None:
    """``_format_type(props, indent)``, written to ``out``."""
    t = props.get("type")
    kind = _KIND.get(t, -1) if type(t) is str else _kind(t)
    if kind == 0 or kind == 3:
        if "enum" in props:
            out.append(" | ".join([f'"{item}"' for item in props["enum"]]))
        else:
            out.append("string" if kind == 0 else "number")
    elif kind == 1:
        _type(props["items"], indent, out)
        out.append("[]")
    elif kind == 2:
        out.append("{\n")
        _object(props, indent + 2, out)
        out.append("\n}")
    else:
        out.append(_SCALAR[kind])


def _object(parameters: Any, indent: int, out: list[str]) -> None:
    """``_format_object_parameters(parameters, indent)``, written to ``out``.

    Each property line is ``{pad}{key}{question}: {type},``; lines are separated by "\n".  The
    common property types are written inline; arrays and objects go through ``_type``.
    """
    properties = parameters.get("properties")
    if not properties:
        return
    required = parameters.get("required", [])
    pad = " " * max(0, indent)
    sep = ""
    for key, props in properties.items():
        description = props.get("description")
        if description:
            out.append(f"{sep}{pad}// {description}")
            sep = "\n"
        question = "?"
        if required and key in required:
            question = ""
        head = f"{sep}{pad}{key}{question}: "
        sep = "\n"
        t = props.get("type")
        kind = _KIND.get(t, -1) if type(t) is str else _kind(t)
        if kind == 0 or kind == 3:
            if "enum" in props:
                out.append(head + " | ".join([f'"{item}"' for item in props["enum"]]) + ",")
            else:
                out.append(head + ("string," if kind == 0 else "number,"))
        elif kind == 1:
            out.append(head)
            _type(props["items"], indent, out)
            out.append("[],")
        elif kind == 2:
            out.append(head + "{\n")
            _object(props, indent + 2, out)
            out.append("\n},")
        else:
            out.append(head + _SCALAR[kind] + ",")


def _function(function: Any, out: list[str]) -> None:
    """``_format_single_function_definition(function)``, each line + "\\n", written to ``out``."""
    name = function.get("name")
    if not name:
        return
    description = function.get("description")
    parameters = function.get("parameters") or {}
    if type(parameters) is not dict and not isinstance(parameters, Mapping):
        parameters = {}
    properties = parameters.get("properties")
    if (type(properties) is dict or isinstance(properties, Mapping)) and properties:
        if description:
            out.append(f"// {description}\n")
        out.append(f"type {name} = (_: {{\n")
        _object(parameters, 0, out)
        out.append("\n}) => any;\n\n")
    else:
        if description:
            out.append(f"// {description}\n")
        out.append(f"type {name} = () => any;\n\n")


def render_tools(tools: Any) -> str:
    """litellm 1.106.2's ``_format_function_definitions(tools)``: same string, same exceptions."""
    out = ["namespace functions {\n\n"]
    for tool in tools:
        if type(tool) is not dict and not isinstance(tool, Mapping):
            continue
        function = tool.get("function")
        if type(function) is dict or isinstance(function, Mapping):
            _function(function, out)
            continue
        declarations = tool.get("function_declarations") or tool.get("functionDeclarations")
        if isinstance(declarations, list):
            for declaration in declarations:
                if type(declaration) is dict or isinstance(declaration, Mapping):
                    _function(declaration, out)
            continue
        parameters = tool.get("input_schema") or tool.get("parameters") or {}
        normalized = parameters if isinstance(parameters, Mapping) else {}
        _function({"name": tool.get("name"), "description": tool.get("description"), "parameters": normalized},
                  out)
    out.append("} // namespace functions")
    return "".join(out)


def _source_sha256(module: Any) -> str:
    """sha256 of the source text of litellm's five renderer functions (see LITELLM_RENDERER_SHA256)."""
    text = "\n".join(inspect.getsource(getattr(module, name)) for name in _FUNCTIONS)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Checked:
    """litellm's renderer functions as they were when their source hash was checked (None: not
    yet): ``exact``, 1.106.2's (render_tools reproduces it); ``pure``, 1.106.2's or 1.109's."""

    functions: tuple[Any, ...] | None = None
    exact = False
    pure = False


def _is_1109_renderer(module: Any, digest: str) -> bool:
    if digest != LITELLM_1109_RENDERER[0]:
        return False
    for name, expected in LITELLM_1109_RENDERER[1].items():
        text = inspect.getsource(getattr(module, name))
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != expected:
            return False
    return True


def _check(module: Any) -> bool:
    """Hash litellm's renderer source once per set of function objects; True if it is 1.106.2's."""
    functions = tuple(getattr(module, name, None) for name in _ALL_FUNCTIONS)
    if functions != _Checked.functions:
        try:
            digest = _source_sha256(module)
            exact = digest == LITELLM_RENDERER_SHA256
            pure = exact or _is_1109_renderer(module, digest)
        except Exception:  # noqa: BLE001 - no source (zipapp, frozen): assume nothing
            digest, exact, pure = "", False, False
        if not exact:
            logger.debug("fast_litellm: litellm's tools renderer differs from 1.106.2's (sha256 %s); "
                         "its own renderer is used", digest or "unavailable")
        _Checked.exact = exact
        _Checked.pure = pure
        _Checked.functions = functions
    return _Checked.exact


def renders_natively(module: Any) -> bool:
    """True while litellm's five functions are the checked 1.106.2 ones (``render_tools`` is exact)."""
    checked = _Checked.functions
    return (
        checked is not None
        and _Checked.exact
        and module._format_function_definitions is checked[0]
        and module._function_definitions_for_tool is checked[1]
        and module._format_single_function_definition is checked[2]
        and module._format_object_parameters is checked[3]
        and module._format_type is checked[4]
    ) or _check(module)


def renders_purely(module: Any) -> bool:
    """True while litellm's renderer is one of the known ones, whose string depends on the tools'
    plain data alone (1.106.2's, reproduced, or 1.109's)."""
    _check(module)
    return _Checked.pure


def format_function_definitions(module: Any, tools: Any) -> str:
    """``module._format_function_definitions(tools)``, rendered natively when that is exact.

    Args:
        module: ``litellm.litellm_core_utils.token_counter``.
        tools: the request's ``tools``.
    """
    if renders_natively(module):
        return render_tools(tools)
    rendered: str = module._format_function_definitions(tools)
    return rendered
