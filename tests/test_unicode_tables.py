"""native/unicode_tables.h is exactly what native/gen_unicode_tables.py generates.

The generator is imported by path and run in memory (it needs
``unicodedata2`` at the generator's ``UNICODE_VERSION``; the comparison with the
Unicode data is skipped, with the reason, when another version is installed).
The checks that only need the header itself (bit layout, White_Space, class
invariants) always run.

Whether that Unicode version is the one tiktoken's regex engine uses is not
decided here: tests/test_differential_tokenizer.py sweeps every scalar value
against tiktoken.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import pytest

NATIVE = Path(__file__).resolve().parent.parent / "native"
HEADER = NATIVE / "unicode_tables.h"
INTERNAL_HEADER = NATIVE / "fl_internal.h"
GENERATOR = NATIVE / "gen_unicode_tables.py"


@lru_cache(maxsize=None)
def generator() -> ModuleType:
    """native/gen_unicode_tables.py imported by path (it is not a package module)."""
    spec = importlib.util.spec_from_file_location("gen_unicode_tables", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_array(text: str, name: str) -> list[int]:
    """The values of ``static const <type> name[N] = {...};`` in C source ``text``."""
    match = re.search(rf"static const uint(?:8|16)_t {name}\[(\d+)\] = \{{(.*?)\}};", text, re.S)
    assert match is not None, f"{name} not found in {HEADER}"
    values = [int(v) for v in match.group(2).replace("\n", " ").split(",") if v.strip()]
    assert len(values) == int(match.group(1)), f"{name}: declared {match.group(1)} entries, found {len(values)}"
    return values


@lru_cache(maxsize=None)
def header_tables() -> tuple[int, list[int], list[int]]:
    """(block size, stage1, stage2) as written in native/unicode_tables.h."""
    text = HEADER.read_text()
    block = re.search(r"#define FL_UNICODE_BLOCK (\d+)", text)
    assert block is not None
    return int(block.group(1)), parse_array(text, "fl_unicode_stage1"), parse_array(text, "fl_unicode_stage2")


@lru_cache(maxsize=None)
def header_classes() -> list[int]:
    """The class bits of every code point 0..0x10FFFF according to the header."""
    block, stage1, stage2 = header_tables()
    return [stage2[stage1[cp // block] * block + cp % block] for cp in range(0x110000)]


@pytest.fixture(scope="module")
def regenerated() -> tuple[list[int], list[int], list[int]]:
    """(classes, stage1, stage2) regenerated in memory from unicodedata2 at the generator's version."""
    unicodedata2 = pytest.importorskip("unicodedata2", reason="the table generator needs unicodedata2")
    gen = generator()
    if unicodedata2.unidata_version != gen.UNICODE_VERSION:
        pytest.skip(
            f"native/gen_unicode_tables.py needs unicodedata2=={gen.UNICODE_VERSION} "
            f"(installed: Unicode {unicodedata2.unidata_version}); "
            f"`pip install unicodedata2=={gen.UNICODE_VERSION}` to compare the tables with the UCD"
        )
    classes = gen.build_classes()
    stage1, stage2 = gen.two_stage(classes)
    return classes, stage1, stage2


class TestRegeneratedTables:
    """The header equals the generator's output for the pinned Unicode version."""

    def test_stages_equal(self, regenerated: tuple[list[int], list[int], list[int]]) -> None:
        """stage1 and stage2 parsed from the header equal the regenerated ones."""
        _, stage1, stage2 = regenerated
        block, h1, h2 = header_tables()
        assert block == generator().BLOCK
        assert h1 == stage1
        assert h2 == stage2

    def test_every_code_point_class(self, regenerated: tuple[list[int], list[int], list[int]]) -> None:
        """The class of every code point, expanded from the header, equals the regenerated class."""
        classes, _, _ = regenerated
        expanded = header_classes()
        wrong = [cp for cp in range(0x110000) if expanded[cp] != classes[cp]]
        assert not wrong, [f"U+{cp:04X}: header {expanded[cp]} != {classes[cp]}" for cp in wrong[:10]]

    def test_header_text_is_generator_output(self, regenerated: tuple[list[int], list[int], list[int]]) -> None:
        """The header file is byte for byte what the generator would write."""
        _, stage1, stage2 = regenerated
        assert HEADER.read_text() == generator().render(stage1, stage2)


class TestHeaderInvariants:
    """Checks of the header that need no Unicode database."""

    def test_version_comment(self) -> None:
        """The header names the Unicode version the generator pins."""
        first = HEADER.read_text().splitlines()[0]
        assert f"from Unicode {generator().UNICODE_VERSION}" in first

    def test_bit_layout_matches_fl_internal(self) -> None:
        """The generator's bit values are the FL_U_* macros the C code tests."""
        text = INTERNAL_HEADER.read_text()
        macros = {m.group(1): int(m.group(2)) for m in re.finditer(r"#define FL_U_(\w+) (\d+)u", text)}
        gen = generator()
        assert macros == {"L": gen.BIT_L, "N": gen.BIT_N, "WS": gen.BIT_WS, "UP": gen.BIT_UP, "LO": gen.BIT_LO}

    def test_white_space(self) -> None:
        """Exactly the 25 White_Space code points carry the \\s bit (checked against the regex module's \\s)."""
        regex = pytest.importorskip("regex")
        gen = generator()
        classes = header_classes()
        with_bit = [cp for cp in range(0x110000) if classes[cp] & gen.BIT_WS]
        assert with_bit == sorted(gen.WHITE_SPACE)
        pattern = regex.compile(r"\s")
        assert with_bit == [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and pattern.match(chr(cp))]

    def test_class_invariants(self) -> None:
        """L and N are exclusive; the o200k case bits are set only on letters and marks, and on all letters."""
        gen = generator()
        for cp, bits in enumerate(header_classes()):
            is_l, is_n = bool(bits & gen.BIT_L), bool(bits & gen.BIT_N)
            assert not (is_l and is_n), f"U+{cp:04X}"
            if is_l:
                assert bits & (gen.BIT_UP | gen.BIT_LO), f"U+{cp:04X}: a letter in neither o200k case class"
            if is_n or bits & gen.BIT_WS:
                assert not bits & (gen.BIT_UP | gen.BIT_LO), f"U+{cp:04X}"
            assert bits < 32, f"U+{cp:04X}"
        assert header_classes()[0xD800] == 0 and header_classes()[0x10FFFF] == 0

    def test_ascii(self) -> None:
        """ASCII classes are the obvious ones (block 0 is read directly by the scanners' fast path)."""
        gen = generator()
        classes = header_classes()
        for cp in range(128):
            c = chr(cp)
            expected = 0
            if c.isalpha():
                expected |= gen.BIT_L | (gen.BIT_UP if c.isupper() else gen.BIT_LO)
            if c.isdigit():
                expected |= gen.BIT_N
            if c in " \t\n\r\x0b\x0c":
                expected |= gen.BIT_WS
            assert classes[cp] == expected, f"U+{cp:04X}"
        _, stage1, _ = header_tables()
        assert stage1[0] == 0
