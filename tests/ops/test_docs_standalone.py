"""The user-facing documents stand on their own: nothing sends a reader outside the repository (../shared is
the developers' workspace, not something a user of caseroute has), and every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO


def user_documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").iterdir()), REPO / "notifier" / "WEBHOOKS.md",
            *sorted((REPO / "deploy").glob("**/README.md"))]


def test_no_document_points_outside_the_repository() -> None:
    offending = [f"{path.relative_to(REPO)}:{number}"
                 for path in user_documents() if path.is_file()
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if "../shared" in line or "shared/spec" in line or "shared/tools" in line]
    assert not offending, offending


def test_relative_links_resolve() -> None:
    broken = []
    for path in user_documents():
        if path.suffix != ".md":
            continue
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (path.parent / target.split("#", 1)[0]).exists():
                broken.append(f"{path.relative_to(REPO)}: {target}")
    assert not broken, broken
