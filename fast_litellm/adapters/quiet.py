"""litellm's routing-cache methods without their eager debug strings.

``DualCache.get_cache``, ``async_get_cache``, ``async_set_cache`` and ``async_set_cache_pipeline``
each format the whole value they read or write into an f-string for ``print_verbose``, which
discards it unless ``litellm._logging.set_verbose`` is true.  The router keeps its usage maps in
that cache, so every pick of the latency, usage and cost strategies formats a map of the whole
group: 580 us per pick at 100 deployments, most of a pick.

The replacement is litellm's own method, compiled again from its source (the sources
``adapters.guards`` checked) with each ``print_verbose(...)`` statement put under the condition
``print_verbose`` itself tests first: the string is built and printed exactly when litellm would
print it, and everything else runs as litellm wrote it (same file and line numbers in tracebacks).
The one difference: a value whose ``__repr__`` raises no longer reaches litellm's ``except``
through the debug string when verbose output is off.
"""

from __future__ import annotations

import ast
import inspect
import logging
import textwrap
import types
from collections.abc import Callable
from typing import Any

from fast_litellm.control.gate import Gate, mark_wrapper

__all__ = ["make_quiet", "quiet_copy"]

logger = logging.getLogger("fast_litellm")

_CHECK = "_fast_litellm_verbose"


class _Guard(ast.NodeTransformer):
    """Puts each ``print_verbose(...)`` expression statement under ``if _fast_litellm_verbose():``."""

    def __init__(self) -> None:
        self.guarded = 0

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print_verbose":
            self.guarded += 1
            test = ast.Call(func=ast.Name(id=_CHECK, ctx=ast.Load()), args=[], keywords=[])
            return ast.copy_location(ast.If(test=test, body=[node], orelse=[]), node)
        return node


def _verbose_check(module_globals: dict[str, Any]) -> Callable[[], bool]:
    """True when the module's ``print_verbose`` would print: litellm._logging's own function with its
    ``set_verbose`` true, or any other object bound to the name (called as before)."""
    known = module_globals.get("print_verbose")
    known_globals = getattr(known, "__globals__", None)
    if getattr(known, "__module__", None) != "litellm._logging" or known_globals is None:
        return lambda: True

    def verbose() -> bool:
        if module_globals.get("print_verbose") is not known:
            return True
        return bool(known_globals.get("set_verbose"))

    return verbose


def quiet_copy(fn: types.FunctionType) -> types.FunctionType | None:
    """``fn`` compiled again with its ``print_verbose`` statements guarded, or None where it has
    none or cannot be rebuilt (no source, decorators, closures of its own)."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    definition = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)) or definition.decorator_list:
        return None
    if fn.__code__.co_freevars:
        return None
    guard = _Guard()
    definition = guard.visit(definition)
    if not guard.guarded:
        return None
    # def _fast_litellm_make(_fast_litellm_verbose): <the method>; return <its name>
    maker = ast.FunctionDef(
        name="_fast_litellm_make",
        args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=_CHECK)], vararg=None, kwonlyargs=[],
                           kw_defaults=[], kwarg=None, defaults=[]),
        body=[definition, ast.Return(value=ast.Name(id=definition.name, ctx=ast.Load()))],
        decorator_list=[], returns=None, type_comment=None,
    )
    setattr(maker, "type_params", [])  # noqa: B010 - Python 3.12+ requires it; earlier ones ignore it
    module = ast.Module(body=[maker], type_ignores=[])
    ast.fix_missing_locations(module)
    ast.increment_lineno(module, fn.__code__.co_firstlineno - 1)
    code = compile(module, filename, "exec")
    maker_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    make = types.FunctionType(maker_code, fn.__globals__)
    quiet: types.FunctionType = make(_verbose_check(fn.__globals__))
    quiet.__defaults__ = fn.__defaults__
    quiet.__kwdefaults__ = fn.__kwdefaults__
    quiet.__qualname__ = fn.__qualname__
    quiet.__module__ = fn.__module__
    quiet.__doc__ = fn.__doc__
    quiet.__annotations__ = dict(fn.__annotations__)
    return quiet


def make_quiet(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """The patch factory: litellm's method with guarded debug strings.  It is litellm's own code,
    so it is installed as is (no native path to fall back from: its exceptions are litellm's);
    the feature's flag installs and removes it."""
    quiet = quiet_copy(original) if isinstance(original, types.FunctionType) else None
    if quiet is None:
        logger.debug("fast_litellm: %s kept as it is", getattr(original, "__qualname__", original))
        quiet_wrapper: Callable[..., Any] = original
        return quiet_wrapper
    mark_wrapper(quiet, original)
    quiet.__fast_litellm_reason__ = "litellm's code, debug strings built only when printed"  # type: ignore[attr-defined]
    return quiet
