"""Wiring of the tracker: `caseroute tracker`."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from services.db import Database
from services.outbox import OutboxRelay
from services.retention import purge_reports, retention_task
from services.runtime import Runtime, ServiceParts
from tracker.api import adjudication, cases, catalogue, open311, replies, reports, stats, subjects
from tracker.clock import calendar_from, figures_refresher, sla_clock
from tracker.console import routes as console
from tracker.consumers import consumers
from tracker.handlers import Deps
from tracker.monthly import TOPIC as STATEMENTS
from tracker.monthly import statement_task
from tracker.routing import Routing
from tracker.state import TrackerState
from tracker.store.models import Case, TrackerOutbox


def build(runtime: Runtime, *, routing: Routing) -> ServiceParts:
    """Tracker's parts: routed, replies (every department's own topic) and catalogue consumers, the SLA clock,
    the outbox relay, the case, adjudication and catalogue APIs, Open311's reads, and the operations console.
    `routing` is the router's decision procedure (caseroute.wiring passes it: the tracker does not import the
    router)."""
    settings = runtime.settings
    deps = Deps(db=runtime.db, settings=settings, calendar=calendar_from(settings), routing=routing)
    relay = OutboxRelay(service="tracker", db=runtime.db, table=TrackerOutbox, bus=runtime.bus,
                        producer=runtime.producer, batch=settings.outbox_batch, idle_s=settings.outbox_idle_s)
    return ServiceParts(
        name="tracker",
        migrations=Path(__file__).parent / "migrations",
        topics=[settings.topic(t) for t in ("routed.v1", "case-events.v1", STATEMENTS)],
        tasks=[relay.run, sla_clock(deps), figures_refresher(deps), statement_task(deps),
               retention_task(settings, "tracker", partial(purge_personal_data, runtime.db), now=deps.now)],
        consumers=consumers(runtime, deps),
        compacted_topics=[settings.topic("catalogue.v1")],
        routers=[cases.router, replies.router, stats.router, reports.router, adjudication.router, catalogue.router,
                 open311.router, subjects.router, console.router],
        state=TrackerState(relay=relay, deps=deps),
    )


async def purge_personal_data(db: Database, cutoff: datetime) -> int:
    """Closed longer than the retention (a closed case's last change is its closing)."""
    return await purge_reports(db, Case, old_enough=(Case.status == "closed") & (Case.updated_at < cutoff))
