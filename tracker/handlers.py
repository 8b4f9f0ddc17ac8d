"""Tracker handlers: load the case, apply the state machine, save, and stage what the change says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.decision import Decision
from schemas.envelope import Envelope
from schemas.events import CaseRouted, DepartmentReply
from services.db import Database, dialect_insert
from services.inbox import first_time, first_times
from services.logctx import trace_var
from services.principal import Caller
from services.settings import Settings
from tracker import metrics
from tracker.domain import commands as cmd
from tracker.domain.access import is_party, may_close, may_read
from tracker.domain.case import CaseState
from tracker.domain.commands import EscalationKind
from tracker.domain.sla import Breach, Calendar, unescalated
from tracker.domain.state import after_return, apply, new_case
from tracker.domain.steps import candidates_left, decision_commands, is_stale, reply_command
from tracker.notices import stage_escalation, stage_feedback, stage_transition
from tracker.routing import NoRouting, Routing
from tracker.store import codec
from tracker.store.cases import load_for_update, load_many_for_update, parties_of, save, state_of, upsert_attempts
from tracker.store.catalogue import InForce
from tracker.store.models import Case, Escalation, TrackerInbox
from tracker.subjects import Linked, link_cases, refresh_after


class CaseNotFound(LookupError):
    """No such case (yet: a reply can overtake the routing over the topics)."""


@dataclass
class Deps:
    db: Database
    settings: Settings
    calendar: Calendar
    # The router's decision procedure for re-routing by saved rules and suggestions, wired by the caseroute app.
    routing: Routing = field(default_factory=NoRouting)
    # The catalogue in force as the subjects' tiers and triggers read it, parsed once per version.
    catalogue: InForce = field(default_factory=InForce)

    def now(self) -> datetime:
        """The tracker's clock: the wall clock, shifted by `sla_clock_offset_s` in drills and tests."""
        return datetime.now(UTC) + timedelta(seconds=self.settings.sla_clock_offset_s)


async def apply_change(session: AsyncSession, deps: Deps, row: Case, state: CaseState, command: cmd.Command, *,
                       now: datetime, actor: str) -> CaseState:
    """Apply one command and stage a timeline row and a case event per transition."""
    new, transitions = apply(state, command, now=now)
    for transition in transitions:
        stage_transition(session, deps.settings, row, transition, actor=actor)
    return new


async def record_routing(event: Envelope, deps: Deps) -> None:
    """routed.v1 → a new case routed and dispatched (or a gap, or a duplicate); a later attempt reroutes."""
    await record_routings([event], deps)


async def record_routings(events: Sequence[Envelope], deps: Deps) -> None:
    """A poll of routed.v1 in one transaction: the inbox, the case rows and the dispatch records in a few
    statements for the whole batch; per case the outcome is record_routing's, in the events' order."""
    now = deps.now()
    decided = [(event, CaseRouted.model_validate(event.data)) for event in events]
    async with deps.db.transaction() as session:
        fresh = await first_times(session, TrackerInbox, [event.id for event in events])
        # Each new event once: an event twice in one poll is a redelivery, as it would be in the next poll.
        decided = list({event.id: (event, routed) for event, routed in reversed(decided) if event.id in fresh}
                       .values())[::-1]
        if not decided:
            return
        rows = await load_many_for_update(session, {r.case_id for _, r in decided})
        opened: dict[str, datetime] = {}
        for _, routed in decided:
            if routed.case_id not in rows:
                received_at = opened[routed.case_id] = min(routed.accepted_at or now, now)
                rows[routed.case_id] = _new_row(routed, received_at)
        # New rows join the session with their final state and subject (one INSERT each, no UPDATE after it);
        # linking (or else the dispatch records' upsert) flushes them, and the timelines follow them at commit.
        session.add_all([rows[case_id] for case_id in opened])
        attempts: list[dict[str, object]] = []
        linked: list[Linked] = []
        for event, routed in decided:
            if len(events) > 1:  # alone, it is handled inside the consumer's span, whose context is set
                trace_var.set(event.trace)  # the case events staged for this case continue its trace
            row = rows[routed.case_id]
            if (opened_at := opened.pop(routed.case_id, None)) is not None:
                stage_transition(session, deps.settings, row,
                                 cmd.Transition("received", "", "received", opened_at, None, {}), actor="intake")
                metrics.cases_received_total.labels(row.source or "unknown", row.unit or "unknown").inc()
                if routed.decision.subject is not None and routed.decision.subject.keys:
                    linked.append(Linked(row, routed.decision.subject))
            state = state_of(row)
            if is_stale(routed.attempt, state):
                continue
            decision = routed.decision
            row.decision = decision.model_dump(mode="json")
            row.rule, row.hazard = decision.rule, decision.hazard.value
            commands = decision_commands(state, decision)
            _count_routing(commands, decision)
            for command in commands:
                state = await apply_change(session, deps, row, state, command, now=now, actor="router")
            await save(session, row, state, now=now, calendar=deps.calendar, attempts=attempts)
        await link_cases(session, deps, linked, now=now)  # first: it flushes the new rows with their subjects
        await upsert_attempts(session, attempts)


def _new_row(routed: CaseRouted, now: datetime) -> Case:
    state = new_case(routed.case_id, received_at=now)
    return Case(case_id=routed.case_id, status=state.status.value, source=routed.report.source.value,
                unit=routed.decision.unit, attempt=0, report=routed.report.model_dump(mode="json"),
                state=codec.dump(state), received_at=now, updated_at=now, overdue=False,
                submitted_by=routed.submitted_by)


def _count_routing(commands: list[cmd.Command], decision: Decision) -> None:
    """A first routing (not a re-route, a dispute or a duplicate) counts by rule and department, a gap as one."""
    route = commands[0]
    if isinstance(route, cmd.Route):
        metrics.cases_routed_total.labels(decision.rule, decision.primary).inc()
        if route.gap:
            metrics.case_gaps_total.inc()


async def handle_reply(reply: DepartmentReply, deps: Deps, *, actor: str, event_id: str | None = None
                       ) -> CaseState:
    """A department's ack, feedback or return (HTTP or replies.v1); refusals raise IllegalTransition."""
    now = reply.at or deps.now()
    async with deps.db.transaction() as session:
        if event_id is not None and not await first_time(session, TrackerInbox, event_id):
            row = await session.get(Case, reply.case_id)
            if row is None:
                raise CaseNotFound(reply.case_id)
            return state_of(row)
        row = await load_for_update(session, reply.case_id)
        if row is None:
            raise CaseNotFound(reply.case_id)
        if not is_party(reply.department, parties_of(row)):  # before the state: a refusal by state tells it
            raise cmd.NotAParty(f"{reply.department} has no part in case {reply.case_id}")
        state = before = state_of(row)
        command = reply_command(reply)
        if isinstance(command, cmd.Return):
            state, transitions = apply(state, command, now=now)
            alternatives = (str(a.get("department")) for a in (row.decision or {}).get("alternatives", []))
            next_step = after_return(state, candidates_left(alternatives, state))
            for transition in transitions:  # the router re-routes only when told "reroute"
                stage_transition(session, deps.settings, row, transition, actor=actor, extra={"next": next_step})
            metrics.dispatch_returns_total.labels(reply.department, command.reason.value).inc()
            if next_step == "dispute":
                state = await apply_change(session, deps, row, state,
                                           cmd.OpenDispute(f"returned: {command.reason.value}"), now=now,
                                           actor="tracker")
        else:
            state = await apply_change(session, deps, row, state, command, now=now, actor=actor)
            if isinstance(command, cmd.GiveFeedback) and state is not before:
                stage_feedback(session, deps.settings, row, reply, now)
        _observe_latency(before, state, now)
        await save(session, row, state, now=now, calendar=deps.calendar)
        if reply.kind == "feedback" and state is not before:  # an outcome changes the subject's record
            await refresh_after(session, deps, row, now=now)
        return state


def _observe_latency(before: CaseState, after: CaseState, now: datetime) -> None:
    current = after.current
    if current is None:
        return
    if before.acked_at is None and current.acked_at is not None and not current.ack_implied:
        metrics.case_ack_seconds.labels(current.department).observe((now - current.dispatched_at).total_seconds())
    if before.feedback_at is None and after.feedback_at is not None and after.first_dispatched_at:
        seconds = (after.feedback_at - after.first_dispatched_at).total_seconds()
        metrics.case_feedback_seconds.labels(current.department).observe(seconds)


async def close_case(case_id: str, deps: Deps, *, caller: Caller) -> CaseState:
    """Close a case after its feedback (its street team or an operator confirms).

    A caller who may not read the case gets CaseNotFound, one who may read it but not close it NotYourCase,
    both before the case's state is looked at."""
    now = deps.now()
    async with deps.db.transaction() as session:
        row = await load_for_update(session, case_id)
        if row is None or not may_read(caller, who := parties_of(row)):
            raise CaseNotFound(case_id)
        if not may_close(caller, who):
            raise cmd.NotYourCase(f"{caller.actor} cannot close case {case_id}: operators and the street team "
                                  f"of its unit close cases")
        actor = caller.actor
        state = await apply_change(session, deps, row, state_of(row), cmd.Close(actor), now=now, actor=actor)
        await save(session, row, state, now=now, calendar=deps.calendar)
        return state


async def escalate_due(deps: Deps, *, now: datetime, limit: int = 500) -> int:
    """The SLA clock: escalate each breach once, even with several tracker replicas scanning at once."""
    # Another replica has the rows it locked: skip them, not wait.
    query = select(Case).where(Case.next_due_at <= now).order_by(Case.next_due_at).limit(limit) \
        .with_for_update(skip_locked=True)
    async with deps.db.transaction() as session:
        rows = (await session.execute(query)).scalars().all()
        found = [(row, state, breach) for row in rows for state in [state_of(row)]
                 for breach in unescalated(state, now, calendar=deps.calendar)]
        claimed = await _claim_breaches(session, deps, found, now)
        states = {row.case_id: state for row, state, _ in found}
        for row, _, breach in found:
            if breach.key not in claimed:
                continue  # raised before (by this or another replica): the database says so
            states[row.case_id] = await apply_change(session, deps, row, states[row.case_id], breach.command(),
                                                     now=now, actor="sla-clock")
            stage_escalation(session, deps.settings, row, breach, now)
            metrics.escalations_total.labels(breach.kind.value).inc()
        for row in rows:
            await save(session, row, states.get(row.case_id, state_of(row)), now=now, calendar=deps.calendar)
        late = {row.case_id: row for row, _, breach in found
                if breach.key in claimed and breach.kind is EscalationKind.feedback_overdue}
        for row in late.values():  # a late rectification counts against its subject
            await refresh_after(session, deps, row, now=now)
    return len(claimed)


async def _claim_breaches(session: AsyncSession, deps: Deps, found: list[tuple[Case, CaseState, Breach]],
                          now: datetime) -> set[str]:
    """One INSERT for the whole batch; the breach keys that came back are ours to escalate."""
    if not found:
        return set()
    statement = dialect_insert(session, Escalation).values([
        {"breach_key": b.key, "case_id": row.case_id, "kind": b.kind.value, "attempt": b.attempt,
         "department": row.department or "", "due_at": b.due_at, "raised_at": now}
        for row, _, b in found
    ]).on_conflict_do_nothing(index_elements=["breach_key"]).returning(Escalation.breach_key)
    return set((await session.execute(statement)).scalars().all())
