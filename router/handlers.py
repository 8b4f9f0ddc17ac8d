"""Router handlers: decide new reports (linking duplicates), re-route returned cases, dispatch rulings, follow
closures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from router.dispatch import SOURCE, DispatchTerms, stage_dispatches
from router.domain.linking import link_duplicates, newest_first, search_for
from router.domain.subjects import Rated, subject_of_report, with_subject
from router.engine import Engine
from router.store import reads
from router.store.models import RoutedCase, RouterInbox, RouterOutbox, SubjectTier
from router.store.reads import tiers_of
from schemas.decision import Decision, DecisionStatus, SubjectRef
from schemas.envelope import Envelope
from schemas.events import (
    CaseChanged,
    CaseRouted,
    CaseRuled,
    CaseTransition,
    EventType,
    InspectionOpened,
    ReportAccepted,
)
from schemas.report import Report
from services.db import Database, dialect_insert, insert_at_commit, table_of
from services.envelopes import envelope
from services.inbox import first_times
from services.logctx import trace_var
from services.outbox import stage
from services.settings import Settings

ROUTED_CASES = table_of(RoutedCase)
ADJUDICATION = "establishment-office"
TIER_EVENTS = ("tier_changed", "subject_merged")  # case events whose detail.subject_tier the router keeps


async def route_report(event: Envelope, *, db: Database, settings: Settings, engine: Engine) -> None:
    """reports.v1 → decision stored, routed.v1 and the dispatches staged, once per case."""
    await route_reports([event], db=db, settings=settings, engine=engine)


async def route_reports(events: Sequence[Envelope], *, db: Database, settings: Settings, engine: Engine) -> None:
    """A poll of reports.v1 in one transaction: a handful of statements for the batch, not a few per case.

    Per case the outcome is route_report's: decided once (inbox by event id, and by case id), linked to an
    open case on the same subject and place, the earlier reports of the same batch included."""
    accepted = [ReportAccepted.model_validate(event.data) for event in events]
    decisions = [engine.decide(a.report) for a in accepted]
    rules = engine.duplicate_settings
    subjects = [subject_of_report(a.report, d.unit) for a, d in zip(accepted, decisions, strict=True)]
    async with db.transaction() as session:
        tiers = await tiers_of(session, [s for s in subjects if s is not None])
        hazard_ack = engine.catalogue.settings.ack_hours.hazard
        decisions = [with_subject(d, s, _rated(s, tiers), hazard_ack_hours=hazard_ack)
                     for d, s in zip(decisions, subjects, strict=True)]
        fresh = await first_times(session, RouterInbox, [event.id for event in events])
        decided = await reads.decided(session, {a.case_id for a in accepted})
        new: list[tuple[Envelope, ReportAccepted, Decision]] = []
        for event, taken, decision in zip(events, accepted, decisions, strict=True):
            if event.id in fresh and taken.case_id not in decided:  # else a redelivery, or the same case again
                decided.add(taken.case_id)
                new.append((event, taken, decision))
        search = search_for(((d, a.report) for d, a in zip(decisions, accepted, strict=True)), rules)
        recent = newest_first(await reads.open_cases(session, search)) if search is not None else {}
        plan = link_duplicates([(taken.case_id, taken.report, decision) for _, taken, decision in new], recent, rules)
        for (event, taken, _), linked in zip(new, plan, strict=True):
            if len(events) > 1:  # alone, it is handled inside the consumer's span, whose context is set
                trace_var.set(event.trace)  # the events staged for this case continue its trace
            case = linked.case
            # Queued for one executemany at commit: nothing in this transaction reads the row back.
            insert_at_commit(session, ROUTED_CASES, {
                "case_id": case.case_id, "report": taken.report.model_dump(mode="json"),
                "decision": linked.decision.model_dump(mode="json"), "attempt": 1, "excluded": [],
                "unit": case.unit, "subject": case.subject, "address": case.address, "lat": case.lat,
                "lon": case.lon, "open": linked.open, "routed_at": case.opened_at})
            stage_decision(session, settings, taken.case_id, taken.report, linked.decision, attempt=1,
                           accepted_at=taken.accepted_at, submitted_by=taken.submitted_by)


def _rated(subject: SubjectRef | None, tiers: dict[str, Rated]) -> Rated | None:
    """The subject and tier of the strongest key the tracker rated (the tracker links by the same order)."""
    return next((tiers[key] for key in subject.keys if key in tiers), None) if subject else None


def stage_decision(session: AsyncSession, settings: Settings, case_id: str, report: Report,
                   decision: Decision, *, attempt: int, excluded: list[str] | None = None,
                   accepted_at: datetime | None = None, submitted_by: str | None = None) -> None:
    """routed.v1 for the tracker and notifier; a dispatch to the primary, cooperating and cc departments.

    Departments get the report's text with the reporter's name and phone numbers masked (router.dispatch, which
    rulings are dispatched by too).
    """
    routed = CaseRouted(case_id=case_id, attempt=attempt, decision=decision, excluded=excluded or [], report=report,
                        accepted_at=accepted_at, submitted_by=submitted_by)
    stage(session, RouterOutbox, settings.topic("routed.v1"),
          envelope(source=SOURCE, event_type=EventType.case_routed, subject=case_id, payload=routed))
    if decision.status is DecisionStatus.duplicate:
        return
    subject = decision.subject
    terms = DispatchTerms(decision.rule, decision.unit, decision.deadline_days, decision.ack_hours,
                          tier=subject.tier if subject else None, subject=subject.id if subject else None)
    stage_dispatches(session, settings, case_id, report, terms, attempt=attempt, primary=decision.primary,
                     cooperating=decision.cooperating, cc=decision.cc)


def next_candidate(decision: Decision, excluded: set[str]) -> Decision:
    """The decision for the next ranked department nobody returned; a dispute when none is left."""
    for candidate in decision.alternatives:
        if candidate.department not in excluded:
            return decision.model_copy(update={
                "primary": candidate.department, "rule": candidate.rule, "cooperating": [], "cc": [],
                "alternatives": [a for a in decision.alternatives if a.department != candidate.department],
            })
    return decision.model_copy(update={"status": DecisionStatus.gap, "primary": ADJUDICATION, "cooperating": [],
                                       "cc": []})


FOLLOWED = frozenset({"returned", "closed", "duplicate", "feedback", *TIER_EVENTS})


def transitions_of(event: Envelope) -> list[CaseTransition]:
    """A case event's transitions in order: a case.changed event's, or the one of a version 1 event."""
    if event.type == EventType.case_changed:
        return CaseChanged.model_validate(event.data).transitions
    return [CaseTransition.model_validate(event.data)]


async def follow_case_event(event: Envelope, *, db: Database, settings: Settings) -> None:
    """case-events.v1: re-route a returned case; forget closed cases for duplicate linking; keep subjects' tiers;
    dispatch rulings and joint inspections. The event's transitions are followed in order, once per event."""
    await follow_case_events([event], db=db, settings=settings)


async def follow_case_events(events: Sequence[Envelope], *, db: Database, settings: Settings) -> None:
    """A poll of case-events.v1 in one transaction (one inbox statement, the tiers' upserts gathered): per event
    the outcome is follow_case_event's, in the events' order. An event with nothing the router follows (most of
    them: received, routed, dispatched …) costs no statement, as before."""
    work: list[tuple[Envelope, list[CaseTransition]]] = []
    for event in events:
        if event.type in (EventType.case_ruled, EventType.inspection_opened):
            work.append((event, []))
        elif followed := [t for t in transitions_of(event) if t.kind in FOLLOWED]:
            work.append((event, followed))
    if not work:
        return
    async with db.transaction() as session:
        fresh = await first_times(session, RouterInbox, [event.id for event, _ in work])
        tiers = TierRows()
        for event, followed in work:
            if event.id not in fresh:
                continue  # a redelivery, or the same event twice in one poll
            fresh.discard(event.id)
            if len(events) > 1:  # alone, it is handled inside the consumer's span, whose context is set
                trace_var.set(event.trace)  # the events staged for this case continue its trace
            if event.type == EventType.case_ruled:
                await dispatch_ruling(session, settings, CaseRuled.model_validate(event.data))
            elif event.type == EventType.inspection_opened:
                dispatch_inspection(session, settings, InspectionOpened.model_validate(event.data))
            for transition in followed:
                if transition.kind in TIER_EVENTS:
                    tiers.add(transition)
                else:
                    await tiers.write(session)  # a re-route reads the tiers as they stand after those before
                    await _follow(session, settings, transition)
        await tiers.write(session)


async def _follow(session: AsyncSession, settings: Settings, transition: CaseTransition) -> None:
    """A return, closure, duplicate or feedback (tiers are TierRows')."""
    row = await session.get(RoutedCase, transition.case_id, with_for_update=True)
    if row is None:
        return  # routed before this router kept records, or by another district's router
    if transition.kind != "returned":
        row.open = False
        return
    if transition.detail.get("next") != "reroute":
        return  # the tracker sent it to adjudication (second return, or no candidate left)
    excluded = sorted({*row.excluded, *(str(d) for d in _list(transition.detail.get("excluded"))),
                       *([transition.department] if transition.department else [])})
    decision = next_candidate(Decision.model_validate(row.decision), set(excluded))
    if decision.subject is not None:  # the next department sees the tier as it stands now
        rated = _rated(decision.subject, await tiers_of(session, [decision.subject]))
        decision = decision.model_copy(update={"subject": decision.subject.model_copy(update={
            "id": rated.subject_id if rated else None, "tier": rated.tier if rated else None})})
    row.attempt += 1
    row.excluded = excluded
    row.decision = decision.model_dump(mode="json")
    stage_decision(session, settings, row.case_id, Report.model_validate(row.report), decision,
                   attempt=row.attempt, excluded=excluded)


class UnknownCase(LookupError):
    """A ruling on a case this router has no record of (so no report to dispatch): dead-lettered with the reason."""


async def dispatch_ruling(session: AsyncSession, settings: Settings, ruled: CaseRuled) -> None:
    """case.ruled → the dispatches to the ruling's lead and cooperating departments."""
    row = await session.get(RoutedCase, ruled.case_id, with_for_update=True)
    if row is None:
        raise UnknownCase(f"case {ruled.case_id} was ruled but never routed here: no report to dispatch")
    row.attempt = max(row.attempt, ruled.attempt)  # a later re-route numbers its dispatch after the ruling's
    terms = DispatchTerms(ruled.rule, ruled.unit, ruled.deadline_days, ruled.ack_hours, tier=ruled.tier,
                          subject=ruled.subject)
    stage_dispatches(session, settings, row.case_id, Report.model_validate(row.report), terms,
                     attempt=ruled.attempt, primary=ruled.lead, cooperating=ruled.cooperating)


def dispatch_inspection(session: AsyncSession, settings: Settings, opened: InspectionOpened) -> None:
    """inspection.opened → the dispatches of a joint inspection: its notice is the report."""
    terms = DispatchTerms(opened.rule, opened.unit, opened.deadline_days, opened.ack_hours, tier=opened.tier,
                          subject=opened.subject)
    stage_dispatches(session, settings, opened.case_id, opened.notice, terms, attempt=opened.attempt,
                     primary=opened.lead, cooperating=opened.cooperating, cc=opened.cc)


class TierRows:
    """A subject's tier changed, or two subjects merged: every key of the subject now carries its tier. The
    announcements of a poll are gathered for one upsert, per key the one that a statement each, in order, leaves."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, transition: CaseTransition) -> None:
        announced = transition.detail.get("subject_tier")
        if not isinstance(announced, dict) or announced.get("tier") not in ("A", "B", "C", "D"):
            return
        for key in map(str, _list(announced.get("keys"))):
            kept = self.rows.get(key)
            if kept is None or kept["updated_at"] <= transition.at:  # as the upsert's condition below
                self.rows[key] = {"key": key, "subject_id": str(announced.get("subject")),
                                  "tier": str(announced["tier"]), "updated_at": transition.at}

    async def write(self, session: AsyncSession) -> None:
        """One upsert of what was gathered since the last write."""
        if not self.rows:
            return
        # In key order: two replicas upserting the same keys wait on each other in one order, never in a circle.
        rows, self.rows = [self.rows[key] for key in sorted(self.rows)], {}
        statement = dialect_insert(session, table_of(SubjectTier))
        # An older announcement arriving late (another partition) does not undo a newer one.
        await session.execute(statement.on_conflict_do_update(
            index_elements=["key"], set_={k: statement.excluded[k] for k in ("subject_id", "tier", "updated_at")},
            where=table_of(SubjectTier).c.updated_at <= statement.excluded.updated_at), rows)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []

