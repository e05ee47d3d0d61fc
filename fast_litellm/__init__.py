"""fast-litellm: native C acceleration for LiteLLM with results identical to litellm's own.

``import fast_litellm`` (before or after ``import litellm``) installs the
native paths; it never imports litellm itself.  Each path sits behind its
feature's gate (flags, rollout, circuit breaker, monitor); see
``docs/configuration.md``.  ``FAST_LITELLM_ENABLED=false`` turns everything off.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fast_litellm.adapters import import_hook as _import_hook
from fast_litellm.adapters.patching import (
    WATCHED_MODULES,
    apply_acceleration,
    get_original,
    get_patch_status,
    native_status,
    reapply_on_import,
    remove_acceleration,
)
from fast_litellm.control import flags as _flags
from fast_litellm.control.flags import configure, reload_flags
from fast_litellm.control.health import get_feature_status, health_check, is_enabled, reset_errors
from fast_litellm.control.report import (
    compare_implementations,
    export_performance_data,
    get_performance_stats,
    get_recommendations,
    register_prometheus_collector,
)

if TYPE_CHECKING:
    from fast_litellm.tokenizer import Encoding

try:
    __version__ = importlib.metadata.version("fast-litellm")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"

__all__ = [
    "NATIVE_ACCELERATION_AVAILABLE",
    "RUST_ACCELERATION_AVAILABLE",
    "__version__",
    "apply_acceleration",
    "compare_implementations",
    "configure",
    "export_performance_data",
    "get_encoding",
    "get_feature_status",
    "get_original",
    "get_patch_status",
    "get_performance_stats",
    "get_recommendations",
    "health_check",
    "is_enabled",
    "register_prometheus_collector",
    "reload_flags",
    "remove_acceleration",
    "reset_errors",
]

NATIVE_ACCELERATION_AVAILABLE: bool
RUST_ACCELERATION_AVAILABLE: bool  # the prior art's name, for code written against it


def __getattr__(name: str) -> Any:
    """``NATIVE_ACCELERATION_AVAILABLE`` loads the extension on first read, not at import."""
    if name in ("NATIVE_ACCELERATION_AVAILABLE", "RUST_ACCELERATION_AVAILABLE"):
        return native_status()[0]
    raise AttributeError(f"module 'fast_litellm' has no attribute {name!r}")


_tokenizer_get_encoding: list[Callable[[str], Encoding]] = []  # set once the tokenizer is imported


def get_encoding(name: str) -> Encoding:
    """The native tiktoken-compatible encoding ``name`` (see fast_litellm.tokenizer).

    Imported lazily so that ``import fast_litellm`` stays cheap; the first call's import runs as a
    load a fork waits for (``_forksafe.loading``), later calls go straight to the cache.
    """
    if not _tokenizer_get_encoding:
        from fast_litellm import _forksafe

        with _forksafe.loading():
            from fast_litellm.tokenizer import get_encoding as _get_encoding

        _tokenizer_get_encoding[:] = [_get_encoding]  # one store: racing threads write the same function
    return _tokenizer_get_encoding[0](name)


def _instrument() -> None:
    snapshot = _flags.current()
    if not snapshot.enabled and snapshot.enabled_source == f"env:{_flags.KILL_SWITCH_ENV}":
        return  # the kill switch: no import hook, no patch, litellm untouched
    _import_hook.install(WATCHED_MODULES, reapply_on_import)
    if any(name in sys.modules for name in WATCHED_MODULES):
        apply_acceleration()
    else:
        from fast_litellm.adapters import patching as _patching

        _patching._state.requested = True


_instrument()
