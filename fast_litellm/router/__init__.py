"""The router: litellm's deployment selection on native scans (fast_litellm/router/strategies.py,
native/pyrouter.c), behind the ``router`` feature.  Its patch sites are rows of
``adapters.patching.PATCHES``."""
