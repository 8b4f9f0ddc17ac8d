"""Wiring of the notifier: `caseroute notifier`."""

from __future__ import annotations

from pathlib import Path

from notifier.api.routes import routers
from notifier.channels import Channel
from notifier.channels.webhook import WebhookChannel
from notifier.consumers import consumers
from notifier.signals import Broadcast
from notifier.state import NotifierState
from notifier.store.repo import SubscriptionCache
from notifier.worker import DeliveryWorker
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
    return ServiceParts(
        name="notifier",
        migrations=Path(__file__).parent / "migrations",
        topics=[settings.topic("case-events.v1"), settings.topic("routed.v1"), settings.topic("statements.v1")],
        tasks=[worker.run],
        consumers=consumers(runtime, worker=worker, broadcast=broadcast, subscriptions=subscriptions),
        routers=routers,
        state=NotifierState(channels=channels, worker=worker, broadcast=broadcast, subscriptions=subscriptions),
    )
