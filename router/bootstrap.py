"""Wiring of the router: `caseroute router`."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from router.api.routes import router
from router.consumers import consumers
from router.engine import Engine
from router.state import RouterState
from router.store.models import RoutedCase, RouterOutbox
from services.db import Database
from services.outbox import OutboxRelay
from services.retention import purge_reports, retention_task
from services.runtime import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    """Router's parts: reports, case-event and catalogue consumers, its outbox relay, the preview API."""
    settings = runtime.settings
    engine = Engine.from_file(settings.catalogue)
    relay = OutboxRelay(service="router", db=runtime.db, table=RouterOutbox, bus=runtime.bus,
                        producer=runtime.producer, batch=settings.outbox_batch, idle_s=settings.outbox_idle_s)
    return ServiceParts(
        name="router",
        migrations=Path(__file__).parent / "migrations",
        topics=[settings.topic(t) for t in ("reports.v1", "routed.v1", "case-events.v1")],
        compacted_topics=[settings.topic("catalogue.v1")],
        tasks=[relay.run, retention_task(settings, "router", partial(purge_personal_data, runtime.db))],
        consumers=consumers(runtime, engine),
        routers=[router],
        state=RouterState(engine=engine, relay=relay),
    )


async def purge_personal_data(db: Database, cutoff: datetime) -> int:
    """The router's copy of a report is needed while the case is open (duplicate linking), not after."""
    return await purge_reports(db, RoutedCase, old_enough=RoutedCase.open.is_(False) & (RoutedCase.routed_at < cutoff))
