"""Tracker handlers on SQLite (the embedded mode, no server needed) and on real PostgreSQL, the same code on
both (dialect differences live in services.db.Database): replies, returns, disputes, one escalation per breach."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from schemas.events import DepartmentReply, FeedbackOutcome, ReturnReason
from services.db import Database
from tests.integration.tracker.support import decision, deps, route  # noqa: F401 (fixture)
from tracker.domain.commands import IllegalTransition, NotYourCase
from tracker.domain.sla import CALENDAR_DAYS
from tracker.handlers import Deps, escalate_due, handle_reply
from tracker.store.models import Case, Escalation, TrackerOutbox

pytestmark = pytest.mark.timeout(120)


async def status(deps: Deps, case_id: str) -> str:  # noqa: F811
    async with deps.db.sessions() as session:
        row = await session.get(Case, case_id)
        assert row is not None
        return row.status


async def test_ack_feedback_and_refusals(deps: Deps) -> None:  # noqa: F811
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


async def test_first_return_reroutes_second_return_disputes(deps: Deps) -> None:  # noqa: F811
    await route(deps, "C2", decision("amr", alternatives=("ecology", "urban-mgmt")))
    await handle_reply(DepartmentReply(case_id="C2", department="amr", kind="return",
                                       reason=ReturnReason.not_our_remit), deps, actor="t")
    assert await status(deps, "C2") == "returned"
    await route(deps, "C2", decision("ecology"), attempt=2)
    assert await status(deps, "C2") == "dispatched"
    await handle_reply(DepartmentReply(case_id="C2", department="ecology", kind="return",
                                       reason=ReturnReason.overlapping_remits), deps, actor="t")
    assert await status(deps, "C2") == "disputed"


async def test_return_without_candidates_goes_straight_to_dispute(deps: Deps) -> None:  # noqa: F811
    await route(deps, "C3", decision("amr"))
    await handle_reply(DepartmentReply(case_id="C3", department="amr", kind="return",
                                       reason=ReturnReason.wrong_unit), deps, actor="t")
    assert await status(deps, "C3") == "disputed"


async def test_two_replicas_scanning_at_once_escalate_each_breach_once(deps: Deps,  # noqa: F811
                                                                        any_database: str) -> None:
    for i in range(60):
        await route(deps, f"D{i}", decision("amr", hazard=i % 2 == 0))
    later = datetime.now(UTC) + timedelta(days=2)  # past every ack window, before any feedback deadline
    other = Deps(db=Database(any_database), settings=deps.settings, calendar=CALENDAR_DAYS)
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
