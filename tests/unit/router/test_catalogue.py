"""Catalogue validation reports every problem with its path; the default catalogue is valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from catalogue.loader import (
    CATALOGUE_DIR,
    CatalogueError,
    catalogue_json_schema,
    load_catalogue,
    parse_catalogue,
    read_catalogue_file,
)


@pytest.fixture()
def data() -> dict[str, Any]:
    return read_catalogue_file()


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(data)
    return [str(p) for p in exc.value.problems]


def test_default_catalogue_is_valid() -> None:
    cat = load_catalogue()
    assert cat.version and len(cat.units) == 10 and "catering" in cat.industries


def test_every_cross_reference_problem_is_reported_with_its_path(data: dict[str, Any]) -> None:
    data["matters"]["pricing"]["department"] = "tax-office"
    data["industries"]["lodging"]["prerequisites"][0]["department"] = None
    data["industries"]["beauty"]["prerequisites"][0]["department"] = "hygiene"
    data["rules"]["gap_adjudicator"] = "nobody"
    data["gazetteer"]["atlantis"] = ["海底路"]
    data["matters"]["sanitation"]["aliases"].append("网吧")
    data["matters"]["prepaid"]["by_industry"]["knitting"] = "amr"
    found = problems(data)
    expected = [
        "matters.pricing.department: unknown department 'tax-office'",
        "industries.lodging.prerequisites[0].department: names no department",
        "industries.beauty.prerequisites[0].department: unknown department 'hygiene'",
        "rules.gap_adjudicator: unknown department 'nobody'",
        "gazetteer.atlantis: unknown unit 'atlantis'",
        "alias '网吧' is already used at industries.internet-cafe.aliases",
        "matters.prepaid.by_industry.knitting: unknown industry 'knitting'",
    ]
    for text in expected:
        assert any(text in line for line in found), (text, found)


def test_schema_errors_carry_paths_too(data: dict[str, Any]) -> None:
    del data["version"]
    data["industries"]["catering"]["aliases"] = "not a list"
    data["settings"]["confidence_threshold"] = 2
    found = problems(data)
    assert any(line.startswith("version:") for line in found)
    assert any(line.startswith("industries.catering.aliases") for line in found)
    assert any(line.startswith("settings.confidence_threshold") for line in found)


def test_unit_templates_are_valid_department_references(data: dict[str, Any]) -> None:
    data["matters"]["neighbourhood"]["department"] = "village-{unit}"
    assert any(
        "matters.neighbourhood.department: unknown department 'village-{unit}'" in p for p in problems(data)
    )


def test_load_reports_unreadable_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(bad)
    assert exc.value.problems[0].path == "<file>"


def test_committed_json_schema_matches_the_models() -> None:
    committed = json.loads((CATALOGUE_DIR / "catalogue.schema.json").read_text(encoding="utf-8"))
    assert committed == catalogue_json_schema()
