"""Case queries: one case with timeline and decision trace; filtered listings with cursor pagination."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Text, bindparam, false, func, or_, select, true, tuple_
from sqlalchemy import cast as sql_cast

from schemas.time import Instant, check_instant
from services.caller import CallerDep
from services.db import Database
from services.pii import PERSONAL_FIELDS, mask_json, shared_report
from services.principal import Caller
from services.problems import Problem
from tracker.api.deps import DepsDep
from tracker.domain.access import STREET_PREFIX, CaseParties, may_read, oversees, parties
from tracker.privacy import record_personal_reads
from tracker.store.models import Case, TimelineEntry

router = APIRouter(tags=["cases"])


class TimelineRead(BaseModel):
    at: datetime
    kind: str
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
    overdue: bool
    received_at: datetime
    dispatched_at: datetime | None
    ack_due_at: datetime | None
    feedback_due_at: datetime | None
    updated_at: datetime


class CaseRead(CaseSummary):
    report: dict[str, Any] | None
    decision: dict[str, Any] | None
    returns: list[dict[str, Any]]
    transfers: int
    timeline: list[TimelineRead]


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None


_PLAIN_TIMELINE_FIELDS = tuple(name for name in TimelineRead.model_fields if name != "detail")  # detail is JSON
# Could the report hold personal data? The reporter fields, or a digit (perhaps a phone number) in the title or
# description: only then is an overseer's report parsed, to be looked at closely.
_PERSONAL = or_(*(func.coalesce(Case.report[field].as_string(), "") != "" for field in PERSONAL_FIELDS),
                func.coalesce(Case.report["title"].as_string(), "").concat(
                    func.coalesce(Case.report["description"].as_string(), "")).regexp_match("[0-9０-９]"))
# GET /v1/cases/{id} in one statement on either database: the case, once per timeline entry (oldest first). JSON
# documents come back as text and go out as they are (orjson.Fragment) when nothing in them is masked; with
# them what access and masking need. Built from the models, so the columns stay theirs.
CASE_READ = (
    select(*(getattr(Case, name) for name in CaseSummary.model_fields), Case.submitted_by,
           sql_cast(Case.report, Text).label("report"), sql_cast(Case.decision, Text).label("decision"),
           sql_cast(Case.state, Text).label("state"), _PERSONAL.label("personal"),
           *(getattr(TimelineEntry, name).label(f"t_{name}") for name in _PLAIN_TIMELINE_FIELDS),
           sql_cast(TimelineEntry.detail, Text).label("t_detail"), TimelineEntry.id.label("t_id"))
    .outerjoin(TimelineEntry, TimelineEntry.case_id == Case.case_id)
    .where(Case.case_id == bindparam("case_id"))
    .order_by(TimelineEntry.id)
)


def _summary(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in CaseSummary.model_fields}


def _visible(caller: Caller) -> ColumnElement[bool]:
    """The listing filter matching `may_read`, for the roles that see only some cases."""
    if oversees(caller):
        return true()
    if caller.role == "department":
        street = [Case.unit == caller.name.removeprefix(STREET_PREFIX)] if caller.name.startswith(STREET_PREFIX) \
            else []
        return or_(Case.department == caller.name, *street)
    if caller.role in ("grid-app", "hotline"):
        hotline = [Case.source == "hotline"] if caller.role == "hotline" else []
        return or_(Case.submitted_by == caller.actor, *hotline)
    return false()


NOT_FOUND: dict[int | str, dict[str, str]] = {
    401: {"description": "not authenticated"},
    404: {"description": "no such case, or not one the caller may see"},
}


@dataclass
class _Stored:
    """A case as read for GET: the answer's body, who may read it, its report (parsed when it will be masked or
    holds personal data) and who submitted it."""

    body: dict[str, Any]
    parties: CaseParties
    report: dict[str, Any] | None
    submitted_by: str | None


def _json(text: str | None) -> orjson.Fragment | None:
    return None if text is None else orjson.Fragment(text)


def _parsed(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


async def read_case(db: Database, case_id: str, *, whole: bool) -> _Stored | None:
    """The most frequent read: one round trip, and on PostgreSQL none of SQLAlchemy's ~1.5 ms of CPU. For an
    overseer (`whole`) the report and decision go out as the database handed them; for anyone else they are
    parsed, to be masked."""
    rows = await db.fetch(CASE_READ, case_id=case_id)
    if not rows:
        return None
    row = rows[0]
    state, decision = orjson.loads(row["state"] or "{}"), _parsed(row["decision"])
    attempts = state.get("attempts", [])
    report = orjson.loads(row["report"]) if row["report"] is not None and (row["personal"] or not whole) else None
    body = {name: row[name] for name in CaseSummary.model_fields}
    body["report"] = report if report is not None else _json(row["report"])
    body["decision"] = _json(row["decision"]) if whole else decision
    body["returns"], body["transfers"] = state.get("returns", []), max(0, len(attempts) - 1)
    load = _json if whole else _parsed
    body["timeline"] = [{**{name: r[f"t_{name}"] for name in _PLAIN_TIMELINE_FIELDS}, "detail": load(r["t_detail"])}
                        for r in rows if r["t_id"] is not None]
    decision = decision or {}
    who = parties(row["department"], row["unit"], row["source"], row["submitted_by"],
                  (str(a.get("department") or "") for a in attempts),
                  (str(d) for d in (*decision.get("cooperating", []), *decision.get("cc", []))))
    return _Stored(body, who, report, row["submitted_by"])


def _shared(caller: Caller, stored: _Stored) -> dict[str, Any]:
    """The case as a non-overseer reads it: the report masked (its text always, reporter fields or not) and
    without the submitter's callback and attachment links unless the caller submitted it; phone numbers
    masked in the free text of the timeline and the returns too."""
    body = stored.body
    if stored.report is not None:
        body["report"] = shared_report(stored.report, submitter=caller.actor == stored.submitted_by)
    body["returns"] = mask_json(body["returns"])
    body["timeline"] = [{**entry, "detail": mask_json(entry["detail"])} for entry in body["timeline"]]
    return body


@router.get("/v1/cases/{case_id}", response_model=CaseRead, responses=NOT_FOUND)
async def get_case(case_id: str, deps: DepsDep, caller: CallerDep) -> Response:
    """One case with its timeline, returns and decision trace.

    Departments see the cases dispatched to them (any attempt, cooperating or cc) and street teams those of
    their unit, with the reporter's name and phone masked, phone numbers masked in every text, and without the
    report's callback and attachment links; grid apps what they submitted. Adjudicators, operators and admins
    see every case whole, and each read of personal data lands in the audit log.
    """
    stored = await read_case(deps.db, case_id, whole=oversees(caller))
    if stored is None or not may_read(caller, stored.parties):
        raise Problem(404, "Case not found", f"no case {case_id!r} (a new report takes a moment to route)")
    if oversees(caller):
        await record_personal_reads(deps.db, caller, [(case_id, stored.report)], via="GET /v1/cases/{case_id}")
        body = stored.body
    else:
        body = _shared(caller, stored)
    # Written by orjson from what the database handed back, without a second validation (the response_model
    # documents the shape).
    return Response(orjson.dumps(body), media_type="application/json")


def _encode(case: Case) -> str:
    return base64.urlsafe_b64encode(f"{case.received_at.isoformat()}|{case.case_id}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, case_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return check_instant(datetime.fromisoformat(at)), case_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(422, "Invalid cursor", "pass back next_cursor exactly as given") from exc


@router.get("/v1/cases", response_model=CasePage, responses={401: {"description": "not authenticated"}})
async def list_cases(
    deps: DepsDep,
    caller: CallerDep,
    department: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=24)] = None,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    since: Instant | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CasePage:
    """Cases newest first, filtered; pass `next_cursor` back as `cursor` for the next page.

    A department lists the cases it holds (a street team those of its unit), a grid app what it submitted.
    """
    query = (select(Case).where(_visible(caller)).order_by(Case.received_at.desc(), Case.case_id.desc())
             .limit(limit + 1))
    if department:
        query = query.where(Case.department == department)
    if status:
        query = query.where(Case.status == status)
    if unit:
        query = query.where(Case.unit == unit)
    if overdue is not None:
        query = query.where(Case.overdue == overdue)
    if since is not None:  # Instant: naive or out-of-range times are a 422 before this
        query = query.where(Case.received_at >= since)
    if cursor:
        query = query.where(tuple_(Case.received_at, Case.case_id) < tuple_(*_decode(cursor)))
    async with deps.db.sessions() as session:
        cases = (await session.execute(query)).scalars().all()
    page = cases[:limit]
    return CasePage(items=[CaseSummary(**_summary(c)) for c in page],
                    next_cursor=_encode(page[-1]) if len(cases) > limit else None)
