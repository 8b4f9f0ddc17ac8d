"""Reads the monthly statement needs beyond the figures': the month's cases, rulings and catalogue versions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.domain.scorecard import RulingOutcome
from tracker.store.models import Case, CatalogueVersion, DispatchAttempt, JointInspection, RulingRecord, Subject


@dataclass(frozen=True)
class ReceivedCase:
    """A case received in the month, by what the statement breaks it down by."""

    case_id: str
    source: str | None
    unit: str | None
    rule: str | None
    first_department: str | None  # None: never dispatched (a gap waiting, a duplicate)


@dataclass(frozen=True)
class VersionRecord:
    version: str
    parent: str | None
    author: str
    reason: str
    from_case: str | None
    published_at: datetime
    rulings_added: tuple[str, ...]  # rules learnt from rulings (裁决入库) new in this version


async def received_cases(session: AsyncSession, start: datetime, end: datetime) -> list[ReceivedCase]:
    first = select(DispatchAttempt.case_id, DispatchAttempt.department).where(
        DispatchAttempt.attempt == 1).subquery()
    query = (select(Case.case_id, Case.source, Case.unit, Case.rule, first.c.department)
             .outerjoin(first, first.c.case_id == Case.case_id)
             .where(Case.received_at >= start, Case.received_at < end))
    return [ReceivedCase(*row) for row in (await session.execute(query)).all()]


async def rulings_on(session: AsyncSession, case_ids: Iterable[str]) -> list[RulingOutcome]:
    """The rulings on these cases, oldest first (chunked: a month can have thousands of returned cases)."""
    wanted = sorted(set(case_ids))
    out: list[RulingOutcome] = []
    for i in range(0, len(wanted), 5000):
        query = select(RulingRecord.case_id, RulingRecord.lead, RulingRecord.at).where(
            RulingRecord.case_id.in_(wanted[i:i + 5000]))
        out += [RulingOutcome(*row) for row in (await session.execute(query)).all()]
    return sorted(out, key=lambda r: r.at)


def _ruling_ids(document: dict[str, Any] | None) -> set[str]:
    return {str(r.get("id")) for r in (document or {}).get("rulings", []) if isinstance(r, dict)}


async def versions_published(session: AsyncSession, start: datetime, end: datetime) -> list[VersionRecord]:
    """Catalogue versions published in the window with their reasons and the ruled rules they added."""
    rows = (await session.execute(select(CatalogueVersion).where(
        CatalogueVersion.published_at >= start, CatalogueVersion.published_at < end)
        .order_by(CatalogueVersion.id))).scalars().all()
    parents = {r.version: r.document for r in (await session.execute(select(CatalogueVersion).where(
        CatalogueVersion.version.in_([r.parent for r in rows if r.parent])))).scalars()}
    return [VersionRecord(r.version, r.parent, r.author, r.reason, r.from_case, r.published_at,
                          tuple(sorted(_ruling_ids(r.document) - _ruling_ids(parents.get(r.parent or "")))))
            for r in rows]


@dataclass(frozen=True)
class RepeatSubject:
    """A subject reported more than once in the month (its cases received in it), with its tier now."""

    subject_id: str
    name: str | None
    address: str | None
    unit: str | None
    tier: str
    reports: int


@dataclass(frozen=True)
class InspectionRecord:
    """A joint inspection opened in the month and where it stands."""

    case_id: str
    subject_id: str
    subject_name: str | None
    trigger: str
    why: str
    opened_at: datetime
    lead: str | None
    status: str
    overdue: bool


async def repeat_subjects(session: AsyncSession, start: datetime, end: datetime) -> list[RepeatSubject]:
    """Subjects with two or more cases received in [start, end), most reported first (joint inspections, which
    are about a subject rather than reports on it, not counted)."""
    reports = func.count(Case.case_id).label("reports")
    query = (select(Subject.id, Subject.name, Subject.address, Subject.unit, Subject.tier, reports)
             .join(Case, Case.subject_id == Subject.id)
             .where(Case.received_at >= start, Case.received_at < end, Case.source != "inspection")
             .group_by(Subject.id, Subject.name, Subject.address, Subject.unit, Subject.tier)
             .having(func.count(Case.case_id) >= 2)
             .order_by(reports.desc(), Subject.id))
    return [RepeatSubject(*row) for row in (await session.execute(query)).all()]


async def inspections_opened(session: AsyncSession, start: datetime, end: datetime) -> list[InspectionRecord]:
    query = (select(JointInspection.case_id, JointInspection.subject_id, Subject.name, JointInspection.trigger,
                    JointInspection.why, JointInspection.opened_at, Case.department, Case.status, Case.overdue)
             .join(Case, Case.case_id == JointInspection.case_id)
             .outerjoin(Subject, Subject.id == JointInspection.subject_id)
             .where(JointInspection.opened_at >= start, JointInspection.opened_at < end)
             .order_by(JointInspection.opened_at, JointInspection.case_id))
    return [InspectionRecord(*row) for row in (await session.execute(query)).all()]
