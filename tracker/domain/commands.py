"""Commands the case state machine accepts, the transitions it reports, and its two refusals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from schemas.events import FeedbackOutcome, ReturnReason


class IllegalTransition(Exception):  # the name (not *Error) is the contract the API and consumers map
    """The command is not allowed in the case's current state; `reason` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotYourCase(IllegalTransition):
    """A department acted on a case that is not (or no longer) dispatched to it (HTTP 403)."""


class NotAParty(NotYourCase):
    """The caller has no part in the case at all: answered as if the case did not exist (HTTP 404), before its
    state is looked at, so acting on a case tells no more than reading it. (A NotYourCase, so replies over
    Kafka are dead-lettered with the reason like any refusal.)"""


class EscalationKind(StrEnum):
    ack_overdue = "ack_overdue"  # no 报到 within the ack window
    feedback_overdue = "feedback_overdue"  # no 反馈 by the deadline


class Principle(StrEnum):
    """Why a ruling names its lead (锦江 principles, ROUTING §6)."""

    competent = "competent"  # 谁主管谁牵头
    main = "main"  # 谁为主谁牵头
    nearest = "nearest"  # 谁靠近谁牵头
    legal = "legal"  # 有法可循: the ruling cites a legal basis
    no_basis = "no_basis"  # 无据可依: no rule or law fits; the adjudicator assigns by judgement


def _need(value: str, what: str) -> None:
    # Commands are built from outside input; an empty name is a bug upstream, not a state problem.
    if not value.strip():
        raise ValueError(f"{what} must not be empty")


def _windows(ack_hours: float | None, deadline_days: int | None) -> None:
    if (ack_hours is not None and ack_hours <= 0) or (deadline_days is not None and deadline_days <= 0):
        raise ValueError("ack_hours and deadline_days must be positive")


@dataclass(frozen=True)
class Route:
    """The router decided: to a department (routed) or to the adjudication queue (gap)."""

    department: str | None
    ack_hours: float = 24
    deadline_days: int = 20
    gap: bool = False

    def __post_init__(self) -> None:
        if not self.gap:
            _need(self.department or "", "a routed case's department")
        _windows(self.ack_hours, self.deadline_days)


@dataclass(frozen=True)
class Dispatch:
    """The case was sent to the department it was routed or ruled to."""

    department: str


@dataclass(frozen=True)
class Acknowledge:
    """The department confirms it has the case (报到)."""

    department: str


@dataclass(frozen=True)
class GiveFeedback:
    """The department reports the outcome (反馈)."""

    department: str
    outcome: FeedbackOutcome
    text: str = ""


@dataclass(frozen=True)
class Close:
    """The case is closed after feedback."""

    actor: str = "tracker"


@dataclass(frozen=True)
class Return:
    """The department hands the case back (退单) with a coded reason and free text."""

    department: str
    reason: ReturnReason
    text: str = ""


@dataclass(frozen=True)
class Reroute:
    """The router sent a returned case to its next candidate; optional new windows from the new decision."""

    department: str
    ack_hours: float | None = None
    deadline_days: int | None = None

    def __post_init__(self) -> None:
        _need(self.department, "the reroute department")
        _windows(self.ack_hours, self.deadline_days)


@dataclass(frozen=True)
class OpenDispute:
    """A returned case goes to the adjudication queue."""

    note: str = ""


@dataclass(frozen=True)
class Adjudicate:
    """An adjudicator's ruling (裁决): lead, cooperating departments and the principle used."""

    lead: str
    principle: Principle
    cooperating: tuple[str, ...] = ()
    basis: str = ""  # the legal basis when principle is `legal`
    adjudicator: str = ""
    ack_hours: float | None = None
    deadline_days: int | None = None

    def __post_init__(self) -> None:
        _need(self.lead, "the ruling's lead")
        if self.principle is Principle.legal:
            _need(self.basis, "a ruling by law's basis")
        if self.lead in self.cooperating:
            raise ValueError("the lead cannot also be a cooperating department")
        _windows(self.ack_hours, self.deadline_days)


@dataclass(frozen=True)
class MarkDuplicate:
    """The case repeats another case; it is closed as a duplicate and never dispatched."""

    of: str

    def __post_init__(self) -> None:
        _need(self.of, "the original case id")


@dataclass(frozen=True)
class Escalate:
    """An SLA breach of dispatch `attempt` is escalated to safety-office (督办); the case stays put."""

    kind: EscalationKind
    attempt: int


Command = (
    Route
    | Dispatch
    | Acknowledge
    | GiveFeedback
    | Close
    | Return
    | Reroute
    | OpenDispute
    | Adjudicate
    | MarkDuplicate
    | Escalate
)


@dataclass(frozen=True)
class Transition:
    """What happened (past tense `kind`), for the case-events topic and the audit log."""

    kind: str
    from_status: str
    to_status: str
    at: datetime
    department: str | None = None
    detail: Mapping[str, object] = field(default_factory=dict)
