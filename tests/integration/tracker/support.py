"""What the tracker's handler tests share: a decision to route by, routing it, and the tracker's dependencies on
both databases (`deps`) or on PostgreSQL alone (`postgres_deps`, for what only the driver's read does)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from schemas.decision import Candidate, Decision, DecisionStatus
from schemas.events import CaseRouted, EventType
from schemas.report import Hazard, Report
from services.db import Database
from services.envelopes import envelope
from services.migrate import upgrade
from services.settings import Settings
from tests.conftest import dev_reports
from tracker.domain.sla import CALENDAR_DAYS
from tracker.handlers import Deps, record_routing

MIGRATIONS = Path(__file__).resolve().parents[3] / "tracker" / "migrations"


def decision(primary: str, *, alternatives: tuple[str, ...] = (), hazard: bool = False) -> Decision:
    return Decision(external_id="x", status=DecisionStatus.routed, rule="R9" if not hazard else "R1",
                    primary=primary, feedback_to=["street-nanmen"], cc=["amr"] if hazard else [],
                    deadline_days=20, ack_hours=2 if hazard else 24,
                    hazard=Hazard.fire if hazard else Hazard.none, unit="nanmen", confidence=0.9,
                    alternatives=[Candidate(department=d, rule="R9", score=0.5) for d in alternatives],
                    catalogue_version="test")


async def route(deps: Deps, case_id: str, d: Decision, attempt: int = 1) -> None:
    report = Report.model_validate(dev_reports()[0])
    payload = CaseRouted(case_id=case_id, attempt=attempt, decision=d, report=report)
    await record_routing(envelope(source="test", event_type=EventType.case_routed, subject=case_id,
                                  payload=payload), deps)


async def _deps(url: str) -> AsyncIterator[Deps]:
    db = Database(url)
    await upgrade(db, "tracker", MIGRATIONS)
    yield Deps(db=db, settings=Settings(database_url=url), calendar=CALENDAR_DAYS)
    await db.dispose()


@pytest.fixture
async def deps(any_database: str) -> AsyncIterator[Deps]:
    """The tracker's dependencies, once on SQLite and once on PostgreSQL."""
    async for made in _deps(any_database):
        yield made


@pytest.fixture
async def postgres_deps(fresh_postgres: str) -> AsyncIterator[Deps]:
    """The tracker's dependencies on PostgreSQL."""
    async for made in _deps(fresh_postgres):
        yield made
