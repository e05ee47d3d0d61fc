"""The litellm adapters: everything that knows litellm.

The patch table is ``adapters/patching.py`` ``PATCHES``: every patched litellm attribute, its
native twin and its gate.  The rest are the wrappers it installs (``encode``, ``token_counter``),
the source checks that decide which features may patch a litellm (``guards``), the import hook
that patches modules as they load, and ``python -m fast_litellm verify``.
"""
