"""Wiring of the tracker: `caseroute tracker`."""

from __future__ import annotations

from pathlib import Path

from schemas.envelope import Envelope
from services.bus.base import Message
from services.consumer import ConsumerRunner
from services.outbox import OutboxRelay
from services.runtime import Runtime, ServiceParts
from tracker.api.routes import router
from tracker.handlers import record_routing
from tracker.store.models import TrackerOutbox


def build(runtime: Runtime) -> ServiceParts:
    """Tracker's parts: the routed consumer, its outbox relay, the case API."""
    settings = runtime.settings

    async def on_routed(event: Envelope, message: Message) -> None:
        await record_routing(event, db=runtime.db, settings=settings)

    relay = OutboxRelay(service="tracker", db=runtime.db, table=TrackerOutbox, bus=runtime.bus,
                        producer=runtime.producer, batch=settings.outbox_batch, idle_s=settings.outbox_idle_s)
    routed = ConsumerRunner(group="caseroute-tracker", bus=runtime.bus, producer=runtime.producer,
                            topics=[settings.topic("routed.v1")], handler=on_routed,
                            retries=settings.consumer_retries, stall_s=settings.consumer_stall_s)
    return ServiceParts(
        name="tracker",
        migrations=Path(__file__).parent / "migrations",
        topics=[settings.topic(t) for t in ("routed.v1", "replies.v1", "case-events.v1")],
        tasks=[relay.run],
        consumers=[routed],
        routers=[router],
        state={"relay": relay},
    )
