"""The case state machine on hand-written paths, and the full status × command legality table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import FeedbackOutcome, ReturnReason
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
    Principle,
    Reroute,
    Return,
    Route,
)
from tracker.domain.state import CaseState, Status, after_return, apply, new_case

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
RET = Return("A", ReturnReason.not_our_remit, "不属于我局职能")
RULING = Adjudicate("C", Principle.competent)
RESOLVED = FeedbackOutcome.resolved
LATER = T0 + timedelta(days=1)


def run(*commands: Command, state: CaseState | None = None) -> CaseState:
    """Apply commands an hour apart from T0."""
    s = state or new_case("c1", received_at=T0)
    for i, c in enumerate(commands, start=1):
        s, _ = apply(s, c, now=T0 + timedelta(hours=i))
    return s


PATHS: dict[Status, tuple[Command, ...]] = {
    Status.received: (),
    Status.routed: (Route("A"),),
    Status.gap: (Route(None, gap=True),),
    Status.dispatched: (Route("A"), Dispatch("A")),
    Status.acknowledged: (Route("A"), Dispatch("A"), Acknowledge("A")),
    Status.feedback: (Route("A"), Dispatch("A"), Acknowledge("A"), GiveFeedback("A", RESOLVED)),
    Status.closed: (Route("A"), Dispatch("A"), GiveFeedback("A", RESOLVED), Close()),
    Status.returned: (Route("A"), Dispatch("A"), RET),
    Status.disputed: (Route("A"), Dispatch("A"), RET, OpenDispute()),
    Status.adjudicated: (Route("A"), Dispatch("A"), RET, OpenDispute(), RULING),
    Status.duplicate: (MarkDuplicate("c0"),),
}


def commands_for(s: CaseState) -> dict[str, Command]:
    """One well-formed command of each kind, sent by the case's own department where one applies."""
    d = s.department or "A"
    return {
        "route": Route("A"),
        "dispatch": Dispatch(d),
        "ack": Acknowledge(d),
        "feedback": GiveFeedback(d, FeedbackOutcome.resolved),
        "close": Close(),
        "return": Return(d, ReturnReason.wrong_unit),
        "reroute": Reroute("B"),
        "dispute": OpenDispute(),
        "adjudicate": Adjudicate("C", Principle.nearest),
        "duplicate": MarkDuplicate("c0"),
        "escalate-ack": Escalate(EscalationKind.ack_overdue, s.attempt),
        "escalate-feedback": Escalate(EscalationKind.feedback_overdue, s.attempt),
    }


ALLOWED: dict[str, set[Status]] = {
    "route": {Status.received},
    "dispatch": {Status.routed, Status.adjudicated},
    "ack": {Status.dispatched, Status.acknowledged, Status.feedback, Status.closed},
    "feedback": {Status.dispatched, Status.acknowledged, Status.feedback, Status.closed},
    "close": {Status.feedback},
    "return": {Status.dispatched, Status.acknowledged},
    "reroute": {Status.returned},
    "dispute": {Status.returned},
    "adjudicate": {Status.disputed, Status.gap},
    "duplicate": {Status.received, Status.routed, Status.gap, Status.returned, Status.disputed},
    "escalate-ack": {Status.dispatched},
    "escalate-feedback": {Status.dispatched, Status.acknowledged},
}


def test_paths_reach_their_status() -> None:
    for status, path in PATHS.items():
        assert run(*path).status is status


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("kind", list(ALLOWED))
def test_legality_table(status: Status, kind: str) -> None:
    s = run(*PATHS[status])
    command = commands_for(s)[kind]
    if status in ALLOWED[kind]:
        apply(s, command, now=LATER)
    else:
        with pytest.raises(IllegalTransition) as err:
            apply(s, command, now=LATER)
        assert not isinstance(err.value, NotYourCase)
        assert err.value.reason and s.case_id in err.value.reason


def test_happy_path_records_times_and_first_dispatch_success() -> None:
    feedback = GiveFeedback("A", FeedbackOutcome.penalised, "罚款")
    s = run(*PATHS[Status.closed][:2], Acknowledge("A"), feedback, Close())
    assert (s.dispatched_at, s.acked_at, s.feedback_at, s.closed_at) == tuple(
        T0 + timedelta(hours=h) for h in (2, 3, 4, 5)
    )
    assert s.first_dispatch_accepted and s.first_department == "A" and s.transfers == 0


@pytest.mark.parametrize(
    "command", [Acknowledge("B"), GiveFeedback("B", RESOLVED), Return("B", ReturnReason.duplicate)]
)
def test_only_the_holding_department_may_act(command: Command) -> None:
    with pytest.raises(NotYourCase, match="is with A, not B"):
        apply(run(*PATHS[Status.dispatched]), command, now=LATER)


def test_second_ack_is_a_no_op() -> None:
    s = run(*PATHS[Status.acknowledged])
    again, transitions = apply(s, Acknowledge("A"), now=T0 + timedelta(days=2))
    assert again == s and transitions == [] and s.acked_at == T0 + timedelta(hours=3)


def test_feedback_without_ack_implies_the_ack() -> None:
    s, ts = apply(run(*PATHS[Status.dispatched]), GiveFeedback("A", RESOLVED), now=T0 + timedelta(hours=5))
    assert [t.kind for t in ts] == ["acknowledged", "feedback"] and ts[0].detail == {"implied": True}
    assert s.acked_at == s.feedback_at and s.current is not None and s.current.ack_implied
    assert s.first_dispatch_accepted


def test_feedback_cannot_be_changed_but_may_be_redelivered() -> None:
    s = run(*PATHS[Status.feedback])
    assert apply(s, GiveFeedback("A", FeedbackOutcome.resolved), now=LATER) == (s, [])
    with pytest.raises(IllegalTransition, match="cannot be changed"):
        apply(s, GiveFeedback("A", FeedbackOutcome.shut_down), now=LATER)


def test_no_return_after_feedback() -> None:
    with pytest.raises(IllegalTransition, match="feedback was already given"):
        apply(run(*PATHS[Status.feedback]), Return("A", ReturnReason.wrong_unit), now=LATER)


def test_return_records_reason_and_reroute_records_transfer_and_unowned_time() -> None:
    s = run(*PATHS[Status.acknowledged], RET)
    assert s.department is None and s.returns[0].reason is ReturnReason.not_our_remit
    assert s.returns[0].text == "不属于我局职能" and s.returns[0].attempt == 1
    s, ts = apply(s, Reroute("B", deadline_days=45), now=T0 + timedelta(hours=4, minutes=30))
    assert ts[0].kind == "rerouted" and s.status is Status.dispatched and s.department == "B"
    assert s.attempt == 2 and s.transfers == 1 and s.unowned == timedelta(minutes=30)
    assert s.deadline_days == 45 and not s.first_dispatch_accepted


def test_reroute_refuses_the_department_that_returned_it() -> None:
    with pytest.raises(IllegalTransition, match="it returned it"):
        apply(run(*PATHS[Status.returned]), Reroute("A"), now=LATER)


def test_second_return_goes_to_dispute() -> None:
    s = run(*PATHS[Status.returned], Reroute("B"), Return("B", ReturnReason.overlapping_remits))
    assert after_return(s, candidates_left=3) == "dispute"
    with pytest.raises(IllegalTransition, match="adjudication"):
        apply(s, Reroute("C"), now=LATER)
    assert run(OpenDispute(), state=s).status is Status.disputed


def test_after_return_policy() -> None:
    once = run(*PATHS[Status.returned])
    assert after_return(once, candidates_left=1) == "reroute"
    assert after_return(once, candidates_left=0) == "dispute"


def test_ruling_dispatches_to_its_lead_and_records_the_pause() -> None:
    s = run(*PATHS[Status.adjudicated])
    assert s.department == "C" and s.ruling is not None and s.ruling.principle is Principle.competent
    assert s.pauses[0].end - s.pauses[0].start == timedelta(hours=1) and s.dispute_started_at is None
    with pytest.raises(IllegalTransition, match="ruled to C"):
        apply(s, Dispatch("A"), now=LATER)
    s = run(Dispatch("C"), state=s)
    assert s.status is Status.dispatched and s.attempt == 2
    # a ruled case that comes back needs a new ruling, not the router's ranking
    s = run(Return("C", ReturnReason.not_our_remit), state=s)
    assert after_return(s, candidates_left=5) == "dispute"


def test_gap_is_ruled_then_dispatched_as_the_first_attempt() -> None:
    s = run(*PATHS[Status.gap], Adjudicate("C", Principle.legal, basis="《消防法》第五十三条"), Dispatch("C"))
    assert s.attempt == 1 and s.first_department == "C" and s.pauses == ()


def test_escalation_is_a_flag_once_per_breach() -> None:
    s = run(*PATHS[Status.dispatched])
    s, ts = apply(s, Escalate(EscalationKind.ack_overdue, 1), now=LATER)
    assert s.status is Status.dispatched and s.department == "A" and s.ack_overdue and len(ts) == 1
    assert apply(s, Escalate(EscalationKind.ack_overdue, 1), now=T0 + timedelta(days=2)) == (s, [])
    with pytest.raises(IllegalTransition, match="stale"):
        apply(s, Escalate(EscalationKind.feedback_overdue, 0), now=T0 + timedelta(days=2))


def test_duplicate_is_terminal_and_never_dispatched() -> None:
    s = run(*PATHS[Status.routed], MarkDuplicate("c0"))
    assert s.duplicate_of == "c0" and s.attempt == 0 and s.department is None
    with pytest.raises(IllegalTransition, match="itself"):
        apply(new_case("c0", received_at=T0), MarkDuplicate("c0"), now=T0)


def test_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        apply(new_case("c1", received_at=T0), Route("A"), now=datetime(2024, 3, 1))


@pytest.mark.parametrize(
    "build",
    [lambda: Route(" "), lambda: Route("A", ack_hours=0), lambda: Reroute(""), lambda: MarkDuplicate(""),
     lambda: Adjudicate("C", Principle.legal), lambda: Adjudicate("C", Principle.main, cooperating=("C",))],
)
def test_malformed_commands_are_rejected_at_construction(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]
