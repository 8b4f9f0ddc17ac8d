"""The adjudication loop (找空白 → 做裁决 → 抓落实): rulings, rules saved from them, bulk re-routing
(the queue and gap clusters are in adjudication_queue).

A ruling moves the case to its lead at once (adjudicated → dispatched) and goes out as a case.ruled event, which
the router dispatches on the lead's topic. Saved as a
rule, it becomes a new catalogue version on catalogue.v1 that every router replica takes into force; pending gap
cases the new rule covers are offered for re-routing, which applies the rule to each as a ruling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.binding import bind, bound_to_a_unit, unbind
from catalogue.model import Catalogue, CatalogueRuling, RulingMatch
from catalogue.rulings import RULING, ruling_of
from catalogue.validation import department_exists
from schemas.decision import Decision
from schemas.events import CaseRuled
from schemas.report import Report
from services import audit
from services.principal import Caller
from tracker.domain import similarity
from tracker.domain.case import Status
from tracker.domain.commands import Adjudicate, Dispatch, IllegalTransition, Principle
from tracker.handlers import CaseNotFound, Deps, apply_change
from tracker.notices import stage_ruling
from tracker.store import catalogue as versions
from tracker.store.cases import load_for_update, save, state_of
from tracker.store.models import Case, RulingRecord, Subject, TrackerAudit

PENDING = (Status.gap.value, Status.disputed.value)
CORPUS_CASES = 2000  # recent cases whose words weigh the terms (document frequencies)


class Refused(Exception):
    """A ruling or re-routing the tracker will not do; `status` is the HTTP status the API answers."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


@dataclass(frozen=True)
class RulingInput:
    lead: str
    principle: Principle
    cooperating: tuple[str, ...] = ()
    basis: str = ""
    note: str = ""
    save_as_rule: bool = False
    terms: tuple[str, ...] = ()  # the rule's words; suggested from the case (or its cluster) when empty
    min_terms: int | None = None
    units: tuple[str, ...] = ()  # the rule's units; empty: the whole district
    also: tuple[str, ...] = ()  # more cases of the same kind (a gap cluster) ruled alike


@dataclass
class RulingOutcome:
    ruled: list[str]
    lead: str
    rule_id: str | None = None
    catalogue_version: str | None = None
    terms: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)  # pending gap cases the new rule covers


def report_text(report: dict[str, Any] | None) -> str:
    report = report or {}
    return f"{report.get('title') or ''}\n{report.get('description') or ''}".strip()


def places_of(cat: Catalogue) -> frozenset[str]:
    names = [u.name for u in cat.units.values()] + [a.w for u in cat.units.values() for a in u.aliases]
    names += [p for places in cat.gazetteer.values() for p in places]
    return similarity.place_words(names)


def case_doc(row: Case, places: frozenset[str]) -> similarity.Doc:
    location = (row.report or {}).get("location") or {}
    return similarity.Doc(row.case_id, tuple(similarity.terms(report_text(row.report), places)), row.unit,
                          location.get("lat"), location.get("lon"))


def _check_departments(data: RulingInput, cat: Catalogue, unit: str | None) -> None:
    for code in (data.lead, *data.cooperating):
        # A station of another unit (or of a case whose unit the router did not find) is a lawful lead: the
        # adjudicator knows where 明湖社区 lies when the catalogue does not, and that ruling teaches the place.
        if not department_exists(cat, unbind(code, unit, cat)) and not bound_to_a_unit(code, cat):
            raise Refused(422, "Unknown department", f"{code!r} is not a department of catalogue {cat.version}")
    if data.lead in data.cooperating:
        raise Refused(422, "Invalid ruling", "the lead cannot also be a cooperating department")
    if data.principle is Principle.legal and not data.basis.strip():
        raise Refused(422, "Invalid ruling", "a ruling by law (有法可循) needs its legal basis")


async def corpus_of(session: AsyncSession, places: frozenset[str]) -> similarity.Corpus:
    rows = (await session.execute(select(Case.report).order_by(Case.received_at.desc()).limit(CORPUS_CASES))).all()
    return similarity.Corpus.of(similarity.terms(report_text(r[0]), places) for r in rows)


async def suggest_terms(session: AsyncSession, rows: Sequence[Case], cat: Catalogue) -> list[str]:
    """Words naming what these cases share, for a rule's match (the adjudicator may edit them)."""
    places = places_of(cat)
    corpus = await corpus_of(session, places)
    return similarity.key_terms([case_doc(r, places).terms for r in rows], corpus)


async def _apply_ruling(session: AsyncSession, deps: Deps, row: Case, data: RulingInput, cat: Catalogue, *,
                        caller: Caller, now: datetime, rule_id: str | None, decision: Decision | None) -> None:
    state = state_of(row)
    kind = "dispute" if state.status is Status.disputed else "gap"
    lead = bind(data.lead, row.unit, cat)
    cooperating = [c for c in dict.fromkeys(bind(c, row.unit, cat) for c in data.cooperating) if c != lead]
    deadlines = cat.settings.deadlines
    subject = await session.get(Subject, row.subject_id) if row.subject_id else None
    # A tier D subject's case is answered within the hazard window, as the router dispatches it (issue 15 §3).
    ack_hours = cat.settings.ack_hours.hazard if subject is not None and subject.tier == "D" \
        else cat.settings.ack_hours.default
    command = Adjudicate(lead, data.principle, tuple(cooperating), data.basis, caller.actor, ack_hours=ack_hours,
                         deadline_days=deadlines.joint if cooperating else deadlines.standard)
    try:
        state = await apply_change(session, deps, row, state, command, now=now, actor=caller.actor)
        state = await apply_change(session, deps, row, state, Dispatch(lead), now=now, actor=caller.actor)
    except IllegalTransition as exc:
        raise Refused(409, "Not in the adjudication queue", exc.reason) from exc
    if decision is not None:  # re-routed by a saved rule: the decision trace shows the rule
        row.decision, row.rule = decision.model_dump(mode="json"), decision.rule
    stage_ruling(session, deps.settings, CaseRuled(
        case_id=row.case_id, attempt=state.attempt, rule=RULING, rule_id=rule_id, lead=lead, cooperating=cooperating,
        principle=data.principle.value, basis=data.basis, unit=row.unit, deadline_days=state.deadline_days,
        ack_hours=state.ack_hours, ruled_by=caller.actor, at=now, tier=subject.tier if subject else None,
        subject=subject.id if subject else None))
    await save(session, row, state, now=now, calendar=deps.calendar)
    session.add(RulingRecord(case_id=row.case_id, kind=kind, lead=lead, cooperating=cooperating,
                             principle=data.principle.value, basis=data.basis, note=data.note,
                             adjudicator=caller.actor, rule_id=rule_id, catalogue_version=cat.version if rule_id
                             else None, unit=row.unit, text=report_text(row.report), at=now))
    audit.record(session, TrackerAudit, caller.actor, "ruling", row.case_id,
                 {"kind": kind, "lead": lead, "cooperating": cooperating, "principle": data.principle.value,
                  "basis": data.basis, "note": data.note, "rule": rule_id})


def _rule_of(data: RulingInput, cat: Catalogue, row: Case, terms: list[str], caller: Caller,
             now: datetime) -> CatalogueRuling:
    taken = {r.id for r in cat.rulings}
    rule_id, n = f"ruling-{row.case_id.lower()}", 1
    while rule_id in taken:
        n += 1
        rule_id = f"ruling-{row.case_id.lower()}-{n}"
    for code in (data.lead, *data.cooperating):
        if not department_exists(cat, unbind(code, row.unit, cat)):
            raise Refused(422, "Invalid rule", f"a rule serves every unit: {code!r} is bound to a unit other than "
                          f"the case's ({row.unit or 'none found'}); rule without saving, or name {code!r}'s template")
    min_terms = data.min_terms or min(2, len(terms))
    if min_terms > len(terms):
        raise Refused(422, "Invalid rule", f"min_terms {min_terms} exceeds the {len(terms)} term(s)")
    return CatalogueRuling(
        id=rule_id, match=RulingMatch(terms=terms, min_terms=min_terms, units=list(data.units)),
        lead=unbind(data.lead, row.unit, cat), cooperating=[unbind(c, row.unit, cat) for c in data.cooperating],
        principle=data.principle.value, basis=data.basis, note=data.note, ruled_by=caller.actor, ruled_at=now,
        reason=data.note or f"ruling on case {row.case_id}", from_case=row.case_id)


async def rule(deps: Deps, case_id: str, data: RulingInput, caller: Caller) -> RulingOutcome:
    """Rule on a case (and the `also` cases); with save_as_rule, publish the ruling as a catalogue rule."""
    now = deps.now()
    async with deps.db.transaction() as session:
        cat = versions.parsed(await versions.in_force(session, deps.settings))
        rows: list[Case] = []
        for cid in dict.fromkeys((case_id, *data.also)):
            row = await load_for_update(session, cid)
            if row is None:
                raise CaseNotFound(cid)
            rows.append(row)
        _check_departments(data, cat, rows[0].unit)
        first = rows[0]
        outcome = RulingOutcome(ruled=[r.case_id for r in rows], lead=bind(data.lead, first.unit, cat))
        rule_id = None
        if data.save_as_rule:
            terms = [t.strip() for t in data.terms if t.strip()] or await suggest_terms(session, rows, cat)
            if not terms:
                raise Refused(422, "Invalid rule", "no words to match later reports by: give terms")
            ruling = _rule_of(data, cat, first, terms, caller, now)
            document = {**cat.model_dump(mode="json"), "rulings": [*(r.model_dump(mode="json") for r in cat.rulings),
                                                                     ruling.model_dump(mode="json")]}
            version = await versions.publish(session, deps.settings, document, caller=caller,
                                             reason=f"ruling {ruling.id}: {ruling.reason}", from_case=first.case_id)
            audit.record(session, TrackerAudit, caller.actor, "catalogue.publish", version.version,
                         {"rule": ruling.id, "from_case": first.case_id, "terms": terms, "parent": version.parent})
            rule_id, cat = ruling.id, versions.parsed(version)
            outcome.rule_id, outcome.catalogue_version, outcome.terms = ruling.id, version.version, terms
        for row in rows:
            await _apply_ruling(session, deps, row, data, cat, caller=caller, now=now, rule_id=rule_id, decision=None)
    if rule_id is not None:
        outcome.offered = await covered_gaps(deps, rule_id)
    return outcome


def _ruled_by(decision: Decision, rule_id: str | None) -> bool:
    found = ruling_of(decision)
    return found is not None and (rule_id is None or found == rule_id)


async def covered_gaps(deps: Deps, rule_id: str | None = None, limit: int = 1000) -> list[str]:
    """Pending gap cases that the catalogue in force (that rule, when given) now routes by a ruling."""
    async with deps.db.sessions() as session:
        cat = versions.parsed(await versions.in_force(session, deps.settings))
        rows = (await session.execute(select(Case.case_id, Case.report).where(Case.status == Status.gap.value)
                                      .order_by(Case.received_at).limit(limit))).all()
    decide = deps.routing.decide
    return [cid for cid, report in rows if report and _ruled_by(decide(Report.model_validate(report), cat), rule_id)]


@dataclass
class RerouteOutcome:
    rerouted: dict[str, str] = field(default_factory=dict)  # case id -> the department it went to
    skipped: dict[str, str] = field(default_factory=dict)  # case id -> why not


async def reroute(deps: Deps, case_ids: Sequence[str], caller: Caller) -> RerouteOutcome:
    """Re-route pending gap cases by the catalogue in force: each a saved rule covers is ruled by that rule."""
    out = RerouteOutcome()
    now = deps.now()
    async with deps.db.transaction() as session:
        cat = versions.parsed(await versions.in_force(session, deps.settings))
        by_id = {r.id: r for r in cat.rulings}
        for cid in dict.fromkeys(case_ids):
            row = await load_for_update(session, cid)
            if row is None or row.report is None:
                out.skipped[cid] = "no such case"
                continue
            if row.status != Status.gap.value:
                out.skipped[cid] = f"case is {row.status}, not a gap"
                continue
            decision = deps.routing.decide(Report.model_validate(row.report), cat)
            rule_id = ruling_of(decision)
            if rule_id is None:
                out.skipped[cid] = f"no saved rule covers it (catalogue {cat.version})"
                continue
            ruling = by_id[rule_id]
            data = RulingInput(lead=ruling.lead, principle=Principle(ruling.principle),
                               cooperating=tuple(ruling.cooperating), basis=ruling.basis,
                               note=f"re-routed by rule {ruling.id}")
            await _apply_ruling(session, deps, row, data, cat, caller=caller, now=now, rule_id=ruling.id,
                                decision=decision)
            out.rerouted[cid] = decision.primary
        audit.record(session, TrackerAudit, caller.actor, "reroute", f"{len(out.rerouted)} case(s)",
                     {"rerouted": out.rerouted, "skipped": out.skipped, "catalogue": cat.version})
    return out
