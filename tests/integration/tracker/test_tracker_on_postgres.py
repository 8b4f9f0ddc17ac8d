"""Tracker handlers on real PostgreSQL: replies, returns, disputes, and one escalation per breach."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from schemas.decision import Candidate, Decision, DecisionStatus
from schemas.events import CaseRouted, DepartmentReply, EventType, FeedbackOutcome, ReturnReason
from schemas.report import Hazard, Report
from services.db import Database
from services.envelopes import envelope
from services.migrate import upgrade
from services.settings import Settings
from tests.conftest import dev_reports
from tracker.domain.commands import IllegalTransition, NotYourCase
from tracker.domain.sla import CALENDAR_DAYS
from tracker.handlers import Deps, escalate_due, handle_reply, record_routing
from tracker.store.models import Case, Escalation, TrackerOutbox

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]
MIGRATIONS = Path(__file__).resolve().parents[3] / "tracker" / "migrations"


def decision(primary: str, *, alternatives: tuple[str, ...] = (), hazard: bool = False) -> Decision:
    return Decision(external_id="x", status=DecisionStatus.routed, rule="R9" if not hazard else "R1",
                    primary=primary, feedback_to=["street-nanmen"], cc=["amr"] if hazard else [],
                    deadline_days=20, ack_hours=2 if hazard else 24,
                    hazard=Hazard.fire if hazard else Hazard.none, unit="nanmen", confidence=0.9,
                    alternatives=[Candidate(department=d, rule="R9", score=0.5) for d in alternatives],
                    catalogue_version="test")


async def route(deps: Deps, case_id: str, d: Decision, attempt: int = 1) -> None:
    report = Report.model_validate(dev_reports()[0])
    payload = CaseRouted(case_id=case_id, attempt=attempt, decision=d, report=report)
    await record_routing(envelope(source="test", event_type=EventType.case_routed, subject=case_id,
                                  payload=payload), deps)


@pytest.fixture
async def deps(fresh_postgres: str):  # type: ignore[no-untyped-def]
    db = Database(fresh_postgres)
    await upgrade(db, "tracker", MIGRATIONS)
    yield Deps(db=db, settings=Settings(database_url=fresh_postgres), calendar=CALENDAR_DAYS)
    await db.dispose()


async def status(deps: Deps, case_id: str) -> str:
    async with deps.db.sessions() as session:
        row = await session.get(Case, case_id)
        assert row is not None
        return row.status


async def test_ack_feedback_and_refusals(deps: Deps) -> None:
    await route(deps, "C1", decision("amr", hazard=True))
    assert await status(deps, "C1") == "dispatched"
    with pytest.raises(NotYourCase):
        await handle_reply(DepartmentReply(case_id="C1", department="ecology", kind="ack"), deps, actor="t")
    await handle_reply(DepartmentReply(case_id="C1", department="amr", kind="ack"), deps, actor="t")
    await handle_reply(DepartmentReply(case_id="C1", department="amr", kind="ack"), deps, actor="t")  # no-op
    await handle_reply(DepartmentReply(case_id="C1", department="amr", kind="feedback",
                                       outcome=FeedbackOutcome.resolved, text="done"), deps, actor="t")
    assert await status(deps, "C1") == "feedback"
    with pytest.raises(IllegalTransition):
        await handle_reply(DepartmentReply(case_id="C1", department="amr", kind="return",
                                           reason=ReturnReason.not_our_remit), deps, actor="t")
    async with deps.db.sessions() as session:
        topics = (await session.execute(select(TrackerOutbox.topic))).scalars().all()
    assert topics.count("caseroute.dispatch.street-nanmen.v1") == 1  # feedback reaches the street
    assert topics.count("caseroute.dispatch.amr.v1") == 1  # and the cc department


async def test_first_return_reroutes_second_return_disputes(deps: Deps) -> None:
    await route(deps, "C2", decision("amr", alternatives=("ecology", "urban-mgmt")))
    await handle_reply(DepartmentReply(case_id="C2", department="amr", kind="return",
                                       reason=ReturnReason.not_our_remit), deps, actor="t")
    assert await status(deps, "C2") == "returned"
    await route(deps, "C2", decision("ecology"), attempt=2)
    assert await status(deps, "C2") == "dispatched"
    await handle_reply(DepartmentReply(case_id="C2", department="ecology", kind="return",
                                       reason=ReturnReason.overlapping_remits), deps, actor="t")
    assert await status(deps, "C2") == "disputed"


async def test_return_without_candidates_goes_straight_to_dispute(deps: Deps) -> None:
    await route(deps, "C3", decision("amr"))
    await handle_reply(DepartmentReply(case_id="C3", department="amr", kind="return",
                                       reason=ReturnReason.wrong_unit), deps, actor="t")
    assert await status(deps, "C3") == "disputed"


async def test_two_replicas_scanning_at_once_escalate_each_breach_once(deps: Deps, fresh_postgres: str) -> None:
    for i in range(60):
        await route(deps, f"D{i}", decision("amr", hazard=i % 2 == 0))
    later = datetime.now(UTC) + timedelta(days=2)  # past every ack window, before any feedback deadline
    other = Deps(db=Database(fresh_postgres), settings=deps.settings, calendar=CALENDAR_DAYS)
    try:
        counts = await asyncio.gather(*(escalate_due(d, now=later, limit=7) for d in (deps, other, deps, other)))
        while sum(await asyncio.gather(escalate_due(deps, now=later), escalate_due(other, now=later))):
            pass
        again = await escalate_due(deps, now=later + timedelta(hours=1))  # a restart, a later scan
    finally:
        await other.db.dispose()
    assert again == 0
    async with deps.db.sessions() as session:
        escalations = await session.scalar(select(func.count()).select_from(Escalation))
        notices = await session.scalar(select(func.count()).select_from(TrackerOutbox).where(
            TrackerOutbox.topic == "caseroute.dispatch.safety-office.v1"))
        overdue = await session.scalar(select(func.count()).select_from(Case).where(Case.overdue))
    assert escalations == 60 and notices == 60 and overdue == 60
    assert sum(counts) <= 60
