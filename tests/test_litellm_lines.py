"""The other supported litellm lines, each in a venv of its own (the suite itself runs on the line the
test extra installs, 1.106.x).

* 1.108.x (litellm's long-term-support line): the litellm-sensitive suites (differential
  token_counter and tools format, patching, control plane, guards) run on it.
* 1.110.x (the newest): installing this checkout keeps its litellm; the tokenizer is patched and
  encodes exactly as litellm; token_counter, whose counting rules changed in 1.109, is left to
  litellm, and status says why.

Each venv (``--system-site-packages``, so only litellm and what it needs on top are installed) is
kept under ``FL_LITELLM_VENVS`` (default ``~/.cache/fast_litellm/venvs``) and reused; the package
index must be reachable the first time.  The checkout's own fast_litellm (and its built extension)
runs there through PYTHONPATH.  ``FL_LITELLM_LINES=0`` skips this file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENVS = Path(os.environ.get("FL_LITELLM_VENVS", Path.home() / ".cache" / "fast_litellm" / "venvs"))
LTS, NEWEST = "1.108.14", "1.110.2"
SENSITIVE = ["tests/test_differential_token_counter.py", "tests/test_differential_tools_format.py",
             "tests/test_patching.py", "tests/test_control_plane.py", "tests/test_litellm_guards.py"]

pytestmark = pytest.mark.skipif(os.environ.get("FL_LITELLM_LINES") == "0", reason="FL_LITELLM_LINES=0")


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("PYTHONHOME", None)
    return env


def _venv(version: str) -> Path:
    """The python of a venv holding litellm ``version`` (made once)."""
    home = VENVS / f"litellm-{version}"
    python = home / "bin" / "python"
    ready = home / ".fast_litellm_ready"
    if not ready.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", "--system-site-packages", str(home)],
                       check=True)
        out = subprocess.run([str(python), "-m", "pip", "install", "-q", f"litellm=={version}"],
                             capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            pytest.skip(f"litellm {version} could not be installed (no package index?): {out.stderr[-500:]}")
        ready.write_text(version)
    return python


def _run(python: Path, code: str) -> dict[str, object]:
    out = subprocess.run([str(python), "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         env=_env(), timeout=600, cwd=str(ROOT / "tests"))
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


class TestLongTermSupportLine:
    """litellm 1.108.x: every litellm-sensitive suite passes."""

    def test_sensitive_suites(self) -> None:
        """The differential, patching, control-plane and guard tests pass on 1.108.14."""
        python = _venv(LTS)
        version = _run(python, "import json, importlib.metadata as m; "
                               "print(json.dumps({'v': m.version('litellm')}))")
        assert version == {"v": LTS}
        out = subprocess.run([str(python), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *SENSITIVE],
                             capture_output=True, text=True, env=_env(), timeout=2400, cwd=str(ROOT))
        assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


class TestNewestLine:
    """litellm 1.110.x: kept on install, the tokenizer native and exact, token_counter left to litellm."""

    def test_install_keeps_litellm(self) -> None:
        """pip's plan for installing this checkout into the venv installs no litellm."""
        python = _venv(NEWEST)
        out = subprocess.run([str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-",
                              str(ROOT)], capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            pytest.skip(f"pip could not resolve the checkout (no package index?): {out.stderr[-500:]}")
        report = json.loads(out.stdout)
        names = sorted(item["metadata"]["name"].lower() for item in report["install"])
        assert "litellm" not in names, names

    def test_tokenizer_native_token_counter_litellms(self) -> None:
        """encode/decode are patched and equal litellm's own on varied text; token_counter's sites
        are litellm's, with the changed function named."""
        result = _run(_venv(NEWEST), """
            import json, random
            import fast_litellm, litellm, litellm.utils
            from fast_litellm._patching import get_original
            status = fast_litellm.get_patch_status()
            encode, decode = get_original("litellm.utils", "encode"), get_original("litellm.utils", "decode")
            rng = random.Random(5)
            alphabet = "abc xyz 123 ,.!? \\n\\t héllo wörld 東京 👋🏽 <|endoftext|> ' \\u00a0"
            texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(300)]
            models = ["gpt-4o", "gpt-3.5-turbo", "azure/gpt-4o", "claude-3-5-sonnet-20240620", ""]
            def differs(m, t):
                ids = encode(model=m, text=t)
                back = decode(model=m, tokens=ids)
                return litellm.encode(model=m, text=t) != ids or litellm.decode(model=m, tokens=ids) != back
            diffs = [(m, t) for t in texts for m in models if differs(m, t)]
            native = fast_litellm.get_performance_stats("tokenizer")["tokenizer"]["native"]["calls"]
            def patched(feature):
                return sorted({v["patched"] for v in status.values() if v["feature"] == feature})
            print(json.dumps({
                "tokenizer": patched("tokenizer"), "token_counter": patched("token_counter"),
                "reason": status["litellm.token_counter"]["reason"], "diffs": diffs[:5], "native": native}))
            """)
        assert result["tokenizer"] == [True] and result["diffs"] == []
        assert isinstance(result["native"], int) and result["native"] > 1000
        assert result["token_counter"] == [False]
        assert "differs from the sources fast-litellm reproduces" in str(result["reason"])
