"""Notifier handlers: take in each event once, and in the same transaction the deliveries it causes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from notifier.domain.notices import supervision_notice
from notifier.domain.recipients import Incoming, recipients
from notifier.domain.vocabulary import ESCALATED, event_type_of
from notifier.store import repo
from schemas.envelope import Envelope
from schemas.events import CaseDispatched, CaseRouted
from services.bus.base import Message
from services.db import Database
from services.settings import Settings


def topic_kind(settings: Settings, topic: str) -> str:
    """`routed`, `dispatch`, `case-events` or `other` for a full topic name."""
    if topic == settings.topic("routed.v1"):
        return "routed"
    if topic == settings.topic("case-events.v1"):
        return "case-events"
    if topic.startswith(settings.topic("dispatch.")):
        return "dispatch"
    return "other"


async def take_in(event: Envelope, message: Message, *, db: Database, settings: Settings,
                  on_deliveries: Callable[[], None] | None = None) -> int:
    """Store the event and its deliveries once; returns how many deliveries it created."""
    kind = topic_kind(settings, message.topic)
    now = datetime.now(UTC)
    data = event.data
    department = data.get("department") if isinstance(data.get("department"), str) else None
    async with db.transaction() as session:
        if kind == "routed":
            # Only the reporter's callback and source are kept: the report itself has personal data.
            routed = CaseRouted.model_validate(data)
            await repo.remember(session, routed.case_id, now, source=routed.report.source.value,
                                callback_url=str(routed.report.callback_url) if routed.report.callback_url else None)
            return 0
        seq = await repo.store_event(session, event, topic=message.topic, department=department, now=now)
        if seq is None:
            return 0  # a redelivery: its deliveries were made with the first take-in
        if kind == "dispatch":
            dispatched = CaseDispatched.model_validate(data)
            if dispatched.role == "primary":
                await repo.remember(session, event.subject, now, department=dispatched.department,
                                    dispatched_at=event.time, ack_hours=dispatched.ack_hours,
                                    deadline_days=dispatched.deadline_days)
        event_type = event_type_of(kind, event.type, data)
        if event_type is None:
            return 0
        case = await repo.case_facts(session, event.subject)
        raw_detail = data.get("detail")
        detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
        incoming = Incoming(event_type, event.subject, department, escalated_to=detail.get("to"))
        owners = [o for o in (department, case.source if case else None) if o]
        subscriptions = await repo.candidate_subscriptions(session, owners)
        found = recipients(incoming, subscriptions, case)
        payload = supervision_notice(event.model_dump(mode="json"), case) if event_type == ESCALATED else None
        await repo.add_deliveries(session, seq=seq, event=event, event_type=event_type, recipients=found,
                                  payload=payload, now=now)
    if found and on_deliveries is not None:
        on_deliveries()
    return len(found)
