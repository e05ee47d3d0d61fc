"""``litellm.router.copy.deepcopy`` (fast_litellm/router/fastcopy.py) copies as ``copy.deepcopy``.

Generated plain data (dicts, lists, tuples, str, int, float, bool, None, bytes) with shared parts,
cycles and tuples of atoms, and some values of other types (handed to copy.deepcopy): the copies
must be equal, share exactly where copy.deepcopy's share, and keep exactly the objects it keeps.
A planted bug fails it: copying a tuple of atoms, or skipping the memo (shared parts copied twice).
"""

from __future__ import annotations

import copy
import random
import sys
from decimal import Decimal
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")
router_module = pytest.importorskip("litellm.router")

OLD_ROUTER = "_drop_strategy_markers" in vars(router_module.Router)  # the site: litellm 1.106-1.108
pytestmark = [pytest.mark.usefixtures("router_on"),
              pytest.mark.skipif(not OLD_ROUTER, reason="litellm.router binds copy on 1.106-1.108")]


def value(rng: random.Random, depth: int, shared: list[Any]) -> Any:
    kind = rng.random()
    if depth > 4 or kind < 0.35:
        return rng.choice([None, True, False, 0, -7, 2**70, 1.5, float("inf"), "s", "é", "", b"b",
                           Decimal("1.5") if rng.random() < 0.02 else 3])
    if kind < 0.45 and shared:
        return rng.choice(shared)  # the same object again
    if kind < 0.65:
        out: Any = [value(rng, depth + 1, shared) for _ in range(rng.randrange(4))]
    elif kind < 0.8:
        out = tuple(value(rng, depth + 1, shared) for _ in range(rng.randrange(4)))
    else:
        out = {f"k{i}": value(rng, depth + 1, shared) for i in range(rng.randrange(5))}
        if rng.random() < 0.1:
            out[(1, "t")] = 1
    if rng.random() < 0.3:
        shared.append(out)
    if isinstance(out, list) and rng.random() < 0.05:
        out.append(out)  # a cycle
    return out


def shape(x: Any, seen: dict[int, int]) -> Any:
    """x's structure with every container numbered by first visit: equal shapes share alike."""
    if isinstance(x, (list, tuple, dict)):
        if id(x) in seen:
            return ("ref", seen[id(x)])
        seen[id(x)] = len(seen)
        if isinstance(x, dict):
            return ("dict", seen[id(x)], [(shape(k, seen), shape(v, seen)) for k, v in x.items()])
        return (type(x).__name__, seen[id(x)], [shape(v, seen) for v in x])
    return (type(x).__name__, repr(x))


def kept(original: Any, copied: Any, out: list[bool]) -> None:
    """Which objects the copy kept (is) rather than copied, in walk order."""
    stack, seen = [(original, copied)], set()
    while stack:
        a, b = stack.pop()
        if id(a) in seen:
            continue
        seen.add(id(a))
        out.append(a is b)
        if isinstance(a, (list, tuple)):
            stack.extend(zip(a, b))
        elif isinstance(a, dict):
            stack.extend(zip(a.values(), b.values()))


def test_deepcopy_is_copy_deepcopy() -> None:
    ours = router_module.copy.deepcopy
    assert getattr(ours, "__fast_litellm__", False) and copy.deepcopy is not ours
    assert sys.modules["copy"].deepcopy is copy.deepcopy  # the process's copy module is untouched
    rng = random.Random(9)
    for _ in range(3000):
        x = value(rng, 0, [])
        expected, got = copy.deepcopy(x), ours(x)
        assert shape(got, {}) == shape(expected, {})
        a: list[bool] = []
        b: list[bool] = []
        kept(x, expected, a)
        kept(x, got, b)
        assert a == b


def test_model_info_copy() -> None:
    """The router's own use: get_router_model_info's copy of a cost-map row."""
    row = litellm.model_cost["gpt-4o"]
    copied = router_module.copy.deepcopy(row)
    assert copied == copy.deepcopy(row) and copied is not row
    assert router_module.copy.deepcopy(row, {}) == copied  # with a memo: copy.deepcopy itself
