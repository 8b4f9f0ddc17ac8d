"""The database layer on real PostgreSQL: migrations, intake's dedupe under concurrency, the outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from intake.handlers import accept_report
from intake.store.models import AcceptedReport, IntakeOutbox
from schemas.report import Report
from services.db import Database
from services.runtime import Runtime
from services.settings import Settings
from tests.conftest import dev_reports

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

SERVICES = ("intake", "router", "tracker", "notifier")


async def _migrate_all(db: Database) -> None:
    from pathlib import Path

    from services.migrate import upgrade

    root = Path(__file__).resolve().parents[2]
    for service in SERVICES:
        await upgrade(db, service, root / service / "migrations")


def _head(migrations: Path) -> str:
    from alembic.script import ScriptDirectory

    from services.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("x", migrations, "sqlite://")).get_current_head()
    assert head is not None
    return head


async def test_migrations_apply_twice_and_each_service_keeps_its_own_version(fresh_postgres: str) -> None:
    root = Path(__file__).resolve().parents[2]
    db = Database(fresh_postgres)
    try:
        await _migrate_all(db)
        await _migrate_all(db)  # a restart: nothing to do, no error
        async with db.engine.connect() as conn:
            tables = set((await conn.execute(text(
                "select tablename from pg_tables where schemaname='public'"))).scalars())
            for service in SERVICES:
                assert f"alembic_version_{service}" in tables
                version = (await conn.execute(text(f"select version_num from alembic_version_{service}"))).scalar()
                assert version == _head(root / service / "migrations")
        assert {"intake_reports", "router_cases", "tracker_cases", "notifier_events"} <= tables
    finally:
        await db.dispose()


async def test_concurrent_duplicate_submissions_become_one_case_with_one_event(fresh_postgres: str) -> None:
    settings = Settings(database_url=fresh_postgres)
    runtime = Runtime.create(settings)
    try:
        await _migrate_all(runtime.db)
        report = Report.model_validate(dev_reports()[0])
        results = await asyncio.gather(*[accept_report(db=runtime.db, settings=settings, report=report,
                                                       submitted_by="grid-app:tests")
                                         for _ in range(10)])
        assert len({r.case_id for r in results}) == 1
        assert sum(r.created for r in results) == 1
        async with runtime.db.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(AcceptedReport)) == 1
            assert await session.scalar(select(func.count()).select_from(IntakeOutbox)) == 1
    finally:
        await runtime.db.dispose()
