"""A poll's deliveries, planned (pure): what is remembered of each case, and which events go to whom.

take_in loads what the plan needs (the events' seqs, the cases' facts, the active subscriptions), asks
plan_deliveries, and writes the plan; the rules of who hears what stay here and in recipients.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from notifier.domain.notices import supervision_notice
from notifier.domain.recipients import CaseFacts, Incoming, Recipient, SubscriberKind, SubscriptionView, recipients
from notifier.domain.vocabulary import ESCALATED, event_type_of
from schemas.envelope import Envelope
from schemas.events import CaseDispatched, EventType


@dataclass(frozen=True)
class Planned:
    """The deliveries of one event: its seq, its vocabulary type, who hears it and the body, when it is not the
    event as published (a supervision notice)."""

    seq: int
    event: Envelope
    event_type: str
    recipients: list[Recipient]
    payload: dict[str, Any] | None


@dataclass
class DeliveryPlan:
    remembered: dict[str, dict[str, Any]] = field(default_factory=dict)  # case id → facts to store
    deliveries: list[Planned] = field(default_factory=list)


def department_of(data: Mapping[str, Any]) -> str | None:
    """The department an event's data names, if any."""
    department = data.get("department")
    return department if isinstance(department, str) else None


def candidates(subscriptions: Iterable[SubscriptionView], owners: Sequence[str]) -> list[SubscriptionView]:
    """Subscriptions that could hear an event of these owners (department, report source), and supervisors."""
    return [s for s in subscriptions if s.kind is SubscriberKind.supervisor or s.owner in owners]


def plan_deliveries(batch: Sequence[tuple[Envelope, str]], seqs: Mapping[str, int], cases: Mapping[str, CaseFacts],
                    active: Sequence[SubscriptionView]) -> DeliveryPlan:
    """For a poll's (event, topic kind) pairs in order: `seqs` holds the events taken in now (a redelivery is not
    in it), `cases` what is remembered of their cases. Later events of the poll see the facts earlier ones
    taught, as if each event had been taken in alone."""
    plan = DeliveryPlan()
    unseen, facts = dict(seqs), dict(cases)

    def remember(case_id: str, **taught: Any) -> None:
        plan.remembered.setdefault(case_id, {}).update(taught)
        facts[case_id] = dataclasses.replace(facts.get(case_id) or CaseFacts(case_id), **taught)

    for event, kind in batch:
        data = event.data
        if kind == "routed":
            # Only the reporter's callback and source are kept: the report itself has personal data. Read
            # from the router's event as it stands (validating the whole report again was most of the cost).
            report = data.get("report") or {}
            remember(event.subject, source=report.get("source"), callback_url=report.get("callback_url"))
            continue
        seq = unseen.pop(event.id, None)  # popped: the same event twice in one poll is taken in once
        if seq is None:
            continue  # a redelivery: its deliveries were made with the first take-in
        if kind == "dispatch" and event.type != EventType.case_dispatched:
            continue  # feedback and supervision notices share the department topics; case-events carry them
        if kind == "dispatch":
            dispatched = CaseDispatched.model_validate(data)
            if dispatched.role == "primary":
                remember(event.subject, department=dispatched.department, dispatched_at=event.time,
                         ack_hours=dispatched.ack_hours, deadline_days=dispatched.deadline_days)
        event_type = event_type_of(kind, event.type, data)
        if event_type is None:
            continue
        department = department_of(data)
        case = facts.get(event.subject)
        raw_detail = data.get("detail")
        detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
        # Escalations name their office in the detail, the monthly statement at the top of its data.
        addressed = data.get("to") if kind == "statements" else detail.get("to")
        incoming = Incoming(event_type, event.subject, department, escalated_to=addressed)
        owners = [o for o in (department, case.source if case else None) if o]
        found = recipients(incoming, candidates(active, owners), case)
        payload = supervision_notice(event.model_dump(mode="json"), case) if event_type == ESCALATED else None
        plan.deliveries.append(Planned(seq, event, event_type, found, payload))
    return plan
