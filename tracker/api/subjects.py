"""Subjects (issue 15 §1, §3): the business or place cases are about, with its credit tier and why; merges."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.caller import Caller, require_roles
from services.problems import Problem
from tracker.api.deps import DepsDep
from tracker.store.subjects import list_subjects, subject_view
from tracker.subjects import SubjectRefused, merge

router = APIRouter(tags=["subjects"])
Reader = Annotated[Caller, Depends(require_roles("adjudicator", "operator", "admin"))]
Merger = Annotated[Caller, Depends(require_roles("operator", "admin"))]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "no such subject"},
                                           409: {"description": "merged already"}, 422: {"description": "invalid"}}


class ReasonRead(BaseModel):
    what: str = Field(description="violation:<outcome>, late_rectification or repeat_reports")
    count: int
    points: float
    label: str


class SubjectSummary(BaseModel):
    id: str
    kind: str = Field(description="what linked it first: uscc (credit code), name (business name at an "
                                  "address) or place")
    name: str | None
    address: str | None
    unit: str | None
    credit_code: str | None
    tier: Literal["A", "B", "C", "D"]
    score: float
    reasons: list[ReasonRead]
    case_count: int
    last_reported_at: datetime | None
    merged_into: str | None


class SubjectCaseRead(BaseModel):
    case_id: str
    status: str
    department: str | None
    rule: str | None
    hazard: str | None
    received_at: datetime
    reported_at: datetime | None
    title: str
    outcome: str | None
    feedback_at: datetime | None
    feedback_overdue: bool


class InspectionRead(BaseModel):
    case_id: str
    trigger: str
    why: str
    window_key: str
    opened_at: datetime
    cause_case_id: str
    status: str
    department: str | None
    overdue: bool


class SubjectRead(SubjectSummary):
    keys: list[str]
    cases: list[SubjectCaseRead]
    outcomes: dict[str, int]
    inspections: list[InspectionRead]


class MergeBody(BaseModel):
    into: Annotated[str, Field(min_length=1, max_length=16, description="the subject that stays")]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


@router.get("/v1/subjects", response_model=list[SubjectSummary], responses=ERRORS)
async def subjects(deps: DepsDep, _: Reader, unit: str | None = None,
                   tier: Literal["A", "B", "C", "D"] | None = None,
                   q: Annotated[str | None, Query(max_length=100, description="name, address, credit code or id")]
                   = None, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    """Subjects not merged away, worst tier first, then the most recently reported."""
    async with deps.db.sessions() as session:
        return await list_subjects(session, unit=unit, tier=tier, q=q, limit=limit)


@router.get("/v1/subjects/{subject_id}", response_model=SubjectRead, responses=ERRORS)
async def subject(subject_id: str, deps: DepsDep, _: Reader) -> dict[str, Any]:
    """One subject: its keys, tier with the reasons that produced it, cases with their outcomes, inspections."""
    async with deps.db.sessions() as session:
        view = await subject_view(session, subject_id)
    if view is None:
        raise Problem(404, "Subject not found", f"no subject {subject_id!r}")
    return view


@router.post("/v1/subjects/{subject_id}/merge", response_model=SubjectRead, responses=ERRORS)
async def merge_subject(subject_id: str, body: MergeBody, deps: DepsDep, caller: Merger) -> dict[str, Any]:
    """Merge this subject into `into` (the same shop under two names): its keys and cases move there, the tier
    is computed anew from the joint record; audited (subject.merge) with the reason."""
    try:
        async with deps.db.transaction() as session:
            await merge(session, deps, subject_id, body.into, caller=caller, reason=body.reason, now=deps.now())
    except SubjectRefused as exc:
        raise Problem(exc.status, exc.title, exc.detail) from exc
    async with deps.db.sessions() as session:
        view = await subject_view(session, body.into)
    assert view is not None
    return view
