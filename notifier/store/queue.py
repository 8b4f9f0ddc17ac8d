"""The delivery queue in SQL: claim the heads of lanes under a lease, record outcomes in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import aliased

from notifier.store.models import Delivery, ReceivedEvent, Subscription
from services.db import Database


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds the lease of, with what sending it needs."""

    id: int
    event_id: str
    event_type: str
    recipient: str
    url: str | None
    secret: str | None
    channel: str
    subscription_active: bool
    body: dict[str, Any]
    attempts: int
    horizon_from: datetime


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome to record: status `delivered`, `pending` (retry at next_attempt_at) or `dead`."""

    id: int
    status: str
    attempts: int
    at: datetime
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None


def _claimable(now: datetime) -> Any:
    earlier = aliased(Delivery)
    # The ordering rule: a delivery waits while an earlier one of its lane is still pending.
    blocked = select(earlier.id).where(earlier.lane == Delivery.lane, earlier.status == "pending",
                                       earlier.id < Delivery.id).exists()
    return select(Delivery.id).where(
        Delivery.status == "pending", Delivery.next_attempt_at <= now,
        or_(Delivery.locked_until.is_(None), Delivery.locked_until < now), ~blocked,
    )


async def claim(db: Database, *, owner: str, limit: int, now: datetime, lease_s: float) -> list[Claimed]:
    """Lease up to `limit` due lane heads; SKIP LOCKED keeps replicas off each other's rows."""
    async with db.transaction() as session:
        query = _claimable(now).order_by(Delivery.id).limit(limit)
        if not db.sqlite:
            query = query.with_for_update(skip_locked=True, of=Delivery)
        ids = list((await session.execute(query)).scalars())
        if not ids:
            return []
        # The lease guard in the WHERE also serves SQLite, which has no row locks to skip.
        await session.execute(
            update(Delivery).where(Delivery.id.in_(ids), or_(Delivery.locked_until.is_(None),
                                                             Delivery.locked_until < now))
            .values(locked_until=now + timedelta(seconds=lease_s), lease_owner=owner),
            execution_options={"synchronize_session": False},
        )
        rows = (await session.execute(
            select(Delivery, ReceivedEvent.envelope, Subscription.url, Subscription.secret, Subscription.channel,
                   Subscription.active)
            .join(ReceivedEvent, ReceivedEvent.seq == Delivery.event_seq)
            .outerjoin(Subscription, Subscription.id == Delivery.subscription_id)
            .where(Delivery.id.in_(ids), Delivery.lease_owner == owner)
            .order_by(Delivery.id)
        )).all()
    return [
        Claimed(id=d.id, event_id=str((d.payload or envelope)["id"]), event_type=d.event_type,
                recipient=d.recipient, url=d.url or sub_url, secret=secret if active else None,
                channel=channel or "webhook", subscription_active=bool(active) or d.recipient == "callback",
                body=d.payload or envelope, attempts=d.attempts, horizon_from=d.horizon_from)
        for d, envelope, sub_url, secret, channel, active in rows
    ]


async def record(db: Database, *, owner: str, results: Sequence[Result]) -> None:
    """Write outcomes in one transaction; a row whose lease another worker took is left to it."""
    if not results:
        return
    table = cast(Table, Delivery.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.lease_owner == owner)
        .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next"), updated_at=bindparam("b_at"),
                delivered_at=bindparam("b_delivered"), last_status=bindparam("b_last_status"),
                last_error=bindparam("b_last_error"), locked_until=None, lease_owner=None)
    )
    params = [
        {"b_id": r.id, "b_status": r.status, "b_attempts": r.attempts, "b_next": r.next_attempt_at, "b_at": r.at,
         "b_delivered": r.at if r.status == "delivered" else None, "b_last_status": r.last_status,
         "b_last_error": r.last_error}
        for r in results
    ]
    async with db.transaction() as session:
        await session.execute(statement, params)


async def pending_count(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).where(Delivery.status == "pending")) or 0)
