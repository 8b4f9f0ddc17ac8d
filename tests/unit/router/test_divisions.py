"""The generated gazetteer: official division codes sorted into the catalogue's units, apart from the hand-kept part."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from caseroute.catalogue_cli import catalogue_app
from catalogue.divisions import DivisionRow, build_gazetteer, committee_place
from catalogue.loader import DEFAULT_CATALOGUE, load_catalogue

STREETS = [DivisionRow("990101001", "东坊街道", "990101"), DivisionRow("990101100", "西岭镇", "990101"),
           DivisionRow("990101101", "北湖镇", "990101"), DivisionRow("990102001", "别区街道", "990102")]
COMMITTEES = [DivisionRow("990101001001", "桥头社区", "990101001"),
              DivisionRow("990101001002", "新河社区居委会", "990101001"),
              DivisionRow("990101100201", "上岙村村委会", "990101100"),
              DivisionRow("990101100202", "下岙村民委员会", "990101100"),
              DivisionRow("990101101201", "湖滨村村委会", "990101101"),
              DivisionRow("990101101202", "桥头社区", "990101101"),  # the same name in two units
              DivisionRow("990102001001", "远方社区", "990102001")]


def test_committee_names_become_the_places_people_write() -> None:
    assert committee_place("新河社区居委会") == "新河社区"
    assert committee_place("上岙村村委会") == "上岙村"
    assert committee_place("下岙村民委员会") == "下岙村"
    assert committee_place("横街居委会") == "横街社区"
    assert committee_place("郎官社区") == "郎官社区"


def test_places_are_sorted_into_units_and_the_rest_is_outside() -> None:
    g = build_gazetteer("990101", STREETS, COMMITTEES, {"dongfang": "东坊街道", "xiling": "西岭镇"})
    assert g.by_unit == {"dongfang": ["新河社区"], "xiling": ["上岙村", "下岙村"]}
    # 北湖镇 is the district's but no catalogue unit; another district's 远方社区 is nobody's here.
    assert g.outside == ["北湖镇", "湖滨村"]
    assert "桥头社区" not in g.outside  # named in two units: decides nothing


def test_cli_writes_the_generated_file_that_the_catalogue_reads(tmp_path: Path) -> None:
    (tmp_path / "streets.csv").write_text(
        "code,name,areaCode,provinceCode,cityCode\n330203001,\"南门街道\",330203,33,3302\n"
        "330203101,\"横街镇\",330203,33,3302\n", encoding="utf-8")
    (tmp_path / "villages.csv").write_text(
        "code,name,streetCode,provinceCode,cityCode,areaCode\n"
        "330203001009,\"郎官社区\",330203001,33,3302,330203\n"
        "330203101201,\"凤岙村村委会\",330203101,33,3302,330203\n", encoding="utf-8")
    out = tmp_path / "divisions.yaml"
    result = CliRunner().invoke(catalogue_app, ["gazetteer", "--division", "330203", "--codes", str(tmp_path),
                                                "--catalogue", str(DEFAULT_CATALOGUE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert '"郎官社区"' in text and "outside: [\"横街镇\",\"凤岙村\"]" in text


def test_shipped_gazetteer_holds_every_community_of_the_units() -> None:
    cat = load_catalogue()
    assert cat.divisions is not None and cat.divisions.code == "330203"
    places = sum(len(p) for p in cat.divisions.units.values())
    assert places == 130 and len(cat.divisions.outside) == 157  # 303 committees + 7 towns outside the units
    assert "文昌社区" in cat.divisions.units["gulou"] and "信谊社区" in cat.divisions.units["wangchun"]
