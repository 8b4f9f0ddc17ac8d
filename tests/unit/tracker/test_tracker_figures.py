"""Figures on small hand-made record sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import FeedbackOutcome, ReturnReason
from tracker.domain.commands import (
    Acknowledge,
    Command,
    Dispatch,
    EscalationKind,
    GiveFeedback,
    Reroute,
    Return,
    Route,
)
from tracker.domain.figures import (
    DispatchRecord,
    EscalationRecord,
    Ratio,
    ack_latencies,
    dispatch_success,
    first_dispatch_accuracy,
    latency_percentiles,
    overdue_by_department,
    percentile,
    records_of,
    returns_by_reason,
)
from tracker.domain.state import apply, new_case

T0 = datetime(2024, 3, 1, tzinfo=UTC)
START, END = T0, T0 + timedelta(days=7)
NOT_OURS, DUP = ReturnReason.not_our_remit, ReturnReason.duplicate


def h(hours: float) -> datetime:
    """T0 plus some hours."""
    return T0 + timedelta(hours=hours)


RECORDS = [
    # accepted, handled by the first department
    DispatchRecord("c1", 1, "amr", h(1), acked_at=h(2), feedback_at=h(30)),
    # accepted via feedback that implied the ack
    DispatchRecord("c2", 1, "amr", h(1), acked_at=h(9), ack_implied=True, feedback_at=h(9)),
    # acked, then returned: not accepted; the second department handled it
    DispatchRecord("c3", 1, "culture", h(3), acked_at=h(4), returned_at=h(5), return_reason=NOT_OURS),
    DispatchRecord("c3", 2, "urban-mgmt", h(6), acked_at=h(7), feedback_at=h(40)),
    # returned without an ack
    DispatchRecord("c4", 1, "ecology", h(3), returned_at=h(4), return_reason=ReturnReason.wrong_unit),
    # dispatched, nothing yet: pending until its ack window closes at h(124), a failure after
    DispatchRecord("c5", 1, "health", h(100), ack_due_at=h(124)),
    # first dispatched before the window: not counted; its return falls inside the window
    DispatchRecord("c6", 1, "amr", T0 - timedelta(hours=1), returned_at=h(1), return_reason=DUP),
]


def test_dispatch_success_counts_first_dispatches_with_an_outcome() -> None:
    # c1, c2 accepted; c3, c4 returned; c5 still inside its ack window: apart, not a failure.
    ratio = dispatch_success(RECORDS, START, END, now=h(120))
    assert ratio == Ratio(numerator=2, denominator=4, pending=1) and ratio.value == pytest.approx(0.5)


def test_a_passed_ack_window_without_an_ack_is_a_failure() -> None:
    assert dispatch_success(RECORDS, START, END, now=h(124)) == Ratio(2, 4, 1)  # closes at h(124): not yet past
    assert dispatch_success(RECORDS, START, END, now=h(124.01)) == Ratio(2, 5, 0)


def test_fresh_cases_inside_their_window_give_no_ratio_and_are_all_pending() -> None:
    # The console read "0.0% (0/30, 待定 30)" for 30 fresh cases: they have no outcome yet.
    fresh = [DispatchRecord(f"f{i}", 1, "amr", h(1), ack_due_at=h(25)) for i in range(30)]
    ratio = dispatch_success(fresh, START, END, now=h(2))
    assert ratio == Ratio(0, 0, 30) and ratio.value is None


def test_a_late_ack_is_accepted_and_a_window_unknown_stays_pending() -> None:
    records = [DispatchRecord("l1", 1, "amr", h(1), acked_at=h(40), ack_due_at=h(25)),
               DispatchRecord("u1", 1, "amr", h(1))]
    assert dispatch_success(records, START, END, now=h(100)) == Ratio(1, 1, 1)


def test_empty_window_has_no_ratio() -> None:
    assert dispatch_success(RECORDS, END, END + timedelta(days=1), now=END).value is None


def test_first_dispatch_accuracy_looks_at_settled_cases_only() -> None:
    assert first_dispatch_accuracy(RECORDS, START, END) == Ratio(2, 3)


def test_a_ruling_back_to_the_first_department_counts_as_accurate() -> None:
    records = [
        DispatchRecord("c7", 1, "amr", h(1), returned_at=h(2), return_reason=ReturnReason.overlapping_remits),
        DispatchRecord("c7", 2, "amr", h(50), acked_at=h(51), feedback_at=h(60)),
    ]
    assert first_dispatch_accuracy(records, START, END) == Ratio(1, 1)
    assert dispatch_success(records, START, END, now=END) == Ratio(0, 1)


@pytest.mark.parametrize(("q", "expected"), [(1, 1), (10, 1), (11, 2), (50, 5), (90, 9), (95, 10), (100, 10)])
def test_nearest_rank_percentile(q: float, expected: float) -> None:
    assert percentile([10.0, 2, 3, 4, 5, 6, 7, 8, 9, 1], q) == expected


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="q must"):
        percentile([1.0], 0)


def test_ack_latencies_leave_implied_acks_out_unless_asked() -> None:
    assert sorted(ack_latencies(RECORDS, START, END)) == [timedelta(hours=1)] * 3
    assert len(ack_latencies(RECORDS, START, END, include_implied=True)) == 4
    assert latency_percentiles(ack_latencies(RECORDS, START, END, include_implied=True), (50, 100)) == {
        50: timedelta(hours=1), 100: timedelta(hours=8)}
    assert latency_percentiles([]) == {}


def test_overdue_by_department_counts_each_breach_once() -> None:
    ack, fb = EscalationKind.ack_overdue, EscalationKind.feedback_overdue
    escalations = [
        EscalationRecord("c1", 1, "amr", ack, h(30)),
        EscalationRecord("c1", 1, "amr", ack, h(31)),  # the same breach recorded twice
        EscalationRecord("c1", 1, "amr", fb, h(500)),
        EscalationRecord("c3", 2, "urban-mgmt", ack, h(40)),
        EscalationRecord("c9", 1, "amr", ack, END),  # the window is half-open
    ]
    assert overdue_by_department(escalations, START, END) == {
        "amr": {ack: 1, fb: 0}, "urban-mgmt": {ack: 1, fb: 0}}


def test_returns_by_reason_by_return_time() -> None:
    counts = returns_by_reason(RECORDS, START, END)
    assert counts[ReturnReason.not_our_remit] == counts[ReturnReason.wrong_unit] == 1
    assert counts[ReturnReason.duplicate] == 1 and counts[ReturnReason.insufficient_information] == 0


def test_records_of_a_case_match_its_history() -> None:
    s = new_case("c1", received_at=T0)
    steps: list[tuple[datetime, Command]] = [
        (h(0), Route("amr")), (h(1), Dispatch("amr")), (h(2), Acknowledge("amr")),
        (h(3), Return("amr", ReturnReason.not_our_remit, "非本局职能")), (h(4), Reroute("culture")),
        (h(5), GiveFeedback("culture", FeedbackOutcome.rectification_ordered)),
    ]
    for at, command in steps:
        s, _ = apply(s, command, now=at)
    assert records_of(s) == [
        DispatchRecord("c1", 1, "amr", h(1), acked_at=h(2), returned_at=h(3), return_reason=NOT_OURS),
        DispatchRecord("c1", 2, "culture", h(4), acked_at=h(5), ack_implied=True, feedback_at=h(5),
                       ack_due_at=h(28)),  # the current dispatch carries its ack window (24 h by default)
    ]
    assert first_dispatch_accuracy(records_of(s), START, END) == Ratio(0, 1)
