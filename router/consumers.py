"""Topic → handler wiring of the router: reports, case events (returns, rulings, closures), catalogue versions."""

from __future__ import annotations

import os
import uuid

from router.catalogue_events import take_into_force
from router.engine import Engine
from router.handlers import follow_case_event, follow_case_events, route_report, route_reports
from router.unprocessable import take_unprocessable
from schemas.envelope import Envelope
from schemas.events import CASE_EVENTS, EventType
from services.bus.base import Message
from services.consumer import BatchHandler, ConsumerRunner, Handler, Unprocessable, decoder_for
from services.runtime import Runtime


def consumers(runtime: Runtime, engine: Engine) -> list[ConsumerRunner]:
    settings, db = runtime.settings, runtime.db

    async def on_report(event: Envelope, message: Message) -> None:
        await route_report(event, db=db, settings=settings, engine=engine)

    async def on_reports(batch: list[tuple[Envelope, Message]]) -> None:
        # A whole poll in one transaction: one commit and a handful of statements instead of several per case.
        await route_reports([event for event, _ in batch], db=db, settings=settings, engine=engine)

    async def on_case_event(event: Envelope, message: Message) -> None:
        await follow_case_event(event, db=db, settings=settings)

    async def on_case_events(batch: list[tuple[Envelope, Message]]) -> None:
        # A whole poll in one transaction, as reports: one inbox statement and one tier upsert, not one each.
        await follow_case_events([event for event, _ in batch], db=db, settings=settings)

    async def on_catalogue(event: Envelope, message: Message) -> None:
        take_into_force(event, engine)

    async def on_unprocessable_report(message: Message, reason: str) -> bool:
        # Intake answered 202 for it: a gap case with the reason, not only a dead letter (router/unprocessable.py).
        return await take_unprocessable(message, reason, db=db, settings=settings, engine=engine)

    def runner(topic: str, group: str, handler: Handler, *types: str, batch_handler: BatchHandler | None = None,
               unprocessable: Unprocessable | None = None, metrics_group: str | None = None) -> ConsumerRunner:
        return ConsumerRunner(group=group, bus=runtime.bus, producer=runtime.producer,
                              topics=[settings.topic(topic)], handler=handler, decoder=decoder_for(*types),
                              retries=settings.consumer_retries, stall_s=settings.consumer_stall_s,
                              batch_handler=batch_handler, unprocessable=unprocessable, metrics_group=metrics_group)

    # Every replica must see every catalogue version, so each reads the compacted topic in a group of its own.
    # Its metrics are labelled by the role (caseroute.router-catalogue), not by this group id: one per start.
    own_group = settings.group(f"router-catalogue-{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    return [
        runner("reports.v1", settings.group("router"), on_report, EventType.report_accepted,
               batch_handler=on_reports, unprocessable=on_unprocessable_report),
        runner("case-events.v1", settings.group("router-case-events"), on_case_event, *CASE_EVENTS,
               batch_handler=on_case_events),
        runner("catalogue.v1", own_group, on_catalogue, EventType.catalogue_published,
               metrics_group=settings.group("router-catalogue")),
    ]
