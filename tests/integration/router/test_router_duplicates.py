"""A report is linked to the open case of its matter at its place however busy the matter is elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from router.engine import Engine
from router.handlers import route_reports
from router.store.models import RoutedCase
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
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def accepted(case_id: str, minutes: int, **location: Any) -> Envelope:
    """The dev set's first report (an unlicensed shop), `minutes` after T0, at the given place."""
    row = dev_reports()[0]
    report = Report.model_validate({**row, "external_id": case_id, "reported_at": T0 + timedelta(minutes=minutes),
                                    "location": {**row["location"], **location}})  # type: ignore[dict-item]
    return envelope(source="test", event_type=EventType.report_accepted, subject=case_id,
                    payload=ReportAccepted(case_id=case_id, report=report, accepted_at=T0))


async def test_the_original_behind_many_newer_cases_of_the_matter_elsewhere(any_database: str) -> None:
    db = Database(any_database)
    await upgrade(db, "router", MIGRATIONS)
    settings, engine = Settings(database_url=any_database), Engine.from_file(None)
    try:
        originals = [accepted("A-addr", 0, address="解放南路12号"),
                     accepted("A-geo", 1, address="解放南路门面", lat=29.87, lon=121.55)]
        elsewhere = [accepted(f"E-{i}", 2 + i, address=f"中山西路{i}号", lat=29.80 + i * 1e-3, lon=121.40)
                     for i in range(300)]
        later = [accepted("B-addr", 400, address="解放南路 12号"),  # the same address, written differently
                 accepted("B-geo", 401, address="解放南路店面", lat=29.8702, lon=121.5501)]  # 25 m away
        for start in range(0, len(originals + elsewhere), 100):  # polls as the consumer takes them
            await route_reports((originals + elsewhere)[start:start + 100], db=db, settings=settings, engine=engine)
        await route_reports(later, db=db, settings=settings, engine=engine)
        async with db.sessions() as session:
            rows = {r.case_id: r for r in (await session.scalars(select(RoutedCase))).all()}
    finally:
        await db.dispose()

    assert sum(r.open for r in rows.values()) == 302  # the two originals and the 300 elsewhere
    assert rows["B-addr"].decision["status"] == "duplicate" and rows["B-addr"].decision["duplicate_of"] == "A-addr"
    assert rows["B-geo"].decision["status"] == "duplicate" and rows["B-geo"].decision["duplicate_of"] == "A-geo"
