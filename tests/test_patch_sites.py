"""The patch table matches the installed litellm: an identity scan of every imported module.

In a fresh process: import litellm, its router, every router strategy and (when its dependencies
are installed) the proxy, call token_counter once (litellm fills its lazy caches), then read
every module attribute.  Each attribute (a module's, or a method of a class the module defines) holding one of
fast-litellm's wrappers must be a site
the table declares for this litellm line, each declared site must hold the wrapper, and no
module may still hold one of litellm's originals (a site the table misses).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCAN = textwrap.dedent("""
    import importlib, importlib.metadata, json, pkgutil, sys
    import litellm, litellm.router, litellm.router_strategy
    import fast_litellm
    for info in pkgutil.iter_modules(litellm.router_strategy.__path__, "litellm.router_strategy."):
        importlib.import_module(info.name)
    try:
        import litellm.proxy.proxy_server  # noqa: F401
        proxy = True
    except ImportError:
        proxy = False
    litellm.token_counter(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    litellm.litellm_core_utils.token_counter.messages_reach_token_count(
        "gpt-4o", [{"role": "user", "content": "hi"}], 10)
    from fast_litellm.adapters import patching as _patching
    version = importlib.metadata.version("litellm")
    wrappers = {id(w): source for source, w in _patching._state.wrappers.items()}
    originals = {id(o): source for source, o in _patching._state.originals.items()}
    holding, leftovers = [], []

    def check(name, attr, value):
        if id(value) in wrappers:
            holding.append([name, attr])
        elif (id(value) in originals and [name, attr] != list(originals[id(value)])
              and not isinstance(value, type(sys))):  # a module (the router's copy) is patched where named
            leftovers.append([name, attr])

    for name, module in list(sys.modules.items()):
        if name.startswith("fast_litellm") or not name.startswith("litellm"):
            continue
        for attr, value in list(getattr(module, "__dict__", {}).items()):
            check(name, attr, value)
            if isinstance(value, type) and value.__module__ == name:  # methods patched on their class
                for method, function in list(vars(value).items()):
                    check(name, f"{attr}.{method}", function)
    declared = [[s.module, s.attr] for s in _patching.PATCHES if _patching.site_present(s, version)]
    empty = [site for site in declared if site not in holding and site[0] in sys.modules
             and site[1] in sys.modules[site[0]].__dict__ and sys.modules[site[0]].__dict__[site[1]] is None]
    print(json.dumps({"version": version, "proxy": proxy, "holding": sorted(holding), "empty": sorted(empty),
                      "leftovers": sorted(leftovers), "declared": sorted(declared)}))
""")


def _scan() -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", SCAN], capture_output=True, text=True, timeout=600,
                         cwd=str(ROOT / "tests"),
                         env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_the_patch_table_is_this_litellms_sites() -> None:
    """Every wrapper sits at a declared site, every declared site has it (or is an empty cache), no
    original is left."""
    result = _scan()
    assert result["leftovers"] == [], f"litellm {result['version']} binds the originals at undeclared sites"
    # litellm._lazy_imports' caches (up to 1.109) stay empty until litellm.utils calls through them,
    # and then take the patched function; every other declared site holds the wrapper now.
    empty: list[list[str]] = result["empty"]  # type: ignore[assignment]
    holding: list[list[str]] = result["holding"]  # type: ignore[assignment]
    assert all(module == "litellm._lazy_imports" for module, _ in empty), empty
    assert sorted(holding + empty) == result["declared"], result
