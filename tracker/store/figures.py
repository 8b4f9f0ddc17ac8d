"""Reads the figures need: dispatch attempts and escalations of a window, as domain records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.events import ReturnReason
from tracker.domain.commands import EscalationKind
from tracker.domain.figures import DispatchRecord, EscalationRecord
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


async def escalation_records(session: AsyncSession, start: datetime) -> list[EscalationRecord]:
    rows = (await session.execute(select(Escalation).where(Escalation.raised_at >= start))).scalars()
    return [EscalationRecord(r.case_id, r.attempt, r.department, EscalationKind(r.kind), r.raised_at) for r in rows]


async def gaps_since(session: AsyncSession, start: datetime) -> int:
    """Cases the router could not place (R10), counted by their gap transition, not their latest rule."""
    query = select(func.count(func.distinct(TimelineEntry.case_id))).where(
        TimelineEntry.kind == "gap", TimelineEntry.at >= start)
    return int(await session.scalar(query) or 0)


async def open_overdue(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Open cases with an escalated breach, by department and kind (the cases_overdue gauge)."""
    query = (select(Case.department, Escalation.kind, func.count(func.distinct(Case.case_id)))
             .join(Escalation, (Escalation.case_id == Case.case_id) & (Escalation.attempt == Case.attempt))
             .where(Case.status.in_(("dispatched", "acknowledged")))
             .group_by(Case.department, Escalation.kind))
    return {(d or "none", k): int(n) for d, k, n in (await session.execute(query)).all()}
