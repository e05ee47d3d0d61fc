"""This checkout on the oldest and newest supported Pythons, 3.10 and 3.13 (the suite itself runs on
the main environment's, 3.11 in CI).

For each of 3.10 and 3.13 found under pyenv (``$(pyenv root)/versions/3.10.*``; the newest patch
release of each), a venv under ``FL_LITELLM_VENVS`` (default ``~/.cache/fast_litellm/venvs``) is
made once with pytest, hypothesis and the build requirements.  Each run installs the checkout into it
(non-editable, from a copy of the sources, so pip compiles the cffi extension for that Python; its
dependencies, litellm among them, come from the index the first time).  There, in a fresh
interpreter: fast_litellm is the installed copy, ``litellm.encode`` and ``litellm.token_counter``
answer exactly as litellm's originals, encode is patched, token_counter is patched wherever the main
environment's Python patches it on the same litellm (elsewhere status names the changed litellm
function), and ``tests/test_patching.py`` passes.

A Python that pyenv does not have skips its tests, saying so.  ``FL_PYTHON_LINES=0`` (or
``FL_LITELLM_LINES=0``) skips this file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _venvs import ROOT, clean_env, make_venv
from packaging.version import InvalidVersion, Version

PYTHONS = ["3.10", "3.13"]
# pytest and hypothesis as the test extra names them; setuptools and cffi to build the checkout
# without build isolation, so that later runs need no package index.
REQUIREMENTS = ["pytest>=8", "hypothesis>=6.100", "setuptools>=77", "cffi>=1.17"]
SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "native", "fast_litellm"]

pytestmark = pytest.mark.skipif(
    "0" in (os.environ.get("FL_PYTHON_LINES"), os.environ.get("FL_LITELLM_LINES")),
    reason="FL_PYTHON_LINES=0 or FL_LITELLM_LINES=0")

# Run in the venv (and, for comparison, in the main environment): what is patched, and whether the
# patched functions answer as litellm's originals.  Prints one JSON line.
SMOKE = r"""
import json, sys
import fast_litellm, litellm
from importlib.metadata import version
from fast_litellm.adapters.patching import get_original
status = fast_litellm.get_patch_status()
encode, count = get_original("litellm.utils", "encode"), get_original("litellm", "token_counter")
texts = ["", "hello world", "héllo wörld 東京 👋🏽 <|endoftext|>", "def f(x):\n\treturn x  # ok\n" * 20]
models = ["gpt-4o", "gpt-3.5-turbo", "claude-3-5-sonnet-20240620", ""]
diffs = []
for m in models:
    for t in texts:
        messages = [{"role": "system", "content": t[:9]}, {"role": "user", "content": t}]
        if litellm.encode(model=m, text=t) != encode(model=m, text=t):
            diffs.append(["encode", m, t])
        if litellm.token_counter(model=m, messages=messages) != count(model=m, messages=messages):
            diffs.append(["token_counter", m, t])
print(json.dumps({
    "python": sys.version.split()[0], "litellm": version("litellm"), "fast_litellm": fast_litellm.__file__,
    "health": fast_litellm.health_check()["native_error"], "diffs": diffs,
    "patched": {site: v["patched"] for site, v in sorted(status.items())},
    "token_counter_reason": status["litellm.token_counter"]["reason"]}))
"""


def _pyenv_python(minor: str) -> Path:
    """The python of pyenv's newest ``minor`` release, or skip."""
    found = shutil.which("pyenv")
    if found:
        root = Path(subprocess.run([found, "root"], check=True, capture_output=True, text=True).stdout.strip())
    else:
        root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))

    def key(path: Path) -> Version:
        try:
            return Version(path.parent.parent.name)
        except InvalidVersion:
            return Version("0")

    candidates = sorted((p for p in root.glob(f"versions/{minor}.*/bin/python") if key(p) > Version("0")),
                        key=key)
    if not candidates:
        pytest.skip(f"Python {minor} is not installed under {root}/versions (pyenv install {minor})")
    return candidates[-1]


def _installed_venv(minor: str, tmp_path: Path) -> Path:
    """The python of the ``minor`` venv, with this checkout freshly installed (non-editable)."""
    base = _pyenv_python(minor)
    python = make_venv(f"python-{base.parent.parent.name}", REQUIREMENTS, base=str(base),
                       system_site_packages=False)
    copy = tmp_path / "src"
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("*.so", "__pycache__", "_native.c"))
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy2(source, copy / name)
    out = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation", str(copy)],
                         check=False, capture_output=True, text=True, timeout=1500, env=clean_env())
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return python


def _smoke(python: str, tmp_path: Path, **env: str) -> dict[str, object]:
    out = subprocess.run([python, "-c", textwrap.dedent(SMOKE)], check=False, capture_output=True, text=True,
                         timeout=600, env=clean_env(**env), cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module", params=PYTHONS)
def installed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """(minor version, the python of its venv with this checkout installed), installed once per module."""
    minor: str = request.param
    return minor, _installed_venv(minor, tmp_path_factory.mktemp(f"python-{minor}"))


class TestPythonVersion:
    """The checkout installs, patches litellm and passes test_patching.py on each Python."""

    def test_installed_checkout_patches_litellm_exactly(self, installed: tuple[str, Path], tmp_path: Path) -> None:
        """The installed fast_litellm loads its extension, patches encode, and encode and token_counter
        equal litellm's originals; token_counter is patched as on the main environment's Python."""
        minor, python = installed
        result = _smoke(str(python), tmp_path)
        assert str(result["python"]).startswith(f"{minor}.")
        assert str(result["fast_litellm"]).startswith(str(python.parent.parent)), result["fast_litellm"]
        assert result["health"] is None and result["diffs"] == []
        patched = result["patched"]
        assert isinstance(patched, dict)
        assert patched["litellm.encode"] is True and patched["litellm.utils.encode"] is True
        main = _smoke(sys.executable, tmp_path, PYTHONPATH=str(ROOT))
        if main["litellm"] == result["litellm"]:
            assert patched == main["patched"], (result["token_counter_reason"], main["token_counter_reason"])
        if not patched["litellm.token_counter"]:
            assert "differs from the sources fast-litellm reproduces" in str(result["token_counter_reason"])

    def test_patching_suite(self, installed: tuple[str, Path], tmp_path: Path) -> None:
        """tests/test_patching.py passes against the installed checkout."""
        _, python = installed
        out = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                              "-c", str(ROOT / "pyproject.toml"), str(ROOT / "tests" / "test_patching.py")],
                             check=False, capture_output=True, text=True, timeout=1500, env=clean_env(),
                             cwd=str(tmp_path))
        assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
        assert " passed" in out.stdout.splitlines()[-1], out.stdout[-2000:]
