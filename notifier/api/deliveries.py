"""Admin API of deliveries: the log, and redelivery of dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select

from notifier.api.auth import AdminCaller, AdminDep, RuntimeDep
from notifier.api.models import DeliveryPage, DeliveryRead
from notifier.state import notifier_state
from notifier.store.models import Delivery, NotifierAudit
from services.audit import record
from services.problems import Problem

# Delivery ids are BIGINT: a larger number is a 422, not a database overflow (found by fuzzing as admin).
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1)]

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"], dependencies=[AdminDep])


@router.get("", response_model=DeliveryPage)
async def list_deliveries(
    runtime: RuntimeDep,
    subscriber: Annotated[str | None, Query(description="subscription id, or `callback`")] = None,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
    case_id: str | None = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryPage:
    """Deliveries newest first; `next_cursor` continues the listing."""
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit + 1)
    if subscriber == "callback":
        query = query.where(Delivery.recipient == "callback")
    elif subscriber is not None:
        query = query.where(Delivery.subscription_id == subscriber)
    if status is not None:
        query = query.where(Delivery.status == status)
    if case_id is not None:
        query = query.where(Delivery.case_id == case_id)
    if cursor is not None:
        query = query.where(Delivery.id < cursor)
    async with runtime.db.sessions() as session:
        rows = list((await session.execute(query)).scalars())
    items = [DeliveryRead.model_validate(r, from_attributes=True) for r in rows[:limit]]
    return DeliveryPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


@router.get("/{delivery_id}", response_model=DeliveryRead)
async def get_delivery(delivery_id: DeliveryId, runtime: RuntimeDep) -> DeliveryRead:
    async with runtime.db.sessions() as session:
        row = await session.get(Delivery, delivery_id)
    if row is None:
        raise Problem(404, "Delivery not found", f"no delivery {delivery_id}")
    return DeliveryRead.model_validate(row, from_attributes=True)


@router.post("/{delivery_id}/redeliver", status_code=202, response_model=DeliveryRead)
async def redeliver(delivery_id: DeliveryId, request: Request, runtime: RuntimeDep,
                    caller: AdminCaller) -> DeliveryRead:
    """Send a dead letter again, with a fresh horizon; it keeps its event id, so receivers can dedupe."""
    now = datetime.now(UTC)
    async with runtime.db.transaction() as session:
        row = await session.get(Delivery, delivery_id, with_for_update=True)
        if row is None:
            raise Problem(404, "Delivery not found", f"no delivery {delivery_id}")
        if row.status != "dead":
            raise Problem(409, "Not a dead letter", f"delivery {delivery_id} is {row.status}")
        row.status, row.attempts, row.next_attempt_at, row.horizon_from = "pending", 0, now, now
        row.locked_until, row.lease_owner, row.updated_at = None, None, now
        record(session, NotifierAudit, caller.actor, "delivery.redeliver", str(delivery_id),
               {"subscription_id": row.subscription_id, "event_id": row.event_id})
    notifier_state(request).worker.wakeup()
    return DeliveryRead.model_validate(row, from_attributes=True)
