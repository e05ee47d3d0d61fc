"""Native Anthropic token count vs litellm's own, side by side.

litellm counts Anthropic model names without "claude-3" with the bundled
``anthropic_tokenizer.json`` via ``tokenizers`` (``len(encode_batch_fast([text])[0])``).
This prints, per input, litellm's time, native time and the ratio (litellm / native),
after checking that the counts agree.  No network; fast_litellm's patches are not used.

    python benchmarks/bench_anthropic.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MODEL = "claude-sonnet-4-5"


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def inputs() -> dict[str, list[str]]:
    """Named workloads: lists of texts counted one call each."""
    import litellm

    src = Path(litellm.__file__).with_name("utils.py").read_text(encoding="utf-8")
    messages = [
        "Hi! Can you help me write a function that parses ISO dates?",
        "Sure. Here is a Python function using datetime.fromisoformat.",
        "What about time zones like +05:30?",
        "fromisoformat handles offsets since Python 3.7; 'Z' since 3.11.",
    ] * 5
    english = src[:200_000]
    ja = ("日本語のテキストです。東京は晴れ、気温は二十度。" * 20_000)[:70_000]
    mixed = (english[:150_000] + " café naïve “quotes” — ü ß ①" * 400)[:200_000]
    return {
        "20 short messages": messages,
        "200 KB litellm/utils.py (code, 3 emoji)": [english],
        "200 KB code + accents, curly quotes, ①": [mixed],
        "70K chars Japanese": [ja],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from litellm.litellm_core_utils.token_counter import _get_exact_count_function

    from fast_litellm.tokenizer.anthropic import get_anthropic_tokenizer

    t0 = time.perf_counter()
    native = get_anthropic_tokenizer()
    load_ms = (time.perf_counter() - t0) * 1e3
    ref = _get_exact_count_function(MODEL)
    print(f"native load: {load_ms:.0f} ms (once per process)")
    print("| input | litellm | native | ratio | counts equal |")
    print("|---|---|---|---|---|")
    ok = True
    for name, texts in inputs().items():
        equal = [ref(t) for t in texts] == [native.count(t) for t in texts]
        ok &= equal
        t_ref = best_of(lambda texts=texts: [ref(t) for t in texts], args.repeat)
        t_nat = best_of(lambda texts=texts: [native.count(t) for t in texts], args.repeat)
        print(f"| {name} | {t_ref * 1e3:.3f} ms | {t_nat * 1e3:.3f} ms | {t_ref / t_nat:.1f}x | "
              f"{'yes' if equal else 'NO'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
