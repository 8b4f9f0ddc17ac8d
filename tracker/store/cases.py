"""Case rows: load the domain state, save it back with its queryable columns and dispatch records."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import dialect_of, insert_for, table_of
from tracker.domain.access import CaseParties, parties
from tracker.domain.case import CaseState, Status
from tracker.domain.sla import Calendar, ack_due, feedback_due, next_due
from tracker.store import codec
from tracker.store.models import Case, DispatchAttempt

DISPATCHES = table_of(DispatchAttempt)


async def load_for_update(session: AsyncSession, case_id: str) -> Case | None:
    """The case row, locked for this transaction so concurrent changes queue up."""
    return (await session.execute(select(Case).where(Case.case_id == case_id).with_for_update())).scalar_one_or_none()


# Built once: building a statement costs more Python than running it (the same holds for those below).
_LOAD_MANY = select(Case).where(Case.case_id.in_(bindparam("case_ids", expanding=True))).order_by(Case.case_id) \
    .with_for_update()


async def load_many_for_update(session: AsyncSession, case_ids: Collection[str]) -> dict[str, Case]:
    """A batch's case rows by id, locked in id order (so two batches never wait on each other in a circle)."""
    rows = (await session.execute(_LOAD_MANY, {"case_ids": sorted(case_ids)})).scalars().all()
    return {row.case_id: row for row in rows}


def parties_of(row: Case) -> CaseParties:
    """Who has a part in the case, for access decisions (tracker.domain.access)."""
    decision = row.decision or {}
    return parties(row.department, row.unit, row.source, row.submitted_by,
                   (str(a.get("department") or "") for a in (row.state or {}).get("attempts", [])),
                   (str(d) for d in (*decision.get("cooperating", []), *decision.get("cc", []))))


def state_of(row: Case) -> CaseState:
    return codec.load(row.state)


async def save(session: AsyncSession, row: Case, state: CaseState, *, now: datetime, calendar: Calendar,
               attempts: list[dict[str, Any]] | None = None) -> None:
    """Write the state and derive the columns the queries, the SLA scan and the figures use.

    The dispatch records that changed are written at once, or, given `attempts`, appended to it for one
    upsert_attempts() at the end of a batch."""
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
    before = {a["number"]: a for a in row.state.get("attempts", [])} if row.state else {}
    row.state = codec.dump(state)
    returns = {r.attempt: r for r in state.returns}
    changed = [a for a in row.state["attempts"] if before.get(a["number"]) != a]
    feedback_changed = state.feedback_at is not None and current is not None
    for dumped in changed or ([row.state["attempts"][-1]] if feedback_changed else []):
        attempt = state.attempts[dumped["number"] - 1]
        returned = returns.get(attempt.number)
        values = {
            "case_id": state.case_id, "attempt": attempt.number, "department": attempt.department,
            "dispatched_at": attempt.dispatched_at, "acked_at": attempt.acked_at, "ack_implied": attempt.ack_implied,
            "returned_at": attempt.returned_at, "return_reason": returned.reason.value if returned else None,
            "feedback_at": state.feedback_at if attempt is current else None,
        }
        if attempts is None:
            await upsert_attempts(session, [values])
        else:
            attempts.append(values)


async def upsert_attempts(session: AsyncSession, attempts: list[dict[str, Any]]) -> None:
    """Insert or update dispatch records in one statement; of two for one attempt, the later wins."""
    latest = {(a["case_id"], a["attempt"]): a for a in attempts}
    if not latest:
        return
    # A Core insert (the ORM's bulk path costs more than the rows), so the cases it refers to are flushed first.
    await session.flush()
    statement = _upsert_attempts(dialect_of(session), tuple(next(iter(latest.values()))))
    await session.execute(statement, list(latest.values()))  # the rows as parameters, whatever the batch size


@cache
def _upsert_attempts(dialect: str, columns: tuple[str, ...]) -> Insert:
    """The dispatch records' upsert, built once per database and set of columns (save() gives them all)."""
    statement = insert_for(dialect, DISPATCHES)
    return statement.on_conflict_do_update(
        index_elements=["case_id", "attempt"],
        set_={k: statement.excluded[k] for k in columns if k not in ("case_id", "attempt")})
