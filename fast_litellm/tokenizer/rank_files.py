"""Find and read tiktoken rank files with no network, the way tiktoken and litellm do.

tiktoken caches the file for ``url`` as ``<cache dir>/<sha1(url)>``, its cache
dir being ``TIKTOKEN_CACHE_DIR``, else ``DATA_GYM_CACHE_DIR``, else
``<tmp>/data-gym-cache``.  Importing litellm points ``TIKTOKEN_CACHE_DIR`` at
``CUSTOM_TIKTOKEN_CACHE_DIR`` when that is set, else at the directory of rank
files litellm bundles.  We look in the same places, in that order, without
importing litellm, and accept a file only if its SHA-256 is tiktoken's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from fast_litellm.exceptions import RankFileError

__all__ = ["candidate_dirs", "read_rank_file"]


def _litellm_bundled_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"


def candidate_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Directories searched for rank files, most authoritative first."""
    env = os.environ if environ is None else environ
    dirs: list[Path] = []
    if env.get("TIKTOKEN_CACHE_DIR"):
        dirs.append(Path(env["TIKTOKEN_CACHE_DIR"]))
    elif env.get("DATA_GYM_CACHE_DIR"):
        dirs.append(Path(env["DATA_GYM_CACHE_DIR"]))
    if env.get("CUSTOM_TIKTOKEN_CACHE_DIR"):
        dirs.append(Path(env["CUSTOM_TIKTOKEN_CACHE_DIR"]))
    bundled = _litellm_bundled_dir()
    if bundled is not None:
        dirs.append(bundled)
    dirs.append(Path(tempfile.gettempdir()) / "data-gym-cache")
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def read_rank_file(url: str, sha256: str, environ: Mapping[str, str] | None = None) -> bytes:
    """Contents of the cached rank file for ``url`` whose SHA-256 is ``sha256``.

    Raises:
        RankFileError: no candidate directory holds the file, or every copy
            found fails the checksum.
    """
    key = hashlib.sha1(url.encode()).hexdigest()
    rejected: list[str] = []
    searched = candidate_dirs(environ)
    for directory in searched:
        path = directory / key
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
        rejected.append(str(path))
    if rejected:
        raise RankFileError(
            f"rank file for {url} fails its SHA-256 check (expected {sha256}): "
            + ", ".join(rejected)
        )
    raise RankFileError(
        f"no cached rank file for {url} (file name {key}) in "
        + ", ".join(str(d) for d in searched)
        + "; fast-litellm never downloads: install litellm (it bundles cl100k_base, "
        "o200k_base and p50k_base) or set TIKTOKEN_CACHE_DIR"
    )
