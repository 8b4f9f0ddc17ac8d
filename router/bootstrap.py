"""Wiring of the router: `caseroute router`."""

from __future__ import annotations

from pathlib import Path

from router.api.routes import router
from router.engine import Engine
from router.handlers import route_report
from router.store.models import RouterOutbox
from schemas.envelope import Envelope
from services.bus.base import Message
from services.consumer import ConsumerRunner
from services.outbox import OutboxRelay
from services.runtime import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    """Router's parts: the reports consumer, its outbox relay, the preview API."""
    settings = runtime.settings
    engine = Engine()

    async def on_report(event: Envelope, message: Message) -> None:
        await route_report(event, db=runtime.db, settings=settings, engine=engine)

    relay = OutboxRelay(service="router", db=runtime.db, table=RouterOutbox, bus=runtime.bus,
                        producer=runtime.producer, batch=settings.outbox_batch, idle_s=settings.outbox_idle_s)
    reports = ConsumerRunner(group="caseroute-router", bus=runtime.bus, producer=runtime.producer,
                             topics=[settings.topic("reports.v1")], handler=on_report,
                             retries=settings.consumer_retries, stall_s=settings.consumer_stall_s)
    return ServiceParts(
        name="router",
        migrations=Path(__file__).parent / "migrations",
        topics=[settings.topic(t) for t in ("reports.v1", "routed.v1", "case-events.v1")],
        tasks=[relay.run],
        consumers=[reports],
        routers=[router],
        state={"engine": engine, "relay": relay},
    )
