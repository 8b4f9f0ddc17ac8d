"""The heat map's pure parts: which community a report names, the counts against the previous window, the cells,
and the density picture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalogue.loader import load_catalogue
from tracker.console.heatmap import Label, colour, density_svg, tile_origin
from tracker.domain.heat import Cell, Community, HeatBy, HeatRecord, Trend, community_of, community_places, heat

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DIVISIONS = {"nanmen": ["柳锦社区", "尹江岸社区", "车站社区"], "gaoqiao": ["长乐社区", "长乐村", "新庄村"]}
GAZETTEER = {"nanmen": ["解放南路", "柳锦"], "gaoqiao": ["长乐", "新庄"]}
PLACES = community_places(DIVISIONS, GAZETTEER)


def rec(case_id: str, days: float, **kw: object) -> HeatRecord:
    return HeatRecord(case_id, T0 + timedelta(days=days), **kw)  # type: ignore[arg-type]


def test_a_community_is_named_by_its_full_name_or_a_hand_kept_short_name_of_one_community() -> None:
    assert PLACES.find("南门街道柳锦社区解放南路3号") == Community("柳锦社区", "nanmen")
    assert PLACES.find("柳锦新村3幢") == Community("柳锦社区", "nanmen")  # the hand-kept short name
    assert PLACES.find("新庄路口") == Community("新庄村", "gaoqiao")
    # 长乐 is the stem of 长乐社区 and 长乐村: it names neither; a road names no community.
    assert PLACES.find("长乐路12号") is None and PLACES.find("解放南路8号") is None
    assert PLACES.find("高桥镇长乐村委会旁") == Community("长乐村", "gaoqiao")  # the longest word wins


def test_the_routers_evidence_comes_first_and_a_community_of_another_unit_is_not_taken() -> None:
    r = HeatRecord("c", T0, unit="nanmen", address="尹江岸社区对面", place_words=("柳锦社区",))
    assert community_of(r, PLACES) == Community("柳锦社区", "nanmen")
    assert community_of(HeatRecord("c", T0, unit="nanmen", grid="车站社区第2网格", address="柳锦"), PLACES) == \
        Community("车站社区", "nanmen")  # the grid before the address
    assert community_of(HeatRecord("c", T0, unit="nanmen", address="新庄村"), PLACES) is None


def test_the_shipped_catalogue_names_its_communities() -> None:
    cat = load_catalogue()
    assert cat.divisions is not None
    places = community_places(cat.divisions.units, cat.gazetteer)
    assert places.find("海曙区柳锦") == Community("柳锦社区", "nanmen")
    assert places.find("白云庄社区12幢") == Community("白云庄社区", "baiyun")


def test_counts_per_community_against_the_previous_window_with_trend() -> None:
    start, end = T0 + timedelta(days=30), T0 + timedelta(days=60)
    records = [
        *(rec(f"a{i}", 40, unit="nanmen", address="柳锦社区", lat=29.87, lon=121.55) for i in range(3)),
        rec("a-old", 10, unit="nanmen", address="柳锦社区"),
        *(rec(f"b{i}", 5 + i, unit="nanmen", address="尹江岸社区") for i in range(2)),
        rec("b-now", 31, unit="nanmen", address="尹江岸社区"),
        rec("c", 45, unit="gaoqiao", address="新庄村", lat=29.851, lon=121.501),
        rec("road", 50, unit="nanmen", address="解放南路1号", lat=29.8712, lon=121.5512),
        rec("too-old", -1, unit="nanmen", address="柳锦社区"),
        rec("future", 60, unit="nanmen", address="柳锦社区"),  # [start, end): end is out
    ]
    m = heat(records, start, end, T0, HeatBy.community, PLACES, 0.01)
    assert (m.total, m.previous_total, m.unplaced, m.unplaced_previous, m.located) == (6, 3, 1, 0, 5)
    # Ranked by count, equal counts by the bigger rise: 新庄村 (new) before 尹江岸社区 (falling).
    assert [(g.key, g.unit, g.count, g.previous, g.trend) for g in m.groups] == [
        ("柳锦社区", "nanmen", 3, 1, Trend.up), ("新庄村", "gaoqiao", 1, 0, Trend.new),
        ("尹江岸社区", "nanmen", 1, 2, Trend.down)]
    assert m.groups[0].change == 2 and m.groups[0].change_ratio == pytest.approx(2.0)
    assert m.groups[1].change_ratio is None and m.groups[2].change_ratio == pytest.approx(-0.5)
    assert m.groups[0].centre == pytest.approx((29.87, 121.55)) and m.groups[2].centre is None
    # Four reports in one 0.01° cell (29.87, 121.55), one in another; densest first.
    assert [(c.lat, c.lon, c.count) for c in m.cells] == [(29.87, 121.55, 4), (29.85, 121.5, 1)]
    assert m.bounds == pytest.approx((29.851, 121.501, 29.8712, 121.5512))


def test_counts_by_unit_and_by_grid() -> None:
    records = [rec("a", 1, unit="nanmen", grid="南门3"), rec("b", 1, unit="nanmen", grid=" "), rec("c", 1)]
    by_unit = heat(records, T0, T0 + timedelta(days=2), T0 - timedelta(days=2), HeatBy.unit, PLACES, 0.01)
    assert [(g.key, g.count) for g in by_unit.groups] == [("nanmen", 2)] and by_unit.unplaced == 1
    by_grid = heat(records, T0, T0 + timedelta(days=2), T0 - timedelta(days=2), HeatBy.grid, PLACES, 0.01)
    assert [(g.key, g.unit, g.count) for g in by_grid.groups] == [("南门3", "nanmen", 1)] and by_grid.unplaced == 2


def test_no_places_and_no_records() -> None:
    empty = community_places({}, {})
    assert empty.find("柳锦社区") is None
    m = heat([], T0, T0 + timedelta(days=1), T0 - timedelta(days=1), HeatBy.community, empty, 0.01)
    assert (m.total, m.groups, m.cells, m.bounds) == (0, [], [], None)
    with pytest.raises(ValueError, match="cell_size"):
        heat([], T0, T0, T0, HeatBy.unit, empty, 0)


def test_the_density_picture_draws_each_cell_labels_and_fetches_nothing_without_a_tile_url() -> None:
    cells = [Cell(29.87, 121.55, 9), Cell(29.86, 121.54, 1)]
    svg = density_svg(cells, 0.01, [Label("柳锦<社区>", 29.875, 121.555)])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('fill="#b10026"') == 1 and colour(1, 9) != colour(9, 9)  # the densest cell is darkest
    assert "柳锦&lt;社区&gt;" in svg and "<image" not in svg and "http" not in svg.replace(
        "http://www.w3.org/2000/svg", "")
    tiled = density_svg(cells, 0.01, tile_url="https://tiles.example.org/{z}/{x}/{y}.png")
    assert "<image" in tiled and "https://tiles.example.org/" in tiled
    assert tile_origin("https://tiles.example.org:8443/{z}/{x}/{y}.png") == "https://tiles.example.org:8443"
    assert tile_origin(None) is None and "没有带坐标" in density_svg([], 0.01)
