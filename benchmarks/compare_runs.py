#!/usr/bin/env python
"""Two builds of fast_litellm side by side, from bench_tokenizer.py's --json files.

    python benchmarks/compare_runs.py --before last1.json last2.json --after this1.json this2.json

Each side's native column is taken as its best over its files (the highest MB/s, the lowest us);
runs of the two builds should alternate on the same machine (see docs/benchmarks.md).  Prints a
markdown table of before, after and after/before (above 1: the new build is faster), and the
geometric mean of the ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys


def native_columns(path: str) -> dict[tuple[str, str], float]:
    """(section, case) -> the native column of one run."""
    with open(path) as f:
        run = json.load(f)
    return {(section, row[0]): float(row[2]) for section, table in run["sections"].items()
            for row in table["rows"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", nargs="+", required=True)
    parser.add_argument("--after", nargs="+", required=True)
    args = parser.parse_args()
    before = [native_columns(p) for p in args.before]
    after = [native_columns(p) for p in args.after]
    print("| section · case | before | after | after/before |")
    print("|---|---:|---:|---:|")
    ratios = []
    for key in before[0]:
        if not all(key in run for run in before + after):
            continue
        lower_is_better = key[0] == "latency"
        pick = min if lower_is_better else max
        b, a = pick(run[key] for run in before), pick(run[key] for run in after)
        ratio = b / a if lower_is_better else a / b
        ratios.append(ratio)
        print(f"| {key[0]} · {key[1]} | {b:g} | {a:g} | {ratio:.2f} |")
    print(f"\ngeometric mean of after/before over {len(ratios)} rows: {statistics.geometric_mean(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
