"""Notifier handlers: take in each event once, and in the same transaction the deliveries it causes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from notifier.domain.planning import department_of, plan_deliveries
from notifier.domain.transitions import told
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
    """Store a poll's events and the deliveries they cause in one transaction; returns deliveries created.

    A case.changed event is taken in as its transitions, one event each (notifier.domain.transitions)."""
    now = datetime.now(UTC)
    taken = [(one, topic_kind(settings, message.topic), event, message) for event, message in batch
             for one in told(event)]
    async with db.transaction() as session:
        seqs = await repo.store_events(session, [
            {"event_id": event.id, "type": event.type, "case_id": event.subject,
             "department": department_of(event.data), "topic": message.topic,
             "envelope": _as_published(event, published, message), "received_at": now}
            for event, kind, published, message in taken if kind != "routed"])
        cases = await repo.case_facts(session, (event.subject for event, _ in batch))
        plan = plan_deliveries([(event, kind) for event, kind, _, _ in taken], seqs, cases,
                               await subscriptions.active(session))
        await repo.remember(session, plan.remembered, now)
        rows = [row for p in plan.deliveries
                for row in repo.delivery_rows(seq=p.seq, event=p.event, event_type=p.event_type,
                                              recipients=p.recipients, payload=p.payload, now=now)]
        await repo.add_deliveries(session, rows)
    if rows and on_deliveries is not None:
        on_deliveries()
    return len(rows)


def _as_published(one: Envelope, published: Envelope, message: Message) -> Any:
    """The envelope to store: as published (its JSON parses to what model_dump would rebuild, at a tenth of the
    cost), or a transition's event as the notifier tells it."""
    if one is published:
        return orjson.loads(message.value)
    return orjson.loads(one.to_bytes())
