"""Topic → handler wiring of the notifier: one consumer over routed.v1, case-events.v1, statements.v1 and the
dispatch.<department>.v1 topics some subscription or stream needs (notifier.reading), taking in a poll at a
time."""

from __future__ import annotations

from notifier.handlers import take_in
from notifier.signals import Broadcast
from notifier.store.repo import SubscriptionCache
from notifier.worker import DeliveryWorker
from schemas.envelope import Envelope
from schemas.events import CASE_EVENTS, DEPARTMENT_EVENTS, EventType
from services.bus.base import Message
from services.consumer import ConsumerRunner, decoder_for
from services.runtime import Runtime
from services.settings import Settings


def fixed_topics(settings: Settings) -> list[str]:
    """What the notifier always reads; department topics come and go with the subscriptions (notifier.reading)."""
    return [settings.topic(t) for t in ("case-events.v1", "routed.v1", "statements.v1")]


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

    return [ConsumerRunner(
        group=settings.group("notifier"), bus=runtime.bus, producer=runtime.producer, topics=fixed_topics(settings),
        handler=on_event,
        batch_handler=on_batch, decoder=decoder_for(EventType.case_routed, *DEPARTMENT_EVENTS, *CASE_EVENTS,
                                                    EventType.statement_monthly),
        retries=settings.consumer_retries, stall_s=settings.consumer_stall_s,
    )]
