"""intake_0002 on real PostgreSQL (and SQLite): rows accepted before it stay valid and keep deduping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from intake.domain.submitters import HOTLINE_TOPIC
from intake.handlers import accept_report
from intake.store.models import AcceptedReport
from schemas.report import Report
from services.migrate import alembic_config, upgrade
from services.runtime import Runtime
from services.settings import Settings
from tests.conftest import REPO, dev_reports

pytestmark = pytest.mark.timeout(120)
MIGRATIONS = REPO / "intake" / "migrations"


async def _check_upgrade_keeps_old_rows(url: str) -> None:
    settings = Settings(database_url=url)
    runtime = Runtime.create(settings)
    grid = Report.model_validate({**dev_reports()[0], "external_id": "OLD-1"})
    call = Report.model_validate({**dev_reports()[0], "external_id": "CALL-1", "source": "hotline"})
    try:
        def to_0001(connection: Connection) -> None:
            config = alembic_config("intake", MIGRATIONS, url)
            config.attributes["connection"] = connection
            command.upgrade(config, "intake_0001")

        async with runtime.db.engine.begin() as conn:
            await conn.run_sync(to_0001)
            for case_id, report in (("C-OLD-GRID", grid), ("C-OLD-CALL", call)):
                await conn.execute(
                    text("insert into intake_reports (case_id, source, external_id, report, accepted_at) "
                         "values (:case_id, :source, :external_id, :report, :at)"),
                    {"case_id": case_id, "source": report.source.value, "external_id": report.external_id,
                     "report": report.model_dump_json(), "at": datetime.now(UTC)})
        await upgrade(runtime.db, "intake", MIGRATIONS)

        async with runtime.db.sessions() as session:
            rows = {r.case_id: r.submitter for r in (await session.execute(select(AcceptedReport))).scalars()}
        assert rows == {"C-OLD-GRID": "legacy:grid", "C-OLD-CALL": HOTLINE_TOPIC}
        # The hotline system redelivers an old call: still its case. A grid app's OLD-1 is its own new report.
        again = await accept_report(db=runtime.db, settings=settings, report=call, submitted_by=HOTLINE_TOPIC)
        assert (again.case_id, again.created) == ("C-OLD-CALL", False)
        mine = await accept_report(db=runtime.db, settings=settings, report=grid, submitted_by="grid-app:app-a")
        assert mine.created and mine.case_id != "C-OLD-GRID"
    finally:
        await runtime.db.dispose()


@pytest.mark.postgres
async def test_upgrade_on_postgresql_keeps_old_reports_deduping(fresh_postgres: str) -> None:
    await _check_upgrade_keeps_old_rows(fresh_postgres)


async def test_upgrade_on_sqlite_keeps_old_reports_deduping(tmp_path: Path) -> None:
    await _check_upgrade_keeps_old_rows(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
