"""The reports API's group commit: concurrent reports share transactions, and each still gets its own answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from intake.handlers import Acceptance, Acceptor
from intake.store.models import AcceptedReport, IntakeOutbox
from schemas.envelope import Envelope
from schemas.report import Report
from services.db import Database
from services.migrate import upgrade
from services.settings import Settings
from tests.conftest import dev_reports

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]
GRID_APP = "grid-app:tests"  # the submitter: dedupe is per submitter
MIGRATIONS = Path(__file__).resolve().parents[3] / "intake" / "migrations"


def report(external_id: str, **changes: object) -> Report:
    return Report.model_validate({**dev_reports()[0], "external_id": external_id, **changes})


@pytest.fixture
async def acceptor(fresh_postgres: str):  # type: ignore[no-untyped-def]
    db = Database(fresh_postgres)
    await upgrade(db, "intake", MIGRATIONS)
    yield Acceptor(db=db, settings=Settings(database_url=fresh_postgres), concurrency=2, max_batch=64)
    await db.dispose()


async def test_concurrent_reports_and_repeats_become_one_case_each_with_one_event(acceptor: Acceptor) -> None:
    before = [await acceptor.accept(report(f"old-{i}"), GRID_APP) for i in range(20)]
    new = [report(f"new-{i}") for i in range(150)]
    # Every new report twice (the repeats land in the same batch or the next) and the old ones again.
    submitted = [*new, *new, *(report(f"old-{i}") for i in range(20))]
    answers: list[Acceptance] = await asyncio.gather(*(acceptor.accept(r, GRID_APP) for r in submitted))

    first, second, old = answers[:150], answers[150:300], answers[300:]
    assert len({a.case_id for a in first}) == 150
    assert [a.case_id for a in second] == [a.case_id for a in first]
    assert [a.created for a in first].count(True) + [a.created for a in second].count(True) == 150
    assert [a.case_id for a in old] == [a.case_id for a in before] and not any(a.created for a in old)
    async with acceptor.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AcceptedReport)) == 170
        values = (await session.scalars(select(IntakeOutbox.value))).all()
    events = [Envelope.from_bytes(v) for v in values]
    assert len(events) == 170 and len({e.subject for e in events}) == 170
    assert {e.subject for e in events} >= {a.case_id for a in first}


async def test_a_report_the_database_refuses_fails_alone(acceptor: Acceptor) -> None:
    good = [report(f"good-{i}") for i in range(40)]
    # Validation refuses NUL at the API; past validation (model_copy skips it) the database refuses the row.
    bad = report("bad").model_copy(update={"description": "NUL\u0000 is not storable in a JSONB document"})
    answers = await asyncio.gather(*(acceptor.accept(r, GRID_APP) for r in [*good[:20], bad, *good[20:]]),
                                   return_exceptions=True)
    failed = [a for a in answers if isinstance(a, BaseException)]
    assert len(failed) == 1 and answers[20] is failed[0]
    assert all(isinstance(a, Acceptance) and a.created for a in answers[:20] + answers[21:])
