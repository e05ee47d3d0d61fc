"""The ``copy`` module as litellm 1.106-1.108's router sees it, with ``deepcopy`` native for plain data.

The router deep-copies the cost map's model-info row (167 keys) twice on every successful request
(``get_router_model_info``, through ``_increment_deployment_usage``), 2N times per pick with
``enable_pre_call_checks``, and the messages of some requests.  ``litellm.router.copy`` becomes a
module of the same functions whose ``deepcopy`` copies exact None, bool, int, float, str, bytes,
list, tuple and dict natively as ``copy.deepcopy`` does (shared and cyclic parts copied once, a
tuple of atoms kept) and hands anything else, or a call with a ``memo``, to ``copy.deepcopy``.
Only the router's binding changes; the process's ``copy`` module is untouched.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from fast_litellm.control.gate import NOT_COVERED, Gate, mark_wrapper

__all__ = ["make_router_copy"]


def make_router_copy(original: Any, gate: Gate) -> Any:
    """The stand-in for ``litellm.router.copy`` (``original``, the ``copy`` module)."""
    if not isinstance(original, types.ModuleType) or original.__name__ != "copy":
        return original  # not the module this reproduces: left alone
    from fast_litellm._bindings.router import plain_deepcopy

    real: Callable[..., Any] = original.deepcopy

    def native(value: Any) -> Any:
        copied = plain_deepcopy(value)
        return NOT_COVERED if copied is None else copied[0]

    run = gate.runner(native, real)
    _nil: list[Any] = []

    def deepcopy(x: Any, memo: Any = None, _nil: Any = _nil) -> Any:
        if memo is None:
            return run((x,))
        return real(x, memo)

    mark_wrapper(deepcopy, real)
    stand_in = types.ModuleType("copy", original.__doc__)
    stand_in.__dict__.update({k: v for k, v in vars(original).items() if k not in ("__name__", "__doc__")})
    stand_in.deepcopy = deepcopy  # type: ignore[attr-defined]
    stand_in.__wrapped__ = original  # type: ignore[attr-defined]
    stand_in.__fast_litellm__ = True  # type: ignore[attr-defined]
    stand_in.__fast_litellm_reason__ = "copy.deepcopy native for plain data"  # type: ignore[attr-defined]
    return stand_in
