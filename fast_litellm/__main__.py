"""Command line: ``python -m fast_litellm status|verify|bench`` (also the ``fast-litellm`` script)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _status(args: argparse.Namespace) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import fast_litellm

    if not args.no_litellm:
        import litellm  # noqa: F401 - importing it is what triggers the patches
    health = fast_litellm.health_check()
    if args.json:
        report = {
            "health": health,
            "features": fast_litellm.get_feature_status(),
            "performance": fast_litellm.get_performance_stats(),
        }
        print(json.dumps(report, indent=2, default=str))
        return 0 if health["native_available"] else 1
    print(f"fast-litellm {fast_litellm.__version__}")
    native = "loaded" if health["native_available"] else f"MISSING: {health['native_error']}"
    print(f"native extension : {native}")
    print(f"enabled          : {health['enabled']} (set by {health['enabled_source']})")
    print(f"flags file       : {health['flags_file'] or '-'}")
    print(f"litellm          : {health['litellm_version']} (imported: {health['litellm_imported']})")
    for problem in health["problems"]:
        print(f"PROBLEM          : {problem}")
    print("\nfeatures:")
    rows = []
    for name, feature in fast_litellm.get_feature_status().items():
        state = feature["effective_state"]
        if not feature["implemented"]:
            state = f"{state}, patched: {feature['patched']}"
        rows.append([name, state, feature["percentage"], feature["source"],
                     feature["breaker_state"], feature["errors"], ", ".join(feature["patched_sites"]) or "-"])
    print(_table(["feature", "state", "percent", "set by", "breaker", "errors", "patched sites"], rows))
    print("\npatch sites:")
    rows = [[site, "native" if state["patched"] else "absent" if state.get("present") is False else "python",
             state.get("reason", "")]
            for site, state in health["patches"].items()]
    print(_table(["site", "path", "reason"], rows))
    print("\nperformance (latency in us):")
    rows = []
    for name, stats in fast_litellm.get_performance_stats().items():
        for path in ("native", "python"):
            p = stats[path]
            rows.append([name, path, p["calls"], p["errors"], p["mean_us"], p["p50_us"], p["p95_us"],
                         p["p99_us"]])
    print(_table(["feature", "path", "calls", "errors", "mean", "p50", "p95", "p99"], rows))
    return 0 if health["native_available"] else 1


def _verify(args: argparse.Namespace) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import fast_litellm
    from fast_litellm.adapters.verify import verify

    if not fast_litellm.NATIVE_ACCELERATION_AVAILABLE:
        print(f"native extension unavailable: {fast_litellm.health_check()['native_error']}")
        return 1
    failed = False
    for result in verify(args.features, args.files):
        if result.skipped:
            print(f"{result.feature}: SKIPPED ({result.skipped})")
            failed = True
            continue
        verdict = "identical" if result.ok else f"{len(result.mismatches)} MISMATCHES"
        print(f"{result.feature}: {result.compared} calls compared with litellm's own function: {verdict}")
        for mismatch in result.mismatches[:10]:
            print(f"  {mismatch['call']}\n    litellm: {mismatch['expected']}\n    native : {mismatch['native']}")
        failed |= not result.ok
    return 1 if failed else 0


def _best_time(func: Callable[[], Any], seconds: float = 1.0) -> float:
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
        if time.perf_counter() > deadline:
            return best


def _sample_text() -> str:
    """Real text: litellm's own router source (~700 KB of code and docstrings)."""
    import importlib.util

    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("litellm is not installed")
    return (Path(next(iter(spec.submodule_search_locations))) / "router.py").read_text(encoding="utf-8")


def _bench(args: argparse.Namespace) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import tiktoken

    from fast_litellm.tokenizer import get_encoding
    from fast_litellm.tokenizer.rank_files import candidate_dirs

    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(candidate_dirs()[0]))
    text = _sample_text()
    size = len(text.encode("utf-8"))
    print(f"input: litellm/router.py, {size / 1e6:.2f} MB; best of ~{args.seconds:.0f} s each\n")
    print(f"| encoding | tiktoken MB/s | native MB/s | speed-up | native count MB/s | identical |")
    print("|---|---|---|---|---|---|")
    for name in args.encodings:
        ref = tiktoken.get_encoding(name)
        enc = get_encoding(name)
        same = ref.encode_ordinary(text) == enc.encode_ordinary(text)
        t_ref = _best_time(lambda: ref.encode_ordinary(text), args.seconds)
        t_nat = _best_time(lambda: enc.encode_ordinary(text), args.seconds)
        t_cnt = _best_time(lambda: enc.count(text), args.seconds)
        print(f"| {name} | {size / t_ref / 1e6:.1f} | {size / t_nat / 1e6:.1f} | {t_ref / t_nat:.1f}x "
              f"| {size / t_cnt / 1e6:.1f} | {'yes' if same else 'NO'} |")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fast-litellm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="health, flags, patch sites and performance stats")
    status.add_argument("--json", action="store_true", help="print the same report as JSON")
    status.add_argument("--no-litellm", action="store_true", help="do not import litellm first")
    status.set_defaults(func=_status)
    verify = sub.add_parser("verify", help="native vs litellm's own functions on samples and real text")
    verify.add_argument("--features", type=lambda s: s.split(","), default=None)
    verify.add_argument("--files", type=int, default=40, help="litellm source files used as real text")
    verify.set_defaults(func=_verify)
    bench = sub.add_parser("bench", help="native vs tiktoken on real text, side by side")
    bench.add_argument("--encodings", type=lambda s: s.split(","), default=["cl100k_base", "o200k_base"])
    bench.add_argument("--seconds", type=float, default=1.0)
    bench.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
