"""Wiring of intake: `caseroute intake`."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from intake.api import open311
from intake.api.routes import router
from intake.consumers import consumers
from intake.handlers import Acceptor
from intake.state import IntakeState
from intake.store.models import AcceptedReport, IntakeOutbox
from services.db import Database
from services.outbox import OutboxRelay
from services.retention import purge_reports, retention_task
from services.runtime import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    """Intake's parts: the reports API, Open311's POST requests, the hotline consumer and the outbox relay."""
    settings = runtime.settings
    relay = OutboxRelay(service="intake", db=runtime.db, table=IntakeOutbox, bus=runtime.bus,
                        producer=runtime.producer,
                        batch=settings.outbox_batch, idle_s=settings.outbox_idle_s)
    return ServiceParts(
        name="intake",
        migrations=Path(__file__).parent / "migrations",
        topics=[settings.topic("reports.v1"), settings.topic("hotline.calls.v1")],
        tasks=[relay.run, retention_task(settings, "intake", partial(purge_personal_data, runtime.db))],
        consumers=consumers(runtime),
        routers=[router, open311.router],
        state=IntakeState(relay=relay, acceptor=Acceptor(db=runtime.db, settings=settings)),
    )


async def purge_personal_data(db: Database, cutoff: datetime) -> int:
    """Intake keeps reports only to deduplicate resubmissions: retention counts from acceptance."""
    return await purge_reports(db, AcceptedReport, old_enough=AcceptedReport.accepted_at < cutoff)
