"""Router handlers: decide a new report; stage the decision and the department dispatches."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from router.engine import Engine
from router.store.models import RoutedCase, RouterInbox, RouterOutbox
from schemas.decision import Decision
from schemas.envelope import Envelope
from schemas.events import CaseDispatched, CaseRouted, EventType, ReportAccepted
from schemas.report import Report
from services.db import Database
from services.envelopes import envelope
from services.inbox import first_time
from services.outbox import stage
from services.settings import Settings

SOURCE = "caseroute/router"


async def route_report(event: Envelope, *, db: Database, settings: Settings, engine: Engine) -> None:
    """reports.v1 → decision stored, routed.v1 and dispatch.<department>.v1 staged, once per event."""
    accepted = ReportAccepted.model_validate(event.data)
    decision = engine.decide(accepted.report)
    async with db.transaction() as session:
        if not await first_time(session, RouterInbox, event.id):
            return
        if await session.get(RoutedCase, accepted.case_id) is not None:
            return  # the same case re-submitted under another event id: decided already
        session.add(RoutedCase(case_id=accepted.case_id, report=accepted.report.model_dump(mode="json"),
                               decision=decision.model_dump(mode="json"), attempt=1, excluded=[],
                               unit=decision.unit, routed_at=datetime.now(UTC)))
        stage_decision(session, settings, accepted.case_id, accepted.report, decision, attempt=1)


def stage_decision(session: AsyncSession, settings: Settings, case_id: str, report: Report,
                   decision: Decision, *, attempt: int, excluded: list[str] | None = None) -> None:
    """routed.v1 for the tracker and notifier; a dispatch to the primary, cooperating and cc departments."""
    routed = CaseRouted(case_id=case_id, attempt=attempt, decision=decision, excluded=excluded or [],
                        report=report)
    stage(session, RouterOutbox, settings.topic("routed.v1"),
          envelope(source=SOURCE, event_type=EventType.case_routed, subject=case_id, payload=routed))
    if decision.duplicate_of:
        return
    roles = [(decision.primary, "primary")]
    roles += [(d, "cooperating") for d in decision.cooperating]
    roles += [(d, "cc") for d in decision.cc]
    for department, role in roles:
        dispatched = CaseDispatched(
            case_id=case_id, attempt=attempt, department=department, role=role, rule=decision.rule,
            deadline_days=decision.deadline_days, ack_hours=decision.ack_hours, unit=decision.unit,
            title=report.title, description=report.description, address=report.location.address,
            reported_at=report.reported_at, reply_url=f"{settings.public_base_url}/v1/cases/{case_id}",
        )
        stage(session, RouterOutbox, settings.dispatch_topic(department),
              envelope(source=SOURCE, event_type=EventType.case_dispatched, subject=case_id,
                       payload=dispatched))
