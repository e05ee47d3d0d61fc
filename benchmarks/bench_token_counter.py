"""litellm.token_counter: fast-litellm's native path against litellm's own, side by side in one run.

For each case, prints litellm's time per call, the patched time per call and the ratio. Both run in
this process on the same inputs, interleaved, best of several rounds. The counts are compared
before timing; the script exits 1 on any difference. Two input sets:

* real text (the headline): English prose with non-ASCII characters (curly quotes, dashes, "°",
  "ß", ellipses), the Python documentation's topics (the standard library's ``pydoc_data``), the
  same on every litellm line. "20 messages" is 19 fixed messages and a last one that is fresh on
  every call (256 different ones in turn); "200 KB" is one of 8 different 200 KB windows in turn.
* the issue 4 set, labelled ASCII: short and long ASCII messages, a tools request, 200 KB of code.

    python benchmarks/bench_token_counter.py [--rounds 5] [--long] [--set real|ascii|all]

``--long`` adds a message of 200 M characters, over litellm's exact limit (4 M): litellm estimates
it from samples, and the patched function must hand it over without copying it first (about 1 GB of
memory).
"""

from __future__ import annotations

import argparse
import os
import sys
import sysconfig
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import fast_litellm  # noqa: E402
import litellm  # noqa: E402
from fast_litellm.adapters.patching import get_original  # noqa: E402

WORDS = ("the quick brown fox jumps over the lazy dog while seven wizards quietly judge "
         "boxing matches in a remote village near the river bank during summer").split()


def words(n: int, seed: int) -> str:
    return " ".join(WORDS[(i * 7 + seed) % len(WORDS)] for i in range(n))


def real_code() -> str:
    """200 KB of real Python source that is the same whatever litellm is installed: the standard
    library's argparse, typing and dataclasses (litellm's own files change between its releases)."""
    stdlib = sysconfig.get_paths()["stdlib"]
    parts = [open(os.path.join(stdlib, name), encoding="utf-8").read() for name in
             ("argparse.py", "typing.py", "dataclasses.py", "inspect.py")]
    return "".join(parts)[:200_000]


def long_cases() -> list[tuple[str, dict[str, Any]]]:
    sentence = words(9, 0) + ". "
    text = (sentence * (200_000_000 // len(sentence) + 1))[:200_000_000]
    return [("gpt-4o · 1 message of 200 M characters",
             {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]})]


def cases() -> list[tuple[str, dict[str, Any]]]:
    tools = [{"type": "function", "function": {
        "name": name, "description": f"{name} tool",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City"}, "unit": {"type": "string", "enum": ["c", "f"]},
            "days": {"type": "integer"}}, "required": ["city"]}}} for name in ("get_weather", "search", "book")]
    tool_request = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Tokyo, and book a table."},
                                     {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "low"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "get_weather", "arguments": f'{{"city": "C{i}"}}'}}
            for i in range(3)]},
        {"role": "tool", "tool_call_id": "c0", "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 17}'},
        {"role": "tool", "tool_call_id": "c2", "content": '{"temp": 30}'},
        {"role": "assistant", "content": "Done."},
    ]
    twenty = [{"role": "user" if i % 2 == 0 else "assistant", "content": words(100, i)} for i in range(20)]
    big = real_code()
    result = []
    for model in ("gpt-4o", "gpt-3.5-turbo", "claude-sonnet-4-5"):  # the last: litellm's Anthropic tokenizer
        result += [
            (f"{model} · 1 short message", {"model": model, "messages": [{"role": "user", "content": "Hello, how are you today?"}]}),
            (f"{model} · 20 messages x 100 words", {"model": model, "messages": twenty}),
            (f"{model} · tool calls + tools + tool_choice", {"model": model, "messages": tool_request, "tools": tools,
                                                           "tool_choice": {"type": "function", "function": {"name": "search"}}}),
            (f"{model} · text= 200 KB of Python", {"model": model, "text": big}),
        ]
    return result


def real_prose() -> str:
    """The Python documentation's topics: real English prose holding non-ASCII punctuation."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[name] for name in sorted(topics))


def real_cases() -> list[tuple[str, list[dict[str, Any]]]]:
    """(label, the kwargs of successive calls): each call takes the next one, round and round."""
    text = real_prose()
    paragraphs = [p.strip() for p in text.split("\n\n") if len(p.split()) >= 40]
    with_non_ascii = [p for p in paragraphs if not p.isascii()]
    fixed = [{"role": "user" if i % 2 == 0 else "assistant", "content": paragraphs[i * 7]} for i in range(19)]
    fixed[3]["content"] = with_non_ascii[0]
    last = [{"role": "user", "content": p} for p in (with_non_ascii + paragraphs)[:256]]
    size = 200_000
    windows = [text[start:start + size] for start in range(0, len(text) - size, (len(text) - size) // 8)][:8]
    result = []
    for model in ("gpt-4o", "gpt-3.5-turbo", "claude-sonnet-4-5"):
        result += [
            (f"{model} · real text · 20 messages, fresh last", [
                {"model": model, "messages": [*fixed, message]} for message in last]),
            (f"{model} · real text · 200 KB, fresh", [{"model": model, "text": w} for w in windows]),
        ]
    return result


def best(func: Callable[[], Any], budget: float) -> float:
    """Best time per call over repeated batches within ``budget`` seconds."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            func()
        elapsed = time.perf_counter() - start
        if elapsed > 0.02:
            break
        number *= 4
    best_time = elapsed / number
    deadline = time.perf_counter() + budget
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(number):
            func()
        best_time = min(best_time, (time.perf_counter() - start) / number)
    return best_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3, help="per round and side")
    parser.add_argument("--long", action="store_true", help="also a 200 M-character message (about 1 GB)")
    parser.add_argument("--set", choices=("real", "ascii", "all"), default="all")
    args = parser.parse_args()
    patched = litellm.token_counter
    original = get_original("litellm.litellm_core_utils.token_counter", "token_counter")
    assert getattr(patched, "__fast_litellm__", False), "litellm.token_counter is not patched"
    print("| case | litellm us | fast-litellm us | speed-up |")
    print("|---|---:|---:|---:|")
    failed = False
    # The long case against litellm.utils.token_counter, which litellm.token_counter is without the
    # plugin (the others against the core function, as in earlier runs).
    utils_original = get_original("litellm.utils", "token_counter")
    runs: list[tuple[str, list[dict[str, Any]], Callable[..., Any]]] = []
    if args.set in ("real", "all"):
        runs += [(label, calls, original) for label, calls in real_cases()]
    if args.set in ("ascii", "all"):
        runs += [(f"ASCII · {label}", [kwargs], original) for label, kwargs in cases()]
        runs += [(label, [kwargs], utils_original) for label, kwargs in long_cases()] if args.long else []
    for label, calls, reference in runs:
        mismatch = next(((kw, e, g) for kw in calls if (e := reference(**kw)) != (g := patched(**kw))), None)
        if mismatch is not None:
            print(f"| {label} | MISMATCH litellm {mismatch[1]} vs {mismatch[2]} | | |")
            failed = True
            continue
        tokens = reference(**calls[0])
        turn = [0, 0]

        def call(side: int, function: Callable[..., Any]) -> Any:
            turn[side] += 1
            return function(**calls[turn[side] % len(calls)])

        t_orig = t_nat = float("inf")
        for _ in range(args.rounds):  # interleaved rounds: noise hits both sides
            t_orig = min(t_orig, best(lambda: call(0, reference), args.seconds))
            t_nat = min(t_nat, best(lambda: call(1, patched), args.seconds))
        print(f"| {label} ({tokens} tokens) | {t_orig * 1e6:.1f} | {t_nat * 1e6:.2f} | {t_orig / t_nat:.1f}x |")
    stats = fast_litellm.get_performance_stats("token_counter")["token_counter"]
    print(f"\nnative calls {stats['native']['calls']}, fallbacks {stats['fallbacks']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
