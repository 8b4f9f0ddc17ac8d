"""Notifier handlers: take in each event once, and in the same transaction the deliveries it causes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import orjson

from notifier.domain.planning import department_of, plan_deliveries
from notifier.store import repo
from schemas.envelope import Envelope
from services.bus.base import Message
from services.db import Database
from services.settings import Settings


def topic_kind(settings: Settings, topic: str) -> str:
    """`routed`, `dispatch`, `case-events`, `statements` or `other` for a full topic name."""
    if topic == settings.topic("routed.v1"):
        return "routed"
    if topic == settings.topic("statements.v1"):
        return "statements"
    if topic == settings.topic("case-events.v1"):
        return "case-events"
    if topic.startswith(settings.topic("dispatch.")):
        return "dispatch"
    return "other"


async def take_in(batch: Sequence[tuple[Envelope, Message]], *, db: Database, settings: Settings,
                  subscriptions: repo.SubscriptionCache, on_deliveries: Callable[[], None] | None = None) -> int:
    """Store a poll's events and the deliveries they cause in one transaction; returns deliveries created."""
    now = datetime.now(UTC)
    taken = [(event, topic_kind(settings, message.topic)) for event, message in batch]
    async with db.transaction() as session:
        seqs = await repo.store_events(session, [
            {"event_id": event.id, "type": event.type, "case_id": event.subject,
             "department": department_of(event.data),
             # The envelope as published (its JSON parses to what model_dump would rebuild, at a tenth of the cost).
             "topic": message.topic, "envelope": orjson.loads(message.value), "received_at": now}
            for (event, message), (_, kind) in zip(batch, taken, strict=True) if kind != "routed"])
        cases = await repo.case_facts(session, (event.subject for event, _ in batch))
        plan = plan_deliveries(taken, seqs, cases, await subscriptions.active(session))
        await repo.remember(session, plan.remembered, now)
        rows = [row for p in plan.deliveries
                for row in repo.delivery_rows(seq=p.seq, event=p.event, event_type=p.event_type,
                                              recipients=p.recipients, payload=p.payload, now=now)]
        await repo.add_deliveries(session, rows)
    if rows and on_deliveries is not None:
        on_deliveries()
    return len(rows)
