"""What the tracker tells case-events.v1: one case.changed event per case per transaction, its transitions in
order and the case's state after them (version 1 sent one event per transition)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from schemas.envelope import Envelope
from schemas.events import CaseChanged, DepartmentReply, EventType, dataschema
from services.db import Database
from services.migrate import upgrade
from services.settings import KafkaSettings, Settings
from tests.unit.tracker.test_subjects_sqlite import MIGRATIONS, T0, ClockDeps, route, routed
from tracker.domain.sla import CALENDAR_DAYS
from tracker.handlers import escalate_due, handle_reply
from tracker.store.models import TimelineEntry, TrackerOutbox

pytestmark = pytest.mark.timeout(60)
TOPIC = "caseroute.case-events.v1"


@pytest.fixture
async def deps(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}"
    db = Database(url)
    await upgrade(db, "tracker", MIGRATIONS)
    yield ClockDeps(db=db, settings=Settings(database_url=url, kafka=KafkaSettings(bootstrap=None)),
                    calendar=CALENDAR_DAYS)
    await db.dispose()


async def _case_events(deps: ClockDeps, case_id: str) -> list[Envelope]:
    async with deps.db.sessions() as session:
        values = (await session.execute(select(TrackerOutbox.value).where(
            TrackerOutbox.topic == TOPIC, TrackerOutbox.key == case_id).order_by(TrackerOutbox.id))).scalars().all()
    return [Envelope.from_bytes(v) for v in values]


async def test_a_new_case_received_routed_and_dispatched_in_one_transaction_is_one_event(deps: ClockDeps) -> None:
    await route(deps, routed(1, []), routed(2, [], department="ecology"))
    for case_id, department in (("C0001", "amr"), ("C0002", "ecology")):
        (event,) = await _case_events(deps, case_id)
        assert (event.type, event.subject, event.dataschema) == (
            EventType.case_changed, case_id, "urn:caseroute:schema:caseroute.case.changed:v2")
        assert event.dataschema == dataschema(EventType.case_changed)
        changed = CaseChanged.model_validate(event.data)
        assert [(t.kind, t.from_status, t.to_status) for t in changed.transitions] == [
            ("received", None, "received"), ("routed", "received", "routed"), ("dispatched", "routed", "dispatched")]
        assert [t.actor for t in changed.transitions] == ["intake", "router", "router"]
        assert changed.transitions[-1].department == department
        state = changed.state
        assert (state.status, state.department, state.attempt, state.unit, state.overdue) == (
            "dispatched", department, 1, "nanmen", False)
        assert state.ack_due_at == T0 + timedelta(hours=24) and state.feedback_due_at is not None
    async with deps.db.sessions() as session:  # the timeline keeps a row per transition
        kinds = (await session.execute(select(TimelineEntry.kind).where(TimelineEntry.case_id == "C0001")
                                       .order_by(TimelineEntry.id))).scalars().all()
    assert kinds == ["received", "routed", "dispatched"]


async def test_each_later_transaction_is_one_more_event_with_the_state_it_left(deps: ClockDeps) -> None:
    await route(deps, routed(1, []))
    deps.at = T0 + timedelta(hours=30)  # the ack window (24 h) has passed: the SLA clock escalates
    assert await escalate_due(deps, now=deps.at) == 1
    await handle_reply(DepartmentReply(case_id="C0001", department="amr", kind="ack"), deps, actor="amr")
    _, escalated, acked = await _case_events(deps, "C0001")
    assert [t["kind"] for t in escalated.data["transitions"]] == ["escalated"]
    assert escalated.data["transitions"][0]["detail"]["kind"] == "ack_overdue"
    assert escalated.data["state"]["overdue"] is True
    assert [t["to_status"] for t in acked.data["transitions"]] == ["acknowledged"]
    assert acked.data["state"]["status"] == "acknowledged"


async def test_a_second_return_is_one_event_of_the_return_and_the_dispute(deps: ClockDeps) -> None:
    await route(deps, routed(1, []))
    reply = DepartmentReply(case_id="C0001", department="amr", kind="return", reason="not_our_remit", text="不是")
    await handle_reply(reply, deps, actor="amr")  # no alternative left: straight to adjudication
    _, returned = await _case_events(deps, "C0001")
    assert [(t["kind"], t["to_status"]) for t in returned.data["transitions"]] == [
        ("returned", "returned"), ("disputed", "disputed")]
    assert returned.data["transitions"][0]["detail"]["next"] == "dispute"
    assert (returned.data["state"]["status"], returned.data["state"]["department"]) == ("disputed", None)
