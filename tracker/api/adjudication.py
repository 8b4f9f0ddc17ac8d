"""The adjudication queue and rulings over HTTP (ROUTING §6): gaps and disputes, similar cases, gap clusters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.text import StorableText
from services.caller import require_roles
from services.principal import Caller
from services.problems import Problem
from tracker import adjudication as adj
from tracker import adjudication_queue as adjq
from tracker.api.deps import DepsDep
from tracker.domain.commands import Principle
from tracker.handlers import CaseNotFound
from tracker.privacy import record_personal_reads

router = APIRouter(tags=["adjudication"])
Reader = Annotated[Caller, Depends(require_roles("adjudicator", "operator", "admin"))]
Adjudicator = Annotated[Caller, Depends(require_roles("adjudicator"))]
Dept = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*(\{unit\})?[a-z0-9-]*$")]
Word = Annotated[str, Field(min_length=1, max_length=40)]
ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "caller unknown"}, 403: {"description": "needs the adjudicator role"},
    404: {"description": "no such case"}, 409: {"description": "the case is not waiting for a ruling"},
    422: {"description": "invalid ruling (unknown department, legal principle without basis, ...)"},
}


class SimilarCase(BaseModel):
    case_id: str
    score: float
    text: str
    ruling: dict[str, Any]


class QueueItem(BaseModel):
    id: str
    case_id: str
    kind: Literal["gap", "dispute"]
    status: str
    unit: str | None
    received_at: datetime
    report: dict[str, Any] | None
    decision: dict[str, Any] | None
    returns: list[dict[str, Any]]
    similar: list[SimilarCase]


class RulingBody(StorableText):
    """A ruling (裁决): lead, cooperating departments and the principle: competent 谁主管, main 谁为主,
    nearest 谁靠近, legal 有法可循 (with its basis), no_basis 无据可依."""

    model_config = ConfigDict(extra="forbid")

    lead: Dept
    cooperating: Annotated[list[Dept], Field(max_length=10)] = Field(default_factory=list)
    principle: Principle
    basis: Annotated[str, Field(max_length=2000)] = ""  # required text for `legal`
    note: Annotated[str, Field(max_length=4000)] = ""
    save_as_rule: bool = False
    terms: Annotated[list[Word], Field(max_length=20)] = Field(default_factory=list)
    min_terms: Annotated[int | None, Field(ge=1, le=20)] = None
    units: Annotated[list[Dept], Field(max_length=50)] = Field(default_factory=list)
    also: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=500)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _basis(self) -> RulingBody:
        if self.principle is Principle.legal and not self.basis.strip():
            raise ValueError("a ruling by law (有法可循) needs its legal basis")
        return self

    def to_input(self) -> adj.RulingInput:
        return adj.RulingInput(lead=self.lead, principle=self.principle, cooperating=tuple(self.cooperating),
                               basis=self.basis, note=self.note, save_as_rule=self.save_as_rule,
                               terms=tuple(self.terms), min_terms=self.min_terms, units=tuple(self.units),
                               also=tuple(self.also))


class RulingResult(BaseModel):
    ruled: list[str]
    lead: str
    rule_id: str | None
    catalogue_version: str | None
    terms: list[str]
    offered_for_rerouting: list[str]


class RerouteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_ids: Annotated[list[Annotated[str, Field(max_length=32)]], Field(min_length=1, max_length=1000)]


class RerouteResult(BaseModel):
    rerouted: dict[str, str]
    skipped: dict[str, str]


class GapCluster(BaseModel):
    size: int
    terms: list[str]
    units: list[str]
    case_ids: list[str]
    first_at: datetime
    last_at: datetime
    titles: list[str]


def refused(exc: adj.Refused) -> Problem:
    return Problem(exc.status, exc.title, exc.detail)


@router.get("/v1/adjudications", response_model=list[QueueItem], responses=ERRORS)
async def list_queue(deps: DepsDep, caller: Reader, kind: Literal["gap", "dispute"] | None = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict[str, Any]]:
    """Gaps (R10) and disputes waiting for a ruling: report, decision trace, returns, similar earlier rulings.

    The reports are whole: each one with the reporter's name or phone is audited as a read of personal data."""
    items = await adjq.queue(deps, kind=kind, limit=limit)
    await record_personal_reads(deps.db, caller, [(i["case_id"], i["report"]) for i in items],
                                via="GET /v1/adjudications")
    return items


@router.get("/v1/adjudications/clusters", response_model=list[GapCluster], responses=ERRORS)
async def clusters(deps: DepsDep, _: Reader, days: Annotated[int, Query(ge=1, le=366)] = 30,
                   threshold: Annotated[float, Query(gt=0, le=1)] = 0.15) -> list[dict[str, Any]]:
    """Recent gap cases clustered by similar text and place (发现空白), largest first, with suggested terms."""
    return await adjq.gap_clusters(deps, days=days, threshold=threshold)


@router.get("/v1/adjudications/{case_id}", response_model=QueueItem, responses=ERRORS)
async def one(case_id: str, deps: DepsDep, caller: Reader) -> dict[str, Any]:
    """One case of the queue with its context (a read of personal data when its report has them: audited)."""
    items = await adjq.queue(deps, case_id=case_id)
    if not items:
        raise Problem(404, "Not in the queue", f"no case {case_id!r} waits for a ruling")
    await record_personal_reads(deps.db, caller, [(case_id, items[0]["report"])],
                                via="GET /v1/adjudications/{case_id}")
    return items[0]


@router.post("/v1/adjudications/{case_id}/ruling", response_model=RulingResult, responses=ERRORS)
async def rule(case_id: str, body: RulingBody, deps: DepsDep, caller: Adjudicator) -> RulingResult:
    """Rule on a gap or dispute: the case goes to the lead at once; `save_as_rule` publishes a catalogue version
    carrying the rule and lists the pending gap cases it covers (re-route them with /v1/adjudications/reroute)."""
    try:
        out = await adj.rule(deps, case_id, body.to_input(), caller)
    except CaseNotFound as exc:
        raise Problem(404, "Case not found", f"no case {exc.args[0]!r}") from exc
    except adj.Refused as exc:
        raise refused(exc) from exc
    return RulingResult(ruled=out.ruled, lead=out.lead, rule_id=out.rule_id, catalogue_version=out.catalogue_version,
                        terms=out.terms, offered_for_rerouting=out.offered)


@router.post("/v1/adjudications/reroute", response_model=RerouteResult, responses=ERRORS)
async def reroute(body: RerouteBody, deps: DepsDep, caller: Adjudicator) -> RerouteResult:
    """Re-route pending gap cases in bulk by the catalogue in force (the saved rules that now cover them)."""
    out = await adj.reroute(deps, body.case_ids, caller)
    return RerouteResult(rerouted=out.rerouted, skipped=out.skipped)
