"""The single cffi build script: it alone knows the C sources.

setup.py hands ``ffibuilder`` to setuptools through ``cffi_modules``; running
this file directly builds ``fast_litellm._native`` in place (for development).
It must not import ``fast_litellm``.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from glob import glob
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "native"
HEADER = NATIVE / "fast_litellm.h"

# Flags for our own sources; FAST_LITELLM_CFLAGS replaces the optimisation
# flags (for example "-O1 -g -fsanitize=address,undefined" for an ASan build).
DEFAULT_CFLAGS = ["-O3", "-std=c11", "-fvisibility=hidden"]
WARNING_FLAGS = ["-Wall", "-Wextra"]


def cdef_block(header_text: str) -> str:
    """Return the part of the public header between FL_CDEF_BEGIN and FL_CDEF_END."""
    match = re.search(r"/\* FL_CDEF_BEGIN \*/(.*?)/\* FL_CDEF_END \*/", header_text, re.S)
    if match is None:
        raise RuntimeError(f"{HEADER} has no FL_CDEF_BEGIN/FL_CDEF_END block")
    return match.group(1)


def compile_args(environ: dict[str, str]) -> list[str]:
    """Compiler flags: the defaults, or FAST_LITELLM_CFLAGS when it is set."""
    custom = environ.get("FAST_LITELLM_CFLAGS")
    base = shlex.split(custom) if custom else DEFAULT_CFLAGS
    return ["-std=c11", *base, *WARNING_FLAGS] if sys.platform != "win32" else []


def link_args(environ: dict[str, str]) -> list[str]:
    """Linker flags: sanitizer builds must link their runtime too."""
    custom = environ.get("FAST_LITELLM_CFLAGS", "")
    extra = [flag for flag in shlex.split(custom) if flag.startswith("-fsanitize")]
    return [*extra, "-pthread"] if sys.platform != "win32" else []


def sources() -> list[str]:
    """The C sources, relative to the project root (setuptools wants relative paths)."""
    return sorted(os.path.relpath(p, ROOT) for p in glob(str(NATIVE / "*.c")))


ffibuilder = FFI()
ffibuilder.cdef(cdef_block(HEADER.read_text()))
ffibuilder.set_source(
    "fast_litellm._native",
    '#include "fast_litellm.h"',
    sources=sources(),
    include_dirs=[os.path.relpath(NATIVE, ROOT)],
    depends=sorted(os.path.relpath(p, ROOT) for p in glob(str(NATIVE / "*.h"))),
    extra_compile_args=compile_args(dict(os.environ)),
    extra_link_args=link_args(dict(os.environ)),
    # native/pylist.c fills Python lists with the full C API's macros, so the
    # module is built per Python version, not for the stable ABI.
    py_limited_api=False,
)

if __name__ == "__main__":
    os.chdir(ROOT)
    ffibuilder.compile(tmpdir=str(ROOT), verbose=True)
