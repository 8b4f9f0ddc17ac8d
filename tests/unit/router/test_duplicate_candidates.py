"""Which open cases a new report is linked to (router.domain.linking, the batch's pure planner): of its subject and
place, within the window, the newest, the batch's earlier reports included; and the search boxes that bring those
cases from the database."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from catalogue.model import DuplicateSettings
from router.domain.duplicates import EARTH_RADIUS_M, NO_BOX, OpenCase, search_boxes, subject_of
from router.domain.linking import link_duplicates
from router.domain.text import normalise_address
from schemas.decision import Decision
from schemas.report import Report

NOW = datetime(2026, 2, 8, 12, 0, tzinfo=UTC)
RULES = DuplicateSettings(window_days=7, distance_m=50)
PLACE = "汇丰社区7幢"


def report() -> Report:
    return Report(external_id="T-9", source="hotline", reported_at=NOW, description="电梯困人。",
                  location={"unit": "duantang", "address": PLACE, "lat": 29.85, "lon": 121.55})


def _duplicate_of(decision: Decision, newest_first: list[OpenCase]) -> str | None:
    """The case the report is linked to, given the open cases of its subject newest first."""
    (linked,) = link_duplicates([("T-9", report(), decision)], {subject_of(decision) or "": newest_first}, RULES)
    return linked.decision.duplicate_of


def open_cases(decision: Decision, count: int, matching: set[int], *, step: timedelta) -> list[OpenCase]:
    """`count` open cases of the subject, newest first, `step` apart; those in `matching` at the report's place."""
    return [OpenCase(f"C-{i}", "duantang", normalise_address(PLACE if i in matching else f"别处{i}号"),
                     None, None, subject_of(decision), NOW - step * (i + 1)) for i in range(count)]


def test_the_newest_match_however_busy_the_subject(route: Callable[..., Decision]) -> None:
    decision = route("电梯困人。", address=PLACE, unit="duantang")
    minute = timedelta(minutes=1)
    assert _duplicate_of(decision, open_cases(decision, 250, {50, 120}, step=minute)) == "C-50"
    # Behind 240 newer open cases of the subject elsewhere, the original at this place is still found.
    assert _duplicate_of(decision, open_cases(decision, 250, {240}, step=minute)) == "C-240"


def test_only_cases_of_the_window_count(route: Callable[..., Decision]) -> None:
    decision = route("电梯困人。", address=PLACE, unit="duantang")
    day = timedelta(days=1)
    assert _duplicate_of(decision, open_cases(decision, 10, {6}, step=day)) == "C-6"  # 7 days
    assert _duplicate_of(decision, open_cases(decision, 10, {7}, step=day)) is None  # 8 days


def test_a_case_opened_after_the_report_is_not_its_original(route: Callable[..., Decision]) -> None:
    decision = route("电梯困人。", address=PLACE, unit="duantang")
    later = OpenCase("C-later", "duantang", normalise_address(PLACE), None, None, subject_of(decision),
                     NOW + timedelta(minutes=5))
    assert _duplicate_of(decision, [later]) is None


def test_a_report_repeats_an_earlier_report_of_its_own_batch(route: Callable[..., Decision]) -> None:
    decision = route("电梯困人。", address=PLACE, unit="duantang")
    first, again = report(), report().model_copy(update={"reported_at": NOW + timedelta(minutes=3)})
    linked = link_duplicates([("C-1", first, decision), ("C-2", again, decision)], {}, RULES)
    assert [(x.decision.status, x.decision.duplicate_of, x.open) for x in linked] == [
        ("routed", None, True), ("duplicate", "C-1", False)]
    assert linked[1].case.address == normalise_address(PLACE) and linked[1].case.opened_at == again.reported_at


def destination(lat: float, lon: float, bearing_deg: float, metres: float) -> tuple[float, float]:
    """The place `metres` away from (lat, lon) along a great circle starting at `bearing_deg`."""
    p1, l1, bearing, angle = (math.radians(lat), math.radians(lon), math.radians(bearing_deg),
                              metres / EARTH_RADIUS_M)
    p2 = math.asin(math.sin(p1) * math.cos(angle) + math.cos(p1) * math.sin(angle) * math.cos(bearing))
    l2 = l1 + math.atan2(math.sin(bearing) * math.sin(angle) * math.cos(p1),
                         math.cos(angle) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.floats(-89.9, 89.9), st.floats(-180, 180)), min_size=1, max_size=40),
       st.data(), st.sampled_from([10.0, 50.0, 500.0]))
def test_search_boxes_hold_every_place_within_the_distance(points: list[tuple[float, float]], data: st.DataObject,
                                                            within_m: float) -> None:
    boxes = search_boxes(points, within_m)
    assert len(boxes) == 8
    lat, lon = data.draw(st.sampled_from(points))
    other = destination(lat, lon, data.draw(st.floats(0, 360)), data.draw(st.floats(0, 1)) * within_m)
    assert any(b.south <= other[0] <= b.north and b.west <= other[1] <= b.east for b in boxes)


def test_search_boxes_without_coordinates_hold_nothing() -> None:
    assert search_boxes([], 50.0) == [NO_BOX] * 8
    assert not (NO_BOX.south <= 0.5 <= NO_BOX.north)
