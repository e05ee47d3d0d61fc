"""Running code in a fresh interpreter, for claims about import time and the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from typing import Any

__all__ = ["run_python"]


def run_python(code: str, **env: str) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON document as its last line.

    ``env`` adds to the current environment; a value of ``""`` for a name removes it.
    """
    full_env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for name, value in env.items():
        if value == "":
            full_env.pop(name, None)
        else:
            full_env[name] = value
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=full_env, timeout=300,
        cwd=tempfile.gettempdir(),  # not the checkout: "-c" puts the working directory on sys.path
    )
    if out.returncode != 0:
        raise AssertionError(f"subprocess failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
