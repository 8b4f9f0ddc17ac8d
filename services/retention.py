"""Retention of personal data: a periodic purge of the reporter's name and phone from old stored reports.

Each service that stores reports (intake, router, tracker) names which of its rows are old enough
(`CASEROUTE_PII_RETENTION_DAYS`); this module finds those still holding personal fields and purges them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from services.db import Database
from services.pii import PERSONAL_FIELDS, purged_report
from services.runtime import Task
from services.settings import Settings
from services.waiting import wait_or_stop

log = logging.getLogger(__name__)
Purge = Callable[[datetime], Awaitable[int]]  # cutoff → rows purged in one batch


async def purge_reports(db: Database, table: Any, *, old_enough: ColumnElement[bool], batch: int = 500) -> int:
    """Purge one batch of rows of `table` (a `report` JSON column) matching `old_enough`; returns how many."""
    column = table.report
    holding = or_(*(column[field].as_string().is_not(None) for field in PERSONAL_FIELDS))
    # Replicas purge side by side, never the same row.
    query = select(table).where(old_enough, holding).limit(batch).with_for_update(skip_locked=True)
    async with db.transaction() as session:
        rows = (await session.execute(query)).scalars().all()
        for row in rows:
            row.report = purged_report(row.report)
    return len(rows)


def retention_task(settings: Settings, service: str, purge: Purge,
                   now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Task:
    """A loop purging, every CASEROUTE_PII_PURGE_INTERVAL_S, what is older than the retention; idle when unset."""

    async def run(stopping: asyncio.Event) -> None:
        days = settings.pii_retention_days
        if days is None:
            return
        while not stopping.is_set():
            try:
                cutoff = now() - timedelta(days=days)
                purged = 0
                while (count := await purge(cutoff)) > 0:
                    purged += count
                if purged:
                    log.info("%s: purged personal data of %d reports older than %s days", service, purged, days)
            except Exception as exc:  # the database may be away; the next pass catches up
                log.warning("%s: personal data purge failed: %r", service, exc)
            await wait_or_stop(stopping, settings.pii_purge_interval_s)

    return run
