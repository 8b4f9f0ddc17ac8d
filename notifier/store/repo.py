"""Take-in queries: the event row, what is remembered of cases, subscriptions, new delivery rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.domain.recipients import CaseFacts, Recipient, SubscriberKind, SubscriptionView
from notifier.store.models import CaseMemory, Delivery, ReceivedEvent, Subscription
from schemas.envelope import Envelope


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    return (sqlite_insert if dialect == "sqlite" else pg_insert)(table)


async def store_event(session: AsyncSession, event: Envelope, *, topic: str, department: str | None,
                      now: datetime) -> int | None:
    """The event's seq, or None when this event id was taken in before (a redelivery)."""
    statement = _insert(session, ReceivedEvent).values(
        event_id=event.id, type=event.type, case_id=event.subject, department=department, topic=topic,
        envelope=event.model_dump(mode="json"), received_at=now,
    ).on_conflict_do_nothing(index_elements=["event_id"]).returning(ReceivedEvent.seq)
    return (await session.execute(statement)).scalar()


async def remember(session: AsyncSession, case_id: str, now: datetime, **facts: Any) -> None:
    """Upsert the given facts of a case; facts not named keep their value."""
    statement = _insert(session, CaseMemory).values(case_id=case_id, updated_at=now, **facts)
    statement = statement.on_conflict_do_update(index_elements=["case_id"], set_={**facts, "updated_at": now})
    await session.execute(statement)


async def case_facts(session: AsyncSession, case_id: str) -> CaseFacts | None:
    row = await session.get(CaseMemory, case_id)
    if row is None:
        return None
    return CaseFacts(case_id=row.case_id, source=row.source, callback_url=row.callback_url,
                     department=row.department, dispatched_at=row.dispatched_at, ack_hours=row.ack_hours,
                     deadline_days=row.deadline_days)


async def candidate_subscriptions(session: AsyncSession, owners: Sequence[str]) -> list[SubscriptionView]:
    """Active subscriptions that could hear an event of these owners (department, report source)."""
    query = select(Subscription.id, Subscription.kind, Subscription.owner, Subscription.event_types).where(
        Subscription.active.is_(True),
        or_(Subscription.kind == SubscriberKind.supervisor.value, Subscription.owner.in_(list(owners))),
    ).order_by(Subscription.created_at, Subscription.id)
    rows = (await session.execute(query)).all()
    return [SubscriptionView(r.id, SubscriberKind(r.kind), r.owner, tuple(r.event_types)) for r in rows]


async def add_deliveries(session: AsyncSession, *, seq: int, event: Envelope, event_type: str,
                         recipients: Sequence[Recipient], payload: dict[str, Any] | None, now: datetime) -> None:
    """One pending row per recipient; the unique (event_id, recipient) makes a second take-in a no-op."""
    if not recipients:
        return
    rows = [
        {"event_seq": seq, "event_id": event.id, "event_type": event_type, "case_id": event.subject,
         "recipient": r.key, "subscription_id": r.subscription_id, "url": r.url, "lane": r.lane(event.subject),
         "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": now, "horizon_from": now,
         "created_at": now, "updated_at": now}
        for r in recipients
    ]
    statement = _insert(session, Delivery).on_conflict_do_nothing(index_elements=["event_id", "recipient"])
    await session.execute(statement, rows)
