"""Admin API of subscriptions: who hears what, by which channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from notifier.api.auth import AdminCaller, AdminDep, RuntimeDep
from notifier.api.models import SubscriptionCreate, SubscriptionCreated, SubscriptionRead, SubscriptionUpdate
from notifier.domain.signature import new_secret, rotate, signing_secrets
from notifier.domain.topics import hears_dispatches
from notifier.state import notifier_state
from notifier.store.models import NotifierAudit, Subscription
from services.audit import record
from services.netguard import url_refusal
from services.problems import Problem
from services.runtime import Runtime

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], dependencies=[AdminDep])


def _read(row: Subscription) -> SubscriptionRead:
    read = SubscriptionRead.model_validate(row, from_attributes=True)
    overlapping = len(signing_secrets(row.secret, row.previous_secret, row.previous_secret_expires_at,
                                      datetime.now(UTC))) > 1
    read.previous_secret_expires_at = row.previous_secret_expires_at if overlapping else None
    return read


def _changed(request: Request) -> None:
    """Take-in caches subscriptions and the consumer follows them; this process hears its own writes at once
    (replicas within the TTL, and their consumers at their next reconcile)."""
    state = notifier_state(request)
    state.subscriptions.invalidate()
    state.topics.nudge()


def _dispatches_since(row: Subscription, was_hearing: bool, now: datetime) -> datetime | None:
    """Kept while it goes on hearing dispatches (its topic is read without a break); now when it begins to."""
    if not (row.active and hears_dispatches(row.event_types)):
        return None
    return row.dispatches_since if was_hearing and row.dispatches_since else now


def _channels(request: Request) -> set[str]:
    return set(notifier_state(request).channels)


async def _check_url(url: str, runtime: Runtime) -> None:
    """422 for a URL that is, or resolves to, a loopback, private, link-local… address (services/netguard.py);
    the delivery checks the address it connects to again."""
    unsafe = await url_refusal(url, runtime.settings.outbound_networks)
    if unsafe is not None:
        raise Problem(422, "URL not allowed", unsafe)


@router.post("", status_code=201, response_model=SubscriptionCreated)
async def create_subscription(body: SubscriptionCreate, request: Request, runtime: RuntimeDep,
                              caller: AdminCaller) -> SubscriptionCreated:
    """Create a subscription; the answer carries the signing secret, which is never shown again."""
    if body.channel not in _channels(request):
        raise Problem(422, "Unknown channel", f"channels: {sorted(_channels(request))}")
    await _check_url(str(body.url), runtime)
    now = datetime.now(UTC)
    # Made secrets are Standard Webhooks keys, so those headers are sent too (WEBHOOKS.md).
    secret = body.secret or new_secret()
    row = Subscription(id=str(uuid.uuid4()), kind=body.kind.value, owner=body.owner, channel=body.channel,
                       url=str(body.url), secret=secret, event_types=body.event_types,
                       description=body.description, active=True, created_at=now, updated_at=now,
                       dispatches_since=now if hears_dispatches(body.event_types) else None)
    async with runtime.db.transaction() as session:
        session.add(row)
        record(session, NotifierAudit, caller.actor, "subscription.create", row.id,
               {"kind": row.kind, "owner": row.owner, "channel": row.channel, "url": row.url})
    _changed(request)
    return SubscriptionCreated(**_read(row).model_dump(), secret=secret)


@router.get("", response_model=list[SubscriptionRead])
async def list_subscriptions(runtime: RuntimeDep, owner: str | None = None, kind: str | None = None,
                             active: bool | None = None) -> list[SubscriptionRead]:
    """Subscriptions, oldest first, filtered by owner, kind or active."""
    query = select(Subscription).order_by(Subscription.created_at, Subscription.id)
    if owner is not None:
        query = query.where(Subscription.owner == owner)
    if kind is not None:
        query = query.where(Subscription.kind == kind)
    if active is not None:
        query = query.where(Subscription.active.is_(active))
    async with runtime.db.sessions() as session:
        return [_read(r) for r in (await session.execute(query)).scalars()]


@router.get("/{subscription_id}", response_model=SubscriptionRead)
async def get_subscription(subscription_id: str, runtime: RuntimeDep) -> SubscriptionRead:
    async with runtime.db.sessions() as session:
        row = await session.get(Subscription, subscription_id)
    if row is None:
        raise Problem(404, "Subscription not found", f"no subscription {subscription_id!r}")
    return _read(row)


@router.patch("/{subscription_id}", response_model=SubscriptionRead)
async def update_subscription(subscription_id: str, body: SubscriptionUpdate, request: Request,
                              runtime: RuntimeDep, caller: AdminCaller) -> SubscriptionRead:
    """Change URL, event types, secret, description or active; pending deliveries use the new values."""
    if body.url is not None:
        await _check_url(str(body.url), runtime)
    async with runtime.db.transaction() as session:
        row = await session.get(Subscription, subscription_id, with_for_update=True)
        if row is None:
            raise Problem(404, "Subscription not found", f"no subscription {subscription_id!r}")
        now = datetime.now(UTC)
        was_hearing = row.active and hears_dispatches(row.event_types)
        changes = body.model_dump(exclude_unset=True, exclude={"secret_overlap_s"})
        detail: dict[str, object] = {}
        if changes.get("secret") == row.secret:
            del changes["secret"]  # the same secret again is no rotation: a running overlap goes on
        if changes.get("secret") is not None:
            # A rotation: the replaced secret signs beside the new one for the overlap, then stops.
            overlap = body.secret_overlap_s
            overlap_s = runtime.settings.notifier.rotation_overlap_s if overlap is None else overlap
            row.previous_secret, row.previous_secret_expires_at = rotate(row.secret, now, overlap_s)
            detail["previous_secret_expires_at"] = (row.previous_secret_expires_at.isoformat()
                                                    if row.previous_secret_expires_at else None)
        changed = []
        for name, value in changes.items():
            if value is not None:
                setattr(row, name, str(value) if name == "url" else value)
                changed.append(name)
        row.updated_at = now
        row.dispatches_since = _dispatches_since(row, was_hearing, now)
        record(session, NotifierAudit, caller.actor, "subscription.update", row.id,
               {"changed": sorted(changed), **detail})
    _changed(request)
    return _read(row)


@router.delete("/{subscription_id}", status_code=204)
async def delete_subscription(subscription_id: str, request: Request, runtime: RuntimeDep,
                              caller: AdminCaller) -> Response:
    """Deactivate: the row stays for the delivery log; its pending deliveries become dead letters."""
    async with runtime.db.transaction() as session:
        row = await session.get(Subscription, subscription_id, with_for_update=True)
        if row is None:
            raise Problem(404, "Subscription not found", f"no subscription {subscription_id!r}")
        row.active, row.updated_at, row.dispatches_since = False, datetime.now(UTC), None
        record(session, NotifierAudit, caller.actor, "subscription.deactivate", row.id, {"owner": row.owner})
    _changed(request)
    return Response(status_code=204)
