"""Generate fast_litellm/_nfkc_stable.py: the code points NFKC leaves as they are, in any context.

litellm's Anthropic tokenizer normalizes text with the ``tokenizers`` library's NFKC before its
BPE.  Most non-ASCII characters of real text (Latin-1 symbols and accented letters in NFC, CJK
ideographs, most emoji) come out of NFKC unchanged, so the native path skips the normalizer for
text made only of such characters, and normalizes only the runs that need it.  A code point is
*stable* here when, by the ``tokenizers`` library's own normalizers (never Python's
``unicodedata``, whose Unicode version differs: they disagree on 72 code points):

1. NFKC maps it to itself;
2. it is never the second (or later) character of a canonical decomposition, so it cannot compose
   with anything before it (Hangul vowels and trailing consonants, combining marks, the few
   composing starters);
3. its canonical combining class is 0: canonical reordering never moves it past a mark.  Tested
   as: NFD keeps its decomposition after U+0345 (class 240, the highest), which moves every class
   from 1 to 239 in front of it.

Then NFKC(a + b) == NFKC(a) + NFKC(b) whenever b starts with a stable character, and a stable
character alone is its own NFKC: a text split just before every stable character needs NFKC only
for its pieces that hold an unstable character (``fast_litellm/_anthropic.py``).
``tests/test_anthropic_tokenizer.py`` checks the table against the installed ``tokenizers`` on
every code point in several contexts, so a ``tokenizers`` upgrade that changes Unicode fails loudly.

Run:  python native/gen_nfkc_stable.py  (rewrites fast_litellm/_nfkc_stable.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "fast_litellm" / "_nfkc_stable.py"
SEP = "\x00"  # NUL: ASCII, stable, and a boundary, so a joined batch normalizes piece by piece


def scalar_values() -> list[int]:
    return [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def stable_code_points() -> list[int]:
    from tokenizers.normalizers import NFD, NFKC

    nfkc, nfd = NFKC().normalize_str, NFD().normalize_str
    values = [cp for cp in scalar_values() if cp != 0]
    chars = [chr(cp) for cp in values]
    alone = nfkc(SEP.join(chars)).split(SEP)
    decomposed = nfd(SEP.join(chars)).split(SEP)
    after_mark = nfd(SEP.join("\u0345" + c for c in chars)).split(SEP)
    if not len(alone) == len(decomposed) == len(after_mark) == len(chars):
        raise SystemExit("a normalizer merged pieces across NUL: the table cannot be derived this way")
    seconds = {c for d in decomposed for c in d[1:]}
    stable = [cp for cp, c, a, d, m in zip(values, chars, alone, decomposed, after_mark)
              if a == c and c not in seconds and m == "\u0345" + d]
    return [0, *stable]


def ranges(code_points: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in code_points:
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def main() -> None:
    import tokenizers

    table = ranges(stable_code_points())
    lines = [
        '"""Code points the tokenizers library\'s NFKC leaves as they are in any context (inclusive',
        f"ranges), from tokenizers {tokenizers.__version__} by native/gen_nfkc_stable.py; do not edit.",
        '"""',
        "",
        f'TOKENIZERS_VERSION = "{tokenizers.__version__}"',
        "STABLE_RANGES: tuple[tuple[int, int], ...] = (",
    ]
    row: list[str] = []
    for lo, hi in table:
        item = f"(0x{lo:X}, 0x{hi:X}),"
        if row and len(" ".join([*row, item])) > 100:
            lines.append("    " + " ".join(row))
            row = []
        row.append(item)
    if row:
        lines.append("    " + " ".join(row))
    lines.append(")")
    OUT.write_text("\n".join(lines) + "\n")
    count = sum(hi - lo + 1 for lo, hi in table)
    print(f"{OUT}: {len(table)} ranges, {count} stable code points", file=sys.stderr)


if __name__ == "__main__":
    main()
