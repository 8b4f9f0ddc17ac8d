"""Who hears an event: department, reporter-system and supervisor subscriptions, and reporter callbacks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from notifier.domain.vocabulary import ADDRESSED, REPORTER_STATUSES, matches

SAFETY_OFFICE = "safety-office"
CALLBACK = "callback"


class SubscriberKind(StrEnum):
    department = "department"
    reporter = "reporter"  # a reporting system, e.g. the grid app (owner = report source)
    supervisor = "supervisor"  # e.g. safety-office (督办)


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """What routing needs of a subscription."""

    id: str
    kind: SubscriberKind
    owner: str
    event_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the notifier remembers of a case from routed.v1 and its primary dispatch."""

    case_id: str
    source: str | None = None
    callback_url: str | None = None
    department: str | None = None
    dispatched_at: datetime | None = None
    ack_hours: float | None = None
    deadline_days: int | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """An event to deliver, in the vocabulary's terms."""

    event_type: str
    case_id: str
    department: str | None
    escalated_to: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """One delivery to make: `key` is unique per event; the lane is (key, case)."""

    key: str
    subscription_id: str | None
    url: str | None = None  # set for callbacks; subscriptions use their current URL

    def lane(self, case_id: str) -> str:
        return f"{self.key}|{case_id}"


def recipients(event: Incoming, subscriptions: Iterable[SubscriptionView], case: CaseFacts | None) -> list[Recipient]:
    """Every recipient of the event, each once."""
    found: list[Recipient] = []
    reporter_sub: str | None = None
    for sub in subscriptions:
        if sub.kind is SubscriberKind.reporter and case is not None and sub.owner == case.source:
            reporter_sub = reporter_sub or sub.id
        if _hears(sub, event, case):
            found.append(Recipient(f"sub:{sub.id}", sub.id))
    if case is not None and case.callback_url and event.event_type in REPORTER_STATUSES:
        # Signed with the reporting system's secret when it has registered one.
        found.append(Recipient(CALLBACK, reporter_sub, case.callback_url))
    return found


def _hears(sub: SubscriptionView, event: Incoming, case: CaseFacts | None) -> bool:
    if not matches(sub.event_types, event.event_type):
        return False
    if sub.kind is SubscriberKind.department:
        return event.department is not None and sub.owner == event.department
    if sub.kind is SubscriberKind.supervisor:
        # Escalations and the monthly statement go to the office named on them; other types reach every
        # supervisor who asked.
        return event.event_type not in ADDRESSED or sub.owner == (event.escalated_to or SAFETY_OFFICE)
    return case is not None and case.source is not None and sub.owner == case.source
