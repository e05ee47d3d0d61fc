"""Patch litellm when it is imported, without importing it ourselves.

A ``sys.meta_path`` finder wraps the loader of each watched module so that,
right after the module's code has run, ``patching.reapply_on_import`` patches
whatever became reachable.  The finder only ever answers for watched names and
delegates the actual finding to the rest of ``sys.meta_path``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["install", "uninstall"]


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, on_loaded: Callable[[], None]) -> None:
        self._loader = loader
        self._on_loaded = on_loaded

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._on_loaded()

    def __getattr__(self, name: str) -> Any:  # get_code, get_source, is_package, ...
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, names: frozenset[str], on_loaded: Callable[[], None]) -> None:
        self._names = names
        self._on_loaded = on_loaded
        self._busy = threading.local()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self._names or getattr(self._busy, "active", False):
            return None
        self._busy.active = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy.active = False
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader, self._on_loaded)
        return spec


_finder: _Finder | None = None


def install(names: frozenset[str], on_loaded: Callable[[], None]) -> None:
    """Watch ``names``; idempotent."""
    global _finder
    if _finder is None:
        _finder = _Finder(names, on_loaded)
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Stop watching (used by tests)."""
    global _finder
    if _finder is not None:
        try:
            sys.meta_path.remove(_finder)
        except ValueError:
            pass
        _finder = None
