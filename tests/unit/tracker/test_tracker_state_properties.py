"""Random command sequences never leave the case in a state that breaks its invariants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import event, given, settings
from hypothesis import strategies as st

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
    OpenDispute,
    Principle,
    Reroute,
    Return,
    Route,
)
from tracker.domain.figures import dispatch_success, records_of
from tracker.domain.sla import ack_due, breaches
from tracker.domain.state import CaseState, Status, apply, new_case
from tracker.store import codec

T0 = datetime(2024, 3, 1, tzinfo=UTC)
DEPTS = ("A", "B", "C")
HELD = {Status.dispatched, Status.acknowledged, Status.feedback, Status.closed}
ACKED = {Status.acknowledged, Status.feedback, Status.closed}
PRINCIPLES = st.sampled_from([Principle.main, Principle.nearest])
TEXTS = st.sampled_from(["", "已整改"])
STEPS = [timedelta(0), timedelta(minutes=7), timedelta(hours=5), timedelta(days=3)]
PROGRESS = {  # command kinds (indexes below) that usually move a case on from each status
    Status.received: [0], Status.routed: [1], Status.gap: [8], Status.dispatched: [2, 3, 5, 10],
    Status.acknowledged: [3, 5, 11], Status.feedback: [4], Status.closed: [2, 3],
    Status.returned: [6, 7], Status.disputed: [8], Status.adjudicated: [1], Status.duplicate: [0],
}


def command(data: st.DataObject, s: CaseState) -> Command:
    """A well-formed command; the department is the case's own half the time, so paths go deep."""
    dept = data.draw(st.sampled_from([s.department or "A", s.department or "A", *DEPTS]))
    # Half the time a kind that tends to be legal now, so that runs go deep; duplicates end a run
    # at once, so they are drawn rarely.
    anything = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11] * 3 + [9]
    kind = data.draw(st.sampled_from(anything) | st.sampled_from(PROGRESS[s.status]))
    ack = data.draw(st.sampled_from([None, 2.0]))
    days = data.draw(st.sampled_from([None, 20, 45]))
    builders: list[Callable[[], Command]] = [
        lambda: Route(None, gap=True) if data.draw(st.integers(0, 4)) == 0 else Route(dept),
        lambda: Dispatch(dept),
        lambda: Acknowledge(dept),
        lambda: GiveFeedback(dept, data.draw(st.sampled_from(FeedbackOutcome)), data.draw(TEXTS)),
        lambda: Close(),
        lambda: Return(dept, data.draw(st.sampled_from(ReturnReason)), "text"),
        lambda: Reroute(dept, ack_hours=ack, deadline_days=days),
        lambda: OpenDispute(),
        lambda: Adjudicate(dept, data.draw(PRINCIPLES), ack_hours=ack, deadline_days=days),
        lambda: MarkDuplicate(data.draw(st.sampled_from(["c0", "c1"]))),
        lambda: Escalate(EscalationKind.ack_overdue, data.draw(st.sampled_from([s.attempt, s.attempt + 1]))),
        lambda: Escalate(EscalationKind.feedback_overdue, s.attempt),
    ]
    return builders[kind]()


def check_invariants(s: CaseState) -> None:
    """What must hold of every reachable case."""
    cur = s.current
    if s.status is Status.closed:
        assert s.feedback_at is not None and s.closed_at is not None and s.outcome is not None
    assert (s.feedback_at is not None) == (s.status in (Status.feedback, Status.closed))
    if s.status in HELD:
        assert cur is not None and s.department == cur.department and cur.returned_at is None
    if s.status in ACKED:
        assert cur is not None and cur.acked_at is not None and cur.acked_at >= cur.dispatched_at
    if s.status is Status.dispatched:
        assert cur is not None and cur.acked_at is None
    if s.status in (Status.returned, Status.disputed):
        assert s.department is None and s.returns and cur is not None and cur.returned_at is not None
    assert (s.status is Status.disputed) == (s.dispute_started_at is not None)
    if s.status is Status.adjudicated:
        assert s.ruling is not None and s.department == s.ruling.lead
    if s.status is Status.duplicate:
        assert s.duplicate_of not in (None, s.case_id) and s.department is None
    if s.status in (Status.received, Status.routed, Status.gap):
        assert s.attempt == 0
    assert [a.number for a in s.attempts] == list(range(1, s.attempt + 1))
    assert all(a.returned_at is not None for a in s.attempts[:-1])  # only a return ends an attempt
    assert [r.attempt for r in s.returns] == [a.number for a in s.attempts if a.returned_at is not None]
    assert all(1 <= attempt <= s.attempt for _, attempt in s.escalations)
    assert s.unowned >= timedelta(0)
    assert all(p.start <= p.end for p in s.pauses)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_random_sequences_keep_the_invariants(data: st.DataObject) -> None:
    s = new_case("c1", received_at=T0)
    now, returned, reached = T0, 0, set()
    for _ in range(data.draw(st.integers(5, 40))):
        cmd = command(data, s)
        now += data.draw(st.sampled_from(STEPS))
        try:
            new, transitions = apply(s, cmd, now=now)
        except IllegalTransition as err:
            assert err.reason.strip(), f"{cmd!r} refused without a reason"
            continue
        if transitions:
            # the transitions chain from the old status to the new one
            assert transitions[0].from_status == s.status and transitions[-1].to_status == new.status
            assert all(a.to_status == b.from_status for a, b in pairwise(transitions))
        else:
            assert new == s  # a no-op changes nothing
        assert s.status not in (Status.closed, Status.duplicate) or not transitions, "left a terminal status"
        if new.status is Status.disputed and s.status is not Status.disputed:
            assert s.status is Status.returned  # a dispute only follows a return
        assert new.attempt >= s.attempt and new.attempts[: s.attempt - 1] == s.attempts[: s.attempt - 1]
        returned += sum(t.kind == "returned" for t in transitions)
        s = new
        reached.add(s.status)
        check_invariants(s)
        stored = codec.dump(s)  # every reachable state survives the row's JSON document unchanged
        assert codec.load(stored) == s and stored == codec._plain(s)
        assert len(s.returns) == returned
        success = dispatch_success(records_of(s), T0, now + timedelta(seconds=1), now=now)
        assert success.numerator == int(s.first_dispatch_accepted)
        # A first dispatch has an outcome once acked or returned, or once its ack window has closed: the
        # window the SLA clock escalates by, so a case the clock would escalate is never left pending.
        first = s.attempts[0] if s.attempts else None
        decided = first is not None and (first.acked_at is not None or first.returned_at is not None
                                         or now > ack_due(first.dispatched_at, s.ack_hours))
        assert (success.denominator, success.pending) == (int(decided), min(s.attempt, 1) - int(decided))
        if any(b.kind is EscalationKind.ack_overdue and b.attempt == 1 for b in breaches(s, now)):
            assert decided
        # The store reads the ack window of the current dispatch only (tracker_cases.ack_due_at): sound because
        # a case moves on to another department only after a return, so every earlier dispatch has an outcome.
        assert all(a.returned_at is not None for a in s.attempts[:-1])
    for status in reached:
        event(f"reached {status.value}")
