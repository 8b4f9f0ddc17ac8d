"""Reads of subjects for the API and the console: one subject with its cases, outcomes and inspections; lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.domain.credit import Reason, reason_label
from tracker.store import codec
from tracker.store.models import Case, JointInspection, Subject, SubjectKey

TIER_NAMES = {"A": "A 守信", "B": "B 基本守信", "C": "C 失信风险", "D": "D 严重失信"}


def _instant(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def reasons_of(subject: Subject) -> list[dict[str, Any]]:
    """The reasons of its tier, each with the label the console prints (行政处罚 ×2 +6)."""
    return [{**r, "label": reason_label(Reason(str(r["what"]), int(r["count"]), float(r["points"])))}
            for r in subject.reasons or []]


def summary(subject: Subject) -> dict[str, Any]:
    return {"id": subject.id, "kind": subject.kind, "name": subject.name, "address": subject.address,
            "unit": subject.unit, "credit_code": subject.credit_code, "tier": subject.tier, "score": subject.score,
            "reasons": reasons_of(subject), "case_count": subject.cases,
            "last_reported_at": subject.last_reported_at, "merged_into": subject.merged_into}


async def subject_view(session: AsyncSession, subject_id: str) -> dict[str, Any] | None:
    """The subject with its keys, cases (newest first), outcomes and joint inspections."""
    subject = await session.get(Subject, subject_id)
    if subject is None:
        return None
    keys = (await session.execute(select(SubjectKey.key).where(SubjectKey.subject_id == subject_id)
                                  .order_by(SubjectKey.key))).scalars().all()
    rows = (await session.execute(select(Case).where(Case.subject_id == subject_id)
                                  .order_by(Case.received_at.desc(), Case.case_id.desc()))).scalars().all()
    cases: list[dict[str, Any]] = []
    outcomes: dict[str, int] = {}
    for row in rows:
        state = codec.load(row.state)
        outcome = state.outcome.value if state.outcome else None
        if outcome:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        report = row.report or {}
        cases.append({"case_id": row.case_id, "status": row.status, "department": row.department, "rule": row.rule,
                      "hazard": row.hazard, "received_at": row.received_at,
                      "reported_at": _instant(report.get("reported_at")),
                      "title": report.get("title") or (report.get("description") or "")[:60], "outcome": outcome,
                      "feedback_at": state.feedback_at, "feedback_overdue": row.overdue})
    inspections = []
    for inspection, case in (await session.execute(
            select(JointInspection, Case).join(Case, Case.case_id == JointInspection.case_id)
            .where(JointInspection.subject_id == subject_id).order_by(JointInspection.opened_at.desc()))).all():
        inspections.append({"case_id": inspection.case_id, "trigger": inspection.trigger, "why": inspection.why,
                            "window_key": inspection.window_key, "opened_at": inspection.opened_at,
                            "cause_case_id": inspection.cause_case_id, "status": case.status,
                            "department": case.department, "overdue": case.overdue})
    return {**summary(subject), "keys": list(keys), "cases": cases, "outcomes": outcomes,
            "inspections": inspections}


async def list_subjects(session: AsyncSession, *, unit: str | None, tier: str | None, q: str | None,
                        limit: int, since: datetime | None = None) -> list[dict[str, Any]]:
    """Subjects not merged away, worst tier first, then the most recently reported."""
    query = select(Subject).where(Subject.merged_into.is_(None))
    if unit:
        query = query.where(Subject.unit == unit)
    if tier:
        query = query.where(Subject.tier == tier)
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Subject.name.like(like), Subject.address.like(like),
                                Subject.credit_code.like(like.upper()), Subject.id == q.upper()))
    if since:
        query = query.where(Subject.last_reported_at >= since)
    query = query.order_by(Subject.tier.desc(), Subject.score.desc(), Subject.last_reported_at.desc(),
                           Subject.id).limit(limit)
    return [summary(s) for s in (await session.execute(query)).scalars().all()]
