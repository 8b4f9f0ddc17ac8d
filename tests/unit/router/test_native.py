"""The compiled router decides exactly as its sources do, and a stale build never shadows an edited source."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import router
from router import native
from tests.support.route_cli import route_lines

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"


def _route(reports: str, *, sources: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != native.FORCE_SOURCES}
    if sources:
        env[native.FORCE_SOURCES] = "1"
    probe = "import router, router.domain.scan as s; print(router.COMPILED, s.__file__.endswith('.py'))"
    which = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert which.stdout.split() == (["False", "True"] if sources else ["True", "False"]), which.stdout
    return route_lines(reports, env=env)


def test_the_compiled_router_decides_byte_for_byte_as_its_sources() -> None:
    if not native.is_current():
        pytest.fail("router/domain has no current compiled build: `make venv` builds it (it needs a C compiler)")
    lines = []
    for path in sorted(DATA.glob("blind*_cases.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lines.append(line.split('"report": ', 1)[1].rsplit(', "expect": ', 1)[0])
    reports = "\n".join(lines) + "\n"
    compiled = _route(reports, sources=False)
    assert compiled.count("\n") == len(lines) > 1000
    assert compiled == _route(reports, sources=True)


def _domain(tmp_path: Path) -> Path:
    domain = tmp_path / "domain"
    domain.mkdir()
    (domain / "__init__.py").write_text("")
    (domain / "scan.py").write_text("WORDS = 1\n")
    (domain / native.STAMP.name).write_text(native.digest(domain) + "\n")
    return domain


def test_a_build_is_current_only_for_the_sources_it_was_built_from(tmp_path: Path) -> None:
    domain = _domain(tmp_path)
    assert native.is_current(domain)
    (domain / "scan.py").write_text("WORDS = 2\n")
    assert not native.is_current(domain)
    (domain / "scan.py").write_text("WORDS = 1\n")
    (domain / "rules.py").write_text("")  # a new module the build never compiled
    assert not native.is_current(domain)


def test_a_stale_build_sends_imports_to_the_sources(tmp_path: Path) -> None:
    domain = _domain(tmp_path)
    assert native.prefer_current(str(domain)) is True
    assert str(domain) not in sys.path_importer_cache
    (domain / "scan.py").write_text("WORDS = 2\n")
    try:
        assert native.prefer_current(str(domain)) is False
        finder = sys.path_importer_cache[str(domain)]
        spec = finder.find_spec("domain.scan")  # type: ignore[union-attr]
        assert spec is not None and spec.origin == str(domain / "scan.py")
    finally:
        sys.path_importer_cache.pop(str(domain), None)


def test_this_process_runs_what_the_stamp_says() -> None:
    import router.domain.scan as scan

    assert router.COMPILED == (native.is_current() and os.environ.get(native.FORCE_SOURCES) != "1")
    assert scan.__file__ is not None and scan.__file__.endswith(".py") != router.COMPILED
