"""Duplicate detection: same matter, same place (address or distance), inside the window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from catalogue.model import DuplicateSettings
from router.domain.duplicates import OpenCase, distance_m, find_duplicate
from router.domain.text import normalise_address
from schemas.decision import Decision

NOW = datetime(2026, 2, 8, 12, 0)
SETTINGS = DuplicateSettings(window_days=7, distance_m=50)


def case(
    case_id: str,
    *,
    days_ago: float = 1,
    subject: str = "special-equipment",
    unit: str = "duantang",
    address: str = "汇丰社区7幢",
    lat: float | None = None,
    lon: float | None = None,
) -> OpenCase:
    return OpenCase(
        case_id, unit, normalise_address(address), lat, lon, subject, NOW - timedelta(days=days_ago)
    )


def test_same_matter_same_address_within_window(route: Callable[..., Decision]) -> None:
    d = route("电梯困人。", address="汇丰社区 7幢", unit="duantang")
    recent = [case("C-1", days_ago=3), case("C-2", days_ago=1), case("C-3", subject="sanitation")]
    found = find_duplicate(
        d, address="汇丰社区 7幢", lat=None, lon=None, reported_at=NOW, recent=recent, settings=SETTINGS
    )
    assert found == "C-2"  # the newest open case


def test_outside_window_or_other_place_is_not_a_duplicate(route: Callable[..., Decision]) -> None:
    d = route("电梯困人。", address="汇丰社区7幢", unit="duantang")
    recent = [case("C-old", days_ago=8), case("C-far", address="汇丰社区9幢"), case("C-unit", unit="baiyun")]
    assert (
        find_duplicate(
            d, address="汇丰社区7幢", lat=None, lon=None, reported_at=NOW, recent=recent, settings=SETTINGS
        )
        is None
    )


def test_within_distance_counts_as_same_place(route: Callable[..., Decision]) -> None:
    d = route("电梯困人。", address="汇丰社区东门", unit="duantang")
    near = case("C-near", address="别的写法", lat=29.8600, lon=121.5400)
    far = case("C-far", address="别的写法", lat=29.8700, lon=121.5400)
    assert distance_m(29.86, 121.54, 29.8603, 121.54) < 50
    found = find_duplicate(
        d,
        address="汇丰社区东门",
        lat=29.8603,
        lon=121.54,
        reported_at=NOW,
        recent=[far, near],
        settings=SETTINGS,
    )
    assert found == "C-near"


def test_gap_reports_are_never_linked(route: Callable[..., Decision]) -> None:
    d = route("想问一下陪诊师归谁管。", address="汇丰社区7幢", unit="duantang")
    assert d.matter is None and d.industry is None
    assert (
        find_duplicate(
            d,
            address="汇丰社区7幢",
            lat=None,
            lon=None,
            reported_at=NOW,
            recent=[case("C-1", subject="x")],
            settings=SETTINGS,
        )
        is None
    )
