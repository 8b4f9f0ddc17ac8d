"""Notifier handlers: take in each dispatch and case event once; deliveries are made from these rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from notifier.store.models import ReceivedEvent
from schemas.envelope import Envelope
from services.bus.base import Message
from services.db import Database


async def take_in(event: Envelope, message: Message, *, db: Database) -> None:
    """Store the event under its id; a redelivery finds the id taken and changes nothing."""
    department = event.data.get("department") if isinstance(event.data, dict) else None
    insert = sqlite_insert if db.sqlite else pg_insert
    statement = insert(ReceivedEvent).values(
        event_id=event.id, type=event.type, case_id=event.subject, department=department,
        topic=message.topic, envelope=event.model_dump(mode="json"), received_at=datetime.now(UTC),
    ).on_conflict_do_nothing(index_elements=["event_id"])
    async with db.transaction() as session:
        await session.execute(statement)
