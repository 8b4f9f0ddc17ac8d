"""The month as the 海曙 rules count it, department scorecards (考核) and how returns were settled: pure functions
over the same dispatch and escalation records as `figures`, so the statement, /v1/scorecards and the gauges
cannot disagree with /v1/stats.

What the scorecard counts (dispatches to the department in the month; a "decided" dispatch is one whose
outcome is known, the others are pending and shown apart, never as failures):
- ack on time: answered (报到 or 退单) with no `ack_overdue` escalation (督办) for that dispatch; late: escalated;
  pending: neither yet. The SLA clock's escalations are the record of a breach, so the scorecard and 督办 agree.
- feedback on time: feedback given with no `feedback_overdue` escalation for that dispatch; late: escalated
  (with or without feedback since); pending: neither yet; a dispatch returned without breach owes no feedback.
- returns: made in the month, settled by a ruling that gave the case to another department (upheld: the
  department was right to return it) or back to it (overturned), rerouted to the router's next candidate
  without a ruling, or awaiting a ruling.
- reopened: the state machine has no reopening of a closed case; what comes closest, and what the rules count
  against a department, is a case dispatched to it again after it had let go (a ruling sent back a case it
  returned).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from schemas.events import ReturnReason
from tracker.domain.commands import EscalationKind
from tracker.domain.figures import DispatchRecord, EscalationRecord, ack_latencies, feedback_latencies, percentile
from tracker.domain.sla import day_start

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    """A calendar month in Asia/Shanghai: the half-open window [start, end) the statement covers."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-11` → Month(2026, 11); ValueError for anything else."""
        match = MONTH.match(text)
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            raise ValueError(f"not a month: {text!r} (use YYYY-MM, e.g. 2026-11)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, at: datetime) -> Month:
        """The month an instant falls in, in Asia/Shanghai."""
        local = at.astimezone(day_start(date(2000, 1, 1)).tzinfo)
        return cls(local.year, local.month)

    @property
    def start(self) -> datetime:
        return day_start(date(self.year, self.month, 1))

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class RulingOutcome:
    """A ruling on a case: which department it gave the case to, and when."""

    case_id: str
    lead: str
    at: datetime


class Settlement(StrEnum):
    upheld = "upheld"  # a ruling gave the case to another department: the return was right
    overturned = "overturned"  # a ruling sent the case back to the department that returned it
    rerouted = "rerouted"  # the router's next candidate took it, no ruling needed
    awaiting = "awaiting"  # in the adjudication queue, not ruled yet


@dataclass(frozen=True)
class SettledReturn:
    case_id: str
    attempt: int
    department: str
    reason: ReturnReason
    at: datetime
    settlement: Settlement


def _within(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def settle_returns(records: Iterable[DispatchRecord], rulings: Iterable[RulingOutcome], start: datetime,
                   end: datetime) -> list[SettledReturn]:
    """Each return made in [start, end) with what became of it (the first ruling on the case after it)."""
    by_case: dict[str, list[DispatchRecord]] = defaultdict(list)
    for r in records:
        by_case[r.case_id].append(r)
    ruled: dict[str, list[RulingOutcome]] = defaultdict(list)
    for outcome in sorted(rulings, key=lambda x: x.at):
        ruled[outcome.case_id].append(outcome)
    out: list[SettledReturn] = []
    for case_id, attempts in by_case.items():
        for r in sorted(attempts, key=lambda x: x.attempt):
            if r.return_reason is None or r.returned_at is None or not _within(r.returned_at, start, end):
                continue
            returned_at = r.returned_at
            ruling = next((x for x in ruled.get(case_id, []) if x.at >= returned_at), None)
            if ruling is not None:
                settlement = Settlement.overturned if ruling.lead == r.department else Settlement.upheld
            elif any(a.attempt > r.attempt for a in attempts):
                settlement = Settlement.rerouted
            else:
                settlement = Settlement.awaiting
            out.append(SettledReturn(case_id, r.attempt, r.department, r.return_reason, returned_at, settlement))
    return sorted(out, key=lambda s: (s.at, s.case_id, s.attempt))


def returns_by_settlement(settled: Iterable[SettledReturn]) -> dict[ReturnReason, dict[Settlement, int]]:
    """Returns by coded reason and settlement (every reason and settlement present, zero if none)."""
    counts = Counter((s.reason, s.settlement) for s in settled)
    return {reason: {kind: counts[(reason, kind)] for kind in Settlement} for reason in ReturnReason}


@dataclass(frozen=True)
class OnTime:
    """Decided dispatches that met their deadline ÷ decided dispatches; `pending` are not decided yet and are
    not in the denominator."""

    on_time: int
    decided: int
    pending: int

    @property
    def value(self) -> float | None:
        return self.on_time / self.decided if self.decided else None


@dataclass(frozen=True)
class Scorecard:
    """One department's month."""

    department: str
    dispatched: int
    ack: OnTime
    feedback: OnTime
    returns: int
    returns_by: Mapping[Settlement, int]
    reopened: int
    median_ack: timedelta | None
    median_feedback: timedelta | None


def _key(r: DispatchRecord) -> tuple[str, int]:
    return r.case_id, r.attempt


def scorecards(records: Sequence[DispatchRecord], escalations: Iterable[EscalationRecord],
               settled: Iterable[SettledReturn], start: datetime, end: datetime) -> list[Scorecard]:
    """A scorecard for every department dispatched to in [start, end) or returning in it, ranked best first."""
    breached = {(e.case_id, e.attempt, e.kind) for e in escalations}
    firsts = {r.case_id: r.dispatched_at for r in records if r.attempt == 1}
    returns: dict[str, Counter[Settlement]] = defaultdict(Counter)
    for s in settled:
        returns[s.department][s.settlement] += 1
    mine: dict[str, list[DispatchRecord]] = defaultdict(list)
    for r in records:
        if _within(r.dispatched_at, start, end):
            mine[r.department].append(r)
    earlier: dict[tuple[str, str], int] = {}  # (case, department) → its first attempt there
    for r in sorted(records, key=lambda x: x.attempt):
        earlier.setdefault((r.case_id, r.department), r.attempt)
    cards = []
    for department in sorted(set(mine) | set(returns)):
        dispatches = mine.get(department, [])
        ack_late = {_key(r) for r in dispatches if (*_key(r), EscalationKind.ack_overdue) in breached}
        answered = {_key(r) for r in dispatches if r.acked_at is not None or r.returned_at is not None}
        ack = OnTime(len(answered - ack_late), len(answered | ack_late), len(dispatches) - len(answered | ack_late))
        fb_late = {_key(r) for r in dispatches if (*_key(r), EscalationKind.feedback_overdue) in breached}
        given = {_key(r) for r in dispatches if r.feedback_at is not None} - fb_late
        released = {_key(r) for r in dispatches if r.returned_at is not None} - fb_late  # owes no feedback
        feedback = OnTime(len(given), len(given | fb_late), len(dispatches) - len(released) - len(given | fb_late))
        acks = ack_latencies(dispatches, start, end)
        feedbacks = feedback_latencies(dispatches, firsts)
        cards.append(Scorecard(
            department=department, dispatched=len(dispatches), ack=ack, feedback=feedback,
            returns=sum(returns[department].values()),
            returns_by={kind: returns[department][kind] for kind in Settlement},
            reopened=len([r for r in dispatches if earlier[(r.case_id, r.department)] < r.attempt]),
            median_ack=percentile(acks, 50) if acks else None,
            median_feedback=percentile(feedbacks, 50) if feedbacks else None))
    return rank(cards)


def rank(cards: Iterable[Scorecard]) -> list[Scorecard]:
    """Best first: ack on time, then feedback on time, then fewer overturned returns; a department with nothing
    decided yet goes after those with a record, whatever its name."""
    def key(card: Scorecard) -> tuple[float, float, int, str]:
        ack = card.ack.value if card.ack.value is not None else -1.0
        feedback = card.feedback.value if card.feedback.value is not None else -1.0
        return (-ack, -feedback, card.returns_by[Settlement.overturned], card.department)

    return sorted(cards, key=key)


def breakdown(values: Iterable[str | None], empty: str = "none") -> dict[str, int]:
    """Counts of each value, largest first (None counted under `empty`)."""
    counts = Counter(v or empty for v in values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
