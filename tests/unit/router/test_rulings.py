"""Rulings saved as catalogue rules: they close gaps (R10) and nothing else; the structural diff names them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from caseroute.catalogue_cli import catalogue_app
from catalogue.diff import diff_catalogues
from catalogue.loader import CatalogueError, load_catalogue, parse_catalogue
from catalogue.rulings import RULING, ruling_of
from router.domain.compiled import compile_catalogue
from router.domain.decide import decide
from schemas.report import Report

POWER_BANK = Report(
    external_id="T-1", source="grid", reported_at=datetime(2026, 2, 1, 10, 0, tzinfo=UTC),
    location={"unit": "baiyun", "address": "华兴社区"}, title="共享充电宝运营商与商户合作纠纷",
    description="华兴社区多家商户反映，共享充电宝运营商单方面撤走店内机柜，商户认为违反合作协议，要求恢复或赔偿。",
)
LATER = POWER_BANK.model_copy(update={
    "external_id": "T-2", "title": None, "location": POWER_BANK.location.model_copy(update={"unit": "nanmen"}),
    "description": "我店里的共享充电宝机柜被公司撤走了，说好的分成一直没给，这事找谁管？",
})


def ruling(**changes: Any) -> dict[str, Any]:
    base = {"id": "ruling-1", "match": {"terms": ["共享充电宝", "机柜", "分成"], "min_terms": 2},
            "lead": "amr", "cooperating": ["street-{unit}"], "principle": "competent",
            "ruled_by": "adjudicator:wang", "ruled_at": "2026-02-01T10:00:00+00:00",
            "reason": "共享充电宝合作纠纷属合同行为监管", "from_case": "C20260201-0001"}
    return {**base, **changes}


def with_rulings(*rulings: dict[str, Any], version: str = "test+1") -> dict[str, Any]:
    doc = load_catalogue().model_dump(mode="json")
    return {**doc, "version": version, "rulings": list(rulings)}


def test_a_gap_report_stays_r10_without_a_ruling() -> None:
    decision = decide(POWER_BANK, compile_catalogue(load_catalogue()))
    assert decision.rule == "R10" and decision.status.value == "gap"


def test_a_saved_ruling_routes_later_reports_of_the_kind_to_its_lead() -> None:
    cc = compile_catalogue(parse_catalogue(with_rulings(ruling())))
    decision = decide(LATER, cc)
    assert decision.rule == RULING and decision.status.value == "routed"
    assert decision.primary == "amr" and decision.cooperating == ["street-nanmen"]
    trace = [e for e in decision.evidence if e.kind == "ruling"]
    assert len(trace) == 1 and "ruling-1" in trace[0].what and "C20260201-0001" in trace[0].what
    assert set(trace[0].words) == {"共享充电宝", "机柜", "分成"}
    assert decision.deadline_days == cc.catalogue.settings.deadlines.joint
    assert ruling_of(decision) == "ruling-1"
    assert ruling_of(decide(POWER_BANK, compile_catalogue(load_catalogue()))) is None


def test_too_few_terms_or_another_unit_is_not_covered() -> None:
    cc = compile_catalogue(parse_catalogue(with_rulings(ruling(match={"terms": ["共享充电宝", "押金"],
                                                                      "min_terms": 2}))))
    assert decide(LATER, cc).rule == "R10"
    only_baiyun = compile_catalogue(parse_catalogue(with_rulings(
        ruling(match={"terms": ["共享充电宝"], "units": ["baiyun"]}), version="test+2")))
    assert decide(LATER, only_baiyun).rule == "R10"
    assert decide(POWER_BANK, only_baiyun).rule == RULING


def test_the_newest_matching_ruling_wins_and_rulings_never_override_r1_to_r9() -> None:
    cat = parse_catalogue(with_rulings(ruling(), ruling(id="ruling-2", lead="culture", cooperating=[]),
                                       ruling(id="ruling-3", match={"terms": ["灭火器", "营业执照"]},
                                              lead="culture", cooperating=[]), version="test+3"))
    cc = compile_catalogue(cat)
    assert decide(LATER, cc).primary == "culture"
    fire = Report(external_id="T-3", source="hotline", reported_at=datetime(2026, 2, 1, tzinfo=UTC),
                  location={"unit": "nanmen"}, description="一家饭店后厨没有灭火器，油烟管道起火冒烟。")
    assert decide(fire, cc).rule in {"R1", "R2"}


@pytest.mark.parametrize(("changes", "path"), [
    ({"lead": "nobody"}, "rulings[0].lead"),
    ({"cooperating": ["amr"]}, "rulings[0].cooperating"),
    ({"principle": "legal"}, "rulings[0]"),
    ({"match": {"terms": ["x"], "units": ["atlantis"]}}, "rulings[0].match.units[0]"),
    ({"match": {"terms": ["x"], "min_terms": 2}}, "rulings[0].match"),
])
def test_a_broken_ruling_is_refused_with_its_path(changes: dict[str, Any], path: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(with_rulings(ruling(**changes)))
    assert any(p.path.startswith(path) for p in caught.value.problems), caught.value


def test_the_diff_names_added_rulings_aliases_and_settings() -> None:
    before = load_catalogue().model_dump(mode="json")
    after = with_rulings(ruling())
    after["matters"]["pricing"] = {**after["matters"]["pricing"],
                                   "aliases": [*after["matters"]["pricing"]["aliases"], "偷偷涨价不明码"]}
    after["settings"] = {**after["settings"], "confidence_threshold": 0.5}
    del after["departments"]["land"]
    diff = diff_catalogues(before, after)
    lines = diff.text().splitlines()
    assert "~ version: haishu-2026.01.1 → test+1" in lines
    assert "~ matters.pricing.aliases: +偷偷涨价不明码" in lines
    assert "~ settings.confidence_threshold: 0.45 → 0.5" in lines
    assert "- departments.land: 国土海曙分局" in lines
    assert any(line.startswith("+ rulings.ruling-1: amr (competent) for [共享充电宝、机柜、分成]") for line in lines)
    assert diff_catalogues(after, after).changes == []


def test_cli_diff_of_two_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump(load_catalogue().model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    b.write_text(yaml.safe_dump(with_rulings(ruling()), allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(catalogue_app, ["diff", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "+ rulings.ruling-1: amr" in result.output and "2 change(s)" in result.output
