"""``litellm.token_counter`` on the native tokenizer: one Python walk, one native count.

The walk reproduces ``litellm.litellm_core_utils.token_counter`` (1.106-1.108's rules, and
1.109's where they differ: ``_Litellm.rules_1109``) for the tiktoken path and for litellm's bundled
Anthropic tokenizer (``tokenizer/anthropic.py``): 3 tokens per message and 1 per ``name``, every string value
counted, ``tool_calls``/``function_call`` arguments, content lists of text,
images (litellm's own image arithmetic, never a network fetch), thinking and
tool-reference blocks, then the reply priming, the rendered ``tools`` block
(litellm's own ``_format_function_definitions``) and ``tool_choice``.  It
collects the strings to count and hands them to C in one call, which counts
each in litellm's 1024-code-point slices.

Everything else returns ``NOT_COVERED`` and litellm's original answers, with
its own result or exception: a custom or HuggingFace tokenizer, a legacy
accounting model, pydantic objects other than messages, strings that are not
valid UTF-8 (lone surrogates), strings longer than litellm's exact limit
(sampled estimate), image URLs litellm would fetch, documents, files,
Anthropic tool and server-tool blocks, search results, compaction summaries, tools on a model
whose chat template renders them (1.109), and any input on which litellm raises.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fast_litellm._forksafe import Lock, loading
from fast_litellm.adapters.backend import RememberedCatalog, hf_backend_is_python
from fast_litellm.adapters.tools_format import format_function_definitions, renders_purely
from fast_litellm.control.gate import NOT_COVERED, Gate, mark_wrapper
from fast_litellm.control.monitor import SAMPLE_EVERY, SAMPLES

if TYPE_CHECKING:
    from fast_litellm.tokenizer.anthropic import AnthropicTokenizer

__all__ = [
    "encode_entry",
    "load_litellm",
    "make_core_token_counter",
    "make_messages_reach_token_count",
    "make_token_counter",
    "native_messages_reach_token_count",
    "native_token_counter",
    "set_encode_vocabulary",
]

_LEGACY_MODEL = "gpt-3.5-turbo-0301"  # litellm's other per-message constants; not reproduced
_IMAGE_DETAILS = ("low", "high", "auto")

# The C entry of token_counter (native/pymessages.c, "The entry of token_counter") reads these by
# position: its CX_* order for the context, filled here as litellm and the vocabularies load, and
# its NM_* order for the names it looks up.
_ENTRY_CONTEXT = ("litellm", "utils", "module", "vocabs", "anthropic", "chunk", "whole", "max", "hf_python",
                  "hf_remembered", "rules", "legacy", "default_model", "samples", "untimed_mask", "encode_ints",
                  "encode_vocab", "tables")
_ENTRY_NAMES = tuple(sys.intern(name) for name in (
    "all_native", "clean", "calls", "disable_token_counter", "disable_hf_tokenizer_download",
    "huggingface_tokenizer_kind", "_fix_model_name", "anthropic", "uses_anthropic_tokenizer", "litellm",
    "cohere_models", "anthropic_models", "azure_llms", "open_ai_chat_completion_models", "objects",
    "litellm.rust_bridge.catalog", "_huggingface_tokenizer_backend", "decision", "tokenizer_dispatch",
    "HUGGINGFACE_CONTEXT", "RULES", "rollout", "_decision", "model_cost", "_model_cost_mutation_generation",
    "openai_tokenizer_encoding_name"))
_entry_context: list[Any] = [None] * len(_ENTRY_CONTEXT)
_vocab_handles: dict[str, Any] = {}  # model key -> native encoding's handle, as _vocabs_by_model


def _set_context(**fields: Any) -> None:
    """Set context fields, in the order given (the C entries read some only once others are set)."""
    for name, value in fields.items():
        _entry_context[_ENTRY_CONTEXT.index(name)] = value


_set_context(vocabs=_vocab_handles, hf_python=hf_backend_is_python, hf_remembered=RememberedCatalog,
             legacy=_LEGACY_MODEL, default_model="gpt-3.5-turbo", samples=SAMPLES, untimed_mask=SAMPLE_EVERY - 1)

# The model functions the C entry reproduces (native/pymessages.c model_rules), as litellm writes
# them: (owner, name, {sha256 of the source: it is 1.109's}).  1.109's huggingface_tokenizer_kind
# also sends DeepSeek names to a HuggingFace tokenizer.  The entry does their work itself only
# while litellm holds these very functions (their code objects, checked on every call); any other
# version of them is called.
_MODEL_RULES = (
    ("utils", "huggingface_tokenizer_kind", {
        "c73326dfb15f4f4fdf9f12945cca0b204f2e570940d339c1771ea8e1d4f0562f": False,  # 1.106.2-1.108.14
        "b37386658f667888ccc4faa4ffb13d2fb4dbc5b4a1e4f4f97ca1bf33d3f61a07": True}),  # 1.109.3-1.110.2
    ("utils", "uses_anthropic_tokenizer", {
        "d871b1549488e4589dce1fd3c70a661b5574551dbb4348f4b45b48c816af96a1": False}),  # 1.106.2-1.110.2
    ("module", "_fix_model_name", {
        "aa9458c1a9895c7f4d23b429462e08f3139f208c3318a2c0286d27b7ee5dd42c": False}),  # 1.106.2-1.110.2
)


def model_rules_codes(utils: Any, module: Any) -> tuple[Any, ...] | None:
    """The code objects of litellm's model functions, then whether they are 1.109's, when their
    sources are ones the C entry reproduces; None otherwise."""
    import hashlib
    import inspect

    codes = []
    deepseek = False
    for owner, name, digests in _MODEL_RULES:
        function: Any = getattr(utils if owner == "utils" else module, name, None)
        if function is None:
            return None
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            return None
        known = digests.get(hashlib.sha256(source.encode()).hexdigest())
        if known is None:
            return None
        deepseek = deepseek or known
        codes.append(function.__code__)
    return (*codes, deepseek)


class _Litellm:
    """litellm's token_counter module and the constants its functions were defined with."""

    module: Any = None
    litellm: Any = None  # the litellm package, set with module
    utils: Any = None  # litellm.utils, set with module
    chunk_chars = 1024
    max_exact_chars = 4_000_000
    # litellm 1.109's rules (set with module): the encoding follows the model name as written and
    # litellm's tables; tool_choice, text blocks, compaction summaries and chat-template tools.
    rules_1109 = False

    @classmethod
    def load(cls) -> Any:
        module = sys.modules.get("litellm.litellm_core_utils.token_counter")
        litellm = sys.modules.get("litellm")
        utils = sys.modules.get("litellm.utils")
        if module is not None and litellm is not None and utils is not None and cls.module is None:
            cls.litellm = litellm
            cls.utils = utils
            # Default arguments are bound when litellm defines the functions: read them there.
            cls.chunk_chars = module._get_tiktoken_count_function.__defaults__[0]
            cls.max_exact_chars = module._get_extrapolating_count_function.__defaults__[0]
            # adapters.guards lets the feature run only on sources of a known line, and among those
            # only 1.109's and later have _count_tool_choice.
            cls.rules_1109 = hasattr(module, "_count_tool_choice")
            cls.module = module
            if cls.rules_1109:
                _set_context(tables=_tables(litellm, utils))
            # litellm last (fields are set in order): the C entry takes the context as loaded once it is
            _set_context(utils=utils, module=module, chunk=cls.chunk_chars, max=cls.max_exact_chars,
                         rules=model_rules_codes(utils, module), litellm=litellm)
        return cls.module


@functools.lru_cache(maxsize=256)
def _encoding_name(fixed_model: str) -> str:
    """litellm's openai_tokenizer_encoding_name after _fix_model_name (tiktoken's static tables)."""
    if "gpt-4o" in fixed_model:
        return "o200k_base"
    with loading():
        import tiktoken.model

    try:
        return tiktoken.model.encoding_name_for_model(fixed_model)
    except KeyError:
        return "cl100k_base"


@functools.lru_cache(maxsize=8)
def _vocab(encoding_name: str) -> Any:
    with loading():
        from fast_litellm.tokenizer import get_encoding

        return get_encoding(encoding_name)._vocab


def _bundled_anthropic_on_python(kind: str, utils: Any) -> bool:
    """For a name litellm counts with a HuggingFace tokenizer (``huggingface_tokenizer_kind``
    answered ``kind``): is it litellm's bundled Anthropic tokenizer on the Python backend, the
    ``tokenizers`` object our native Anthropic counter reproduces?  (The Rust backend, llama and
    command-r stay litellm's.)
    """
    return kind == "anthropic" and hf_backend_is_python(utils)


_anthropic_tokenizer: list[AnthropicTokenizer] = []  # litellm's bundled tokenizer, natively, once loaded
_anthropic_lock = Lock()


def _load_anthropic_tokenizer() -> AnthropicTokenizer:
    """The native Anthropic tokenizer, loaded once (threads asking at the same time wait for it)."""
    with loading(), _anthropic_lock:
        from fast_litellm.tokenizer.anthropic import get_anthropic_tokenizer

        if not _anthropic_tokenizer:
            tokenizer = get_anthropic_tokenizer()
            handle, whole = tokenizer.whole_texts
            _set_context(whole=whole, anthropic=handle)  # in this order: the entry reads whole once anthropic is set
            _anthropic_tokenizer.append(tokenizer)
    return _anthropic_tokenizer[0]


def _anthropic_count(strings: list[str], fixed_tokens: int, tools: Any, tc: Any) -> Any:
    """litellm's HuggingFace count: each string whole (no 1024-character slices)."""
    limit = _Litellm.max_exact_chars
    joined = "".join(strings)  # no string is longer than all of them, and a lone surrogate stays one
    if len(joined) > limit and any(len(s) > limit for s in strings):
        return NOT_COVERED  # litellm estimates from samples
    if not joined.isascii():
        try:
            joined.encode()
        except UnicodeEncodeError:
            return NOT_COVERED  # litellm's tokenizers raises TypeError: its own path says so
    tokenizer = _anthropic_tokenizer[0] if _anthropic_tokenizer else _load_anthropic_tokenizer()
    if tools is not None:
        tools_tokens = _tools_tokens(tc, tokenizer, tools, _anthropic_block)
        if tools_tokens is NOT_COVERED:
            return NOT_COVERED
        fixed_tokens += tools_tokens
    return fixed_tokens + tokenizer.count_all(strings, joined)


def _anthropic_block(tokenizer: AnthropicTokenizer, block: str) -> Any:
    """The Anthropic tokenizer's count of a rendered tools block, or NOT_COVERED (see _anthropic_count)."""
    if len(block) > _Litellm.max_exact_chars:
        return NOT_COVERED
    if not block.isascii():
        try:
            block.encode()
        except UnicodeEncodeError:
            return NOT_COVERED
    return tokenizer.count(block)


# Counts of tools blocks. Requests usually repeat the same tools, so their count is remembered
# twice over, per tokenizer:
# * by the rendered block (_tools_counts): the block is rendered every time and is the key;
# * by the tools themselves (_tools_by_input), when they are plain data: then rendering is skipped.
#   The key is native/pymessages.c's serialization of exact None, bool, int (64-bit), float, str,
#   and list, tuple and dict values, type-tagged and length-prefixed, so equal keys are equal data
#   with the same types and key order; anything else (subclasses, bytes, sets, objects) gets no
#   key. litellm's renderer is a function of exactly that data, and of sys.get_int_max_str_digits()
#   only for ints of more digits than any limit allows (640 at least), which get no key. Only used
#   while litellm's renderer is a known one (tools_format.renders_purely).
# Both are bounded (cleared when full; long blocks and large keys are not kept). Dict operations
# are atomic under the GIL, so threads share them without a lock.
_TOOLS_MEMO_SIZE = 256
_TOOLS_MEMO_MAX_CHARS = 32_768
_tools_counts: dict[tuple[object, str], int] = {}
_tools_by_input: dict[tuple[object, bytes], int] = {}


_plain_key: list[Callable[[Any, int], bytes | None]] = []  # the native key, imported on first use


def _tools_key(tools: Any) -> bytes | None:
    if not _plain_key:  # imported here: importing this module must not load the extension
        with loading():
            from fast_litellm._bindings.plain import plain_key

        _plain_key[:] = [plain_key]  # one store: threads that race here write the same function
    return _plain_key[0](tools, _TOOLS_MEMO_MAX_CHARS)


def _tools_tokens(tc: Any, owner: Any, tools: Any, count: Callable[[Any, str], Any]) -> Any:
    """Tokens of litellm's rendered ``tools`` block for tokenizer ``owner`` (counted as
    ``count(owner, block)``), or NOT_COVERED."""
    key = None
    if renders_purely(tc):
        plain = _tools_key(tools)
        if plain is not None:
            key = (owner, plain)
            tokens = _tools_by_input.get(key)
            if tokens is not None:
                return tokens
    try:
        block = format_function_definitions(tc, tools)
    except Exception:  # noqa: BLE001 - litellm raises here; its original will
        return NOT_COVERED
    tokens = _tools_block_count(owner, block, count)
    if key is not None and tokens is not NOT_COVERED:
        if len(_tools_by_input) >= _TOOLS_MEMO_SIZE:
            _tools_by_input.clear()
        _tools_by_input[key] = tokens
    return tokens


def _tools_block_count(owner: Any, block: str, count: Callable[[Any, str], Any]) -> Any:
    """``count(owner, block)`` (tokens or NOT_COVERED), remembered per tokenizer ``owner``."""
    key = (owner, block)
    tokens = _tools_counts.get(key)
    if tokens is not None:
        return tokens
    tokens = count(owner, block)
    if tokens is not NOT_COVERED and len(block) <= _TOOLS_MEMO_MAX_CHARS:
        if len(_tools_counts) >= _TOOLS_MEMO_SIZE:
            _tools_counts.clear()
        _tools_counts[key] = tokens
    return tokens


# The vocabularies of the model names met so far, read directly on the hot path: keyed by the name
# after _fix_model_name up to litellm 1.108 (_vocab_for_model), by the name as written from 1.109
# (_vocab_for_name), where they hold while litellm's tables are those of the context's "tables".
_vocabs_by_model: dict[str, Any] = {}
_vocabs_lock = Lock()
_FIXED_NAMES = 256  # fixed names are litellm's listed ones: few; a caller inventing names stays bounded
_MEMO_NAMES = 4096  # names as written: a proxy's deployments; when full, the memo starts again
_TABLES = _ENTRY_CONTEXT.index("tables")


def _vocab_for_model(fixed_model: str) -> Any:
    """The native vocabulary litellm's token_counter uses for a model name after _fix_model_name
    (litellm 1.106-1.108)."""
    vocab = _vocabs_by_model.get(fixed_model)
    if vocab is None:
        vocab = _vocab(_encoding_name(fixed_model))
        if len(_vocabs_by_model) < _FIXED_NAMES:
            _vocabs_by_model[fixed_model] = vocab
            _vocab_handles[fixed_model] = vocab.handle
    return vocab


def _tables(litellm: Any, utils: Any) -> tuple[Any, ...]:
    """What litellm 1.109's openai_tokenizer_encoding_name reads besides the name (and tiktoken's
    fixed tables), as native/pymessages.c tables_current compares it: the cost map, its size and
    the generation litellm bumps on every registration (litellm's own key for state derived from
    the map), the two name sets with their sizes, and the function itself and _fix_model_name as
    the token_counter module holds them (one replaced at run time is called afresh)."""
    cost, azure, openai = litellm.model_cost, litellm.azure_llms, litellm.open_ai_chat_completion_models
    generation = getattr(utils, "_model_cost_mutation_generation", None)
    functions = vars(_Litellm.module) if _Litellm.module is not None else {}
    return (cost, len(cost), generation, azure, len(azure), openai, len(openai),
            functions.get("openai_tokenizer_encoding_name"), functions.get("_fix_model_name"))


def _vocab_for_name(model: str) -> Any:
    """The native vocabulary of litellm's own openai_tokenizer_encoding_name(model) (litellm 1.109
    and later), remembered under the tables it read; None where there is none (litellm answers)."""
    litellm, utils = _Litellm.litellm, _Litellm.utils
    with _vocabs_lock:
        tables = _entry_context[_TABLES]
        if not _tables_current(tables):
            tables = _tables(litellm, utils)
            _vocabs_by_model.clear()  # before the tables: the C entry never pairs new tables with old names
            _vocab_handles.clear()
            _set_context(tables=tables)
        try:
            vocab = _vocab(_Litellm.module.openai_tokenizer_encoding_name(model))
        except Exception:  # noqa: BLE001 - an encoding we do not bundle, or litellm's own error
            return None
        if _tables_current(tables):  # litellm's tables did not change while its function ran
            if len(_vocabs_by_model) >= _MEMO_NAMES:
                _vocabs_by_model.clear()
                _vocab_handles.clear()
            _vocabs_by_model[model] = vocab
            _vocab_handles[model] = vocab.handle
    return vocab


def _tables_current(seen: Any) -> bool:
    """Whether litellm's tables are still ``seen`` (a ``_tables`` tuple): what native/pymessages.c
    tables_current compares, without building a new tuple."""
    if seen is None:
        return False
    litellm, functions = _Litellm.litellm, vars(_Litellm.module)
    cost, azure, openai = seen[0], seen[3], seen[5]
    return (litellm.model_cost is cost and len(cost) == seen[1]
            and getattr(_Litellm.utils, "_model_cost_mutation_generation", None) == seen[2]
            and litellm.azure_llms is azure and len(azure) == seen[4]
            and litellm.open_ai_chat_completion_models is openai and len(openai) == seen[6]
            and functions.get("openai_tokenizer_encoding_name") is seen[7]
            and functions.get("_fix_model_name") is seen[8])


def _model_vocab(model: str, fixed: str) -> Any:
    """The native vocabulary litellm counts ``model`` with (``fixed``: its _fix_model_name), or None."""
    if not _Litellm.rules_1109:
        return _vocabs_by_model.get(fixed) or _vocab_for_model(fixed)
    if _tables_current(_entry_context[_TABLES]):
        vocab = _vocabs_by_model.get(model)
        if vocab is not None:
            return vocab
    return _vocab_for_name(model)


def _image_tokens(image_url: Any, use_default: bool, tc: Any) -> Any:
    """litellm's image count for an image_url block, or NOT_COVERED where litellm would fetch or raise."""
    if isinstance(image_url, dict):
        detail = image_url.get("detail", "auto")
        url = image_url.get("url")
        if detail not in _IMAGE_DETAILS or not url:
            return NOT_COVERED
    elif isinstance(image_url, str) and image_url.strip():
        detail, url = "auto", image_url
    else:
        return NOT_COVERED
    if detail == "high" and not use_default and not (isinstance(url, str) and url.startswith("data:")):
        return NOT_COVERED  # litellm would download the image to read its size
    try:
        return tc._count_image_tokens(image_url, use_default)
    except Exception:  # noqa: BLE001 - litellm's own error: let the original raise or default it
        return NOT_COVERED


def _content_list(content: list[Any], strings: list[str], use_default: bool, tc: Any) -> Any:
    """Fixed tokens of a content list (images); its strings go to ``strings``."""
    total = 0
    text_fields = tc._TEXT_FIELD_BY_BLOCK_TYPE if _Litellm.rules_1109 else None
    for block in content:
        if isinstance(block, str):
            strings.append(block)
            continue
        if type(block) is not dict or "type" not in block:
            return NOT_COVERED
        kind = block["type"]
        if text_fields is not None:  # litellm 1.109: text, thinking, redacted_thinking, compaction
            field = text_fields.get(kind) if type(kind) is str else None
            if field is not None:
                text = block.get(field)
                if text is not None and type(text) is not str:
                    return NOT_COVERED  # str(x or ""): litellm's own, with any exception of it
                if text:
                    strings.append(text)
                continue
        if kind == "text":
            strings.append(str(block.get("text", "")))
        elif kind == "image_url":
            tokens = _image_tokens(block.get("image_url"), use_default, tc)
            if tokens is NOT_COVERED:
                return NOT_COVERED
            total += tokens
        elif kind in ("thinking", "redacted_thinking"):
            thinking = str(block.get("thinking", ""))
            if thinking:
                strings.append(thinking)
        elif kind == "tool_reference":
            name = str(block.get("tool_name") or "")
            if name:
                strings.append(name)
        else:  # image, document, file, tool_use, tool_result, or an error
            return NOT_COVERED
    return total


_STRING_SPECIAL_KEYS = frozenset(("name", "tool_calls", "function_call"))


def _messages(messages: Any, strings: list[str], use_default: bool, tc: Any) -> Any:
    """(fixed tokens, includes a system message) of a message list, or NOT_COVERED."""
    if type(messages) is not list and type(messages) is not tuple:
        return NOT_COVERED
    append = strings.append
    total = 3 * len(messages)  # litellm's tokens_per_message
    system = False
    for message in messages:
        if type(message) is not dict:  # pydantic messages: litellm's own conversion, then again
            return _converted_messages(messages, strings, use_default, tc)
        if len(message) == 2:  # the most common shape, {"role": str, "content": str}, without the loop
            role, content = message.get("role"), message.get("content")
            if type(role) is str and type(content) is str:
                append(role)
                append(content)
                if role == "system":
                    system = True
                continue
        for key, value in message.items():
            if type(value) is str:  # the common case first: role, content, name, ids
                if key in _STRING_SPECIAL_KEYS:
                    if key != "name":
                        return NOT_COVERED  # tool_calls / function_call given as a string
                    total += 1
                append(value)
                continue
            if value is None:
                continue
            if key == "tool_calls":
                if type(value) is not list:
                    return NOT_COVERED
                for call in value:
                    function = call.get("function") if type(call) is dict else None
                    if type(function) is not dict:
                        return NOT_COVERED
                    arguments = function.get("arguments", "")
                    append(arguments if type(arguments) is str else str(arguments))
            elif key == "function_call":
                if type(value) is not dict:
                    return NOT_COVERED
                append(str(value.get("arguments", "")))
            elif isinstance(value, str):
                append(value)
                if key == "name":
                    total += 1
            elif key == "content" and isinstance(value, list):
                fixed = _content_list(value, strings, use_default, tc)
                if fixed is NOT_COVERED:
                    return NOT_COVERED
                total += fixed
            elif key == "search_results" and isinstance(value, list):
                return NOT_COVERED
            elif key == "provider_specific_fields" and _Litellm.rules_1109:
                if type(value) is not dict or "compaction_blocks" in value:
                    return NOT_COVERED  # litellm 1.109 counts compaction summaries
        if not system and message.get("role", None) == "system":  # litellm's any(): stops at the first
            system = True
    return total, system


def _converted_messages(messages: Any, strings: list[str], use_default: bool, tc: Any) -> Any:
    """``_messages`` of a list holding pydantic messages, after litellm's conversion to dicts."""
    try:
        converted = sys.modules["litellm.utils"].convert_list_message_to_dict(messages)
    except Exception:  # noqa: BLE001
        return NOT_COVERED
    if type(converted) is not list or any(type(m) is not dict for m in converted):
        return NOT_COVERED
    strings.clear()  # the caller's list held only this walk's strings so far
    return _messages(converted, strings, use_default, tc)


def _tool_choice_1109(tool_choice: Any, strings: list[str]) -> int:
    """litellm 1.109's _count_tool_choice: its fixed tokens; a name it counts goes to ``strings``."""
    match tool_choice:
        case "none":
            return 1
        case {"function": {"name": str() as name}}:
            strings.append(name)
            return 7
        case {"type": "none"}:
            return 1
        case {"name": str() as name}:
            strings.append(name)
            return 7
        case _:
            return 0


def native_token_counter(
    model: Any = "",
    custom_tokenizer: Any = None,
    text: Any = None,
    messages: Any = None,
    count_response_tokens: Any = False,
    tools: Any = None,
    tool_choice: Any = None,
    use_default_image_token_count: Any = False,
    default_token_count: Any = None,
) -> Any:
    """``litellm.token_counter`` for the tiktoken path, or NOT_COVERED."""
    tc = _Litellm.module or _Litellm.load()
    if tc is None or custom_tokenizer is not None or _Litellm.litellm.disable_token_counter is True:
        return NOT_COVERED
    anthropic = False
    rules_1109 = _Litellm.rules_1109
    if model is None and not rules_1109:  # (1.109 reads None as "" in some places and not in others)
        fixed = "gpt-3.5-turbo"  # litellm: the default cl100k encoding, 3 per message
    elif type(model) is str:
        # litellm's default encoding, unless the name selects a HuggingFace tokenizer (and its
        # downloads are not disabled); huggingface_tokenizer_kind is called once.
        if getattr(_Litellm.litellm, "disable_hf_tokenizer_download", False) is not True:
            kind = _Litellm.utils.huggingface_tokenizer_kind(model)
            if kind is not None:
                if not _bundled_anthropic_on_python(kind, _Litellm.utils):
                    return NOT_COVERED  # llama, command-r, or another backend: litellm's own
                anthropic = True
        fixed = tc._fix_model_name(model)
        if fixed == _LEGACY_MODEL:
            return NOT_COVERED
    else:
        return NOT_COVERED
    strings: list[str] = []
    counted_tools = None  # the request's tools, when litellm counts them
    if text is not None:
        if messages is not None or tools or tool_choice:
            return NOT_COVERED  # litellm raises ValueError
        if type(text) is list:
            text = "".join(t for t in text if isinstance(t, str))
        elif type(text) is not str:
            return NOT_COVERED
        strings.append(text)
        total = 0
    elif messages is not None:
        if type(messages) is list and tools is None and tool_choice is None:
            # The common request (dicts of ASCII str values): walked and counted in one native
            # call (native/pymessages.c); any other shape is walked below.
            if anthropic:
                tokenizer = _anthropic_tokenizer[0] if _anthropic_tokenizer else _load_anthropic_tokenizer()
                counted = tokenizer.count_messages(messages, _Litellm.max_exact_chars)
            else:
                vocab = _model_vocab(model, fixed)
                if vocab is None:
                    return NOT_COVERED
                counted = vocab.count_messages(messages, _Litellm.chunk_chars, _Litellm.max_exact_chars)
            if counted is not None:
                return counted + 3 if count_response_tokens is False else counted
        walked = _messages(messages, strings, bool(use_default_image_token_count), tc)
        if walked is NOT_COVERED:
            return NOT_COVERED
        total, system = walked
        if count_response_tokens is False:
            total += 3
        if count_response_tokens is False and (tools is not None or tool_choice is not None):
            if rules_1109:
                if (tools or tool_choice is not None) and tc.chat_template_tool_section(model) is not None:
                    return NOT_COVERED  # the model's chat template renders tools: litellm's own count
                if tools:
                    counted_tools = tools
                    total += 9 - (4 if system else 0)
                total += _tool_choice_1109(tool_choice, strings)
            else:
                try:
                    if tools:
                        counted_tools = tools  # rendered and counted with the tokenizer, below
                        total += 9 - (4 if system else 0)
                    if tool_choice == "none":
                        total += 1
                    elif isinstance(tool_choice, dict):
                        strings.append(str(tool_choice["function"]["name"]))
                        total += 7
                except Exception:  # noqa: BLE001 - litellm raises here; its original will
                    return NOT_COVERED
    else:
        return NOT_COVERED
    if anthropic:
        return _anthropic_count(strings, total, counted_tools, tc)
    limit = _Litellm.max_exact_chars
    if len(strings) == 1:
        joined = strings[0]
        if len(joined) > limit:
            return NOT_COVERED  # litellm estimates from samples above its exact limit
    elif sum(map(len, strings)) > limit and any(len(s) > limit for s in strings):
        return NOT_COVERED  # the same, checked before any copy is made
    else:
        joined = "".join(strings)
    try:
        if len(strings) == 1:
            blob = joined.encode()
        elif joined.isascii():  # O(1): ASCII is its own UTF-8, "\xff" is 0xFF in latin-1
            blob = "\xff".join(strings).encode("latin-1")
        else:
            blob = b"\xff".join([s.encode() for s in strings])
    except UnicodeEncodeError:
        return NOT_COVERED  # lone surrogates: litellm's slices see them one by one
    vocab = _model_vocab(model, fixed)
    if vocab is None:
        return NOT_COVERED
    if counted_tools is not None:
        tools_tokens = _tools_tokens(tc, vocab, counted_tools, _tiktoken_block)
        if tools_tokens is NOT_COVERED:
            return NOT_COVERED
        total += tools_tokens
    return total + vocab.count_chunked(blob, _Litellm.chunk_chars)


def _tiktoken_block(vocab: Any, block: str) -> Any:
    """``vocab``'s count of a rendered tools block in litellm's slices, or NOT_COVERED (see above)."""
    if len(block) > _Litellm.max_exact_chars:
        return NOT_COVERED
    try:
        data = block.encode()
    except UnicodeEncodeError:
        return NOT_COVERED
    return vocab.count_chunked(data, _Litellm.chunk_chars)


def _rollout_key(args: tuple[Any, ...]) -> Any:
    """A stable key for a pure count: the text, or the last message's string content (None: random)."""
    text, messages = args[2], args[3]
    if type(text) is str:
        return text
    if type(messages) in (list, tuple) and messages and type(messages[-1]) is dict:
        content = messages[-1].get("content")
        if type(content) is str:
            return content
    return None


_bypass = threading.local()  # set while a utils-level fallback runs litellm's original


def _no_entry(*args: Any) -> None:
    return None


def _entry(gate: Gate, function: str = "token_counter") -> Callable[..., Any]:
    """The C entry of ``function`` ("token_counter" or "encode") bound to ``gate``
    (native/pymessages.c): for the common request, the gate's untimed path, litellm's model checks
    and the native work in one C call; None otherwise."""
    from fast_litellm._bindings import CPYTHON

    if not CPYTHON:
        return _no_entry
    from fast_litellm._bindings import entry

    make = entry.token_counter_entry if function == "token_counter" else entry.encode_entry
    return make((gate, gate.breaker, gate.stats.native, _entry_context, _ENTRY_NAMES))


def encode_entry(gate: Gate) -> Callable[..., Any]:
    """The C entry of litellm.utils.encode bound to ``gate``: its ids, or None."""
    return _entry(gate, "encode")


def set_encode_vocabulary(ints: tuple[int, ...], handle: Any) -> None:
    """The default encoding of litellm.encode, for its C entry (which reads the int table once
    the handle is set)."""
    _set_context(encode_ints=ints, encode_vocab=handle)


def load_litellm() -> None:
    """Fill the entries' context with litellm's modules, if they are imported and it is not yet."""
    if _entry_context[0] is None:
        _Litellm.load()


def _signature_wrapper(
    run: Callable[[tuple[Any, ...]], Any], original: Callable[..., Any], core: bool, entry: Callable[..., Any]
) -> Callable[..., Any]:
    def token_counter(
        model: Any = "",
        custom_tokenizer: Any = None,
        text: Any = None,
        messages: Any = None,
        count_response_tokens: Any = False,
        tools: Any = None,
        tool_choice: Any = None,
        use_default_image_token_count: Any = False,
        default_token_count: Any = None,
    ) -> Any:
        if core and getattr(_bypass, "on", False):  # the utils-level gate chose litellm's path for this call
            return original(model, custom_tokenizer, text, messages, count_response_tokens, tools, tool_choice,
                            use_default_image_token_count, default_token_count)
        total = entry(model, messages, custom_tokenizer, text, count_response_tokens, tools, tool_choice)
        if total is not None:
            return total
        return run((model, custom_tokenizer, text, messages, count_response_tokens, tools, tool_choice,
                    use_default_image_token_count, default_token_count))

    return mark_wrapper(token_counter, original)


def make_token_counter(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``litellm.utils.token_counter``.

    Its original calls the core function, which may be patched too: while that fallback
    runs, the core wrapper goes straight to litellm's code instead of trying native again.
    """

    def fallback(*args: Any) -> Any:
        _bypass.on = True
        try:
            return original(*args)
        finally:
            _bypass.on = False

    return _signature_wrapper(gate.runner(native_token_counter, fallback, _rollout_key), original, False,
                              _entry(gate))


def make_core_token_counter(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``litellm.litellm_core_utils.token_counter.token_counter`` (same signature and result)."""
    return _signature_wrapper(gate.runner(native_token_counter, original, _rollout_key), original, True,
                              _entry(gate))


def native_messages_reach_token_count(
    model: Any, messages: Any, threshold: Any, tools: Any = None, use_default_image_token_count: Any = False
) -> Any:
    """``messages_reach_token_count`` from the full count, or NOT_COVERED.

    litellm adds one message at a time and stops at the first running total that reaches the
    threshold; every message adds at least 3 tokens, so the totals only grow and the answer is
    whether the full total reaches it.  Where litellm stops before an input it would reject,
    the native walk finds that input NOT_COVERED and litellm answers itself.
    """
    if isinstance(threshold, bool) or type(threshold) not in (int, float):
        return NOT_COVERED
    total = native_token_counter(model, None, None, messages, False, tools, None,
                                 use_default_image_token_count, None)
    if total is NOT_COVERED:
        return NOT_COVERED
    return total >= threshold


def _reach_key(args: tuple[Any, ...]) -> Any:
    return _rollout_key((None, None, None, args[1]))


def make_messages_reach_token_count(original: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """Wrap ``litellm.litellm_core_utils.token_counter.messages_reach_token_count``."""
    run = gate.runner(native_messages_reach_token_count, original, _reach_key)

    def messages_reach_token_count(
        model: Any, messages: Any, threshold: Any, tools: Any = None, use_default_image_token_count: Any = False
    ) -> Any:
        return run((model, messages, threshold, tools, use_default_image_token_count))

    return mark_wrapper(messages_reach_token_count, original)
