"""Router handlers: decide new reports (linking duplicates), re-route returned cases, follow closures."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from router.domain.duplicates import OpenCase, find_duplicate, search_boxes, subject_of
from router.domain.subjects import Rated, subject_of_report, with_subject
from router.domain.text import normalise_address
from router.engine import Engine
from router.store.models import RoutedCase, RouterInbox, RouterOutbox, SubjectTier
from schemas.decision import Decision, DecisionStatus, SubjectRef
from schemas.envelope import Envelope
from schemas.events import CaseRouted, CaseTransition, EventType, ReportAccepted
from schemas.report import Report
from services.db import Database, dialect_insert, insert_at_commit, table_of
from services.dispatch import DispatchTerms, dispatches
from services.envelopes import envelope
from services.inbox import first_time, first_times
from services.logctx import trace_var
from services.outbox import stage
from services.settings import Settings

SOURCE = "caseroute/router"
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
    subjects = [subject_of_report(a.report, d.unit) for a, d in zip(accepted, decisions, strict=True)]
    async with db.transaction() as session:
        tiers = await tiers_of(session, [s for s in subjects if s is not None])
        hazard_ack = engine.catalogue.settings.ack_hours.hazard
        decisions = [with_subject(d, s, _rated(s, tiers), hazard_ack_hours=hazard_ack)
                     for d, s in zip(decisions, subjects, strict=True)]
        fresh = await first_times(session, RouterInbox, [event.id for event in events])
        decided = set((await session.execute(
            select(RoutedCase.case_id).where(RoutedCase.case_id.in_({a.case_id for a in accepted}))
        )).scalars().all())
        recent = await _open_cases(session, engine, [(d, a.report) for d, a in zip(decisions, accepted, strict=True)])
        for event, taken, decision in zip(events, accepted, decisions, strict=True):
            if event.id not in fresh or taken.case_id in decided:
                continue  # a redelivery, or the same case under another event id: decided already
            decided.add(taken.case_id)
            if len(events) > 1:  # alone, it is handled inside the consumer's span, whose context is set
                trace_var.set(event.trace)  # the events staged for this case continue its trace
            report, subject = taken.report, subject_of(decision)
            duplicate_of = _duplicate_of(engine, decision, report, recent.get(subject or "", []))
            if duplicate_of is not None:
                decision = decision.model_copy(update={"status": DecisionStatus.duplicate,
                                                       "duplicate_of": duplicate_of})
            opened = OpenCase(taken.case_id, decision.unit, normalise_address(report.location.address),
                              report.location.lat, report.location.lon, subject, report.reported_at)
            is_open = duplicate_of is None and decision.status is DecisionStatus.routed
            # Queued for one executemany at commit: nothing in this transaction reads the row back.
            insert_at_commit(session, ROUTED_CASES, {
                "case_id": opened.case_id, "report": report.model_dump(mode="json"),
                "decision": decision.model_dump(mode="json"), "attempt": 1, "excluded": [], "unit": opened.unit,
                "subject": subject, "address": opened.address, "lat": opened.lat, "lon": opened.lon,
                "open": is_open, "routed_at": opened.opened_at})
            if is_open and subject is not None:  # later reports of this batch may duplicate it
                newest_first = recent.setdefault(subject, [])
                # After the newer ones and those as new: the order a stable sort by age would give them.
                newest_first.insert(bisect_right(newest_first, _newest_first(opened), key=_newest_first), opened)
            stage_decision(session, settings, taken.case_id, report, decision, attempt=1,
                           accepted_at=taken.accepted_at, submitted_by=taken.submitted_by)


async def tiers_of(session: AsyncSession, subjects: Sequence[SubjectRef]) -> dict[str, Rated]:
    """The subjects and tiers the tracker announced for these subjects' keys, in one query."""
    keys = sorted({key for subject in subjects for key in subject.keys})
    if not keys:
        return {}
    rows = (await session.execute(select(SubjectTier.key, SubjectTier.subject_id, SubjectTier.tier)
                                  .where(SubjectTier.key.in_(keys)))).all()
    return {row.key: Rated(row.subject_id, row.tier) for row in rows}


def _rated(subject: SubjectRef | None, tiers: dict[str, Rated]) -> Rated | None:
    """The subject and tier of the strongest key the tracker rated (the tracker links by the same order)."""
    return next((tiers[key] for key in subject.keys if key in tiers), None) if subject else None


async def _open_cases(session: AsyncSession, engine: Engine, decided: list[tuple[Decision, Report]]
                      ) -> dict[str, list[OpenCase]]:
    """For the batch's subjects, the open cases of the duplicate window that could be at one of its reports'
    places (same address, or inside a search box around its coordinates), newest first per subject.

    Only a report's own place can hold its original, and at a place only the first report of a matter stays
    open (the later ones are its duplicates): a handful of rows however busy the subject is elsewhere."""
    rules = engine.duplicate_settings
    window = timedelta(days=rules.window_days)
    since: dict[str, datetime] = {}
    addresses: set[str] = set()
    points: list[tuple[float, float]] = []
    for decision, report in decided:
        subject = subject_of(decision)
        if subject is not None and decision.status is DecisionStatus.routed:
            since[subject] = min(since.get(subject, report.reported_at - window), report.reported_at - window)
            if address := normalise_address(report.location.address):
                addresses.add(address)
            if report.location.lat is not None and report.location.lon is not None:
                points.append((report.location.lat, report.location.lon))
    if not since:
        return {}
    at_a_place = [RoutedCase.address.in_(sorted(addresses))] + [
        and_(RoutedCase.lat.between(box.south, box.north), RoutedCase.lon.between(box.west, box.east))
        for box in search_boxes(points, rules.distance_m)]
    rows = (await session.execute(
        select(RoutedCase.case_id, RoutedCase.unit, RoutedCase.address, RoutedCase.lat, RoutedCase.lon,
               RoutedCase.subject, RoutedCase.routed_at)
        # One shape whatever the batch's places (eight boxes; IN lists are cached statements); each report then
        # keeps the cases of its own window and place (find_duplicate).
        .where(RoutedCase.open.is_(True), RoutedCase.subject.in_(sorted(since)),
               RoutedCase.routed_at >= min(since.values()), or_(*at_a_place))
    )).all()
    found: dict[str, list[OpenCase]] = {}
    for r in rows:
        found.setdefault(r.subject, []).append(OpenCase(r.case_id, r.unit, r.address, r.lat, r.lon, r.subject,
                                                        r.routed_at))
    for cases in found.values():
        cases.sort(key=_newest_first)  # stable: cases as new keep the order they came in
    return found


def _newest_first(case: OpenCase) -> float:
    """The sort key that puts newer cases first."""
    return -case.opened_at.timestamp()


def _duplicate_of(engine: Engine, decision: Decision, report: Report, newest_first: list[OpenCase]) -> str | None:
    """The newest open case on the same subject at the same place within the catalogue's window, if any
    (`newest_first` is kept in that order: the window is a prefix, and the first match is the answer)."""
    if subject_of(decision) is None or decision.status is not DecisionStatus.routed:
        return None
    rules = engine.duplicate_settings
    since = report.reported_at - timedelta(days=rules.window_days)
    in_window = bisect_right(newest_first, -since.timestamp(), key=_newest_first)
    return find_duplicate(decision, address=report.location.address, lat=report.location.lat,
                          lon=report.location.lon, reported_at=report.reported_at,
                          recent=newest_first[:in_window], settings=rules)


def stage_decision(session: AsyncSession, settings: Settings, case_id: str, report: Report,
                   decision: Decision, *, attempt: int, excluded: list[str] | None = None,
                   accepted_at: datetime | None = None, submitted_by: str | None = None) -> None:
    """routed.v1 for the tracker and notifier; a dispatch to the primary, cooperating and cc departments.

    Departments get the report's text with the reporter's name and phone numbers masked (services.dispatch,
    which the tracker's rulings dispatch with too).
    """
    routed = CaseRouted(case_id=case_id, attempt=attempt, decision=decision, excluded=excluded or [], report=report,
                        accepted_at=accepted_at, submitted_by=submitted_by)
    stage(session, RouterOutbox, settings.topic("routed.v1"),
          envelope(source=SOURCE, event_type=EventType.case_routed, subject=case_id, payload=routed))
    if decision.status is DecisionStatus.duplicate:
        return
    roles = [(decision.primary, "primary")]
    roles += [(d, "cooperating") for d in decision.cooperating]
    roles += [(d, "cc") for d in decision.cc]
    subject = decision.subject
    terms = DispatchTerms(decision.rule, decision.unit, decision.deadline_days, decision.ack_hours,
                          tier=subject.tier if subject else None, subject=subject.id if subject else None)
    for dispatched in dispatches(case_id, report, terms, attempt=attempt, roles=roles,
                                 reply_url=f"{settings.public_base_url}/v1/cases/{case_id}"):
        stage(session, RouterOutbox, settings.dispatch_topic(dispatched.department),
              envelope(source=SOURCE, event_type=EventType.case_dispatched, subject=case_id, payload=dispatched))


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


async def follow_case_event(event: Envelope, *, db: Database, settings: Settings) -> None:
    """case-events.v1: re-route a returned case; forget closed cases for duplicate linking."""
    transition = CaseTransition.model_validate(event.data)
    if transition.kind not in ("returned", "closed", "duplicate", "feedback", *TIER_EVENTS):
        return
    async with db.transaction() as session:
        if not await first_time(session, RouterInbox, event.id):
            return
        if transition.kind in TIER_EVENTS:
            await take_tier(session, transition)
            return
        row = await session.get(RoutedCase, transition.case_id, with_for_update=not db.sqlite)
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


async def take_tier(session: AsyncSession, transition: CaseTransition) -> None:
    """A subject's tier changed, or two subjects merged: every key of the subject now carries its tier."""
    announced = transition.detail.get("subject_tier")
    if not isinstance(announced, dict) or announced.get("tier") not in ("A", "B", "C", "D"):
        return
    rows = [{"key": str(key), "subject_id": str(announced.get("subject")), "tier": str(announced["tier"]),
             "updated_at": transition.at} for key in _list(announced.get("keys"))]
    if not rows:
        return
    statement = dialect_insert(session, table_of(SubjectTier))
    # An older announcement arriving late (another partition) does not undo a newer one.
    await session.execute(statement.on_conflict_do_update(
        index_elements=["key"], set_={k: statement.excluded[k] for k in ("subject_id", "tier", "updated_at")},
        where=table_of(SubjectTier).c.updated_at <= statement.excluded.updated_at), rows)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []

