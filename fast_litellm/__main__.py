"""Command line: ``python -m fast_litellm status|bench`` (also the ``fast-litellm`` script)."""

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


def _status(args: argparse.Namespace) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import fast_litellm

    if not args.no_litellm:
        import litellm  # noqa: F401 - importing it is what triggers the patches
    health = fast_litellm.health_check()
    if args.json:
        print(json.dumps(health, indent=2, default=str))
        return 0 if health["healthy"] else 1
    print(f"fast-litellm {fast_litellm.__version__}")
    print(f"native extension : {'loaded' if health['native_available'] else 'MISSING: ' + str(health['native_error'])}")
    print(f"enabled          : {health['enabled']}  features: {health['features']}")
    print(f"litellm          : {health['litellm_version']} (imported: {health['litellm_imported']})")
    print("patch sites:")
    for site, state in health["patches"].items():
        mark = "native" if state["patched"] else "python"
        print(f"  {site:<28} {mark:<7} {state.get('reason', '')}")
    return 0 if health["healthy"] else 1


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

    from fast_litellm._rank_files import candidate_dirs
    from fast_litellm.tokenizer import get_encoding

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
    status = sub.add_parser("status", help="native extension, switches and patch sites")
    status.add_argument("--json", action="store_true", help="print health_check() as JSON")
    status.add_argument("--no-litellm", action="store_true", help="do not import litellm first")
    status.set_defaults(func=_status)
    bench = sub.add_parser("bench", help="native vs tiktoken on real text, side by side")
    bench.add_argument("--encodings", type=lambda s: s.split(","), default=["cl100k_base", "o200k_base"])
    bench.add_argument("--seconds", type=float, default=1.0)
    bench.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
