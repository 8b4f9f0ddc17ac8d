"""Suggestions from the loop: places and words people's placements imply, each with its cases; nothing applied."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from caseroute.catalogue_cli import catalogue_app
from catalogue.loader import load_catalogue, parse_catalogue
from catalogue.suggestions import Example, with_suggestions
from router.domain.compiled import CompiledCatalogue, compile_uncached
from router.domain.decide import decide
from router.domain.suggest import suggest
from schemas.report import Report


def report(case_id: str, text: str) -> Report:
    return Report.model_validate({"external_id": case_id, "source": "hotline",
                                  "reported_at": "2026-11-02T10:00:00+08:00", "description": text})


# A community the catalogue does not know (made up here), named in two fire reports a human placed in 鼓楼.
PLACED = [Example("C-1", report("C-1", "明湖社区那栋老楼楼道里天天有人给电动车充电，线从窗户拉出来。"), "police-gulou"),
          Example("C-2", report("C-2", "我住明湖社区，楼梯间堆满纸箱，还有人在旁边充电瓶车。"), "police-gulou"),
          Example("C-3", report("C-3", "江边一家饭店油烟很大。"), "urban-mgmt")]


def test_a_place_people_put_in_a_unit_is_proposed_with_its_cases(cc: CompiledCatalogue) -> None:
    found = {s.id: s for s in suggest(cc, PLACED)}
    place = found["gazetteer:gulou:明湖社区"]
    assert place.support == ["C-1", "C-2"]


def test_accepting_a_suggestion_makes_a_new_catalogue_that_routes_by_it() -> None:
    cat = load_catalogue()
    cc = compile_uncached(cat)
    later = report("C-9", "明湖社区有户人家在楼道里私拉电线给电瓶车充电。")
    assert decide(later, cc).unit is None
    accepted = [s for s in suggest(cc, PLACED) if s.kind == "gazetteer"]
    document = {**with_suggestions(cat, accepted), "version": "haishu-test.2"}
    new = compile_uncached(parse_catalogue(document))
    d = decide(later, new)
    assert (d.unit, d.primary) == ("gulou", "police-gulou")
    assert cat.gazetteer["gulou"] == load_catalogue().gazetteer["gulou"]  # nothing changed by itself


def test_examples_the_catalogue_already_routes_teach_nothing(cc: CompiledCatalogue) -> None:
    right = [Example("C-5", report("C-5", "鼓楼街道公园路一家饭店没有营业执照。"), "ecology")]
    assert decide(right[0].report, cc).primary == "ecology"
    assert suggest(cc, right) == []


def test_cli_reads_a_labelled_file_and_prints_suggestions_with_support(tmp_path: Path) -> None:
    rows = [{"case_id": e.case_id, "how": "ruling", "department": e.department,
             "report": e.report.model_dump(mode="json")} for e in PLACED]
    file = tmp_path / "examples.jsonl"
    file.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(catalogue_app, ["suggest", "--examples", str(file), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert {"id": "gazetteer:gulou:明湖社区", "support": ["C-1", "C-2"]}.items() <= next(
        line for line in lines if line["id"] == "gazetteer:gulou:明湖社区").items()
