"""Wiring of the notifier: `caseroute notifier`."""

from __future__ import annotations

from pathlib import Path

from notifier.api.routes import routers
from notifier.channels import Channel
from notifier.channels.webhook import WebhookChannel
from notifier.consumers import consumers, fixed_topics
from notifier.reading import TopicFollower
from notifier.signals import Broadcast
from notifier.state import NotifierState
from notifier.store.repo import SubscriptionCache
from notifier.worker import DeliveryWorker
from services.runtime import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    """Notifier's parts: one consumer over routed, case events and the dispatches wanted, the worker, the API."""
    settings = runtime.settings
    knobs = settings.notifier
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(timeout_s=knobs.http_timeout_s, max_connections=knobs.concurrency,
                                  allowed=settings.outbound_networks),
    }
    worker = DeliveryWorker(db=runtime.db, settings=knobs, channels=channels)
    broadcast = Broadcast()
    subscriptions = SubscriptionCache()
    runners = consumers(runtime, worker=worker, broadcast=broadcast, subscriptions=subscriptions)
    topics = TopicFollower(db=runtime.db, settings=settings, runner=runners[0], fixed=fixed_topics(settings))
    return ServiceParts(
        name="notifier",
        migrations=Path(__file__).parent / "migrations",
        topics=fixed_topics(settings),
        tasks=[worker.run, topics.run],
        consumers=runners,
        routers=routers,
        state=NotifierState(channels=channels, worker=worker, broadcast=broadcast, subscriptions=subscriptions,
                            topics=topics),
    )
