"""Case rows: load the domain state, save it back with its queryable columns and dispatch records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.domain.case import CaseState, Status
from tracker.domain.sla import Calendar, ack_due, feedback_due, next_due
from tracker.store import codec
from tracker.store.models import Case, DispatchAttempt


async def load_for_update(session: AsyncSession, case_id: str, *, lock: bool) -> Case | None:
    """The case row, locked for this transaction on PostgreSQL so concurrent changes queue up."""
    query = select(Case).where(Case.case_id == case_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def state_of(row: Case) -> CaseState:
    return codec.load(row.state)


async def save(session: AsyncSession, row: Case, state: CaseState, *, now: datetime, calendar: Calendar) -> None:
    """Write the state and derive the columns the queries, the SLA scan and the figures use."""
    row.state = codec.dump(state)
    row.status = state.status.value
    row.department = state.department
    row.attempt = state.attempt
    row.updated_at = now
    row.dispatched_at = state.first_dispatched_at
    current, first_at = state.current, state.first_dispatched_at
    row.ack_due_at = ack_due(current.dispatched_at, state.ack_hours) if current else None
    paused = state.status is Status.disputed  # the due date is unknown until the ruling ends the pause
    row.feedback_due_at = (
        feedback_due(first_at, state.deadline_days, calendar, state.pauses) if first_at and not paused else None
    )
    row.next_due_at = next_due(state, calendar=calendar)
    row.overdue = state.ack_overdue or state.feedback_overdue
    returns = {r.attempt: r for r in state.returns}
    for attempt in state.attempts:
        returned = returns.get(attempt.number)
        await session.merge(DispatchAttempt(
            case_id=state.case_id, attempt=attempt.number, department=attempt.department,
            dispatched_at=attempt.dispatched_at, acked_at=attempt.acked_at, ack_implied=attempt.ack_implied,
            returned_at=attempt.returned_at, return_reason=returned.reason.value if returned else None,
            feedback_at=state.feedback_at if attempt is current else None,
        ))
