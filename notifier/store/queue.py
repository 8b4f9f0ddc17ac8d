"""The delivery queue in SQL: claim the heads of lanes under a lease, record outcomes in batches.

The same statements on PostgreSQL and SQLite (embedded mode, unit tests): a claim picks and leases in two, a
batch of outcomes is one executemany.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, Text, bindparam, func, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased

from notifier.domain.signature import signing_secrets
from notifier.store.models import Delivery, ReceivedEvent, Subscription
from services.db import Database, UtcDateTime


def cast_table(model: Any) -> Table:
    return cast(Table, model.__table__)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds the lease of, with what sending it needs."""

    id: int
    event_id: str
    event_type: str
    recipient: str
    url: str | None
    secret: str | None
    previous_secret: str | None  # still signing: a rotation's overlap had not ended at the claim
    channel: str
    subscription_active: bool
    body: bytes  # the JSON to send, compact as orjson writes it
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


def _lane_heads() -> Any:
    earlier = aliased(Delivery)
    now = bindparam("now", type_=UtcDateTime())
    # The ordering rule: a delivery waits while an earlier one of its lane is still pending.
    blocked = select(earlier.id).where(earlier.lane == Delivery.lane, earlier.status == "pending",
                                       earlier.id < Delivery.id).exists()
    return (
        select(Delivery.id, Delivery.event_type, Delivery.recipient, Delivery.url, Delivery.attempts,
               Delivery.horizon_from, sql_cast(Delivery.payload, Text).label("payload"),
               sql_cast(ReceivedEvent.envelope, Text).label("envelope"),
               Subscription.url.label("sub_url"), Subscription.secret, Subscription.previous_secret,
               Subscription.previous_secret_expires_at, Subscription.channel, Subscription.active)
        .join(ReceivedEvent, ReceivedEvent.seq == Delivery.event_seq)
        .outerjoin(Subscription, Subscription.id == Delivery.subscription_id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now,
               or_(Delivery.locked_until.is_(None), Delivery.locked_until < now), ~blocked)
        .order_by(Delivery.id).limit(bindparam("limit"))
        # PostgreSQL: replicas skip each other's rows instead of waiting for them (SQLite drops the clause).
        .with_for_update(of=Delivery, skip_locked=True)
    )


# Statements are built once: building SQLAlchemy constructs per claim cost more than running them.
_PICK = _lane_heads()
# The lease guard in the WHERE keeps two workers off one row where nothing is locked (SQLite); on PostgreSQL the
# rows picked are this transaction's already, and all of them are leased.
_LEASE = (
    update(Delivery)
    .where(Delivery.id.in_(bindparam("ids", expanding=True)),
           or_(Delivery.locked_until.is_(None), Delivery.locked_until < bindparam("now", type_=UtcDateTime())))
    .values(locked_until=bindparam("until", type_=UtcDateTime()), lease_owner=bindparam("owner"))
    .returning(Delivery.id)
)


async def claim(db: Database, *, owner: str, limit: int, now: datetime, lease_s: float) -> list[Claimed]:
    """Lease up to `limit` due lane heads, with what sending them needs."""
    until = now + timedelta(seconds=lease_s)
    async with db.transaction() as session:
        picked = (await session.execute(_PICK, {"now": now, "limit": limit})).all()
        if not picked:
            return []
        leased = set((await session.execute(_LEASE, {"ids": [r.id for r in picked], "now": now, "until": until,
                                                     "owner": owner})).scalars())
    rows = [r for r in picked if r.id in leased]
    claimed = []
    for r in rows:
        # No payload may be SQL NULL or JSON null: either way the event's envelope is the body.
        body = orjson.loads(r.payload if r.payload not in (None, "null") else r.envelope)
        signing = signing_secrets(r.secret, r.previous_secret, r.previous_secret_expires_at, now) if r.active else ()
        claimed.append(Claimed(
            id=r.id, event_id=str(body["id"]), event_type=r.event_type, recipient=r.recipient,
            url=r.url or r.sub_url, secret=signing[0] if signing else None,
            previous_secret=signing[1] if len(signing) > 1 else None, channel=r.channel or "webhook",
            subscription_active=bool(r.active) or r.recipient == "callback", body=orjson.dumps(body),
            attempts=r.attempts, horizon_from=r.horizon_from))
    return claimed


_RECORD = (
    update(cast_table(Delivery))
    .where(cast_table(Delivery).c.id == bindparam("b_id"), cast_table(Delivery).c.lease_owner == bindparam("owner"))
    .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
            next_attempt_at=bindparam("b_next"), updated_at=bindparam("b_at"),
            delivered_at=bindparam("b_delivered"), last_status=bindparam("b_last_status"),
            last_error=bindparam("b_last_error"), locked_until=None, lease_owner=None)
)


async def record(db: Database, *, owner: str, results: Sequence[Result]) -> None:
    """Write outcomes in one transaction; a row whose lease another worker took is left to it.

    One executemany: asyncpg pipelines its rows, so a batch is one round trip on PostgreSQL as on SQLite."""
    if not results:
        return
    async with db.transaction() as session:
        await session.execute(_RECORD, [
            {"b_id": r.id, "b_status": r.status, "b_attempts": r.attempts, "b_next": r.next_attempt_at,
             "b_at": r.at, "b_delivered": r.at if r.status == "delivered" else None,
             "b_last_status": r.last_status, "b_last_error": r.last_error, "owner": owner}
            for r in results])


async def pending_count(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).where(Delivery.status == "pending")) or 0)
