"""Wiring of the notifier: `caseroute notifier`."""

from __future__ import annotations

import re
from pathlib import Path

from notifier.api.routes import routers
from notifier.channels import Channel
from notifier.channels.webhook import WebhookChannel
from notifier.handlers import take_in
from notifier.signals import Broadcast
from notifier.store.repo import SubscriptionCache
from notifier.worker import DeliveryWorker
from schemas.envelope import Envelope
from schemas.events import CASE_EVENTS, DEPARTMENT_EVENTS, EventType
from services.bus.base import Message
from services.consumer import ConsumerRunner, decoder_for
from services.runtime import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    """Notifier's parts: one consumer over routed, dispatch and case events, the delivery worker, the API."""
    settings = runtime.settings
    knobs = settings.notifier
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(timeout_s=knobs.http_timeout_s, max_connections=knobs.concurrency,
                                  allowed=settings.outbound_networks),
    }
    worker = DeliveryWorker(db=runtime.db, settings=knobs, channels=channels)
    broadcast = Broadcast()
    subscriptions = SubscriptionCache()

    async def on_batch(batch: list[tuple[Envelope, Message]]) -> None:
        # A whole poll in one transaction: a transaction per message would bound take-in by commit latency.
        await take_in(batch, db=runtime.db, settings=settings, subscriptions=subscriptions,
                      on_deliveries=worker.wakeup)
        broadcast.notify()

    async def on_event(event: Envelope, message: Message) -> None:
        await on_batch([(event, message)])

    prefix = re.escape(settings.topic_prefix)
    events = ConsumerRunner(
        group=settings.group("notifier"), bus=runtime.bus, producer=runtime.producer, topics=[],
        pattern=rf"{prefix}(dispatch\.[a-z0-9-]+\.v1|case-events\.v1|routed\.v1|statements\.v1)$", handler=on_event,
        batch_handler=on_batch, decoder=decoder_for(EventType.case_routed, *DEPARTMENT_EVENTS, *CASE_EVENTS,
                            EventType.statement_monthly),
        retries=settings.consumer_retries, stall_s=settings.consumer_stall_s,
    )
    return ServiceParts(
        name="notifier",
        migrations=Path(__file__).parent / "migrations",
        topics=[settings.topic("case-events.v1"), settings.topic("routed.v1"), settings.topic("statements.v1")],
        tasks=[worker.run],
        consumers=[events],
        routers=routers,
        state={"channels": channels, "worker": worker, "broadcast": broadcast, "subscriptions": subscriptions},
    )
