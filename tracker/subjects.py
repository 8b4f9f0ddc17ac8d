"""Subjects, credit tiers and joint inspections (issue 15 §1–3): the tracker's record of who cases are about.

A routed case is linked to the subject of the first of its keys the tracker knows (the router names them:
credit code, business name at an address, place), or to a new one. After each change of a subject's record (a
new case, a feedback, a late rectification, a merge) its tier is computed anew by the catalogue's scoring
(tracker.domain.credit); a change is a case event (`tier_changed`, whose `subject_tier` the router keeps for the
next dispatches) and an audit row. A new case may fire a trigger (tracker.domain.triggers): the inspection's
window key is inserted ON CONFLICT DO NOTHING, so of several replicas only the one whose insert lands opens the
inspection, a case of its own (rule JOINT) dispatched through the outbox and tracked like any other.

Concurrent changes of one subject queue on its row (SELECT … FOR UPDATE, in id order), so two replicas linking
the third and fourth report of a subject at once do not both count two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from catalogue.binding import bind
from catalogue.model import Catalogue, Trigger
from schemas.decision import Decision, DecisionStatus, Evidence, Rule, SubjectRef, Tier
from schemas.events import InspectionOpened
from schemas.report import Hazard, Location, Report, Source
from services import audit
from services.db import dialect_insert, dialect_of, insert_for, table_of
from services.principal import Caller
from tracker import metrics
from tracker.domain import commands as cmd
from tracker.domain.case import CaseState
from tracker.domain.commands import EscalationKind
from tracker.domain.credit import Assessment, SubjectCase, assess
from tracker.domain.sla import TZ
from tracker.domain.state import apply, new_case
from tracker.domain.triggers import Firing, fired
from tracker.notices import stage_inspection, stage_transition
from tracker.store import codec
from tracker.store.cases import save, state_of
from tracker.store.models import Case, JointInspection, Subject, SubjectKey, TrackerAudit

if TYPE_CHECKING:
    from tracker.handlers import Deps

SYSTEM = "system:tracker"  # the actor of what the tracker does by itself (tiers, inspections)
JOINT = Rule.JOINT  # the rule of a joint inspection's case
MAX_MERGE_HOPS = 8
KEY_STRENGTH = {"uscc": 0, "name": 1, "place": 2}


class SubjectRefused(Exception):
    """A merge the tracker will not do; `status` is the HTTP status the API answers."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def subject_id_of(key: str) -> str:
    """A subject's id from its first key: every replica creating it names it alike."""
    return "S" + hashlib.sha1(key.encode()).hexdigest()[:12].upper()


def inspection_case_id(firing: Firing, now: datetime) -> str:
    """J<day>-<hash of the window key>: dated like case ids, one per window key."""
    return f"J{now.astimezone(TZ):%Y%m%d}-{hashlib.sha1(firing.key.encode()).hexdigest()[:10].upper()}"


@dataclass(frozen=True)
class Linked:
    """A newly routed case and the subject the router named for it."""

    row: Case
    subject: SubjectRef


def subject_case(row: Case, state: CaseState | None = None) -> SubjectCase:
    """What the tiers and triggers read of a case row."""
    state = state or state_of(row)
    reported = (row.report or {}).get("reported_at")
    reported_at = datetime.fromisoformat(reported) if isinstance(reported, str) else row.received_at
    late = any(kind is EscalationKind.feedback_overdue for kind, _ in state.escalations)
    return SubjectCase(row.case_id, reported_at, hazard=(row.hazard or "none") != Hazard.none.value,
                       outcome=state.outcome.value if state.outcome else None, feedback_at=state.feedback_at,
                       feedback_late=late)


async def catalogue_in_force(session: AsyncSession, deps: Deps) -> Catalogue:
    return await deps.catalogue(session, deps.settings)


async def link_cases(session: AsyncSession, deps: Deps, linked: Sequence[Linked], *, now: datetime) -> None:
    """Link new cases to their subjects, then re-assess those subjects and open the inspections their triggers
    call for (deps: tracker.handlers.Deps). New case rows are best still pending: they are inserted with their
    subject, not updated after."""
    if not linked:
        return
    keys = sorted({key for item in linked for key in item.subject.keys})
    with session.no_autoflush:  # the new case rows wait for their subject ids (below)
        cat = await catalogue_in_force(session, deps)
        known, created, inserted = await _claim(session, linked, keys, cat, now=now)
    subject_of = {item.row.case_id: next(known[key] for key in item.subject.keys if key in known)
                  for item in linked}
    for item in linked:  # before the lock below flushes new case rows: their INSERT carries it, no UPDATE follows
        item.row.subject_id = subject_of[item.row.case_id]
    # The subjects this transaction created need no read back (nor a lock: no other transaction sees them yet).
    subjects = _adopt(session, inserted)
    subjects.update(await lock_subjects(session, deps, set(subject_of.values()) - subjects.keys()))
    for item in linked:
        item.row.subject_id = _surviving(subjects, subject_of[item.row.case_id])
        subject = subjects.get(item.row.subject_id)
        if subject is not None and subject.credit_code is None and item.subject.credit_code:
            subject.credit_code = item.subject.credit_code  # known by its name first, its code came later
    await session.flush()
    new_cases: dict[str, list[Case]] = {}
    for item in linked:
        assert item.row.subject_id is not None
        new_cases.setdefault(item.row.subject_id, []).append(item.row)
    await reassess(session, deps, cat, new_cases.keys(), now=now,
                   cause={sid: rows[-1] for sid, rows in new_cases.items()}, new_cases=new_cases, locked=subjects,
                   created=created)


async def _claim(session: AsyncSession, linked: Sequence[Linked], keys: Sequence[str], cat: Catalogue, *,
                 now: datetime) -> tuple[dict[str, str], dict[str, list[str]], list[dict[str, Any]]]:
    """Each key's subject: those known, then new subjects and keys inserted (ON CONFLICT DO NOTHING). Returns every
    key's owner, the subjects this transaction created with the keys it gave them, and their rows as inserted.

    A subject created here holds nothing but what this transaction gives it: until the commit, another replica
    linking a case to it waits on its row (the insert below), so its keys are those taken here. It is inserted
    with the standing its new cases give it, which reassess then finds unchanged (no UPDATE), unless a key
    another replica claimed meanwhile sent some of those cases elsewhere."""
    known = await _owners(session, keys)
    fresh: dict[str, dict[str, Any]] = {}
    claims: dict[str, str] = {}
    cases_of: dict[str, list[Case]] = {}
    # The strongest keys first (a credit code), so a shop reported with its code and by its name in one batch is
    # one subject, the code's; a later key of a known subject joins it.
    for item in sorted(linked, key=lambda item: KEY_STRENGTH.get(item.subject.keys[0].split(":", 1)[0], 9)):
        owner = next((known[key] for key in item.subject.keys if key in known), None)
        owner = owner or next((claims[key] for key in item.subject.keys if key in claims), None)
        if owner is None:
            first = item.subject.keys[0]
            owner = subject_id_of(first)
            fresh.setdefault(owner, {
                "id": owner, "kind": first.split(":", 1)[0], "name": item.subject.name,
                "address": item.subject.address, "unit": item.row.unit, "credit_code": item.subject.credit_code,
                "tier": "A", "score": 0.0, "reasons": [], "cases": 0, "last_reported_at": None,
                "merged_into": None, "created_at": now, "updated_at": now})
        for key in item.subject.keys:
            if key not in known:  # a key known already keeps its subject
                claims.setdefault(key, owner)
        cases_of.setdefault(owner, []).append(item.row)
    since = window_start(cat, now)
    for sid, values in fresh.items():
        values.update(standing(cat, own_record(cases_of[sid], since), now=now)[1])
    created: set[str] = set()
    taken: set[str] = set()
    if fresh:
        # In id order, as the keys below in key order: two replicas inserting the same new rows wait on each
        # other in one order, never in a circle.
        created = set((await session.execute(_new_subjects(dialect_of(session)),
                                             [fresh[i] for i in sorted(fresh)])).scalars().all())
    if claims:
        taken = set((await session.execute(_new_keys(dialect_of(session)),
                                           [{"key": k, "subject_id": v} for k, v in sorted(claims.items())])
                     ).scalars().all())
        known.update({key: claims[key] for key in taken})
        # A key another replica claimed since the read above: its subject is what the database holds.
        known.update(await _owners(session, sorted(claims.keys() - taken)))
    return (known, {sid: sorted(key for key in taken if claims[key] == sid) for sid in created},
            [fresh[sid] for sid in sorted(created)])


def _adopt(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[str, Subject]:
    """Rows this transaction inserted (every column given), as persistent subjects without a SELECT: what is
    changed on them is written by the flush as for any loaded row."""
    adopted: dict[str, Subject] = {}
    for values in rows:
        subject = Subject(**values)
        make_transient_to_detached(subject)  # an existing row whose columns are all loaded
        session.add(subject)
        adopted[subject.id] = subject
    return adopted


async def _owners(session: AsyncSession, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    rows = (await session.execute(_OWNERS, {"keys": list(keys)})).all()
    return {row.key: row.subject_id for row in rows}


# Statements of every poll, built once: building them costs more Python than running them.
_KEYS = table_of(SubjectKey)
_OWNERS = select(_KEYS.c.key, _KEYS.c.subject_id).where(_KEYS.c.key.in_(bindparam("keys", expanding=True)))
_LOCK_SUBJECTS = select(Subject).where(Subject.id.in_(bindparam("ids", expanding=True))).order_by(Subject.id) \
    .with_for_update()
_RECORDS = select(Case).where(Case.subject_id.in_(bindparam("ids", expanding=True)),
                              Case.received_at >= bindparam("since")).order_by(Case.received_at)


@cache
def _new_subjects(dialect: str) -> Insert:
    table = table_of(Subject)
    return insert_for(dialect, table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)


@cache
def _new_keys(dialect: str) -> Insert:
    return insert_for(dialect, _KEYS).on_conflict_do_nothing(index_elements=["key"]).returning(_KEYS.c.key)


async def lock_subjects(session: AsyncSession, deps: Deps, ids: Iterable[str]) -> dict[str, Subject]:
    """The subjects (and those they were merged into), locked in id order on PostgreSQL."""
    found: dict[str, Subject] = {}
    asked: set[str] = set()
    wanted = set(ids)
    for _ in range(MAX_MERGE_HOPS):
        missing = sorted(wanted - asked)
        if not missing:
            break
        asked |= set(missing)
        # Row locks are always asked for: SQLite's dialect drops the clause (one process writes there).
        for subject in (await session.execute(_LOCK_SUBJECTS, {"ids": missing})).scalars().all():
            found[subject.id] = subject
            if subject.merged_into:
                wanted.add(subject.merged_into)
    return found


def _surviving(subjects: dict[str, Subject], subject_id: str) -> str:
    for _ in range(MAX_MERGE_HOPS):
        subject = subjects.get(subject_id)
        if subject is None or not subject.merged_into:
            return subject_id
        subject_id = subject.merged_into
    return subject_id


async def records_of(session: AsyncSession, subject_ids: Iterable[str], *, since: datetime
                     ) -> dict[str, list[tuple[Case, SubjectCase]]]:
    """Each subject's cases received since `since` with what the tiers and triggers read of them: a busy place
    gathers cases for years, and only the scoring's and the triggers' windows count."""
    ids = sorted(set(subject_ids))
    if not ids:
        return {}
    rows = (await session.execute(_RECORDS, {"ids": ids, "since": since})).scalars().all()
    out: dict[str, list[tuple[Case, SubjectCase]]] = {sid: [] for sid in ids}
    for row in rows:
        assert row.subject_id is not None
        out[row.subject_id].append((row, subject_case(row)))
    return out


async def reassess(session: AsyncSession, deps: Deps, cat: Catalogue, subject_ids: Iterable[str], *, now: datetime,
                   cause: dict[str, Case], new_cases: dict[str, list[Case]] | None = None,
                   merged: bool = False, locked: dict[str, Subject] | None = None,
                   created: dict[str, list[str]] | None = None) -> None:
    """Compute the subjects' tiers anew; a change (or a merge) is a case event on the causing case and an audit
    row; the new cases may fire triggers. The subjects are locked here, unless the caller locked them already
    (`locked`, from lock_subjects in this transaction). A subject `created` in this transaction (its id → its
    keys) has no cases but its `new_cases` and no other keys: neither is read back."""
    ids = sorted(set(subject_ids))
    subjects = locked if locked is not None and locked.keys() >= set(ids) else await lock_subjects(session, deps, ids)
    since = window_start(cat, now)
    created = {sid: keys for sid, keys in (created or {}).items() if sid in ids}
    records = await records_of(session, [sid for sid in ids if sid not in created], since=since)
    for sid in created:
        records[sid] = own_record((new_cases or {}).get(sid, []), since)
    announce: dict[str, tuple[str | None, Assessment]] = {}
    firings: list[tuple[Firing, Case]] = []
    for sid in ids:
        subject, record = subjects[sid], records[sid]
        # A new subject's first tier is announced too (one created here was inserted with its standing).
        before = None if sid in created or not subject.cases else subject.tier
        assessment, columns = standing(cat, record, now=now)
        for column, value in columns.items():
            setattr(subject, column, value)
        if before != assessment.tier or merged:
            announce[sid] = (before, assessment)
        by_id = {c.case_id: c for _, c in record}
        for row in (new_cases or {}).get(sid, []):
            for firing in fired(cat.supervision.triggers, sid, [c for _, c in record], by_id[row.case_id],
                                assessment.tier):
                firings.append((firing, row))
    if announce:
        await _announce(session, deps, announce, cause, now=now, merged=merged, keys=created)
    if firings:
        await open_inspections(session, deps, cat, firings, subjects, records, now=now)


def window_start(cat: Catalogue, now: datetime) -> datetime:
    """The oldest case the tiers' and triggers' windows count (a day more, for late arrivals)."""
    supervision = cat.supervision
    days = max([supervision.tiers.window_days, *(t.within_days for t in supervision.triggers)])
    return now - timedelta(days=days + 1)


def own_record(rows: Iterable[Case], since: datetime) -> list[tuple[Case, SubjectCase]]:
    """A subject's record from its case rows in hand (records_of reads them), oldest first."""
    return [(row, subject_case(row)) for row in sorted(rows, key=lambda row: row.received_at)
            if row.received_at >= since]


def standing(cat: Catalogue, record: Sequence[tuple[Case, SubjectCase]], *, now: datetime
             ) -> tuple[Assessment, dict[str, Any]]:
    """A subject's assessment on its record, and the subject's columns that follow from it."""
    assessment = assess([c for _, c in record], cat.supervision.tiers, now=now)
    return assessment, {
        "tier": assessment.tier, "score": assessment.score,
        "reasons": [{"what": r.what, "count": r.count, "points": r.points} for r in assessment.reasons],
        "cases": len(record), "last_reported_at": max((c.reported_at for _, c in record), default=None),
        "updated_at": now}


async def _announce(session: AsyncSession, deps: Deps, announce: dict[str, tuple[str | None, Assessment]],
                    cause: dict[str, Case], *, now: datetime, merged: bool, keys: dict[str, list[str]]) -> None:
    """`keys`: those of the subjects whose keys are known already (in key order); the others' are read."""
    keys = {sid: keys[sid] if sid in keys else [] for sid in announce}
    if unknown := sorted(sid for sid in announce if not keys[sid]):
        rows = (await session.execute(select(SubjectKey.key, SubjectKey.subject_id)
                                      .where(SubjectKey.subject_id.in_(unknown)).order_by(SubjectKey.key))).all()
        for row in rows:
            keys[row.subject_id].append(row.key)
    for sid, (before, assessment) in announce.items():
        case = cause.get(sid)
        detail = {"from": before, "to": assessment.tier, "score": assessment.score,
                  "reasons": [{"what": r.what, "count": r.count, "points": r.points} for r in assessment.reasons]}
        if before is not None and before != assessment.tier:
            metrics.subject_tier_changes_total.labels(assessment.tier).inc()
        if before is not None or merged:  # a change is audited; a new subject's first tier is not a change
            audit.record(session, TrackerAudit, SYSTEM, "subject.merge.tier" if merged else "subject.tier", sid,
                         {**detail, "case": case.case_id if case else None})
        if case is None:
            continue
        kind = "subject_merged" if merged else "tier_changed"
        stage_transition(session, deps.settings, case,
                         cmd.Transition(kind, case.status, case.status, now, case.department, detail),
                         actor="tracker",
                         unmasked={"subject_tier": {"subject": sid, "keys": keys[sid], "tier": assessment.tier}})


async def refresh_after(session: AsyncSession, deps: Deps, row: Case, *, now: datetime) -> None:
    """A change of this case's record (its feedback, a late rectification): re-assess its subject."""
    if row.subject_id is None:
        return
    cat = await catalogue_in_force(session, deps)
    await session.flush()
    await reassess(session, deps, cat, [row.subject_id], now=now, cause={row.subject_id: row})


# Joint inspections (联合检查) ------------------------------------------------------------------------------


async def open_inspections(session: AsyncSession, deps: Deps, cat: Catalogue, firings: list[tuple[Firing, Case]],
                           subjects: dict[str, Subject], records: dict[str, list[tuple[Case, SubjectCase]]], *,
                           now: datetime) -> None:
    """Claim each firing's window key; a claimed one opens its inspection, the others were opened before."""
    unique = {firing.key: (firing, row) for firing, row in reversed(firings)}  # the first firing of a key wins
    values = [{"window_key": key, "trigger": f.trigger.id, "subject_id": f.subject_id,
               "case_id": inspection_case_id(f, now), "cause_case_id": row.case_id, "why": f.why,
               "catalogue_version": cat.version, "opened_at": now} for key, (f, row) in sorted(unique.items())]
    statement = dialect_insert(session, table_of(JointInspection)).values(values)
    claimed = set((await session.execute(statement.on_conflict_do_nothing(index_elements=["window_key"])
                                         .returning(JointInspection.window_key))).scalars().all())
    for key in sorted(claimed):
        firing, cause = unique[key]
        await _open_inspection(session, deps, cat, firing, cause, subjects[firing.subject_id],
                               [row for row, _ in records[firing.subject_id]], now=now)


async def _open_inspection(session: AsyncSession, deps: Deps, cat: Catalogue, firing: Firing, cause: Case,
                           subject: Subject, cases: list[Case], *, now: datetime) -> None:
    supervisors = {bind(cat.rules.local_team, subject.unit, cat), cat.rules.safety_office}
    responsible = [d for d in dict.fromkeys([cause.department, *(r.department for r in reversed(cases))])
                   if d and d not in supervisors and d != cat.rules.gap_adjudicator]
    lead = responsible[0] if responsible else cat.rules.safety_office
    cooperating = responsible[1:]
    # Its street team and safety-office (once: a subject of no known unit has safety-office as its street team).
    cc = [d for d in dict.fromkeys((bind(cat.rules.local_team, subject.unit, cat), cat.rules.safety_office))
          if d != lead]
    terms = cat.supervision.joint_inspection
    trigger: Trigger = firing.trigger
    tier: Tier = subject.tier  # type: ignore[assignment]  # one of A–D
    case_id = inspection_case_id(firing, now)
    listed = "、".join(r.case_id for r in cases[-10:])
    report = Report(
        external_id=firing.key, source=Source.inspection, reported_at=now,
        location=Location(unit=subject.unit, address=(cause.report or {}).get("location", {}).get("address")),
        title=f"联合检查：{subject.name or subject.address or subject.id}（{trigger.name}）",
        description=(f"触发条件 {trigger.id}「{trigger.name}」：{firing.why}。主体 {subject.id}，信用等级 {tier}"
                     f"，近期案件 {len(cases)} 件：{listed}。请牵头部门会同配合部门、属地街道与安委办开展联合检查，"
                     "按时报到并反馈检查结果。"))
    decision = Decision(
        external_id=firing.key, status=DecisionStatus.routed, rule=JOINT, primary=lead, cooperating=cooperating,
        cc=cc, feedback_to=[d for d in cc if d != lead], deadline_days=terms.deadline_days,
        ack_hours=terms.ack_hours, hazard=Hazard(cause.hazard or "none"), unit=subject.unit, confidence=1.0,
        evidence=[Evidence(kind="trigger", what=f"trigger={trigger.id}", source="subject", words=[firing.why])],
        catalogue_version=cat.version,
        subject=SubjectRef(keys=[], id=subject.id, name=subject.name, address=subject.address,
                           credit_code=subject.credit_code, tier=tier))
    state = new_case(case_id, received_at=now)
    row = Case(case_id=case_id, status=state.status.value, source=Source.inspection.value, unit=subject.unit,
               rule=JOINT, hazard=decision.hazard.value, attempt=0, report=report.model_dump(mode="json"),
               decision=decision.model_dump(mode="json"), state=codec.dump(state), received_at=now, updated_at=now,
               overdue=False, submitted_by=None)
    session.add(row)
    stage_transition(session, deps.settings, row, cmd.Transition("received", "", "received", now, None,
                                                                 {"trigger": trigger.id, "subject": subject.id,
                                                                  "cause": cause.case_id}), actor="tracker")
    for command in (cmd.Route(lead, terms.ack_hours, terms.deadline_days), cmd.Dispatch(lead)):
        state, transitions = apply(state, command, now=now)
        for transition in transitions:
            stage_transition(session, deps.settings, row, transition, actor="tracker")
    # The router dispatches it, as every dispatch: the notice above is what the departments receive.
    stage_inspection(session, deps.settings, InspectionOpened(
        case_id=case_id, attempt=state.attempt, rule=JOINT, trigger=trigger.id, lead=lead,
        cooperating=cooperating, cc=cc, unit=subject.unit, deadline_days=terms.deadline_days,
        ack_hours=terms.ack_hours, tier=tier, subject=subject.id, notice=report))
    await save(session, row, state, now=now, calendar=deps.calendar)
    metrics.joint_inspections_total.labels(trigger.id).inc()
    audit.record(session, TrackerAudit, SYSTEM, "inspection.open", case_id,
                 {"trigger": trigger.id, "subject": subject.id, "window": firing.window, "cause": cause.case_id,
                  "why": firing.why, "lead": lead, "cooperating": cooperating, "cc": cc})


# Merges -----------------------------------------------------------------------------------------------------


async def merge(session: AsyncSession, deps: Deps, source_id: str, into_id: str, *, caller: Caller, reason: str,
                now: datetime) -> Subject:
    """The same business under two subjects (two names, a code given later): `source_id`'s keys and cases move to
    `into_id`, whose tier is computed anew from the joint record; audited as subject.merge."""
    if source_id == into_id:
        raise SubjectRefused(422, "Invalid merge", "a subject cannot be merged into itself")
    # The cases first, then the subjects: the order a reply on one of them takes (its case, then its subject).
    cases = select(Case.case_id).where(Case.subject_id.in_([source_id, into_id])).order_by(Case.case_id)
    await session.execute(cases.with_for_update())
    subjects = await lock_subjects(session, deps, [source_id, into_id])
    source, into = subjects.get(source_id), subjects.get(into_id)
    if source is None or into is None:
        raise SubjectRefused(404, "Subject not found", f"no subject {source_id if source is None else into_id}")
    for subject in (source, into):
        if subject.merged_into:
            raise SubjectRefused(409, "Subject merged already",
                                 f"{subject.id} was merged into {subject.merged_into}: merge that one")
    moved = (await session.execute(select(Case.case_id).where(Case.subject_id == source_id))).scalars().all()
    await session.execute(update(SubjectKey).where(SubjectKey.subject_id == source_id).values(subject_id=into_id))
    await session.execute(update(Case).where(Case.subject_id == source_id).values(subject_id=into_id))
    source.merged_into, source.updated_at = into_id, now
    source.tier, source.score, source.reasons, source.cases = into.tier, 0.0, [], 0
    if into.credit_code is None and source.credit_code:
        into.credit_code = source.credit_code
    audit.record(session, TrackerAudit, caller.actor, "subject.merge", into_id,
                 {"merged": source_id, "into": into_id, "reason": reason, "cases": list(moved)})
    await session.flush()
    latest = (await session.execute(select(Case).where(Case.subject_id == into_id)
                                    .order_by(Case.received_at.desc(), Case.case_id.desc()).limit(1))
              ).scalar_one_or_none()
    cat = await catalogue_in_force(session, deps)
    await reassess(session, deps, cat, [into_id], now=now, cause={into_id: latest} if latest else {}, merged=True,
                   locked=subjects)
    return into

