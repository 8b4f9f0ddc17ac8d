"""Overseers' reads of personal data, audited wherever they happen.

Adjudicators, operators and admins read cases whole; each read that shows a reporter's name or phone lands in
tracker_audit as `case.read_personal` (target: the case id; detail: the fields shown and the path that showed
them), in the read's own transaction or a short one of its own. Every tracker path that shows a report to an
overseer calls `record_personal_reads` (the console's pages can too).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import record
from services.db import Database
from services.pii import personal_fields
from services.principal import Caller
from tracker.store.models import TrackerAudit

READ_PERSONAL = "case.read_personal"


def stage_personal_reads(session: AsyncSession, caller: Caller, reports: Iterable[tuple[str, dict[str, Any] | None]],
                         *, via: str) -> int:
    """An audit row per case whose report holds personal data, in the caller's transaction; how many."""
    count = 0
    for case_id, report in reports:
        if fields := personal_fields(report):
            record(session, TrackerAudit, caller.actor, READ_PERSONAL, case_id, {"fields": fields, "via": via})
            count += 1
    return count


async def record_personal_reads(db: Database, caller: Caller, reports: Iterable[tuple[str, dict[str, Any] | None]],
                                *, via: str) -> int:
    """As stage_personal_reads, in a transaction of its own (for reads that hold none), committed before the
    answer goes out: a read that cannot be audited is not answered."""
    wanted = [(case_id, report) for case_id, report in reports if personal_fields(report)]
    if not wanted:
        return 0
    async with db.transaction() as session:
        return stage_personal_reads(session, caller, wanted, via=via)
