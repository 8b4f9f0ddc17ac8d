"""docs/ROUTING.md describes the shipped catalogue: every unit, department, trade and matter code, each trade's
licence chain in order, and the settings the rules read. A catalogue change a user would see fails here until
the page follows."""

from __future__ import annotations

import re

from catalogue.loader import load_catalogue
from tests.conftest import REPO

DOC = (REPO / "docs" / "ROUTING.md").read_text(encoding="utf-8")


def _row(code: str) -> str:
    """The table row of §3 or §4 whose first cell is this code."""
    found = re.search(rf"^\| `{re.escape(code)}` \|.*$", DOC, re.MULTILINE)
    assert found, f"docs/ROUTING.md has no table row for `{code}`"
    return found.group(0)


def test_every_code_of_the_catalogue_is_described() -> None:
    cat = load_catalogue()
    codes = [*cat.units, *cat.departments, *(t.template for t in cat.unit_departments.values()),
             *cat.industries, *cat.matters]
    missing = [code for code in codes if f"`{code}`" not in DOC]
    assert not missing, f"docs/ROUTING.md does not describe {missing}"


def test_licence_chains_and_matter_departments_are_those_of_the_catalogue() -> None:
    cat = load_catalogue()
    for code, industry in cat.industries.items():
        chain = " → ".join(f"{p.name} `{p.department}`" for p in industry.prerequisites) or "none"
        assert f"| {chain} |" in _row(code), (code, chain)
    for code, matter in cat.matters.items():
        assert f"`{matter.department}`" in _row(code).rsplit("|", 2)[1], code


def test_settings_the_rules_read_are_stated() -> None:
    s = load_catalogue().settings
    assert f"`confidence_threshold` ({s.confidence_threshold})" in DOC
    assert f"standard {s.deadlines.standard}, joint {s.deadlines.joint}, gap {s.deadlines.gap}" in DOC
    assert f"{s.ack_hours.hazard:g} hours for hazard rules R1–R5, {s.ack_hours.default:g} hours otherwise" in DOC
    assert f"last {s.duplicate.window_days:g} days, within {s.duplicate.distance_m:g} m" in DOC
