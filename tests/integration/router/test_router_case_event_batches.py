"""case-events.v1 taken a poll at a time (one transaction) gives each case and subject what one event at a time
gives them: tier announcements (a late older one included), a return re-routed with the tier as it stands, a
closure, and redeliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from router.engine import Engine
from router.handlers import follow_case_event, follow_case_events, route_reports
from router.store.models import RoutedCase, RouterOutbox, SubjectTier
from schemas.envelope import Envelope
from schemas.events import CaseChanged, CaseSnapshot, CaseTransition, EventType, ReportAccepted
from schemas.report import Report
from services.db import Database
from services.envelopes import envelope
from services.migrate import upgrade
from services.settings import Settings
from tests.conftest import dev_reports

pytestmark = pytest.mark.timeout(120)  # on SQLite and on PostgreSQL (any_database)
MIGRATIONS = Path(__file__).resolve().parents[3] / "router" / "migrations"
AT = datetime(2026, 11, 5, 6, 0, tzinfo=UTC)


def accepted(case_id: str, index: int) -> Envelope:
    row = dev_reports()[index]
    location = {**row["location"], "address": f"{row['location']['address']}{case_id}号"}  # type: ignore[dict-item,index]
    report = Report.model_validate({**row, "external_id": case_id, "location": location})
    return envelope(source="test", event_type=EventType.report_accepted, subject=case_id,
                    payload=ReportAccepted(case_id=case_id, report=report, accepted_at=datetime.now(UTC)))


def changed(case_id: str, *transitions: CaseTransition) -> Envelope:
    payload = CaseChanged(case_id=case_id, transitions=list(transitions),
                          state=CaseSnapshot(status=transitions[-1].to_status, department="amr", attempt=1))
    return envelope(source="test", event_type=EventType.case_changed, subject=case_id, payload=payload)


def step(case_id: str, kind: str, *, minutes: int = 0, department: str | None = "amr",
         detail: dict[str, object] | None = None) -> CaseTransition:
    return CaseTransition(case_id=case_id, kind=kind, from_status="dispatched", to_status=kind, actor="tracker",
                          at=AT + timedelta(minutes=minutes), department=department, detail=detail or {})


def tier(case_id: str, subject: str, keys: list[str], grade: str, *, minutes: int) -> CaseTransition:
    return step(case_id, "tier_changed", minutes=minutes,
                detail={"subject_tier": {"subject": subject, "keys": keys, "tier": grade}})


def poll(tag: str) -> list[Envelope]:
    """Cases 1–3 of the tag were routed; their subjects' keys are the tag's k1, k2."""
    k1, k2 = f"{tag}:k1", f"{tag}:k2"
    newer = changed(f"{tag}1", step(f"{tag}1", "received"), tier(f"{tag}1", f"{tag}S", [k1, k2], "C", minutes=5))
    return [
        changed(f"{tag}2", tier(f"{tag}2", f"{tag}S", [k1], "B", minutes=1)),
        newer,
        changed(f"{tag}3", tier(f"{tag}3", f"{tag}T", [k2], "D", minutes=2)),  # older than `newer`: not taken
        newer,  # a redelivery in the same poll
        changed(f"{tag}1", step(f"{tag}1", "returned", minutes=6, detail={"next": "reroute", "excluded": []})),
        changed(f"{tag}2", step(f"{tag}2", "received"), step(f"{tag}2", "routed")),  # nothing to follow
        changed(f"{tag}3", step(f"{tag}3", "closed", minutes=7)),
    ]


async def _picture(db: Database, tag: str) -> dict[str, object]:
    def own(value: str) -> str:
        return value[len(tag):]

    async with db.sessions() as session:
        rows = (await session.scalars(select(RoutedCase).where(RoutedCase.case_id.startswith(tag)))).all()
        cases = {own(r.case_id): (r.attempt, r.open, sorted(r.excluded), r.decision.get("primary")) for r in rows}
        tiers = {own(t.key): (own(t.subject_id), t.tier) for t in
                 (await session.scalars(select(SubjectTier).where(SubjectTier.key.startswith(tag)))).all()}
        events = (await session.execute(select(RouterOutbox.key, RouterOutbox.topic, func.count())
                                        .where(RouterOutbox.key.startswith(tag))
                                        .group_by(RouterOutbox.key, RouterOutbox.topic))).all()
    return {"cases": cases, "tiers": tiers, "events": sorted((own(k), t, n) for k, t, n in events)}


async def test_a_poll_of_case_events_gives_what_one_event_at_a_time_gives(any_database: str) -> None:
    db = Database(any_database)
    await upgrade(db, "router", MIGRATIONS)
    settings, engine = Settings(database_url=any_database), Engine.from_file(None)
    try:
        for tag in ("B", "S"):
            await route_reports([accepted(f"{tag}{n}", n) for n in (1, 2, 3)], db=db, settings=settings,
                                engine=engine)
        batch = poll("B")
        await follow_case_events(batch, db=db, settings=settings)
        await follow_case_events(batch[:3], db=db, settings=settings)  # redelivered after a crash
        for event in poll("S"):
            await follow_case_event(event, db=db, settings=settings)
        batched, singly = await _picture(db, "B"), await _picture(db, "S")
    finally:
        await db.dispose()

    assert batched == singly
    assert batched["tiers"] == {":k1": ("S", "C"), ":k2": ("S", "C")}
    cases: dict[str, tuple[int, bool, list[str], str]] = batched["cases"]  # type: ignore[assignment]
    assert cases["1"][:3] == (2, True, ["amr"]) and cases["1"][3] != "amr"  # re-routed once, amr excluded
    assert cases["2"] == (1, True, [], cases["2"][3]) and cases["3"][1] is False  # closed: not linked any more
    assert ("1", "caseroute.routed.v1", 2) in batched["events"]  # type: ignore[operator]
