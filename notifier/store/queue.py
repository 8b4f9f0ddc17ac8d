"""The delivery queue in SQL: claim the heads of lanes under a lease, record outcomes in batches.

On PostgreSQL a claim and a batch of outcomes are one statement each; SQLite (embedded mode, unit tests)
takes the portable path of several.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Boolean, Table, Text, bindparam, func, or_, select, text, update
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


def _claimable() -> Any:
    earlier = aliased(Delivery)
    now = bindparam("now", type_=UtcDateTime())
    # The ordering rule: a delivery waits while an earlier one of its lane is still pending.
    blocked = select(earlier.id).where(earlier.lane == Delivery.lane, earlier.status == "pending",
                                       earlier.id < Delivery.id).exists()
    return select(Delivery.id).where(
        Delivery.status == "pending", Delivery.next_attempt_at <= now,
        or_(Delivery.locked_until.is_(None), Delivery.locked_until < now), ~blocked,
    ).order_by(Delivery.id).limit(bindparam("limit"))


# Statements are built once: building SQLAlchemy constructs per claim cost more than running them.
_PICK = _claimable()
_LEASE = (
    update(Delivery)
    .where(Delivery.id.in_(bindparam("ids", expanding=True)),
           or_(Delivery.locked_until.is_(None), Delivery.locked_until < bindparam("now", type_=UtcDateTime())))
    .values(locked_until=bindparam("until", type_=UtcDateTime()), lease_owner=bindparam("owner"))
)
_LEASED = (
    select(Delivery.id, Delivery.event_type, Delivery.recipient, Delivery.url, Delivery.attempts,
           Delivery.horizon_from, sql_cast(Delivery.payload, Text).label("payload"),
           sql_cast(ReceivedEvent.envelope, Text).label("envelope"),
           Subscription.url.label("sub_url"), Subscription.secret, Subscription.previous_secret,
           Subscription.previous_secret_expires_at, Subscription.channel, Subscription.active)
    .join(ReceivedEvent, ReceivedEvent.seq == Delivery.event_seq)
    .outerjoin(Subscription, Subscription.id == Delivery.subscription_id)
    .where(Delivery.id.in_(bindparam("ids", expanding=True)), Delivery.lease_owner == bindparam("owner"))
    .order_by(Delivery.id)
)
_COLUMNS: dict[str, Any] = {"horizon_from": UtcDateTime(), "payload": Text(), "envelope": Text(), "active": Boolean(),
                            "previous_secret_expires_at": UtcDateTime()}
# PostgreSQL: pick, lease and read in one round trip; SKIP LOCKED keeps replicas off each other's rows.
_CLAIM_PG = text("""
WITH picked AS (
    SELECT d.id FROM notifier_deliveries AS d
    WHERE d.status = 'pending' AND d.next_attempt_at <= :now
      AND (d.locked_until IS NULL OR d.locked_until < :now)
      AND NOT EXISTS (SELECT 1 FROM notifier_deliveries AS e
                      WHERE e.lane = d.lane AND e.status = 'pending' AND e.id < d.id)
    ORDER BY d.id LIMIT :limit
    FOR UPDATE OF d SKIP LOCKED
), leased AS (
    UPDATE notifier_deliveries AS d SET locked_until = :until, lease_owner = :owner
    FROM picked WHERE d.id = picked.id
    RETURNING d.id, d.event_seq, d.event_type, d.recipient, d.url, d.subscription_id, d.payload, d.attempts,
              d.horizon_from
)
SELECT l.id, l.event_type, l.recipient, l.url, l.attempts, l.horizon_from,
       CAST(l.payload AS TEXT) AS payload, CAST(e.envelope AS TEXT) AS envelope,
       s.url AS sub_url, s.secret, s.previous_secret, s.previous_secret_expires_at, s.channel, s.active
FROM leased AS l JOIN notifier_events AS e ON e.seq = l.event_seq
LEFT JOIN notifier_subscriptions AS s ON s.id = l.subscription_id
ORDER BY l.id
""").bindparams(bindparam("now", type_=UtcDateTime()), bindparam("until", type_=UtcDateTime())).columns(**_COLUMNS)


async def claim(db: Database, *, owner: str, limit: int, now: datetime, lease_s: float) -> list[Claimed]:
    """Lease up to `limit` due lane heads, with what sending them needs."""
    until = now + timedelta(seconds=lease_s)
    async with db.transaction() as session:
        if db.sqlite:
            ids = list((await session.execute(_PICK, {"now": now, "limit": limit})).scalars())
            if not ids:
                return []
            # The lease guard in the WHERE stands in for row locks, which SQLite has not.
            await session.execute(_LEASE, {"ids": ids, "now": now, "until": until, "owner": owner})
            rows = (await session.execute(_LEASED, {"ids": ids, "owner": owner})).all()
        else:
            rows = (await session.execute(_CLAIM_PG, {"now": now, "until": until, "owner": owner,
                                                      "limit": limit})).all()
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
# PostgreSQL: one UPDATE for the whole batch, its rows passed as arrays.
_RECORD_PG = text("""
UPDATE notifier_deliveries AS d
SET status = v.status, attempts = v.attempts, next_attempt_at = v.next_at, updated_at = v.at,
    delivered_at = CASE WHEN v.status = 'delivered' THEN v.at END, last_status = v.last_status,
    last_error = v.last_error, locked_until = NULL, lease_owner = NULL
FROM unnest(CAST(:ids AS BIGINT[]), CAST(:statuses AS TEXT[]), CAST(:attempts AS INTEGER[]),
            CAST(:ats AS TIMESTAMPTZ[]), CAST(:nexts AS TIMESTAMPTZ[]), CAST(:last_statuses AS INTEGER[]),
            CAST(:last_errors AS TEXT[])) AS v(id, status, attempts, at, next_at, last_status, last_error)
WHERE d.id = v.id AND d.lease_owner = :owner
""")


async def record(db: Database, *, owner: str, results: Sequence[Result]) -> None:
    """Write outcomes in one transaction; a row whose lease another worker took is left to it."""
    if not results:
        return
    async with db.transaction() as session:
        if db.sqlite:
            await session.execute(_RECORD, [
                {"b_id": r.id, "b_status": r.status, "b_attempts": r.attempts, "b_next": r.next_attempt_at,
                 "b_at": r.at, "b_delivered": r.at if r.status == "delivered" else None,
                 "b_last_status": r.last_status, "b_last_error": r.last_error, "owner": owner}
                for r in results])
            return
        await session.execute(_RECORD_PG, {
            "owner": owner, "ids": [r.id for r in results], "statuses": [r.status for r in results],
            "attempts": [r.attempts for r in results], "ats": [r.at for r in results],
            "nexts": [r.next_attempt_at for r in results], "last_statuses": [r.last_status for r in results],
            "last_errors": [r.last_error for r in results]})


async def pending_count(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).where(Delivery.status == "pending")) or 0)
