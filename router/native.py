"""The router's decision code compiled with mypyc, used only while it is a build of the sources beside it.

Deciding is pure Python over dicts, strings and small objects: mypyc compiles the same typed sources to C and
decides about a third faster, with the same decisions (tests/unit/router/test_native.py compares them byte for
byte). `make` builds it in place (`python -m router.native_build`), which writes a stamp of the sources it compiled.
The domain's module constants are declared Final: compiled, a Final global is a C static, any other global a
dictionary lookup at every use.

A compiled module sits next to its source and Python would import it first, so an edited source would be
shadowed by a stale build. `prefer_current()`, run by router/__init__ before router.domain is imported, sends
router.domain's imports to the sources unless the stamp matches them. CASEROUTE_ROUTER_SOURCES=1 asks for the
sources whatever the stamp says (a traceback through compiled code shows no source lines).
"""

from __future__ import annotations

import hashlib
import os
import sys
from importlib.machinery import SOURCE_SUFFIXES, FileFinder, SourceFileLoader
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent / "domain"
STAMP = DOMAIN / "native.stamp"
FORCE_SOURCES = "CASEROUTE_ROUTER_SOURCES"


def sources(domain: Path = DOMAIN) -> list[Path]:
    """The modules compiled: the whole domain but its package __init__ (which must stay importable as is)."""
    return sorted(p for p in domain.glob("*.py") if p.name != "__init__.py")


def c_sources(domain: Path = DOMAIN) -> list[Path]:
    """The domain's hand-written C extensions (router/domain/_bayes.c, _automaton.c, _trusted.c), built with the
    compiled modules."""
    return sorted(domain.glob("*.c"))


def digest(domain: Path = DOMAIN) -> str:
    """What a build is a build of: the sources' names and bytes, and the interpreter that loads it."""
    h = hashlib.sha256(sys.version.encode())
    for path in [*sources(domain), *c_sources(domain)]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def is_current(domain: Path = DOMAIN) -> bool:
    stamp = domain / STAMP.name
    return stamp.is_file() and stamp.read_text().strip() == digest(domain)


def prefer_current(domain: str) -> bool:
    """Import router.domain (at `domain`, as its __path__ names it) compiled if its build is current, else from
    its sources; True if compiled."""
    if os.environ.get(FORCE_SOURCES) != "1" and is_current(Path(domain)):
        return True
    # Package submodules are found through the package's __path__ entries, looked up in this cache first: a
    # finder that knows only source files makes every router.domain import read the .py.
    sys.path_importer_cache[domain] = FileFinder(domain, (SourceFileLoader, SOURCE_SUFFIXES))
    return False
