"""Intake's one command: accept a report (store it and its event in one transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.domain.case_ids import new_case_id
from intake.store.models import AcceptedReport, IntakeOutbox
from schemas.events import EventType, ReportAccepted
from schemas.report import Report
from services.db import Database
from services.envelopes import envelope
from services.outbox import stage
from services.settings import Settings


@dataclass(frozen=True)
class Acceptance:
    case_id: str
    created: bool


async def accept_report(*, db: Database, settings: Settings, report: Report,
                        submitted_by: str | None = None) -> Acceptance:
    """Store a new report with its reports.v1 event, or return the case it already became."""
    now = datetime.now(UTC)
    case_id = new_case_id(now)
    async with db.transaction() as session:
        if not await _insert_once(session, db, case_id, report, now):
            existing = await session.scalar(
                select(AcceptedReport.case_id).where(
                    AcceptedReport.source == report.source.value,
                    AcceptedReport.external_id == report.external_id,
                )
            )
            assert existing is not None
            return Acceptance(existing, created=False)
        payload = ReportAccepted(case_id=case_id, report=report, accepted_at=now, submitted_by=submitted_by)
        event = envelope(source="caseroute/intake", event_type=EventType.report_accepted,
                         subject=case_id, payload=payload)
        stage(session, IntakeOutbox, settings.topic("reports.v1"), event)
    return Acceptance(case_id, created=True)


async def _insert_once(session: AsyncSession, db: Database, case_id: str, report: Report,
                       now: datetime) -> bool:
    """Insert unless (source, external_id) exists; concurrent duplicates wait on the unique key."""
    values = {
        "case_id": case_id,
        "source": report.source.value,
        "external_id": report.external_id,
        "report": report.model_dump(mode="json"),
        "accepted_at": now,
    }
    insert = sqlite_insert if db.sqlite else pg_insert
    statement = insert(AcceptedReport).values(**values).on_conflict_do_nothing(
        index_elements=["source", "external_id"]
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
