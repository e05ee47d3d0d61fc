"""Venvs made once and kept, for the suites that run this checkout on another litellm or Python.

They live under ``FL_LITELLM_VENVS`` (default ``~/.cache/fast_litellm/venvs``).  The package index
must be reachable the first time: without it the tests skip; any other pip failure fails them.
Each venv records what it was made from in a marker file; a venv whose marker differs (another
base interpreter, other requirements) is made again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

__all__ = ["ROOT", "VENVS", "clean_env", "make_venv"]

ROOT = Path(__file__).resolve().parent.parent
VENVS = Path(os.environ.get("FL_LITELLM_VENVS", Path.home() / ".cache" / "fast_litellm" / "venvs"))
# What pip's stderr says when the package index cannot be reached (then the test skips, not fails).
_OFFLINE = ("NewConnectionError", "Max retries exceeded", "Temporary failure in name resolution",
            "Network is unreachable", "ConnectTimeoutError", "ReadTimeoutError")


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without PYTHONHOME/PYTHONPATH, with the offline cost map and ``extra``."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", **extra}
    env.pop("PYTHONHOME", None)
    if "PYTHONPATH" not in extra:
        env.pop("PYTHONPATH", None)
    return env


def _inherit_current_venv(python: Path) -> None:
    """Make a ``--system-site-packages`` venv also see the current venv's site-packages.

    ``venv --system-site-packages`` run from inside a venv links the *base* interpreter's
    site-packages, not the venv's, so the test dependencies would be missing.  A ``.pth`` file in the
    new venv appends them after its own site-packages, so what the new venv installs still wins.
    """
    if sys.prefix == sys.base_prefix:
        return
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, env=clean_env()).stdout.strip()
    (Path(site) / "_fast_litellm_parent_env.pth").write_text("".join(f"{p}\n" for p in paths))


_making: dict[str, threading.Lock] = {}
_making_lock = threading.Lock()


def make_venv(name: str, requirements: list[str], *, base: str = sys.executable,
              system_site_packages: bool = True, timeout: float = 1500) -> Path:
    """The python of the venv ``name``, made from ``base`` with ``requirements`` pip-installed (once).

    With ``system_site_packages`` (only sensible when ``base`` is the running interpreter), the venv
    sees everything the current environment has installed and pip adds only what differs.  Skips the
    test when pip fails (no package index).
    """
    with _making_lock:  # the line runs make venvs in a background thread (_line_runs)
        lock = _making.setdefault(name, threading.Lock())
    with lock:
        return _make_venv(name, requirements, base=base, system_site_packages=system_site_packages,
                          timeout=timeout)


def _make_venv(name: str, requirements: list[str], *, base: str, system_site_packages: bool,
               timeout: float) -> Path:
    home = VENVS / name
    python = home / "bin" / "python"
    ready = home / ".fast_litellm_ready"
    marker = f"{base}\n{system_site_packages}\n" + "\n".join(requirements) + "\n"
    if not (ready.exists() and python.exists() and ready.read_text() == marker):
        cmd = [base, "-m", "venv", "--clear", str(home)]
        if system_site_packages:
            cmd.insert(4, "--system-site-packages")
            subprocess.run(cmd, check=True, env=clean_env())
            _inherit_current_venv(python)
        else:
            subprocess.run(cmd, check=True, env=clean_env())
        out = subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements],
                             check=False, capture_output=True, text=True, timeout=timeout, env=clean_env())
        if out.returncode != 0:
            message = f"pip could not install {requirements} into {home}: {out.stderr[-1500:]}"
            if any(sign in out.stderr for sign in _OFFLINE):
                pytest.skip(f"no package index: {message}")
            pytest.fail(message)
        ready.write_text(marker)
    return python
