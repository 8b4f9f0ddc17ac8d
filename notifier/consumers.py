"""Topic → handler wiring of the notifier: one consumer over routed.v1, every dispatch.<department>.v1,
case-events.v1 and statements.v1, taking in a poll at a time."""

from __future__ import annotations

import re

from notifier.handlers import take_in
from notifier.signals import Broadcast
from notifier.store.repo import SubscriptionCache
from notifier.worker import DeliveryWorker
from schemas.envelope import Envelope
from schemas.events import CASE_EVENTS, DEPARTMENT_EVENTS, EventType
from services.bus.base import Message
from services.consumer import ConsumerRunner, decoder_for
from services.runtime import Runtime


def consumers(runtime: Runtime, *, worker: DeliveryWorker, broadcast: Broadcast,
              subscriptions: SubscriptionCache) -> list[ConsumerRunner]:
    """The notifier's consumer: each poll's events and their deliveries in one transaction; the worker and the
    event streams are woken after it."""
    settings = runtime.settings

    async def on_batch(batch: list[tuple[Envelope, Message]]) -> None:
        # A whole poll in one transaction: a transaction per message would bound take-in by commit latency.
        await take_in(batch, db=runtime.db, settings=settings, subscriptions=subscriptions,
                      on_deliveries=worker.wakeup)
        broadcast.notify()

    async def on_event(event: Envelope, message: Message) -> None:
        await on_batch([(event, message)])

    prefix = re.escape(settings.topic_prefix)
    return [ConsumerRunner(
        group=settings.group("notifier"), bus=runtime.bus, producer=runtime.producer, topics=[],
        pattern=rf"{prefix}(dispatch\.[a-z0-9-]+\.v1|case-events\.v1|routed\.v1|statements\.v1)$", handler=on_event,
        batch_handler=on_batch, decoder=decoder_for(EventType.case_routed, *DEPARTMENT_EVENTS, *CASE_EVENTS,
                                                    EventType.statement_monthly),
        retries=settings.consumer_retries, stall_s=settings.consumer_stall_s,
    )]
