"""What the router's decision or a department's reply asks of a case: the commands to apply, in order (pure).

The handlers load the case, apply these commands through the state machine (tracker.domain.state) and write
what the transitions say; which command a message means is decided here, not between their SQL statements.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.decision import Decision, DecisionStatus
from schemas.events import DepartmentReply
from tracker.domain import commands as cmd
from tracker.domain.case import CaseState, Status


def is_stale(attempt: int, state: CaseState) -> bool:
    """A decision older than the case's current dispatch (a redelivered or overtaken routed.v1)."""
    return attempt <= state.attempt and state.status is not Status.received


def decision_commands(state: CaseState, decision: Decision) -> list[cmd.Command]:
    """The router's decision for the case: routed and dispatched, a gap, a duplicate, or (after a return) the next
    candidate or, with none left, a dispute."""
    if state.status is Status.returned:  # the router's answer to a return: next candidate, or none left
        if decision.status is DecisionStatus.routed:
            return [cmd.Reroute(decision.primary, decision.ack_hours, decision.deadline_days)]
        return [cmd.OpenDispute("no candidate department left")]
    if decision.status is DecisionStatus.duplicate and decision.duplicate_of:
        return [cmd.MarkDuplicate(decision.duplicate_of)]
    gap = decision.status is DecisionStatus.gap
    route = cmd.Route(None if gap else decision.primary, decision.ack_hours, decision.deadline_days, gap=gap)
    return [route] if gap else [route, cmd.Dispatch(decision.primary)]


def reply_command(reply: DepartmentReply) -> cmd.Acknowledge | cmd.GiveFeedback | cmd.Return:
    """The command a department's reply stands for; IllegalTransition for a reply that lacks what its kind
    needs."""
    if reply.kind == "ack":
        return cmd.Acknowledge(reply.department)
    if reply.kind == "feedback":
        if reply.outcome is None:
            raise cmd.IllegalTransition("feedback needs an outcome")
        return cmd.GiveFeedback(reply.department, reply.outcome, reply.text)
    if reply.kind == "return":
        if reply.reason is None:
            raise cmd.IllegalTransition("a return needs a coded reason")
        return cmd.Return(reply.department, reply.reason, reply.text)
    raise cmd.IllegalTransition(f"unknown reply kind {reply.kind!r}")


def candidates_left(alternatives: Iterable[str], state: CaseState) -> int:
    """Ranked alternatives of the decision that no department has returned, or held, yet."""
    returned = {r.department for r in state.returns} | {a.department for a in state.attempts}
    return len([a for a in alternatives if a not in returned])
