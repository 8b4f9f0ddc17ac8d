"""Notifier HTTP API: events taken in per case, plus the admin, delivery and stream routers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import select

from notifier.api import deliveries, stream, subscriptions
from notifier.store.models import ReceivedEvent
from schemas.roles import OVERSEERS
from services.caller import require_roles
from services.runtime import Runtime

router = APIRouter(tags=["notifier"])


class ReceivedEventRead(BaseModel):
    seq: int
    event_id: str
    type: str
    case_id: str
    department: str | None
    topic: str
    received_at: datetime
    envelope: dict[str, Any]


@router.get("/v1/notifier/events", response_model=list[ReceivedEventRead],
            dependencies=[Depends(require_roles(*OVERSEERS))])
async def events_of_case(case_id: str, request: Request) -> list[ReceivedEventRead]:
    """Events the notifier took in for one case, in arrival order."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.sessions() as session:
        rows = (await session.execute(
            select(ReceivedEvent).where(ReceivedEvent.case_id == case_id).order_by(ReceivedEvent.seq)
        )).scalars().all()
    return [ReceivedEventRead.model_validate(r, from_attributes=True) for r in rows]


routers = [router, subscriptions.router, deliveries.router, stream.router]
