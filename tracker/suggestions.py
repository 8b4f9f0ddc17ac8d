"""Catalogue suggestions from the tracker's own record (issue 14: learn from the loop, with a human in it).

Every ruling and every accepted re-route is a case a human placed: the examples the router's suggest() learns
from (asked through tracker.routing). Suggestions are computed on demand against the version in force and change
nothing; an adjudicator (or an administrator) accepts some of them, which publishes a new catalogue version
exactly as a saved ruling does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.suggestions import Example, Suggestion, with_suggestions
from schemas.report import Report
from services import audit
from services.principal import Caller
from tracker.handlers import Deps
from tracker.store import catalogue as versions
from tracker.store.codec import load
from tracker.store.models import Case, CatalogueVersion, DispatchAttempt, RulingRecord, TrackerAudit

LIMIT = 5000  # the newest placed cases: enough to show habits, few enough to decide each again on a request
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placed:
    """An example with when the human placed it (the ruling, or the accepting department's ack)."""

    example: Example
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        ex = self.example
        return {"case_id": ex.case_id, "how": ex.how, "department": ex.department, "at": self.at,
                "report": ex.report.model_dump(mode="json")}


class Stale(Exception):
    """Accepted ids that the record no longer suggests (already accepted, or never suggested)."""

    def __init__(self, ids: list[str], version: str) -> None:
        super().__init__(", ".join(ids))
        self.ids, self.version = ids, version


def _report(case_id: str, stored: dict[str, Any] | None) -> Report | None:
    if not stored:
        return None
    try:
        return Report.model_validate(stored)
    except ValidationError:  # a report an older schema accepted: it teaches nothing, it stops nothing
        log.warning("case %s: stored report no longer validates; left out of the examples", case_id)
        return None


async def _rulings(session: AsyncSession, since: datetime | None, limit: int) -> list[Placed]:
    query = (select(RulingRecord.case_id, RulingRecord.lead, RulingRecord.at, Case.report)
             .join(Case, Case.case_id == RulingRecord.case_id)
             .order_by(RulingRecord.at.desc(), RulingRecord.id.desc()).limit(limit))
    if since is not None:
        query = query.where(RulingRecord.at >= since)
    out: dict[str, Placed] = {}
    for case_id, lead, at, stored in (await session.execute(query)).all():
        # A case ruled twice (its first lead returned it) teaches its newest ruling only: the first was overruled.
        if case_id not in out and (report := _report(case_id, stored)) is not None:
            out[case_id] = Placed(Example(case_id, report, lead, "ruling"), at)
    return list(out.values())


async def _reroutes(session: AsyncSession, since: datetime | None, limit: int) -> list[Placed]:
    """Cases whose re-route the next department accepted: it acknowledged the attempt and has not returned it."""
    query = (select(DispatchAttempt.case_id, DispatchAttempt.attempt, DispatchAttempt.department,
                    DispatchAttempt.acked_at, Case.report, Case.state)
             .join(Case, Case.case_id == DispatchAttempt.case_id)
             .where(DispatchAttempt.attempt >= 2, DispatchAttempt.acked_at.is_not(None),
                    DispatchAttempt.returned_at.is_(None),
                    # a ruled case's later attempt is the ruling's dispatch, counted as the ruling: not here, so
                    # the limit counts re-routes only
                    ~exists().where(RulingRecord.case_id == DispatchAttempt.case_id))
             .order_by(DispatchAttempt.acked_at.desc()).limit(limit))
    if since is not None:
        query = query.where(DispatchAttempt.acked_at >= since)
    out: list[Placed] = []
    for case_id, number, department, acked_at, stored, state_doc in (await session.execute(query)).all():
        state = load(state_doc)
        # A later attempt is a re-route when the one before it was returned; a ruled case's later attempt is
        # the ruling's dispatch (a ruled case that comes back is disputed, never re-routed): the ruling counts.
        if state.ruling is not None or number - 2 >= len(state.attempts):
            continue
        if state.attempts[number - 2].returned_at is None:
            continue
        if (report := _report(case_id, stored)) is not None:
            out.append(Placed(Example(case_id, report, department, "reroute"), acked_at))
    return out


async def placed_cases(session: AsyncSession, *, since: datetime | None = None, limit: int = LIMIT
                       ) -> list[Placed]:
    """The newest `limit` examples (rulings and accepted re-routes) since `since`, newest first."""
    found = [*await _rulings(session, since, limit), *await _reroutes(session, since, limit)]
    found.sort(key=lambda p: p.at, reverse=True)
    return found[:limit]


async def examples(deps: Deps, *, since: datetime | None = None, limit: int = LIMIT) -> list[Placed]:
    async with deps.db.sessions() as session:
        return await placed_cases(session, since=since, limit=limit)


async def _suggest(deps: Deps, row: CatalogueVersion, placed: Sequence[Placed]) -> list[Suggestion]:
    # Deciding thousands of reports again takes a moment: off the event loop, so other requests go on.
    return await asyncio.to_thread(deps.routing.suggest, versions.parsed(row), [p.example for p in placed])


async def current(deps: Deps) -> tuple[str, list[Suggestion]]:
    """The suggestions against the version in force, and that version."""
    async with deps.db.sessions() as session:
        row = await versions.in_force(session, deps.settings)
        placed = await placed_cases(session)
    return row.version, await _suggest(deps, row, placed)


async def accept(deps: Deps, ids: Sequence[str], reason: str, caller: Caller) -> CatalogueVersion:
    """Publish the version in force with these suggestions added, computed anew under the publishers' lock (so
    two accepts never both build on one version); every id must still be suggested, else nothing is published."""
    wanted = list(dict.fromkeys(ids))
    async with deps.db.transaction() as session:
        await versions.hold(session)
        row = await versions.in_force(session, deps.settings)
        found = {s.id: s for s in await _suggest(deps, row, await placed_cases(session))}
        if missing := [i for i in wanted if i not in found]:
            raise Stale(missing, row.version)
        accepted = [found[i] for i in wanted]
        document = with_suggestions(versions.parsed(row), accepted)
        version = await versions.publish(session, deps.settings, document, caller=caller,
                                         reason=f"{len(accepted)} suggestion(s) from the loop: {reason}")
        audit.record(session, TrackerAudit, caller.actor, "catalogue.publish", version.version,
                     {"suggestions": wanted, "support": {s.id: s.support for s in accepted},
                      "parent": version.parent, "reason": reason})
    return version
