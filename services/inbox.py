"""Inbox: the ids of events a consumer has applied, written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Insert, String, Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from services.db import UtcDateTime, dialect_of, insert_for, table_of


class InboxMixin:
    """Columns of a service's inbox table: one row per processed event id."""

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @declared_attr.directive
    def __tablename__(cls) -> str:
        raise NotImplementedError("give the service's inbox table a name")


async def first_time(session: AsyncSession, table: type[InboxMixin], event_id: str) -> bool:
    """Record the event id; False when it was already processed (a redelivery to skip)."""
    return bool(await first_times(session, table, [event_id]))


async def first_times(session: AsyncSession, table: type[InboxMixin], event_ids: Sequence[str]) -> set[str]:
    """Record a batch's event ids in one statement; the ids returned are new (the rest are redeliveries)."""
    if not event_ids:
        return set()
    now = datetime.now(UTC)
    rows = [{"event_id": event_id, "processed_at": now} for event_id in dict.fromkeys(event_ids)]
    # One statement with the rows as parameters (not inlined): compiled once and cached, whatever the batch size.
    statement = _record(dialect_of(session), table_of(table))
    return set((await session.execute(statement, rows)).scalars().all())


@cache
def _record(dialect: str, core: Table) -> Insert:
    """The inbox's INSERT … ON CONFLICT DO NOTHING RETURNING of one table and database, built once: building it
    costs more than running it. A Core insert: the ORM's bulk path costs more than the row."""
    return insert_for(dialect, core).on_conflict_do_nothing().returning(core.c.event_id)
