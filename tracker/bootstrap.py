"""Wiring of the tracker: `caseroute tracker`."""

from __future__ import annotations

from pathlib import Path

from schemas.events import REPLIES, EventType
from services.consumer import BatchHandler, ConsumerRunner, Handler, decoder_for
from services.outbox import OutboxRelay
from services.runtime import Runtime, ServiceParts
from tracker.api import cases, replies, stats
from tracker.clock import calendar_from, figures_refresher, sla_clock
from tracker.consumers import on_reply, on_routed, on_routed_batch
from tracker.handlers import Deps
from tracker.store.models import TrackerOutbox


def build(runtime: Runtime) -> ServiceParts:
    """Tracker's parts: routed and replies consumers, the SLA clock, the outbox relay, the case API."""
    settings = runtime.settings
    deps = Deps(db=runtime.db, settings=settings, calendar=calendar_from(settings))
    relay = OutboxRelay(service="tracker", db=runtime.db, table=TrackerOutbox, bus=runtime.bus,
                        producer=runtime.producer, batch=settings.outbox_batch, idle_s=settings.outbox_idle_s)

    def consumer(topic: str, handler: Handler, *types: str, batch_handler: BatchHandler | None = None
                 ) -> ConsumerRunner:
        return ConsumerRunner(group=settings.group(f"tracker-{topic.split('.')[0]}"), bus=runtime.bus,
                              producer=runtime.producer, topics=[settings.topic(topic)], handler=handler,
                              decoder=decoder_for(*types), batch_handler=batch_handler,
                              retries=settings.consumer_retries, stall_s=settings.consumer_stall_s)

    return ServiceParts(
        name="tracker",
        migrations=Path(__file__).parent / "migrations",
        topics=[settings.topic(t) for t in ("routed.v1", "replies.v1", "case-events.v1")],
        tasks=[relay.run, sla_clock(deps), figures_refresher(deps)],
        consumers=[consumer("routed.v1", on_routed(deps), EventType.case_routed, batch_handler=on_routed_batch(deps)),
                   consumer("replies.v1", on_reply(deps), *REPLIES)],
        routers=[cases.router, replies.router, stats.router],
        state={"relay": relay, "deps": deps},
    )
