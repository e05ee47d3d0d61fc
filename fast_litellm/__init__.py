"""fast-litellm: native C acceleration for LiteLLM with results identical to litellm's own.

``import fast_litellm`` (before or after ``import litellm``) installs the
native paths; it never imports litellm itself.  ``FAST_LITELLM_ENABLED=false``
turns everything off.
"""

from __future__ import annotations

import importlib.metadata
import sys
from typing import TYPE_CHECKING

from fast_litellm import _import_hook, _switches
from fast_litellm._health import health_check
from fast_litellm._patching import (
    WATCHED_MODULES,
    apply_acceleration,
    get_original,
    get_patch_status,
    reapply_on_import,
    remove_acceleration,
)

if TYPE_CHECKING:
    from fast_litellm.tokenizer import Encoding

try:
    __version__ = importlib.metadata.version("fast-litellm")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"

__all__ = [
    "__version__",
    "apply_acceleration",
    "get_encoding",
    "get_original",
    "get_patch_status",
    "health_check",
    "remove_acceleration",
]


def get_encoding(name: str) -> Encoding:
    """The native tiktoken-compatible encoding ``name`` (see fast_litellm.tokenizer).

    Imported lazily so that ``import fast_litellm`` stays cheap.
    """
    from fast_litellm.tokenizer import get_encoding as _get_encoding

    return _get_encoding(name)


def _instrument() -> None:
    if not _switches.globally_enabled():
        return
    _import_hook.install(WATCHED_MODULES, reapply_on_import)
    if any(name in sys.modules for name in WATCHED_MODULES):
        apply_acceleration()
    else:
        from fast_litellm import _patching

        _patching._state.requested = True


_instrument()
