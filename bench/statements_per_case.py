"""SQL statements per case in the router's and tracker's consumers, on a scratch PostgreSQL database.

    python -m bench.statements_per_case --poll 5 --cases 200              # this checkout
    PYTHONPATH=/path/to/other/checkout python bench/statements_per_case.py --poll 5   # another commit's code

Reports (the e2e bench's: a new place each) go through the handlers the consumers call for a poll: the router's
route_reports, the tracker's record_routings on the routed.v1 events the router staged, then the router's
case-events handler on the case events the tracker staged (a poll at a time where that code has one, else one
event at a time). Each cursor execution counts once (an executemany is one round trip); commits apart. Needs
CASEROUTE_DATABASE_URL (a server where it may create and drop a database).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, event, select
from sqlalchemy.engine import make_url

import router.handlers as router_handlers
from bench.e2e_bench import Reports
from router.engine import Engine
from router.store.models import RouterOutbox
from schemas.envelope import Envelope
from schemas.events import EventType, ReportAccepted
from schemas.report import Report
from services.db import Database
from services.envelopes import envelope
from services.migrate import upgrade
from services.settings import Settings
from tests.support.databases import drop_database
from tracker.domain.sla import CALENDAR_DAYS
from tracker.handlers import Deps, record_routings
from tracker.store.models import TrackerOutbox


@contextlib.asynccontextmanager
async def scratch(prefix: str) -> AsyncIterator[str]:
    """A new empty database on CASEROUTE_DATABASE_URL's server (here, not tests.support: older code lacks it)."""
    base = make_url(os.environ["CASEROUTE_DATABASE_URL"])
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await drop_database(admin, name)


class Counter:
    """Cursor executions and commits by stage."""

    def __init__(self, db: Database) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.statements: collections.Counter[tuple[str, str]] = collections.Counter()
        self.stage = ""
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(db.engine.sync_engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.stage:
            self.counts[self.stage] += 1
            self.statements[(self.stage, " ".join(statement.split())[:100])] += 1

    def _commit(self, conn: Any) -> None:
        if self.stage:
            self.counts[f"{self.stage} commits"] += 1


async def _staged(db: Database, outbox: Any, topic: str) -> list[Envelope]:
    """The events staged on `topic` since the last call, taken out of the outbox (not counted)."""
    async with db.transaction() as session:
        rows = (await session.execute(select(outbox.value).where(outbox.topic == topic).order_by(outbox.id))).all()
        await session.execute(delete(outbox))
    return [Envelope.from_bytes(row.value) for row in rows]


async def count(poll: int, cases: int, verbose: bool) -> dict[str, Any]:
    root = Path(router_handlers.__file__).resolve().parents[1]
    async with scratch("statements") as url:
        settings, db = Settings(database_url=url), Database(url)
        await upgrade(db, "router", root / "router" / "migrations")
        await upgrade(db, "tracker", root / "tracker" / "migrations")
        engine, deps = Engine.from_file(None), Deps(db=db, settings=settings, calendar=CALENDAR_DAYS)
        counter, reports = Counter(db), Reports(uuid.uuid4().hex[:6])
        follow_poll = getattr(router_handlers, "follow_case_events", None)
        case_events = 0
        try:
            for first in range(0, cases, poll):
                accepted = []
                for i in range(first, min(cases, first + poll)):
                    taken = ReportAccepted(case_id=f"C20260101-{i:012d}", accepted_at=datetime.now(UTC),
                                           report=Report.model_validate_json(reports.body(i)))
                    accepted.append(envelope(source="bench", event_type=EventType.report_accepted,
                                             subject=taken.case_id, payload=taken))
                counter.stage = "router reports.v1"
                await router_handlers.route_reports(accepted, db=db, settings=settings, engine=engine)
                counter.stage = ""
                routed = await _staged(db, RouterOutbox, settings.topic("routed.v1"))
                counter.stage = "tracker routed.v1"
                await record_routings(routed, deps)
                counter.stage = ""
                events = await _staged(db, TrackerOutbox, settings.topic("case-events.v1"))
                case_events += len(events)
                counter.stage = "router case-events.v1"
                if follow_poll is not None:
                    await follow_poll(events, db=db, settings=settings)
                else:
                    for one in events:
                        await router_handlers.follow_case_event(one, db=db, settings=settings)
                counter.stage = ""
        finally:
            await db.dispose()
    result: dict[str, Any] = {"poll": poll, "cases": cases, "case_events": case_events,
                              "per_case": {k: round(v / cases, 2) for k, v in sorted(counter.counts.items())}}
    if verbose:
        result["statements_per_case"] = [(stage, text, round(n / cases, 2))
                                         for (stage, text), n in sorted(counter.statements.items())]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poll", type=int, default=5, help="messages per poll (1: one at a time)")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--verbose", action="store_true", help="every statement's count too")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(count(args.poll, args.cases, args.verbose)), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
