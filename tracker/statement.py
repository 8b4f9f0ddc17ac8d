"""The monthly statement (信息互通) the 海曙 rules send to 区安委办, and the department scorecards (考核).

Everything here is read from the tracker's record and counted by the domain functions /v1/stats uses
(`stats_of`, `figures`, `scorecard`): the statement's figures are /v1/stats?month= and /v1/scorecards?month=,
laid out for a reader. The cohort is the month's: cases first dispatched in it (as /v1/stats counts a window),
with what became of them up to the moment the statement is produced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tracker.api.stats import Stats, stats_of
from tracker.domain import scorecard as sc
from tracker.domain.scorecard import Month, Settlement
from tracker.handlers import Deps
from tracker.store import catalogue as versions
from tracker.store.figures import dispatch_records, escalation_records, gaps_since
from tracker.store.statement import (
    InspectionRecord,
    RepeatSubject,
    inspections_opened,
    received_cases,
    repeat_subjects,
    rulings_on,
    versions_published,
)

SUBJECTS_NOTE = ("重复举报主体：本月收到两件及以上案件的主体（按收件计，等级为出具时的信用等级）；联合检查：本月由触发"
                 "条件开启的联合检查及其现状。")


class OnTimeRead(BaseModel):
    value: float | None
    on_time: int
    decided: int
    pending: int  # not decided yet (not answered and not escalated): not in the denominator


class ScorecardRead(BaseModel):
    rank: int
    department: str
    name: str
    dispatched: int
    ack_on_time: OnTimeRead
    feedback_on_time: OnTimeRead
    returns: int
    returns_upheld: int
    returns_overturned: int
    returns_rerouted: int
    returns_awaiting: int
    reopened: int
    median_ack_seconds: float | None
    median_feedback_seconds: float | None


class Scorecards(BaseModel):
    month: str
    since: datetime
    until: datetime
    departments: list[ScorecardRead]


class CaseBreakdown(BaseModel):
    received: int
    by_source: dict[str, int]
    by_unit: dict[str, int]
    by_rule: dict[str, int]
    by_department: dict[str, int]  # the department of the first dispatch; `none`: not dispatched


class ReturnSettlements(BaseModel):
    reason: str
    total: int
    upheld: int
    overturned: int
    rerouted: int
    awaiting: int


class VersionRead(BaseModel):
    version: str
    parent: str | None
    author: str
    reason: str
    from_case: str | None
    published_at: datetime
    rulings_added: list[str]


class SubjectsSection(BaseModel):
    available: bool = True
    note: str = SUBJECTS_NOTE
    # The store's records, as they are: the statement shows what the month's queries found.
    repeat_subjects: list[RepeatSubject] = []
    inspections: list[InspectionRecord] = []
    inspections_by_trigger: dict[str, int] = {}


class MonthlyStatement(BaseModel):
    month: str
    since: datetime
    until: datetime
    produced_at: datetime
    catalogue_version: str
    names: dict[str, str]  # department code → name, for the departments the statement mentions
    figures: Stats  # exactly GET /v1/stats?month=
    cases: CaseBreakdown
    scorecards: list[ScorecardRead]  # exactly GET /v1/scorecards?month=
    escalations: dict[str, dict[str, int]]  # figures.overdue_by_department, repeated for the reader
    returns: list[ReturnSettlements]
    catalogue_versions: list[VersionRead]
    subjects: SubjectsSection


def _seconds(value: Any) -> float | None:
    return value.total_seconds() if value is not None else None


def _on_time(o: sc.OnTime) -> OnTimeRead:
    return OnTimeRead(value=o.value, on_time=o.on_time, decided=o.decided, pending=o.pending)


def scorecard_reads(cards: list[sc.Scorecard], names: dict[str, str]) -> list[ScorecardRead]:
    return [ScorecardRead(
        rank=i, department=c.department, name=names.get(c.department, c.department), dispatched=c.dispatched,
        ack_on_time=_on_time(c.ack), feedback_on_time=_on_time(c.feedback), returns=c.returns,
        returns_upheld=c.returns_by[Settlement.upheld], returns_overturned=c.returns_by[Settlement.overturned],
        returns_rerouted=c.returns_by[Settlement.rerouted], returns_awaiting=c.returns_by[Settlement.awaiting],
        reopened=c.reopened, median_ack_seconds=_seconds(c.median_ack),
        median_feedback_seconds=_seconds(c.median_feedback)) for i, c in enumerate(cards, start=1)]


async def department_names(deps: Deps) -> tuple[str, dict[str, str]]:
    """The catalogue version in force and its department names (per-unit departments bound to every unit)."""
    from tracker.console.routes import department_names as names_of  # the console's one mapping

    async with deps.db.transaction() as session:
        row = await versions.in_force(session, deps.settings)
    return row.version, names_of(versions.parsed(row))


async def monthly(deps: Deps, month: Month) -> MonthlyStatement:
    """The statement of a month, as the record stands now."""
    start, end = month.start, month.end
    async with deps.db.sessions() as session:
        records = await dispatch_records(session, start, end)
        escalations = await escalation_records(session, start)
        gaps = await gaps_since(session, start, end)
        cases = await received_cases(session, start, end)
        rulings = await rulings_on(session, {r.case_id for r in records if r.returned_at is not None})
        published = await versions_published(session, start, end)
        repeats = await repeat_subjects(session, start, end)
        inspections = await inspections_opened(session, start, end)
    version, names = await department_names(deps)
    figures = stats_of(records, escalations, gaps, start, end, window=str(month), now=deps.now())
    settled = sc.settle_returns(records, rulings, start, end)
    cards = scorecard_reads(sc.scorecards(records, escalations, settled, start, end), names)
    by_reason = sc.returns_by_settlement(settled)
    mentioned = {c.first_department for c in cases if c.first_department} | {c.department for c in cards}
    return MonthlyStatement(
        month=str(month), since=start, until=end, produced_at=deps.now(), catalogue_version=version,
        names={d: names.get(d, d) for d in sorted(mentioned | set(figures.overdue_by_department))},
        figures=figures,
        cases=CaseBreakdown(received=len(cases), by_source=sc.breakdown(c.source for c in cases),
                            by_unit=sc.breakdown(c.unit for c in cases), by_rule=sc.breakdown(c.rule for c in cases),
                            by_department=sc.breakdown(c.first_department for c in cases)),
        scorecards=cards, escalations=figures.overdue_by_department,
        returns=[ReturnSettlements(reason=reason.value, total=sum(kinds.values()), **{k.value: n for k, n in
                                                                                       kinds.items()})
                 for reason, kinds in by_reason.items()],
        catalogue_versions=[VersionRead(version=v.version, parent=v.parent, author=v.author, reason=v.reason,
                                        from_case=v.from_case, published_at=v.published_at,
                                        rulings_added=list(v.rulings_added)) for v in published],
        subjects=SubjectsSection(
            repeat_subjects=repeats,
            inspections=inspections,
            inspections_by_trigger=sc.breakdown(i.trigger for i in inspections)),
    )


async def scorecards(deps: Deps, month: Month) -> Scorecards:
    """GET /v1/scorecards?month=: the statement's scorecards alone (one computation)."""
    start, end = month.start, month.end
    async with deps.db.sessions() as session:
        records = await dispatch_records(session, start, end)
        escalations = await escalation_records(session, start)
        rulings = await rulings_on(session, {r.case_id for r in records if r.returned_at is not None})
    _, names = await department_names(deps)
    settled = sc.settle_returns(records, rulings, start, end)
    return Scorecards(month=str(month), since=start, until=end,
                      departments=scorecard_reads(sc.scorecards(records, escalations, settled, start, end), names))
