"""routed.v1 taken a poll at a time (one transaction) gives each case what one event at a time gives it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from schemas.decision import DecisionStatus
from schemas.envelope import Envelope
from schemas.events import CaseRouted, EventType
from schemas.report import Report
from services.db import Database
from services.envelopes import envelope
from services.migrate import upgrade
from services.settings import Settings
from tests.conftest import dev_reports
from tests.integration.tracker.support import decision
from tracker.domain.sla import CALENDAR_DAYS
from tracker.handlers import Deps, record_routing, record_routings
from tracker.store.models import Case, DispatchAttempt, TimelineEntry, TrackerOutbox

pytestmark = pytest.mark.timeout(120)  # on SQLite and on PostgreSQL (any_database)
MIGRATIONS = Path(__file__).resolve().parents[3] / "tracker" / "migrations"


def routed(case_id: str, primary: str, *, attempt: int = 1, gap: bool = False) -> Envelope:
    d = decision(primary)
    if gap:
        d = d.model_copy(update={"status": DecisionStatus.gap, "primary": "establishment-office"})
    payload = CaseRouted(case_id=case_id, attempt=attempt, decision=d,
                         report=Report.model_validate(dev_reports()[0]))
    return envelope(source="test", event_type=EventType.case_routed, subject=case_id, payload=payload)


def poll(tag: str) -> list[Envelope]:
    """One poll's worth: a redelivery inside the poll, one decision under two event ids, a gap."""
    first, gap = routed(f"{tag}1", "amr"), routed(f"{tag}2", "x", gap=True)
    return [first, gap, first, routed(f"{tag}3", "ecology"), gap, routed(f"{tag}3", "ecology"),
            routed(f"{tag}4", "culture")]


async def _picture(db: Database, tag: str) -> dict[str, object]:
    """What a reader sees of the cases with ids starting `tag` (tag removed): status, timeline, records, events."""
    def own(case_id: str) -> str | None:
        return case_id[len(tag):] if case_id.startswith(tag) else None

    async with db.sessions() as session:
        cases = {own(c.case_id): (c.status, c.department, c.attempt)
                 for c in (await session.scalars(select(Case))).all() if own(c.case_id)}
        timeline = sorted((own(t.case_id), t.kind) for t in (await session.scalars(select(TimelineEntry))).all()
                          if own(t.case_id))
        attempts = sorted((own(a.case_id), a.attempt, a.department)
                          for a in (await session.scalars(select(DispatchAttempt))).all() if own(a.case_id))
        events = sorted((own(key), n) for key, n in (await session.execute(
            select(TrackerOutbox.key, func.count()).group_by(TrackerOutbox.key))).all() if own(key))
    return {"cases": cases, "timeline": timeline, "attempts": attempts, "events": events}


async def test_a_batch_gives_what_one_event_at_a_time_gives(any_database: str) -> None:
    db = Database(any_database)
    await upgrade(db, "tracker", MIGRATIONS)
    deps = Deps(db=db, settings=Settings(database_url=any_database), calendar=CALENDAR_DAYS)
    try:
        batch = poll("B")
        await record_routings(batch, deps)
        await record_routings(batch[:3], deps)  # part of the poll again, as after a crash before the offset commit
        for event in poll("S"):
            await record_routing(event, deps)
        batched, singly = await _picture(db, "B"), await _picture(db, "S")
    finally:
        await db.dispose()

    assert batched == singly
    assert batched["cases"] == {"1": ("dispatched", "amr", 1), "2": ("gap", None, 0),
                                "3": ("dispatched", "ecology", 1), "4": ("dispatched", "culture", 1)}
    assert [t for t in batched["timeline"] if t[0] == "3"] == [  # type: ignore[attr-defined]
        ("3", "dispatched"), ("3", "received"), ("3", "routed")]
    assert ("1", 1, "amr") in batched["attempts"]  # type: ignore[operator]
