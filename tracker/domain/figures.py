"""Figures for the console and reports, computed from plain records over half-open windows [start, end)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from schemas.events import ReturnReason
from tracker.domain.case import CaseState
from tracker.domain.commands import EscalationKind
from tracker.domain.sla import ack_due

T = TypeVar("T", float, timedelta)


@dataclass(frozen=True)
class DispatchRecord:
    """One dispatch attempt of a case to a department, with what became of it."""

    case_id: str
    attempt: int
    department: str
    dispatched_at: datetime
    acked_at: datetime | None = None
    ack_implied: bool = False
    returned_at: datetime | None = None
    return_reason: ReturnReason | None = None
    feedback_at: datetime | None = None
    # When the ack window of this dispatch closes. Known for the case's current dispatch, the only one that can
    # still be waiting (a case moves on to another department only after a return); None for the earlier ones.
    ack_due_at: datetime | None = None


@dataclass(frozen=True)
class EscalationRecord:
    """One escalation raised to safety-office for a breach."""

    case_id: str
    attempt: int
    department: str
    kind: EscalationKind
    at: datetime


@dataclass(frozen=True)
class Ratio:
    """A ratio with its parts, so a console can show "812 / 822" and not only 98.8%."""

    numerator: int
    denominator: int
    pending: int = 0  # not counted in the denominator: no outcome yet either way, shown apart

    @property
    def value(self) -> float | None:
        """The ratio, or None when nothing was counted."""
        return self.numerator / self.denominator if self.denominator else None


def _within(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def records_of(state: CaseState) -> list[DispatchRecord]:
    """The dispatch records of one case, as the store would keep them."""
    reasons = {r.attempt: r.reason for r in state.returns}
    last = state.attempt
    return [
        DispatchRecord(
            case_id=state.case_id,
            attempt=a.number,
            department=a.department,
            dispatched_at=a.dispatched_at,
            acked_at=a.acked_at,
            ack_implied=a.ack_implied,
            returned_at=a.returned_at,
            return_reason=reasons.get(a.number),
            feedback_at=state.feedback_at if a.number == last else None,
            # The store keeps the current window only (tracker_cases.ack_due_at); the state's ack_hours are the
            # current dispatch's too, a reroute or ruling may have changed them since an earlier one.
            ack_due_at=ack_due(a.dispatched_at, state.ack_hours) if a.number == last else None,
        )
        for a in state.attempts
    ]


def has_outcome(first: DispatchRecord, now: datetime) -> bool:
    """ROUTING §6: the dispatch was acknowledged, returned, or left unacknowledged past its ack window by `now`."""
    # "Past" as the SLA clock reads a breach: strictly after the instant the window closes.
    return (first.acked_at is not None or first.returned_at is not None
            or (first.ack_due_at is not None and now > first.ack_due_at))


def accepted(first: DispatchRecord) -> bool:
    """ROUTING §6: acknowledged (in time or late, implied by feedback or not) and never returned."""
    return first.acked_at is not None and first.returned_at is None


def dispatch_success(records: Iterable[DispatchRecord], start: datetime, end: datetime, *,
                     now: datetime) -> Ratio:
    """ROUTING §6: cases first dispatched in [start, end) whose first dispatch was accepted ÷ those whose first
    dispatch has an outcome at `now`; the rest (still inside their ack window) are `pending`, outside the ratio.
    """
    # A first dispatch still inside its ack window has not failed: counting it against the ratio would make a
    # fresh day read 0 % and fire the dispatch-success alert every quiet morning. Once the window has passed without an
    # ack or a return it is a failure, so a department that never answers cannot keep its cases out.
    firsts = [r for r in records if r.attempt == 1 and _within(r.dispatched_at, start, end)]
    decided = [r for r in firsts if has_outcome(r, now)]
    return Ratio(sum(1 for r in decided if accepted(r)), len(decided), len(firsts) - len(decided))


def first_dispatch_accuracy(records: Iterable[DispatchRecord], start: datetime, end: datetime) -> Ratio:
    """Of cases first dispatched in the window and since handled, those handled by the first department."""
    # Unlike dispatch success this looks only at settled cases and asks whether the router's first
    # choice turned out right, also when a ruling sent the case back to that department.
    by_case: dict[str, list[DispatchRecord]] = defaultdict(list)
    for r in records:
        by_case[r.case_id].append(r)
    right = settled = 0
    for attempts in by_case.values():
        first = next((r for r in attempts if r.attempt == 1), None)
        handler = next((r for r in attempts if r.feedback_at is not None), None)
        if first is None or handler is None or not _within(first.dispatched_at, start, end):
            continue
        settled += 1
        right += handler.department == first.department
    return Ratio(right, settled)


def percentile(values: Sequence[T], q: float) -> T:
    """The nearest-rank q-th percentile (0 < q <= 100) of non-empty values."""
    # Nearest rank always answers with a latency that was actually observed and reads as
    # "q% of acks came within X"; interpolation invents values and drifts on small samples.
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < q <= 100:
        raise ValueError("q must be in (0, 100]")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def ack_latencies(
    records: Iterable[DispatchRecord], start: datetime, end: datetime, *, include_implied: bool = False
) -> list[timedelta]:
    """Dispatch-to-ack times of dispatches in the window; implied acks left out unless asked for."""
    return [
        r.acked_at - r.dispatched_at
        for r in records
        if r.acked_at is not None and _within(r.dispatched_at, start, end)
        and (include_implied or not r.ack_implied)
    ]


def latency_percentiles(
    latencies: Sequence[timedelta], qs: Sequence[float] = (50, 90, 95)
) -> dict[float, timedelta]:
    """Nearest-rank percentiles of latencies; empty when there are none."""
    return {q: percentile(latencies, q) for q in qs} if latencies else {}


def overdue_by_department(
    escalations: Iterable[EscalationRecord], start: datetime, end: datetime
) -> dict[str, dict[EscalationKind, int]]:
    """Escalations raised in the window, per department and kind (each breach once)."""
    seen: set[tuple[str, EscalationKind, int]] = set()
    counts: dict[str, dict[EscalationKind, int]] = defaultdict(lambda: dict.fromkeys(EscalationKind, 0))
    for e in escalations:
        if _within(e.at, start, end) and (e.case_id, e.kind, e.attempt) not in seen:
            seen.add((e.case_id, e.kind, e.attempt))
            counts[e.department][e.kind] += 1
    return dict(counts)


def returns_by_reason(
    records: Iterable[DispatchRecord], start: datetime, end: datetime
) -> dict[ReturnReason, int]:
    """Returns made in the window, by coded reason (every reason present, zero if none)."""
    counted = Counter(
        r.return_reason for r in records if r.return_reason is not None and _within(r.returned_at, start, end)
    )
    return {reason: counted[reason] for reason in ReturnReason}


def daily(records: Sequence[DispatchRecord], start: datetime, days: int,
          ratio: Callable[[Iterable[DispatchRecord], datetime, datetime], Ratio]) -> list[tuple[datetime, Ratio]]:
    """A ratio (dispatch success at a given `now`, first-dispatch accuracy) per day from `start`, for the chart."""
    return [(start + timedelta(days=i), ratio(records, start + timedelta(days=i), start + timedelta(days=i + 1)))
            for i in range(days)]


def feedback_latencies(records: Iterable[DispatchRecord], first_dispatched: Mapping[str, datetime]) -> list[timedelta]:
    """First dispatch to feedback (the deadline runs from the first dispatch) of the records holding a feedback,
    for the cases whose first dispatch is given (those of the window)."""
    return [r.feedback_at - first_dispatched[r.case_id] for r in records
            if r.feedback_at is not None and r.case_id in first_dispatched]
