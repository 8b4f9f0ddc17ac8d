"""Which open cases a new report is compared with: the subject's newest 200 within the window, newest wins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from router.domain.catalogue import DuplicateSettings
from router.domain.duplicates import OpenCase, subject_of
from router.domain.text import normalise_address
from router.handlers import _duplicate_of
from schemas.decision import Decision
from schemas.report import Report

NOW = datetime(2026, 2, 8, 12, 0, tzinfo=UTC)
ENGINE = SimpleNamespace(duplicate_settings=DuplicateSettings(window_days=7, distance_m=50))
PLACE = "汇丰社区7幢"


def report() -> Report:
    return Report(external_id="T-9", source="hotline", reported_at=NOW, description="电梯困人。",
                  location={"unit": "duantang", "address": PLACE, "lat": 29.85, "lon": 121.55})


def open_cases(decision: Decision, count: int, matching: set[int], *, step: timedelta) -> list[OpenCase]:
    """`count` open cases of the subject, newest first, `step` apart; those in `matching` at the report's place."""
    return [OpenCase(f"C-{i}", "duantang", normalise_address(PLACE if i in matching else f"别处{i}号"),
                     None, None, subject_of(decision), NOW - step * (i + 1)) for i in range(count)]


def test_the_newest_match_among_the_newest_200(route: Callable[..., Decision]) -> None:
    decision = route("电梯困人。", address=PLACE, unit="duantang")
    minute = timedelta(minutes=1)
    assert _duplicate_of(ENGINE, decision, report(), open_cases(decision, 250, {50, 120}, step=minute)) == "C-50"
    assert _duplicate_of(ENGINE, decision, report(), open_cases(decision, 250, {199}, step=minute)) == "C-199"
    # The 201st newest is not looked at: the comparison stays bounded whatever a subject's backlog.
    assert _duplicate_of(ENGINE, decision, report(), open_cases(decision, 250, {200}, step=minute)) is None


def test_only_cases_of_the_window_count(route: Callable[..., Decision]) -> None:
    decision = route("电梯困人。", address=PLACE, unit="duantang")
    day = timedelta(days=1)
    assert _duplicate_of(ENGINE, decision, report(), open_cases(decision, 10, {6}, step=day)) == "C-6"  # 7 days
    assert _duplicate_of(ENGINE, decision, report(), open_cases(decision, 10, {7}, step=day)) is None  # 8 days


def test_a_case_opened_after_the_report_is_not_its_original(route: Callable[..., Decision]) -> None:
    decision = route("电梯困人。", address=PLACE, unit="duantang")
    later = OpenCase("C-later", "duantang", normalise_address(PLACE), None, None, subject_of(decision),
                     NOW + timedelta(minutes=5))
    assert _duplicate_of(ENGINE, decision, report(), [later]) is None
