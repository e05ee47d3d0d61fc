"""The supported litellm lines, each checked where the main suite does not reach.

The main suite runs on the litellm the test extra resolves, which is the newest release
(``TestMainEnvironment`` fails when pip settled for an older one).  This file adds:

* 1.106.x, 1.108.x (litellm's long-term-support line) and 1.109.x: the litellm-sensitive suites
  (``_line_runs.SENSITIVE``: differential token_counter and tools format, patching, control plane, guards,
  patch sites, every model name, the routing strategies, filters, cooldown and usage reads, the
  router's cache, the generated Router sequences, the Routers sharing a real Redis, the rate-limit
  table against litellm's v3 limiter, and the proxy test
  when the proxy's requirements are installed)
  run on each;
* 1.108.x and 1.110.x (the newest checked): installing this checkout keeps their litellm;
* 1.110.x: the tokenizer and token_counter are patched (``NEWEST_TOKEN_COUNTER_NATIVE``) and
  answer exactly as litellm's own; where token_counter's sites are left to litellm, status must
  name the changed function.

Each line gets a venv (``--system-site-packages``, so only litellm and what it needs that differs
are installed) under ``FL_LITELLM_VENVS`` (default ``~/.cache/fast_litellm/venvs``), made once
and reused; the package index must be reachable the first time.  The checkout's own fast_litellm
(and its built extension) runs there through PYTHONPATH, with ``FL_LINE_RUN=1`` (the suites whose
generated cases are slow draw fewer of them there: the full sets run once, on the newest line).
The line runs start in the background when collection ends and run beside the main suite; this
file's tests run last and wait for them (``_line_runs``, ``conftest``).
``FL_LITELLM_LINES=0`` skips this file.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from _line_runs import LINES, result, venv
from _venvs import ROOT, clean_env
from packaging.version import Version

LTS, NEWEST = "1.108.14", "1.110.2"

# Whether fast_litellm patches token_counter on the newest line (native on 1.109+ since issue 21).
# None would leave it unasserted, for a newest line whose token_counter is not reproduced yet.
NEWEST_TOKEN_COUNTER_NATIVE: bool | None = True

pytestmark = pytest.mark.skipif(os.environ.get("FL_LITELLM_LINES") == "0", reason="FL_LITELLM_LINES=0")


def _venv(version: str) -> Path:
    """The python of a venv holding litellm ``version`` on top of the main environment (made once)."""
    return venv(version)


def _run(python: Path, code: str) -> dict[str, object]:
    out = subprocess.run([str(python), "-c", textwrap.dedent(code)], check=False, capture_output=True,
                         text=True, env=clean_env(PYTHONPATH=str(ROOT)), timeout=600, cwd=str(ROOT / "tests"))
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


class TestMainEnvironment:
    """The environment the suite runs in holds the newest litellm."""

    def test_runs_the_newest_line(self) -> None:
        """The test extra installed litellm NEWEST (pyproject's test extra pins the newest checked line)."""
        version = importlib.metadata.version("litellm")
        assert Version(version) >= Version(NEWEST), (
            f"litellm {version} is installed, older than {NEWEST}: the main suite must run on the newest line; "
            f"`pip install -e '.[test]'` installs it")


class TestOtherLines:
    """1.106.x, 1.108.x and 1.109.x: every litellm-sensitive suite passes."""

    @pytest.mark.parametrize("version", LINES)
    def test_sensitive_suites(self, version: str) -> None:
        """The differential, patching, control-plane, guard, patch-site, model-name (and proxy) tests pass
        on ``version``."""
        out = result(version)  # started beside the main suite when the session began (_line_runs)
        found = _run(_venv(version), "import json, importlib.metadata as m; print(json.dumps({'v': m.version('litellm')}))")
        assert found == {"v": version}
        assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
        assert " passed" in out.stdout.splitlines()[-1], out.stdout[-2000:]


class TestInstallKeepsLitellm:
    """Installing this checkout never changes the installed litellm."""

    @pytest.mark.parametrize("version", [LTS, NEWEST])
    def test_install_keeps_litellm(self, version: str) -> None:
        """pip's plan for installing this checkout into a venv holding ``version`` installs no litellm."""
        python = _venv(version)
        out = subprocess.run([str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-",
                              str(ROOT)], check=False, capture_output=True, text=True, timeout=900, env=clean_env())
        if out.returncode != 0:
            pytest.skip(f"pip could not resolve the checkout (no package index?): {out.stderr[-500:]}")
        report = json.loads(out.stdout)
        names = sorted(item["metadata"]["name"].lower() for item in report["install"])
        assert "litellm" not in names, names


class TestNewestLine:
    """litellm 1.110.x: the tokenizer and token_counter native and exact."""

    def test_tokenizer_and_token_counter_exact(self) -> None:
        """encode/decode are patched and equal litellm's own on varied text; token_counter is patched as
        NEWEST_TOKEN_COUNTER_NATIVE says and equals litellm's own; left to litellm, the reason names the
        changed function."""
        result = _run(_venv(NEWEST), """
            import json, random
            import fast_litellm, litellm, litellm.utils
            from fast_litellm.adapters.patching import get_original
            status = fast_litellm.get_patch_status()
            encode, decode = get_original("litellm.utils", "encode"), get_original("litellm.utils", "decode")
            count = get_original("litellm", "token_counter")
            rng = random.Random(5)
            alphabet = "abc xyz 123 ,.!? \\n\\t héllo wörld 東京 👋🏽 <|endoftext|> ' \\u00a0"
            texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(300)]
            models = ["gpt-4o", "gpt-3.5-turbo", "azure/gpt-4o", "claude-3-5-sonnet-20240620", ""]
            def differs(m, t):
                ids = encode(model=m, text=t)
                back = decode(model=m, tokens=ids)
                return litellm.encode(model=m, text=t) != ids or litellm.decode(model=m, tokens=ids) != back
            diffs = [(m, t) for t in texts for m in models if differs(m, t)]
            def counts_differ(m, t):
                messages = [{"role": "system", "content": t[:20]}, {"role": "user", "content": t}]
                return (litellm.token_counter(model=m, messages=messages) != count(model=m, messages=messages)
                        or litellm.token_counter(model=m, text=t) != count(model=m, text=t))
            count_diffs = [(m, t) for t in texts[:100] for m in models if counts_differ(m, t)]
            native = fast_litellm.get_performance_stats("tokenizer")["tokenizer"]["native"]["calls"]
            tokenizer = sorted({v["patched"] for v in status.values() if v["feature"] == "tokenizer"})
            print(json.dumps({
                "tokenizer": tokenizer, "token_counter": status["litellm.token_counter"]["patched"],
                "reason": status["litellm.token_counter"]["reason"], "diffs": diffs[:5],
                "count_diffs": count_diffs[:5], "native": native}))
            """)
        assert result["tokenizer"] == [True] and result["diffs"] == []
        assert isinstance(result["native"], int) and result["native"] > 1000
        assert result["count_diffs"] == []
        if NEWEST_TOKEN_COUNTER_NATIVE is not None:
            assert result["token_counter"] is NEWEST_TOKEN_COUNTER_NATIVE, result["reason"]
        if not result["token_counter"]:
            assert "differs from the sources fast-litellm reproduces" in str(result["reason"])
