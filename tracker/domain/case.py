"""The case record: statuses, dispatch attempts, returns, pauses, rulings; pure data with derived views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from schemas.events import FeedbackOutcome, ReturnReason
from tracker.domain.commands import EscalationKind, Principle


class Status(StrEnum):
    received = "received"
    routed = "routed"
    gap = "gap"  # no department fits: waits for a ruling
    dispatched = "dispatched"
    acknowledged = "acknowledged"  # 报到
    feedback = "feedback"  # 反馈
    closed = "closed"
    returned = "returned"  # 退单: owned by nobody until rerouted or disputed
    disputed = "disputed"  # in the adjudication queue; the feedback clock is paused
    adjudicated = "adjudicated"  # ruled; next is the dispatch to the ruling's lead
    duplicate = "duplicate"


TERMINAL = frozenset({Status.closed, Status.duplicate})
WITH_DEPARTMENT = frozenset({Status.dispatched, Status.acknowledged, Status.feedback, Status.closed})


@dataclass(frozen=True)
class Attempt:
    """One dispatch of the case to a department; attempt 1 is the first dispatch."""

    number: int
    department: str
    dispatched_at: datetime
    acked_at: datetime | None = None
    ack_implied: bool = False  # set when feedback came without a prior ack
    returned_at: datetime | None = None


@dataclass(frozen=True)
class ReturnRecord:
    """A return (退单): which attempt, by whom, the coded reason and the department's text."""

    attempt: int
    department: str
    reason: ReturnReason
    text: str
    at: datetime


@dataclass(frozen=True)
class Pause:
    """A closed interval during which the case was disputed; the feedback clock did not run."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Ruling:
    """The adjudicator's ruling as recorded on the case."""

    lead: str
    cooperating: tuple[str, ...]
    principle: Principle
    basis: str
    adjudicator: str
    at: datetime


@dataclass(frozen=True)
class CaseState:
    """Everything the tracker knows of one case; immutable, replaced on every transition."""

    case_id: str
    received_at: datetime
    status: Status = Status.received
    department: str | None = None  # routed-to, dispatched-to or ruled lead; None while unowned
    ack_hours: float = 24
    deadline_days: int = 20
    attempts: tuple[Attempt, ...] = ()
    returns: tuple[ReturnRecord, ...] = ()
    pauses: tuple[Pause, ...] = ()
    dispute_started_at: datetime | None = None
    ruling: Ruling | None = None
    outcome: FeedbackOutcome | None = None
    feedback_text: str = ""
    feedback_at: datetime | None = None
    closed_at: datetime | None = None
    duplicate_of: str | None = None
    escalations: frozenset[tuple[EscalationKind, int]] = frozenset()  # (kind, attempt) raised

    @property
    def attempt(self) -> int:
        """How many times the case has been dispatched (0 before the first dispatch)."""
        return len(self.attempts)

    @property
    def current(self) -> Attempt | None:
        """The latest dispatch, if any."""
        return self.attempts[-1] if self.attempts else None

    @property
    def dispatched_at(self) -> datetime | None:
        """When the current attempt was dispatched."""
        return self.attempts[-1].dispatched_at if self.attempts else None

    @property
    def first_dispatched_at(self) -> datetime | None:
        """When the case was first dispatched; the feedback deadline counts from here."""
        return self.attempts[0].dispatched_at if self.attempts else None

    @property
    def acked_at(self) -> datetime | None:
        """When the current attempt was acknowledged."""
        return self.attempts[-1].acked_at if self.attempts else None

    @property
    def first_department(self) -> str | None:
        """The department of the first dispatch."""
        return self.attempts[0].department if self.attempts else None

    @property
    def first_dispatch_accepted(self) -> bool:
        """ROUTING §6: the first dispatch was acknowledged and not returned."""
        first = self.attempts[0] if self.attempts else None
        return first is not None and first.acked_at is not None and first.returned_at is None

    @property
    def transfers(self) -> int:
        """How many times the case moved to another department after its first dispatch."""
        return max(0, len(self.attempts) - 1)

    @property
    def unowned(self) -> timedelta:
        """Total time between a return and the next dispatch (nobody held the case)."""
        total = timedelta(0)
        for before, after in pairwise(self.attempts):
            if before.returned_at is not None:
                total += after.dispatched_at - before.returned_at
        return total

    @property
    def ack_overdue(self) -> bool:
        """The current attempt's ack window breach was escalated (a flag, not a status)."""
        return (EscalationKind.ack_overdue, self.attempt) in self.escalations

    @property
    def feedback_overdue(self) -> bool:
        """The current attempt's feedback deadline breach was escalated (a flag, not a status)."""
        return (EscalationKind.feedback_overdue, self.attempt) in self.escalations


def new_case(case_id: str, *, received_at: datetime) -> CaseState:
    """A freshly received case."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return CaseState(case_id=case_id, received_at=received_at)
