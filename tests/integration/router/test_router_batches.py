"""reports.v1 taken a poll at a time (one transaction) gives each case what one report at a time gives it,
duplicates linked inside the poll included."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from router.engine import Engine
from router.handlers import route_report, route_reports
from router.store.models import RoutedCase, RouterOutbox
from schemas.envelope import Envelope
from schemas.events import EventType, ReportAccepted
from schemas.report import Report
from services.db import Database
from services.envelopes import envelope
from services.migrate import upgrade
from services.settings import Settings
from tests.conftest import dev_reports

pytestmark = pytest.mark.timeout(120)  # on SQLite and on PostgreSQL (any_database)
MIGRATIONS = Path(__file__).resolve().parents[3] / "router" / "migrations"


def accepted(case_id: str, index: int, external_id: str) -> Envelope:
    """Dev report `index` at a place of the case's tag, so the two runs below never link to each other."""
    row = dev_reports()[index]
    location = {**row["location"], "address": f"{row['location']['address']}{case_id[0]}号"}  # type: ignore[index]
    report = Report.model_validate({**row, "external_id": external_id, "location": location})
    return envelope(source="test", event_type=EventType.report_accepted, subject=case_id,
                    payload=ReportAccepted(case_id=case_id, report=report, accepted_at=datetime.now(UTC)))


def poll(tag: str) -> list[Envelope]:
    """The same shop reported twice (the second a duplicate of the first), a redelivery, one case under two
    event ids, and reports of other subjects."""
    first = accepted(f"{tag}1", 0, f"{tag}-a")
    return [first, accepted(f"{tag}2", 0, f"{tag}-b"), first, accepted(f"{tag}3", 5, f"{tag}-c"),
            accepted(f"{tag}3", 5, f"{tag}-c"), accepted(f"{tag}4", 1, f"{tag}-d")]


async def _picture(db: Database, tag: str) -> dict[str, object]:
    def own(case_id: str) -> str:
        return case_id[len(tag):]

    async with db.sessions() as session:
        rows = (await session.scalars(select(RoutedCase).where(RoutedCase.case_id.startswith(tag)))).all()
        cases = {own(r.case_id): (r.decision["status"], r.decision.get("primary"),
                                  own(r.decision.get("duplicate_of") or tag), r.open) for r in rows}
        events = (await session.execute(select(RouterOutbox.key, RouterOutbox.topic, func.count())
                                        .where(RouterOutbox.key.startswith(tag))
                                        .group_by(RouterOutbox.key, RouterOutbox.topic))).all()
    return {"cases": cases, "events": sorted((own(k), t, n) for k, t, n in events)}


async def test_a_batch_gives_what_one_report_at_a_time_gives(any_database: str) -> None:
    db = Database(any_database)
    await upgrade(db, "router", MIGRATIONS)
    settings, engine = Settings(database_url=any_database), Engine.from_file(None)
    try:
        batch = poll("B")
        await route_reports(batch, db=db, settings=settings, engine=engine)
        await route_reports(batch[:2], db=db, settings=settings, engine=engine)  # redelivered after a crash
        for event in poll("S"):
            await route_report(event, db=db, settings=settings, engine=engine)
        batched, singly = await _picture(db, "B"), await _picture(db, "S")
    finally:
        await db.dispose()

    assert batched == singly
    cases = batched["cases"]
    assert cases["1"][0] == "routed" and cases["1"][3] is True  # type: ignore[index]
    assert cases["2"][0] == "duplicate" and cases["2"][2] == "1"  # type: ignore[index]
    assert len(cases) == 4  # type: ignore[arg-type]
    assert sum(n for key, topic, n in batched["events"] if key == "2" and "dispatch" in topic) == 0  # type: ignore[attr-defined]
