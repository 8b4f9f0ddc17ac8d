"""Pure parts of the console: the SVG chart, daily figures, and the ruling principles of the state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from tracker.console.chart import Series, line_chart
from tracker.domain import figures
from tracker.domain.commands import Adjudicate, Dispatch, Principle, Route
from tracker.domain.state import apply, new_case

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_chart_draws_each_series_breaks_on_missing_days_and_escapes_labels() -> None:
    days = [T0 + timedelta(days=i) for i in range(4)]
    svg = line_chart([Series("分拨<成功率>", "#111", list(zip(days, [0.5, None, 0.9, 1.0], strict=True)))],
                     target=0.988, target_label="目标")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<circle") == 3 and svg.count("<polyline") == 1  # the None day splits the line
    assert "分拨&lt;成功率&gt;" in svg and "目标" in svg


def test_daily_ratios_count_each_day_on_its_own() -> None:
    records = [figures.DispatchRecord("A", 1, "amr", T0 + timedelta(hours=1), acked_at=T0 + timedelta(hours=2)),
               figures.DispatchRecord("B", 1, "amr", T0 + timedelta(days=1, hours=1),
                                      returned_at=T0 + timedelta(days=1, hours=2)),
               figures.DispatchRecord("C", 1, "amr", T0 + timedelta(days=2, hours=1),
                                      ack_due_at=T0 + timedelta(days=2, hours=3))]
    now = T0 + timedelta(days=2, hours=2)  # C still inside its ack window: pending, the day reads "—"
    series = figures.daily(records, T0, 3, partial(figures.dispatch_success, now=now))
    assert [(d, r.numerator, r.denominator, r.pending, r.value) for d, r in series] == [
        (T0, 1, 1, 0, 1.0), (T0 + timedelta(days=1), 0, 1, 0, 0.0), (T0 + timedelta(days=2), 0, 0, 1, None)]


@pytest.mark.parametrize("principle", list(Principle))
def test_a_gap_is_ruled_by_any_principle_and_goes_to_the_lead(principle: Principle) -> None:
    state, _ = apply(new_case("C1", received_at=T0), Route(None, gap=True), now=T0)
    basis = "《条例》第五条" if principle is Principle.legal else ""
    state, moves = apply(state, Adjudicate("amr", principle, basis=basis, adjudicator="adjudicator:wang"), now=T0)
    state, more = apply(state, Dispatch("amr"), now=T0)
    assert [m.kind for m in moves + more] == ["adjudicated", "dispatched"]
    assert state.department == "amr" and state.ruling is not None and state.ruling.principle is principle
    if principle is Principle.legal:
        with pytest.raises(ValueError, match="basis"):
            Adjudicate("amr", principle)
