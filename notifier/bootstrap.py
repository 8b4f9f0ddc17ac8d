"""Wiring of the notifier: `caseroute notifier`."""

from __future__ import annotations

import re
from pathlib import Path

from notifier.api.routes import router
from notifier.handlers import take_in
from schemas.envelope import Envelope
from services.bus.base import Message
from services.consumer import ConsumerRunner
from services.runtime import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    """Notifier's parts: one consumer over every department topic and the case events."""
    settings = runtime.settings

    async def on_event(event: Envelope, message: Message) -> None:
        await take_in(event, message, db=runtime.db)

    prefix = re.escape(settings.topic_prefix)
    events = ConsumerRunner(
        group="caseroute-notifier", bus=runtime.bus, producer=runtime.producer, topics=[],
        pattern=rf"{prefix}(dispatch\.[a-z0-9-]+\.v1|case-events\.v1)", handler=on_event,
        retries=settings.consumer_retries, stall_s=settings.consumer_stall_s,
    )
    return ServiceParts(
        name="notifier",
        migrations=Path(__file__).parent / "migrations",
        topics=[settings.topic("case-events.v1")],
        consumers=[events],
        routers=[router],
    )
