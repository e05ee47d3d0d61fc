"""pyproject.toml lists every package of fast_litellm (setuptools installs only the listed ones:
a subpackage left out is missing from every non-editable install, while an editable one still
works).  Python 3.10 has no tomllib, so the list is read from the file's text."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^packages = \[(.*?)\]", text, re.S | re.M)
    assert block is not None, "pyproject.toml has no packages list"
    listed = set(re.findall(r'"([\w.]+)"', block.group(1)))
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "fast_litellm").rglob("__init__.py")}
    assert found == listed
