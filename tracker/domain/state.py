"""The case state machine: `apply(state, command, now=...)` -> (new state, transitions), or a refusal.

Decisions the rules encode (ROUTING §5-6 is silent on them):
- a second ack by the holding department is a no-op: replies come at least once over a topic;
- feedback without an ack implies the ack (recorded with `implied`), since it proves receipt;
- a return is allowed while dispatched or acknowledged, never after feedback;
- a returned case is rerouted at most once; a second return, a ruled case or no candidate left
  means a dispute (`after_return`), and no case is rerouted to a department that returned it;
- escalations are flags keyed by (kind, attempt); the case stays with its department.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from tracker.domain.case import Attempt, CaseState, Pause, ReturnRecord, Ruling, Status, new_case
from tracker.domain.commands import (
    Acknowledge,
    Adjudicate,
    Close,
    Command,
    Dispatch,
    Escalate,
    EscalationKind,
    GiveFeedback,
    IllegalTransition,
    MarkDuplicate,
    NotYourCase,
    OpenDispute,
    Reroute,
    Return,
    Route,
    Transition,
)

__all__ = [
    "Attempt", "CaseState", "Command", "IllegalTransition", "NotYourCase", "Pause", "ReturnRecord",
    "Ruling", "Status", "Transition", "after_return", "apply", "new_case",
]

Result = tuple[CaseState, list[Transition]]
S = Status


def after_return(state: CaseState, candidates_left: int) -> Literal["reroute", "dispute"]:
    """What a returned case needs next: the router's next candidate, or the adjudication queue."""
    # A second return means the router's ranking is not to be trusted for this case, and a ruled
    # case that comes back needs a new ruling, not the ranking that the ruling overrode.
    if candidates_left <= 0 or len(state.returns) >= 2 or state.ruling is not None:
        return "dispute"
    return "reroute"


def apply(state: CaseState, command: Command, *, now: datetime) -> Result:
    """Apply one command at time `now`; raise IllegalTransition (or NotYourCase) if it is not allowed."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise TypeError(f"not a case command: {command!r}")
    return handler(state, command, now)


def _require(state: CaseState, allowed: Collection[Status], doing: str) -> None:
    if state.status not in allowed:
        raise IllegalTransition(f"cannot {doing}: case {state.case_id} is {state.status.value}")


def _owner(state: CaseState, department: str, doing: str) -> None:
    if department != state.department:
        raise NotYourCase(
            f"cannot {doing}: case {state.case_id} is with {state.department}, not {department}"
        )


def _move(
    state: CaseState, kind: str, to: Status, now: datetime, detail: Mapping[str, object] | None = None,
    **changes: Any,
) -> Result:
    new = replace(state, status=to, **changes)
    # The transition names the department involved: the new holder, or the one that let go.
    transition = Transition(kind, state.status.value, to.value, now, new.department or state.department,
                            detail or {})
    return new, [transition]


def _with_current(state: CaseState, **changes: Any) -> tuple[Attempt, ...]:
    # The current attempt is the last one; attempts are append-only, the last may be amended.
    return (*state.attempts[:-1], replace(state.attempts[-1], **changes))


def _route(state: CaseState, cmd: Route, now: datetime) -> Result:
    _require(state, {S.received}, "route")
    to = S.gap if cmd.gap else S.routed
    department = None if cmd.gap else cmd.department
    return _move(state, to.value, to, now, department=department,
                 ack_hours=cmd.ack_hours, deadline_days=cmd.deadline_days)


def _dispatch(state: CaseState, cmd: Dispatch, now: datetime) -> Result:
    _require(state, {S.routed, S.adjudicated}, "dispatch")
    if cmd.department != state.department:
        raise IllegalTransition(
            f"cannot dispatch case {state.case_id} to {cmd.department}: it was "
            f"{'ruled' if state.status is S.adjudicated else 'routed'} to {state.department}"
        )
    attempt = Attempt(state.attempt + 1, cmd.department, now)
    return _move(state, "dispatched", S.dispatched, now, attempts=(*state.attempts, attempt))


def _acknowledge(state: CaseState, cmd: Acknowledge, now: datetime) -> Result:
    _require(state, {S.dispatched, S.acknowledged, S.feedback, S.closed}, "acknowledge")
    _owner(state, cmd.department, "acknowledge")
    if state.status is not S.dispatched:
        # Already acknowledged (or past it): a redelivered ack is a no-op, not an error, because
        # replies arrive at least once over a topic and the HTTP client may retry as well.
        return state, []
    return _move(state, "acknowledged", S.acknowledged, now, attempts=_with_current(state, acked_at=now))


def _feedback(state: CaseState, cmd: GiveFeedback, now: datetime) -> Result:
    _require(state, {S.dispatched, S.acknowledged, S.feedback, S.closed}, "give feedback")
    _owner(state, cmd.department, "give feedback")
    if state.status in (S.feedback, S.closed):
        if (cmd.outcome, cmd.text) == (state.outcome, state.feedback_text):
            return state, []  # the same feedback redelivered
        raise IllegalTransition(f"case {state.case_id} already has feedback; it cannot be changed")
    transitions: list[Transition] = []
    if state.status is S.dispatched:
        # Feedback without an ack implies the ack: the department evidently has the case. It is
        # recorded as implied so that ack-latency figures can leave it out or count it honestly.
        state, transitions = _move(state, "acknowledged", S.acknowledged, now, {"implied": True},
                                   attempts=_with_current(state, acked_at=now, ack_implied=True))
    new, more = _move(state, "feedback", S.feedback, now, {"outcome": cmd.outcome.value},
                      outcome=cmd.outcome, feedback_text=cmd.text, feedback_at=now)
    return new, transitions + more


def _close(state: CaseState, cmd: Close, now: datetime) -> Result:
    _require(state, {S.feedback}, "close")
    return _move(state, "closed", S.closed, now, {"actor": cmd.actor}, closed_at=now)


def _return(state: CaseState, cmd: Return, now: datetime) -> Result:
    if state.status in (S.feedback, S.closed):
        raise IllegalTransition(f"cannot return case {state.case_id}: feedback was already given")
    _require(state, {S.dispatched, S.acknowledged}, "return")
    _owner(state, cmd.department, "return")
    record = ReturnRecord(state.attempt, cmd.department, cmd.reason, cmd.text, now)
    detail = {"reason": cmd.reason.value, "text": cmd.text, "attempt": state.attempt}
    return _move(state, "returned", S.returned, now, detail, department=None,
                 attempts=_with_current(state, returned_at=now), returns=(*state.returns, record))


def _reroute(state: CaseState, cmd: Reroute, now: datetime) -> Result:
    _require(state, {S.returned}, "reroute")
    if after_return(state, candidates_left=1) == "dispute":
        raise IllegalTransition(f"case {state.case_id} was returned again; it must go to adjudication")
    if cmd.department in {r.department for r in state.returns}:
        raise IllegalTransition(f"cannot reroute case {state.case_id} to {cmd.department}: it returned it")
    attempt = Attempt(state.attempt + 1, cmd.department, now)
    return _move(state, "rerouted", S.dispatched, now, {"attempt": attempt.number},
                 department=cmd.department, attempts=(*state.attempts, attempt),
                 ack_hours=cmd.ack_hours or state.ack_hours,
                 deadline_days=cmd.deadline_days or state.deadline_days)


def _open_dispute(state: CaseState, cmd: OpenDispute, now: datetime) -> Result:
    _require(state, {S.returned}, "open a dispute")
    return _move(state, "disputed", S.disputed, now, {"note": cmd.note}, dispute_started_at=now)


def _adjudicate(state: CaseState, cmd: Adjudicate, now: datetime) -> Result:
    _require(state, {S.disputed, S.gap}, "adjudicate")
    pauses = state.pauses
    if state.dispute_started_at is not None:  # the feedback clock resumes with the ruling
        pauses = (*pauses, Pause(state.dispute_started_at, now))
    ruling = Ruling(cmd.lead, cmd.cooperating, cmd.principle, cmd.basis, cmd.adjudicator, now)
    detail = {"lead": cmd.lead, "principle": cmd.principle.value, "cooperating": list(cmd.cooperating)}
    return _move(state, "adjudicated", S.adjudicated, now, detail, department=cmd.lead, ruling=ruling,
                 pauses=pauses, dispute_started_at=None,
                 ack_hours=cmd.ack_hours or state.ack_hours,
                 deadline_days=cmd.deadline_days or state.deadline_days)


def _mark_duplicate(state: CaseState, cmd: MarkDuplicate, now: datetime) -> Result:
    # Only while no department holds the case: a holder must return it (reason `duplicate`) first.
    _require(state, {S.received, S.routed, S.gap, S.returned, S.disputed}, "mark as duplicate")
    if cmd.of == state.case_id:
        raise IllegalTransition(f"case {state.case_id} cannot duplicate itself")
    return _move(state, "duplicate", S.duplicate, now, {"duplicate_of": cmd.of},
                 duplicate_of=cmd.of, department=None, dispute_started_at=None)


def _escalate(state: CaseState, cmd: Escalate, now: datetime) -> Result:
    waiting = {S.dispatched} if cmd.kind is EscalationKind.ack_overdue else {S.dispatched, S.acknowledged}
    _require(state, waiting, f"escalate {cmd.kind.value}")
    if cmd.attempt != state.attempt:
        raise IllegalTransition(
            f"stale {cmd.kind.value} for attempt {cmd.attempt}: case {state.case_id} is on {state.attempt}"
        )
    if (cmd.kind, cmd.attempt) in state.escalations:
        return state, []  # one escalation per breach, however many replicas noticed it
    detail = {"kind": cmd.kind.value, "attempt": cmd.attempt, "to": "safety-office"}
    return _move(state, "escalated", state.status, now, detail,
                 escalations=state.escalations | {(cmd.kind, cmd.attempt)})


_HANDLERS: dict[type, Callable[[CaseState, Any, datetime], Result]] = {
    Route: _route,
    Dispatch: _dispatch,
    Acknowledge: _acknowledge,
    GiveFeedback: _feedback,
    Close: _close,
    Return: _return,
    Reroute: _reroute,
    OpenDispute: _open_dispute,
    Adjudicate: _adjudicate,
    MarkDuplicate: _mark_duplicate,
    Escalate: _escalate,
}
