"""The cost of the control-plane gate: a gated call whose native body does nothing, against a direct call.

Prints one markdown table: for each mode, the time per call of the gated call, of the direct call
to the same do-nothing body measured in the same run (interleaved, best of several rounds), and the
difference, which is the gate's cost.  Targets (issue 3): under 0.5 us at 100 % enabled, under
1 us in rollout mode.

    python benchmarks/bench_gate.py [--calls 200000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from typing import Any

from fast_litellm.control.flags import BreakerSettings, FeatureFlag, Mode
from fast_litellm.control.gate import Gate


def body(model: Any, text: Any, custom_tokenizer: Any) -> Any:
    """The do-nothing native body (same arity as litellm.encode)."""
    return text


def original(model: Any, text: Any, custom_tokenizer: Any) -> Any:
    return text


def gated_function(mode: Mode, percentage: float) -> Callable[..., Any]:
    """A wrapper built like the real ones in adapters/encode.py: bind arguments, run the gate."""
    run = Gate(FeatureFlag("tokenizer", mode, percentage, BreakerSettings())).runner(
        body, original, lambda args: args[1])

    def encode(model: Any = "", text: Any = "", custom_tokenizer: Any = None) -> Any:
        return run((model, text, custom_tokenizer))

    return encode


def direct(model: Any = "", text: Any = "", custom_tokenizer: Any = None) -> Any:
    return body(model, text, custom_tokenizer)


CASES = [
    ("enabled 100 %", Mode.ENABLED, 100.0, "limit 0.5 us"),
    ("rollout 50 %, keyed by the text", Mode.ROLLOUT, 50.0, "limit 1 us"),
    ("rollout 100 %", Mode.ROLLOUT, 100.0, "limit 1 us"),
    ("disabled (wrapper still installed)", Mode.DISABLED, 0.0, "-"),
]


def per_call(func: Callable[[], Any], calls: int) -> float:
    return timeit.timeit(func, number=calls) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    text = "Hello, world! 12345."
    print("| mode | gated us/call | direct us/call | gate cost us | target |")
    print("|---|---:|---:|---:|---|")
    for label, mode, percentage, target in CASES:
        gated = gated_function(mode, percentage)
        # distinct keys so that the rollout bucket is computed for a realistic mix of requests
        texts = [f"{text} {i}" for i in range(1000)]
        state = {"i": 0}

        def run_gated() -> Any:
            state["i"] = (state["i"] + 1) % 1000
            return gated(model="gpt-4o", text=texts[state["i"]])

        def run_direct() -> Any:
            state["i"] = (state["i"] + 1) % 1000
            return direct(model="gpt-4o", text=texts[state["i"]])

        best_gated = best_direct = float("inf")
        for _ in range(args.rounds):  # interleaved so that noise hits both
            best_gated = min(best_gated, per_call(run_gated, args.calls))
            best_direct = min(best_direct, per_call(run_direct, args.calls))
        print(f"| {label} | {best_gated:.3f} | {best_direct:.3f} | {best_gated - best_direct:.3f} | {target} |")


if __name__ == "__main__":
    main()
