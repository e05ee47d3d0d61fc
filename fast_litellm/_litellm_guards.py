"""Which litellm functions each feature reproduces, and the sources of them it reproduces exactly.

A feature replaces litellm functions with native code that does what litellm's code does, so it
may run only where litellm's code is code we have checked.  The version number says little
(litellm ships weekly, and its long-term-support line backports), so each function is recognised
by the SHA-256 of its source (``inspect.getsource``).  Where any function a feature reproduces has
a source not listed here, the feature's sites stay litellm's and ``status`` names the function;
nothing is patched blindly.  Other features are unaffected.

A source joins a list only after the differential suites passed against that litellm (the
versions are named at each hash).  Finer guards sit where a feature can leave part of its work to
litellm on its own: the tools renderer (``_tools_format.LITELLM_RENDERER_SHA256``: requests with
``tools`` go to litellm) and the C entry's model rules (``_litellm_token_counter._MODEL_RULES``:
litellm's functions are called).
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from typing import Any

__all__ = ["GUARDED_MODULES", "REPRODUCED", "check_feature"]

_UTILS = "litellm.utils"
_TC = "litellm.litellm_core_utils.token_counter"

# 1.106.2, 1.106.12 and 1.108.14 share every source below unless a second hash is listed.
_V106 = "1.106.2-1.108.14"

REPRODUCED: dict[str, dict[tuple[str, str], dict[str, str]]] = {
    # litellm.utils.encode / decode with the tokenizer litellm selects (cl100k_base unless
    # huggingface_tokenizer_kind, called live, names a HuggingFace tokenizer).
    "tokenizer": {
        (_UTILS, "encode"): {"4b6f2f18b31220de0016dce46e46de1968133852737e4e4a33c0e454cbf5b797": _V106},
        (_UTILS, "decode"): {"e2505c2ce9f1ba3e52d682d4a76ed4e53313b14681a1e1fb1e470c8601cc4d81": _V106},
        (_UTILS, "select_tokenizer"): {
            "efddb09f2b75e7ace178a99eea528dc9b47a4381a03365758e1f817e14186c85": _V106},
        (_UTILS, "_select_tokenizer_helper"): {
            "e7d9bb80eb5e581eb8d880b91213d82e77d88460e0dcc74b476453d5a9e353c4": _V106,
            # 1.109: a remembered HuggingFace load failure also falls back to tiktoken, and the warning
            # moved to a helper; a model whose huggingface_tokenizer_kind is None still gets
            # _return_openai_tokenizer, and every other one is litellm's own call.
            "08f73e2713db89f26e1a8e93895937cc5084e53db37b99d1dde9dca83d51d4e1": "1.109.3-1.110.2",
        },
        (_UTILS, "_return_openai_tokenizer"): {
            "213a9166d10fb8414bc2af59cd4280d6678321f0c45d66b7e9d7c0b794441abd": "1.106.2-1.110.2"},
        (_UTILS, "get_default_encoding"): {
            "ea1123802a05ec619e8e47077a610cbd9d4b81e28dfc14293ef88351b5316b4f": "1.106.2-1.110.2"},
    },
    # token_counter's walk, its slices and limit, the model -> encoding rule, the Anthropic
    # tokenizer litellm loads (images, messages conversion and the model rules are called live).
    "token_counter": {
        (_UTILS, "token_counter"): {
            "1fe11ad74a98f0943134c7ed7f326fb86d02f1bd27b2b4689f8b4e5ab77e19e3": _V106},
        (_UTILS, "_select_tokenizer_helper"): {
            "e7d9bb80eb5e581eb8d880b91213d82e77d88460e0dcc74b476453d5a9e353c4": _V106},
        (_UTILS, "_return_huggingface_tokenizer"): {
            "ecc0dd6286d9bb5d6fe2af9390839be49bf89ec9c5a040d2c4a4de6ef815ac67": _V106},
        (_TC, "token_counter"): {"dbb5ae63deccd7cfaeff03f703549c0dd2e9666e20fe02b2da0049d00ba3fe38": _V106},
        (_TC, "messages_reach_token_count"): {
            "22d50fb00e41c19f5708095761ece3d52310cb154fa3086dbc3e205b61bc2f7f": _V106},
        (_TC, "_MessageCountParams"): {
            "821f8560b1ec9784ca02b91c5b50d12621327e851ed8f01dcd5bc565e8d5c13a": _V106},
        (_TC, "_count_messages"): {"30b542104ebffdaee01adf552d8803f6906c3731d8c71c86edee2eaf51d2901e": _V106},
        (_TC, "_count_extra"): {"c7a388892e19b7fbeda0c9d376783d108dbb6a435c55acbfcb8f1e75e251ae2b": _V106},
        (_TC, "_count_function_call_tokens"): {
            "f8601da1d6fa98870ba23eb4bd333b8c06233f3cf3ef395572aacde67f432a29": _V106},
        (_TC, "_count_content_list"): {
            "c706eea38ef9e6cbba660ed159146f58e2288fd6a75c63ecef6cc13420dc022f": "1.106.2-1.106.12",
            # 1.108: search_result blocks are counted (the walk leaves them, like tool_use, to litellm)
            # and unknown block types raise UnsupportedContentTypeError, a ValueError (litellm's own).
            "c9067c2159ecaa82117b426d61ee6cc1ed6ced50840434ee9b3f2e2a9f7602fe": "1.108.14",
        },
        (_TC, "_get_count_function"): {
            "82360fef83dfe105f13780113c4c2ae4421de37523eeb27aa426c5ed4666f813": _V106},
        (_TC, "_get_tiktoken_count_function"): {
            "a12e4f7669fe3c1952e318a3a01a469a4a9c49ddcbc0249d92814cc95ef2d260": _V106},
        (_TC, "_get_extrapolating_count_function"): {
            "0d6ab191bf5ba56e02522ea4f3e64823c9ce5730f0da5673049280c1e24516bf": _V106},
        (_TC, "_get_exact_count_function"): {
            "e5d84ff5967917fda5e9fa674b1763dd29b602a9594823908c251892e7073886": _V106},
        (_TC, "_encoding_count"): {"61f1ca86c6634694f8e80479ac1a31df1407fadf721c38a24409e29569a4c27e": _V106},
        (_TC, "_evenly_spaced_samples"): {
            "7290edb477b7d8420b6182b65deecb441b29a772458b836672f3cdc2f7baabac": _V106},
        (_TC, "openai_tokenizer_encoding_name"): {
            "61f4d840ce8a1270ad606c2d96ab56ca297cfebd8fb927a40b677397a92279d1": _V106},
        (_TC, "openai_tokenizer_encoding"): {
            "94a4edeccfe5682c437097609790e753d07340f284bace89567bfa8655d7e013": _V106},
        (_TC, "uses_legacy_message_accounting"): {
            "776e6411605df10a18ba3476f77a88184510036a24cdd4194c5bfd322920ef91": _V106},
    },
}

GUARDED_MODULES = frozenset(module for functions in REPRODUCED.values() for module, _ in functions)

# (module, name) -> (the object last checked, its verdict): a source is read once per object.
_checked: dict[tuple[str, str], tuple[Any, str | None]] = {}


def _verdict(module: str, name: str) -> str | None:
    """None if litellm's ``module.name`` has a checked source; else why not."""
    owner = sys.modules.get(module)
    if owner is None:
        return f"{module} is not imported yet"
    obj = owner.__dict__.get(name)
    if obj is None:
        return f"{module}.{name} is missing"
    unwrapped = inspect.unwrap(obj) if callable(obj) else obj
    seen = _checked.get((module, name))
    if seen is not None and seen[0] is unwrapped:
        return seen[1]
    try:
        digest = hashlib.sha256(inspect.getsource(unwrapped).encode()).hexdigest()
    except (OSError, TypeError) as exc:
        verdict: str | None = f"the source of {module}.{name} cannot be read ({exc})"
    else:
        known = REPRODUCED_SOURCES.get((module, name), {})
        verdict = None if digest in known else (
            f"{module}.{name} differs from the sources fast-litellm reproduces (sha256 {digest[:12]})")
    _checked[(module, name)] = (unwrapped, verdict)
    return verdict


REPRODUCED_SOURCES: dict[tuple[str, str], dict[str, str]] = {}
for _functions in REPRODUCED.values():
    for _site, _sources in _functions.items():
        REPRODUCED_SOURCES.setdefault(_site, {}).update(_sources)


def check_feature(feature: str) -> tuple[bool, str]:
    """(True, "") where every litellm function ``feature`` reproduces is one we checked; else
    (False, the reasons, "; "-joined).  Features that reproduce nothing of litellm pass."""
    reasons = [why for module, name in REPRODUCED.get(feature, {})
               if (why := _verdict(module, name)) is not None]
    return not reasons, "; ".join(reasons)
