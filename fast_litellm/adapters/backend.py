"""Which backend litellm's HuggingFace tokenizers load on, asked cheaply.

``litellm.utils._huggingface_tokenizer_backend()`` runs litellm's rollout catalog: it walks the
catalog's rules to the one for HuggingFace tokenizers, then reads ``LITELLM_RUST`` and the
``litellm.rust()`` override.  That costs about 2.5 us, several times the native count of a short
message, and litellm's token_counter asks it on every call with a Claude model name.

When the catalog gives HuggingFace tokenizers the ``PYTHON_ONLY`` rollout (litellm 1.106 does),
the decision is ``PYTHON`` whatever the environment or override say, so it depends only on the
catalog itself.  That answer is remembered with the objects it came from: litellm's function,
the ``decision`` it calls, the context, the rules and the catalog's functions.  A call compares
them with the current ones (functions by identity, the context and the frozen rules by value)
and asks litellm again on any difference; so does every call while the rollout is not
``PYTHON_ONLY``.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["RememberedCatalog", "hf_backend_is_python"]


class RememberedCatalog:
    """The catalog objects behind the last PYTHON_ONLY answer (None: nothing remembered).

    The C entry of token_counter (native/pymessages.c ``backend_is_python``) reads ``objects``
    too and compares them, in ``_catalog_objects``' order, with the current ones by identity.
    """

    objects: tuple[Any, ...] | None = None


_CATALOG = "litellm.rust_bridge.catalog"


def _catalog_objects(utils: Any) -> tuple[Any, ...]:
    """What ``_huggingface_tokenizer_backend`` depends on (litellm 1.106's layout)."""
    catalog = sys.modules[_CATALOG]
    return (utils._huggingface_tokenizer_backend, utils.decision, utils.tokenizer_dispatch.HUGGINGFACE_CONTEXT,
            catalog.RULES, catalog.rollout, catalog._decision)


def hf_backend_is_python(utils: Any) -> bool:
    """Whether ``litellm.utils._huggingface_tokenizer_backend()`` answers ``Decision.PYTHON``."""
    remembered = RememberedCatalog.objects
    if remembered is not None:
        try:
            if _catalog_objects(utils) == remembered:
                return True
        except (AttributeError, KeyError):
            pass
        RememberedCatalog.objects = None
    try:
        answer = utils._huggingface_tokenizer_backend()
    except Exception:  # noqa: BLE001 - whatever litellm would do, it does itself
        return False
    python = getattr(answer, "name", None) == "PYTHON"
    if python:
        _remember_if_python_only(utils)
    return python


def _remember_if_python_only(utils: Any) -> None:
    """Remember the catalog's objects when its rollout for HuggingFace tokenizers is PYTHON_ONLY
    and litellm's function is the one written against (it reads only those objects)."""
    try:
        objects = _catalog_objects(utils)
        backend, decision, context = objects[0], objects[1], objects[2]
        catalog = sys.modules[_CATALOG]
        if (backend.__code__.co_names != ("decision", "tokenizer_dispatch", "HUGGINGFACE_CONTEXT")
                or backend.__globals__ is not vars(utils) or decision is not catalog.decision):
            return
        rollout = catalog.rollout(context)
    except Exception:  # noqa: BLE001 - not the layout this was written against: ask every time
        return
    if getattr(rollout, "name", None) == "PYTHON_ONLY":
        RememberedCatalog.objects = objects
