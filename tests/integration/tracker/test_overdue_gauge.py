"""cases_overdue exists at 0 for a department with open cases before its first breach, and stays at 0 after.

A gauge that is cleared and recreated appears at 1 on a department's first breach: the OverdueGrowing alert
compares with an hour ago, and a series absent then (rather than 0) used to drop the department from it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from services.db import Database
from services.migrate import upgrade
from services.settings import KafkaSettings, Settings
from tracker.clock import refresh_gauges
from tracker.domain.sla import CALENDAR_DAYS
from tracker.handlers import Deps
from tracker.store.models import Case, Escalation

MIGRATIONS = Path(__file__).resolve().parents[3] / "tracker" / "migrations"
NOW = datetime.now(UTC)


def _overdue(department: str, kind: str) -> float | None:
    return REGISTRY.get_sample_value("cases_overdue", {"department": department, "kind": kind})


async def _check(url: str, dept: str) -> None:
    db = Database(url)
    deps = Deps(db=db, settings=Settings(database_url=url, kafka=KafkaSettings(bootstrap=None)),
                calendar=CALENDAR_DAYS)
    try:
        await upgrade(db, "tracker", MIGRATIONS)
        async with db.transaction() as session:
            session.add(Case(case_id=f"OV-{dept}", status="dispatched", department=dept, attempt=1, state={},
                             received_at=NOW, updated_at=NOW, overdue=False))
        await refresh_gauges(deps)
        # Open, nothing overdue yet: present at 0, for each kind, so the first breach is a rise from 0.
        assert _overdue(dept, "ack_overdue") == 0.0
        assert _overdue(dept, "feedback_overdue") == 0.0

        async with db.transaction() as session:
            session.add(Escalation(breach_key=f"OV-{dept}:ack_overdue:1", case_id=f"OV-{dept}", kind="ack_overdue",
                                   attempt=1, department=dept, due_at=NOW - timedelta(hours=1), raised_at=NOW))
        await refresh_gauges(deps)
        assert _overdue(dept, "ack_overdue") == 1.0
        assert _overdue(dept, "feedback_overdue") == 0.0

        async with db.transaction() as session:
            await session.execute(update(Case).where(Case.case_id == f"OV-{dept}").values(status="closed"))
        await refresh_gauges(deps)
        assert _overdue(dept, "ack_overdue") == 0.0  # back to 0, not gone
    finally:
        await db.dispose()


async def test_overdue_gauge_is_0_before_the_first_breach_and_after_the_case_closes_on_sqlite(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}", "gauge-sqlite")


@pytest.mark.postgres
async def test_overdue_gauge_is_0_before_the_first_breach_and_after_the_case_closes_on_postgres(
        fresh_postgres: str) -> None:
    await _check(fresh_postgres, "gauge-postgres")
