"""Tracker HTTP API: case queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from services.problems import Problem
from services.runtime import Runtime
from tracker.store.models import Case, TimelineEntry

router = APIRouter(tags=["cases"])


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class TimelineRead(BaseModel):
    at: datetime
    from_status: str | None
    to_status: str
    actor: str
    department: str | None
    detail: dict[str, Any]


class CaseSummary(BaseModel):
    case_id: str
    status: str
    source: str | None
    unit: str | None
    department: str | None
    rule: str | None
    hazard: str | None
    attempt: int
    dispatched_at: datetime | None
    ack_due_at: datetime | None
    feedback_due_at: datetime | None
    updated_at: datetime


class CaseRead(CaseSummary):
    report: dict[str, Any] | None
    decision: dict[str, Any] | None
    timeline: list[TimelineRead]


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None


def _summary(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in CaseSummary.model_fields}


@router.get("/v1/cases/{case_id}", response_model=CaseRead, responses={404: {"description": "no such case"}})
async def get_case(case_id: str, runtime: RuntimeDep) -> CaseRead:
    """One case with its timeline and decision trace."""
    async with runtime.db.sessions() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise Problem(404, "Case not found", f"no case {case_id!r} (yet: routing takes a moment)")
        rows = (await session.execute(
            select(TimelineEntry).where(TimelineEntry.case_id == case_id).order_by(TimelineEntry.id)
        )).scalars().all()
    timeline = [TimelineRead.model_validate(r, from_attributes=True) for r in rows]
    return CaseRead(**_summary(case), report=case.report, decision=case.decision, timeline=timeline)


@router.get("/v1/cases", response_model=CasePage)
async def list_cases(
    runtime: RuntimeDep,
    department: str | None = None,
    status: str | None = None,
    unit: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CasePage:
    """Cases newest first, filtered; `next_cursor` continues the listing."""
    query = select(Case).order_by(Case.case_id.desc()).limit(limit + 1)
    if department:
        query = query.where(Case.department == department)
    if status:
        query = query.where(Case.status == status)
    if unit:
        query = query.where(Case.unit == unit)
    if cursor:
        query = query.where(Case.case_id < cursor)
    async with runtime.db.sessions() as session:
        cases = (await session.execute(query)).scalars().all()
    page = [CaseSummary(**_summary(c)) for c in cases[:limit]]
    return CasePage(items=page, next_cursor=page[-1].case_id if len(cases) > limit else None)
