"""Take-in queries, a poll at a time: event rows, what is remembered of cases, subscriptions, delivery rows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.domain.recipients import CaseFacts, Recipient, SubscriberKind, SubscriptionView
from notifier.domain.topics import Wanting
from notifier.store.models import CaseMemory, Delivery, ReceivedEvent, Subscription
from schemas.envelope import Envelope
from services.db import dialect_of, insert_for


async def store_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert the events once each; the seq of every event taken in now (redeliveries are not in it)."""
    if not rows:
        return {}
    result = await session.execute(_store_events(dialect_of(session)), list(rows))
    return {event_id: seq for event_id, seq in result.all()}


# The statements of every poll are built once (per dialect where ON CONFLICT differs): building one costs more
# Python than running it.
@cache
def _store_events(dialect: str) -> Insert:
    table = ReceivedEvent.__table__
    return insert_for(dialect, table).on_conflict_do_nothing(index_elements=["event_id"]) \
        .returning(table.c.event_id, table.c.seq)


_CASE_FACTS = select(*CaseMemory.__table__.c).where(CaseMemory.case_id.in_(bindparam("case_ids", expanding=True)))


@cache
def _remember(dialect: str, names: tuple[str, ...]) -> Insert:
    statement = insert_for(dialect, CaseMemory.__table__)
    return statement.on_conflict_do_update(
        index_elements=["case_id"], set_={n: statement.excluded[n] for n in (*names, "updated_at")})


@cache
def _add_deliveries(dialect: str) -> Insert:
    return insert_for(dialect, Delivery.__table__).on_conflict_do_nothing(index_elements=["event_id", "recipient"])


async def case_facts(session: AsyncSession, case_ids: Iterable[str]) -> dict[str, CaseFacts]:
    """What is remembered of these cases, by case id."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    rows = (await session.execute(_CASE_FACTS, {"case_ids": wanted})).all()
    return {row.case_id: CaseFacts(case_id=row.case_id, source=row.source, callback_url=row.callback_url,
                                   department=row.department, dispatched_at=row.dispatched_at,
                                   ack_hours=row.ack_hours, deadline_days=row.deadline_days) for row in rows}


async def remember(session: AsyncSession, facts: Mapping[str, Mapping[str, Any]], now: datetime) -> None:
    """Upsert the given facts of each case; facts not named keep their value."""
    by_names: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for case_id, named in facts.items():
        by_names.setdefault(tuple(sorted(named)), []).append({"case_id": case_id, "updated_at": now, **named})
    for names, rows in by_names.items():
        await session.execute(_remember(dialect_of(session), names), rows)


async def wanting(session: AsyncSession) -> list[Wanting]:
    """Every active subscription as the topics it needs see it (since: when it began hearing dispatches)."""
    query = select(Subscription.kind, Subscription.owner, Subscription.event_types, Subscription.dispatches_since,
                   Subscription.created_at).where(Subscription.active.is_(True))
    return [Wanting(SubscriberKind(r.kind), r.owner, tuple(r.event_types), r.dispatches_since or r.created_at)
            for r in (await session.execute(query)).all()]


class SubscriptionCache:
    """Active subscriptions, read at most once per `ttl_s`; this process's admin API writes invalidate it."""

    def __init__(self, ttl_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._views: list[SubscriptionView] = []
        self._until = 0.0

    def invalidate(self) -> None:
        self._until = 0.0

    async def active(self, session: AsyncSession) -> list[SubscriptionView]:
        """Every active subscription, oldest first."""
        if self.clock() >= self._until:
            query = select(Subscription.id, Subscription.kind, Subscription.owner, Subscription.event_types).where(
                Subscription.active.is_(True)).order_by(Subscription.created_at, Subscription.id)
            rows = (await session.execute(query)).all()
            self._views = [SubscriptionView(r.id, SubscriberKind(r.kind), r.owner, tuple(r.event_types)) for r in rows]
            self._until = self.clock() + self.ttl_s
        return self._views


def delivery_rows(*, seq: int, event: Envelope, event_type: str, recipients: Sequence[Recipient],
                  payload: dict[str, Any] | None, now: datetime) -> list[dict[str, Any]]:
    """One pending row per recipient."""
    return [
        {"event_seq": seq, "event_id": event.id, "event_type": event_type, "case_id": event.subject,
         "recipient": r.key, "subscription_id": r.subscription_id, "url": r.url, "lane": r.lane(event.subject),
         "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": now, "horizon_from": now,
         "created_at": now, "updated_at": now}
        for r in recipients
    ]


async def add_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert in the given order (ids follow it: the lane order); the unique (event_id, recipient) dedupes."""
    if rows:
        await session.execute(_add_deliveries(dialect_of(session)), list(rows))
