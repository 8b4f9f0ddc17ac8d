"""Inbox: the ids of events a consumer has applied, written in the same transaction as the change."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import String, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from services.db import UtcDateTime


class InboxMixin:
    """Columns of a service's inbox table: one row per processed event id."""

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @declared_attr.directive
    def __tablename__(cls) -> str:
        raise NotImplementedError("give the service's inbox table a name")


async def first_time(session: AsyncSession, table: type[InboxMixin], event_id: str) -> bool:
    """Record the event id; False when it was already processed (a redelivery to skip)."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    values = {"event_id": event_id, "processed_at": datetime.now(UTC)}
    statement = (
        pg_insert(table).values(**values).on_conflict_do_nothing()
        if dialect == "postgresql"
        else sqlite_insert(table).values(**values).on_conflict_do_nothing()
        if dialect == "sqlite"
        else insert(table).values(**values)
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
