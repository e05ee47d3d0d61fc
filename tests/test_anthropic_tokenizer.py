"""Differential tests: fast_litellm's native Anthropic tokenizer against litellm's own.

The reference is exactly what litellm 1.106.2 counts with for Anthropic model
names without "claude-3": ``select_tokenizer(model)["tokenizer"]`` (a
``tokenizers.Tokenizer`` built from the bundled ``anthropic_tokenizer.json`` on
the default Python backend) and the count function ``token_counter`` uses,
``len(tokenizer.encode_batch_fast([text])[0])``.  fast_litellm's patches are
never installed here, so every reference value is litellm's own.  Ids are
compared wherever ids exist (stronger than counts); nothing is compared
native-to-native.

``claude-2`` is not in ``litellm.anthropic_models`` in this litellm, so it
counts with tiktoken; ``claude-sonnet-4-5`` is the model name used here.
"""

from __future__ import annotations

import functools
import random
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests import corpus

MODEL = "claude-sonnet-4-5"
SPECIALS = ("<EOT>", "<META>", "<META_START>", "<META_END>", "<SOS>")


@functools.cache
def _litellm_tokenizer() -> Any:
    from litellm.utils import select_tokenizer

    selected = select_tokenizer(MODEL)
    assert selected["type"] == "huggingface_tokenizer"
    return selected["tokenizer"]


@functools.cache
def _litellm_count() -> Callable[[str], int]:
    from litellm.litellm_core_utils.token_counter import _get_exact_count_function

    count: Callable[[str], int] = _get_exact_count_function(MODEL)
    return count


@functools.cache
def _native() -> Any:
    from fast_litellm.tokenizer.anthropic import get_anthropic_tokenizer

    return get_anthropic_tokenizer()


def ref_ids(text: str) -> list[int]:
    ids: list[int] = _litellm_tokenizer().encode_batch_fast([text])[0].ids
    return ids


def assert_same(text: str) -> None:
    """Native ids and count equal litellm's for ``text``; localizes a mismatch."""
    native = _native()
    expected = ref_ids(text)
    got = native.encode(text)
    if got != expected:
        first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        pytest.fail(f"ids differ at id {first}: native {got[first:first + 8]} litellm {expected[first:first + 8]} "
                    f"(text length {len(text)}, head {text[:80]!r})")
    assert native.count(text) == len(expected)


def test_reference_is_litellms_python_tokenizer() -> None:
    """The reference object is the tokenizers.Tokenizer litellm selects (Python backend)."""
    import litellm
    import tokenizers
    from litellm.utils import huggingface_tokenizer_kind

    assert litellm.__version__ if hasattr(litellm, "__version__") else True
    assert huggingface_tokenizer_kind(MODEL) == "anthropic"
    assert isinstance(_litellm_tokenizer(), tokenizers.Tokenizer)
    assert _litellm_tokenizer().post_processor is None


def test_litellm_token_counter_text() -> None:
    """litellm.token_counter(model=..., text=...) (unpatched) equals the native count."""
    import litellm

    for text in ["", "hello world", "Hello, <EOT> world!\n\n  x", "日本語 ﬁ ① café\u0301", " " * 1500, "def f(x):\n\treturn x\n"]:
        assert litellm.token_counter(model=MODEL, text=text) == _native().count(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "a",
        "<EOT>",
        "<EOT><EOT>",
        "<META_START>x<META_END>",
        "<META><META_START><META_END><SOS>",
        "<META",
        "<META_>",
        "<<EOT>>",
        "<eot>",
        "\uff1cEOT\uff1e",  # fullwidth < >: NFKC makes "<EOT>" after the split, so plain text
        "<EOT>\u0338",  # '>' + U+0338 would compose to U+226F; the split comes first
        "a\u0338<SOS>\u0301",
        "x" * 70000,
        " " * 70000,  # a piece past the 64 KB backtracking threshold
        " " * 1024,
        " " * 1025,
        "-" * 3000,
        "\x00" * 2000 + "a",
        "\u3000" * 700,
        "\u00a0 \u2002\u2003\t\n\r\n\u2028\u2029\u0085 x",
        "I'm he'll they're we've she'd it's I'M",
        "\ufb01\ufb02 \u2460\u2461 \u32ff \ua7f2 \u1e9b\u0323 \u2126 \u212b \uac00\u11a8",
        "👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽 1️⃣ 🇯🇵 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
        "السَّلَامُ عَلَيْكُمْ नमस्ते क्षत्रिय ภาษาไทย שָׁלוֹם",
    ],
)
def test_edge_cases(text: str) -> None:
    assert_same(text)


@pytest.mark.parametrize("context", ["a{c}b ", " {c}{c}1\n", "{c}'s {c}", "{c}\u0301 ", "\u1100{c}\u11a8e\u0345{c}\u0316"])
def test_every_scalar_in_context(context: str) -> None:
    """Every Unicode scalar value (surrogates excluded), in context, 2,048 per text: between ASCII,
    doubled, before a combining mark (which may compose with it), after a Hangul leading consonant
    and before a trailing one, and after a mark of class 240 (canonical reordering)."""
    scalars = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(scalars), 2048):
        text = "".join(context.replace("{c}", chr(c)) for c in scalars[start:start + 2048])
        assert_same(text)


def test_nfkc_stable_table_is_the_installed_libraries() -> None:
    """native/nfkc_stable.h is what native/gen_nfkc_stable.py derives from the installed tokenizers
    (a tokenizers with other Unicode data fails here, not in counts), and the native test of a str
    follows it on every scalar value."""
    import importlib.util
    import re
    from pathlib import Path

    from fast_litellm._bindings.plain import nfkc_unstable_runs

    native = Path(__file__).resolve().parent.parent / "native"
    spec = importlib.util.spec_from_file_location("gen_nfkc_stable", native / "gen_nfkc_stable.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    stable = gen.stable_code_points()
    header = [(int(lo, 16), int(hi, 16)) for lo, hi in
              re.findall(r"\{0x([0-9A-F]+), 0x([0-9A-F]+)\}", (native / "nfkc_stable.h").read_text())]
    assert gen.ranges(stable) == header
    text = "".join(map(chr, gen.scalar_values()))
    unstable = {i for start, end in nfkc_unstable_runs(text) for i in range(start, end)}
    assert {cp for i, cp in enumerate(gen.scalar_values()) if i not in unstable} == set(stable)


def test_normalization_runs_only_where_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text of stable characters (accents, symbols, CJK, emoji) never reaches the normalizer; other
    text hands it only its unstable runs, each with the character before it."""
    tokenizer = _native()
    seen: list[str] = []
    real = type(tokenizer)._nfkc_call

    def recorded(self: Any, text: str) -> str:
        seen.append(text)
        return real(self, text)

    monkeypatch.setattr(type(tokenizer), "_nfkc_call", recorded)
    for text in ("Café © 2026 — naïve résumé, 東京 👋🏽", "x" * 5000 + "é"):
        assert_same(text)
    assert seen == []
    assert_same("\u00dcn\u00efcode \ufb01ne e\u0301 ok \u00bd")
    assert seen and set(seen) == {" \ufb01\x00e\u0301\x00 \u00bd"}  # 3 runs with the character before each


def test_sparse_non_ascii_in_long_text() -> None:
    """Long mostly-ASCII text (normalized chunk-wise) with marks, compat and NUL near chunk cuts."""
    rng = random.Random(17)
    marks = ["\u0301", "\u0338", "\u0323\u0307", "\ufb01", "\u2460", "\u32ff", "\u1161", "\u11a8",
             "\u00e9", "\uac00", "\u3000", "\U0001f469\u200d\U0001f467", "\u212b", "\x00"]
    base = corpus.category_chunks("code", 400_000, seed=19, max_chunk=400_000)
    ascii_text = "".join(base).encode("ascii", "ignore").decode("ascii")
    for trial in range(40):
        chars = list(ascii_text[: rng.randrange(8_000, 120_000)])
        for _ in range(rng.randrange(1, 30)):
            at = rng.choice([rng.randrange(len(chars)), 4096 * rng.randrange(1, len(chars) // 4096 + 1) - 1])
            chars.insert(max(0, min(at + rng.randrange(-2, 3), len(chars))), rng.choice(marks))
        text = "".join(chars)
        if trial % 2:
            text = text.replace("\x00", "")
        assert_same(text)
    assert_same("x" * 4095 + "e\u0301" + "y" * 9000 + "\u0301")
    assert_same(("a" * 4096 + "\u0338") * 5)


def test_whitespace_runs_of_every_length() -> None:
    for n in range(1, 1100):
        for unit in (" ", "\n", "\t", " \n"):
            text = unit * n
            assert_same(text + "x")
            assert_same("x" + text)


@pytest.mark.parametrize("category", corpus.CATEGORIES)
def test_corpus_category(category: str) -> None:
    """About 600 KB of each corpus category (about 4.8 MB in all)."""
    for chunk in corpus.category_chunks(category, 600_000, seed=7, max_chunk=200_000):
        assert_same(chunk)


def test_corpus_with_anthropic_specials() -> None:
    """Corpus text with Anthropic added-token text spliced in."""
    rng = random.Random(11)
    for _, chunk in corpus.corpus_chunks(300_000, seed=13, max_chunk=20_000):
        cut = [rng.randrange(len(chunk) + 1) for _ in range(3)]
        for at in sorted(cut, reverse=True):
            chunk = chunk[:at] + rng.choice(SPECIALS + ("<META", "EOT>", "<SOS")) + chunk[at:]
        assert_same(chunk)


def test_litellm_count_function_on_corpus() -> None:
    """litellm's own count function (the one token_counter builds) on mixed chunks."""
    count = _litellm_count()
    for _, chunk in corpus.corpus_chunks(200_000, seed=5, max_chunk=50_000):
        assert count(chunk) == _native().count(chunk)


def test_lone_surrogates_raise_like_litellm() -> None:
    """tokenizers rejects str with lone surrogates with a TypeError; so does the native tokenizer."""
    for text in ["a\ud800b", "\udfff", "<EOT>\ud83d"]:
        with pytest.raises(TypeError) as expected:
            _litellm_count()(text)
        with pytest.raises(TypeError) as got:
            _native().count(text)
        assert str(got.value) == str(expected.value)
        with pytest.raises(TypeError):
            _native().encode(text)


def test_threads_agree() -> None:
    texts = [chunk for _, chunk in corpus.corpus_chunks(200_000, seed=3, max_chunk=10_000)]
    expected = [len(ref_ids(t)) for t in texts]
    barrier = threading.Barrier(8)

    def run(_: int) -> list[int]:
        barrier.wait()
        return [_native().count(t) for t in texts]

    with ThreadPoolExecutor(8) as pool:
        for result in pool.map(run, range(8)):
            assert result == expected


_ALPHABET = st.sampled_from(
    list("aZ09 '\t\n\r<>_-.,!?")
    + list(SPECIALS)
    + ["\u00a0", "\u3000", "\u2028", "\u0085", "\u0301", "\u0338", "\u0323", "\u0307", "\ufb01", "\u2460",
       "\u32ff", "\ua7f2", "\u1e9b", "\u212b", "\u2126", "\uac00", "\u1100", "\u1161", "\u11a8", "\u00e9",
       "\u017f", "\u212a", "\u0663", "\u0966", "\u2155", "\u00bd", "\u4e00", "\u3042", "\u30fc", "\uff21",
       "\uff10", "\u200d", "\ufe0f", "\U0001f469", "\U0001f3fd", "\U0001d400", "\U00010781", "\x00", "\ufffd",
       "s", "t", "re", "ve", "ll", "d", "m", "  ", "    "]
)
targeted_text = st.lists(_ALPHABET, max_size=80).map("".join)


@given(text=st.text(max_size=300))
@example(text="")
def test_arbitrary_text(text: str) -> None:
    assert_same(text)


@given(text=targeted_text)
def test_targeted_text(text: str) -> None:
    assert_same(text)


@given(texts=st.lists(st.one_of(targeted_text, st.text(max_size=40), st.sampled_from(["", "user", "word " * 700])),
                      max_size=8))
def test_count_all_is_the_sum_of_litellms_counts(texts: list[str]) -> None:
    """count_all (one native call for the plain-ASCII texts) is the sum of litellm's per-text counts."""
    expected = sum(len(ids) for ids in (ref_ids(t) for t in texts))
    assert _native().count_all(texts) == expected
