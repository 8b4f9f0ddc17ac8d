"""Tracker handlers: record decisions as case state, timeline rows and case events, once per event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from schemas.decision import DecisionStatus
from schemas.envelope import Envelope
from schemas.events import CaseRouted, CaseTransition, EventType
from services.db import Database
from services.envelopes import envelope
from services.inbox import first_time
from services.outbox import stage
from services.settings import Settings
from tracker.store.models import Case, TimelineEntry, TrackerInbox, TrackerOutbox

SOURCE = "caseroute/tracker"


async def record_routing(event: Envelope, *, db: Database, settings: Settings) -> None:
    """routed.v1 → the case exists, is routed (or a gap, or a duplicate) and dispatched to its primary."""
    routed = CaseRouted.model_validate(event.data)
    decision = routed.decision
    now = datetime.now(UTC)
    async with db.transaction() as session:
        if not await first_time(session, TrackerInbox, event.id):
            return
        case = await session.get(Case, routed.case_id, with_for_update=not db.sqlite)
        if case is None:
            case = Case(case_id=routed.case_id, status="received", source=routed.report.source.value,
                        unit=decision.unit, attempt=0, report=routed.report.model_dump(mode="json"),
                        state={}, received_at=now, updated_at=now)
            session.add(case)
            await session.flush()
            transition(session, settings, case, "received", actor="intake", at=now)
        elif case.attempt >= routed.attempt:
            return  # an older decision arriving late: the case has moved on
        case.decision = decision.model_dump(mode="json")
        case.rule, case.hazard, case.unit = decision.rule, decision.hazard.value, decision.unit
        case.attempt = routed.attempt
        if decision.status is DecisionStatus.duplicate:
            transition(session, settings, case, "duplicate", actor="router", at=now,
                       detail={"duplicate_of": decision.duplicate_of})
            return
        transition(session, settings, case, "gap" if decision.status is DecisionStatus.gap else "routed",
                   actor="router", at=now, department=decision.primary, detail={"rule": decision.rule})
        case.department = decision.primary
        case.dispatched_at = now
        case.ack_due_at = now + timedelta(hours=decision.ack_hours)
        case.feedback_due_at = now + timedelta(days=decision.deadline_days)
        if decision.status is DecisionStatus.routed:
            transition(session, settings, case, "dispatched", actor="router", at=now,
                       department=decision.primary, detail={"attempt": routed.attempt})


def transition(session: AsyncSession, settings: Settings, case: Case, to_status: str, *, actor: str,
               at: datetime, department: str | None = None, detail: dict[str, object] | None = None) -> None:
    """Move the case, write its timeline row and stage the case event, in the caller's transaction."""
    from_status = None if to_status == "received" else case.status
    case.status, case.updated_at = to_status, at
    payload = CaseTransition(case_id=case.case_id, from_status=from_status, to_status=to_status, actor=actor,
                             at=at, department=department or case.department, detail=detail or {})
    session.add(TimelineEntry(case_id=case.case_id, at=at, from_status=from_status, to_status=to_status,
                              actor=actor, department=payload.department, detail=payload.detail))
    stage(session, TrackerOutbox, settings.topic("case-events.v1"),
          envelope(source=SOURCE, event_type=EventType.case_transition, subject=case.case_id, payload=payload))
