"""Reads the figures need: dispatch attempts and escalations of a window, as domain records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from schemas.events import ReturnReason
from tracker.domain.commands import EscalationKind
from tracker.domain.figures import DispatchRecord, EscalationRecord, Ratio
from tracker.store.models import Case, DispatchAttempt, Escalation, TimelineEntry


async def dispatch_records(session: AsyncSession, start: datetime) -> list[DispatchRecord]:
    """Attempts of cases first dispatched since `start` (the figures' denominators start there)."""
    first = select(DispatchAttempt.case_id).where(DispatchAttempt.attempt == 1,
                                                  DispatchAttempt.dispatched_at >= start)
    rows = (await session.execute(select(DispatchAttempt).where(DispatchAttempt.case_id.in_(first)))).scalars()
    return [
        DispatchRecord(r.case_id, r.attempt, r.department, r.dispatched_at, r.acked_at, r.ack_implied,
                       r.returned_at, ReturnReason(r.return_reason) if r.return_reason else None, r.feedback_at)
        for r in rows
    ]


async def gauge_ratios(session: AsyncSession, starts: dict[str, datetime],
                       end: datetime) -> dict[str, tuple[Ratio, Ratio]]:
    """figures.dispatch_success and figures.first_dispatch_accuracy over [start, end) for each named start.

    Counted by the database, each in one pass over the widest window: the gauges read this every 15 s, and
    at a million cases building the records in Python took ~20 s of CPU, stalling every request meanwhile.
    """
    widest = min(starts.values())
    first = aliased(DispatchAttempt)
    in_window = (first.attempt == 1) & (first.dispatched_at >= widest) & (first.dispatched_at < end)
    accepted = first.acked_at.is_not(None) & first.returned_at.is_(None)
    pending = first.acked_at.is_(None) & first.returned_at.is_(None)
    success = select(*(count for start in starts.values() for count in (
        func.count().filter(first.dispatched_at >= start),
        func.count().filter((first.dispatched_at >= start) & accepted),
        func.count().filter((first.dispatched_at >= start) & pending)))).where(in_window)
    # The department that gave feedback (one attempt of a case holds it, the current one).
    handler = aliased(DispatchAttempt)
    accuracy = select(*(count for start in starts.values() for count in (
        func.count().filter(first.dispatched_at >= start),
        func.count().filter((first.dispatched_at >= start) & (handler.department == first.department))))).join(
        handler, (handler.case_id == first.case_id) & handler.feedback_at.is_not(None)).where(in_window)
    counts = (await session.execute(success)).one()
    settled = (await session.execute(accuracy)).one()
    out: dict[str, tuple[Ratio, Ratio]] = {}
    for i, name in enumerate(starts):
        total, right, waiting = counts[3 * i : 3 * i + 3]
        handled, handled_right = settled[2 * i : 2 * i + 2]
        out[name] = (Ratio(int(right), int(total), int(waiting)), Ratio(int(handled_right), int(handled)))
    return out


async def escalation_records(session: AsyncSession, start: datetime) -> list[EscalationRecord]:
    rows = (await session.execute(select(Escalation).where(Escalation.raised_at >= start))).scalars()
    return [EscalationRecord(r.case_id, r.attempt, r.department, EscalationKind(r.kind), r.raised_at) for r in rows]


async def gaps_since(session: AsyncSession, start: datetime) -> int:
    """Cases the router could not place (R10), counted by their gap transition, not their latest rule."""
    query = select(func.count(func.distinct(TimelineEntry.case_id))).where(
        TimelineEntry.kind == "gap", TimelineEntry.at >= start)
    return int(await session.scalar(query) or 0)


async def open_departments(session: AsyncSession) -> set[str]:
    """Departments holding open (dispatched or acknowledged) cases: those whose cases can become overdue."""
    query = select(Case.department).where(Case.status.in_(("dispatched", "acknowledged"))).distinct()
    return {d or "none" for d in (await session.execute(query)).scalars()}


async def open_overdue(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Open cases with an escalated breach, by department and kind (the cases_overdue gauge)."""
    query = (select(Case.department, Escalation.kind, func.count(func.distinct(Case.case_id)))
             .join(Escalation, (Escalation.case_id == Case.case_id) & (Escalation.attempt == Case.attempt))
             .where(Case.status.in_(("dispatched", "acknowledged")))
             .group_by(Case.department, Escalation.kind))
    return {(d or "none", k): int(n) for d, k, n in (await session.execute(query)).all()}
