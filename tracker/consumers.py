"""Topic → handler wiring of the tracker: routed.v1, replies.<department>.v1 and catalogue.v1 (`consumers`)."""

from __future__ import annotations

import re

from catalogue.events import published_catalogue
from catalogue.loader import CatalogueError
from schemas.envelope import Envelope
from schemas.events import REPLIES, CataloguePublished, DepartmentReply, EventType
from services.bus.base import Bus, Message
from services.consumer import BatchHandler, ConsumerRunner, Handler, PoisonMessage, decoder_for
from services.runtime import Runtime
from services.settings import DEPARTMENT_CODE, Settings
from tracker.domain.commands import IllegalTransition
from tracker.handlers import Deps, handle_reply, record_routing, record_routings
from tracker.store.catalogue import in_force, record_seen


def on_routed(deps: Deps, reply_topics: ReplyTopics) -> Handler:
    async def handle(event: Envelope, message: Message) -> None:
        await reply_topics.ensure_for([event])
        await record_routing(event, deps)

    return handle


def on_routed_batch(deps: Deps, reply_topics: ReplyTopics) -> BatchHandler:
    """A whole poll of routed.v1 in one transaction: one commit and a few statements instead of several per case."""

    async def handle(batch: list[tuple[Envelope, Message]]) -> None:
        events = [event for event, _ in batch]
        await reply_topics.ensure_for(events)
        await record_routings(events, deps)

    return handle


def on_reply(deps: Deps) -> Handler:
    """replies.<department>.v1: the department is the topic's, because the Kafka ACLs let only that department
    write it; the payload cannot speak for another. A reply naming another department, one on the retired
    shared replies.v1, or one the state machine refuses is dead-lettered with the reason; an unknown case is
    retried (bounded) because a reply can overtake the routing that creates the case."""

    async def handle(event: Envelope, message: Message) -> None:
        department = deps.settings.reply_department(message.topic)
        if department is None:
            raise PoisonMessage(f"refused: {message.topic} is retired; a department answers on its own "
                                f"{deps.settings.reply_topic('<department>')}")
        reply = DepartmentReply.model_validate(event.data)
        if reply.department != department:
            raise PoisonMessage(f"refused: the reply names department {reply.department!r} but came on "
                                f"{department}'s topic; a department answers only for itself")
        if event.subject != reply.case_id:
            raise PoisonMessage(f"subject {event.subject!r} is not the reply's case {reply.case_id!r}")
        try:
            await handle_reply(reply, deps, actor=f"department:{department}", event_id=event.id)
        except IllegalTransition as exc:
            raise PoisonMessage(f"refused: {exc.reason}") from exc

    return handle


class ReplyTopics:
    """Makes replies.<department>.v1 exist once a case is routed to the department, so its system can answer
    on a new department's topic (the pattern subscription finds it) without waiting for an operator."""

    def __init__(self, bus: Bus, settings: Settings) -> None:
        self.bus = bus
        self.settings = settings
        self._made: set[str] = set()

    async def ensure_for(self, events: list[Envelope]) -> None:
        # The primary is the department that replies; a malformed payload is left to the routed handler.
        departments = {decision.get("primary") for event in events
                       if isinstance(decision := event.data.get("decision"), dict)}
        topics = sorted(self.settings.reply_topic(d) for d in departments
                        if isinstance(d, str) and re.fullmatch(DEPARTMENT_CODE, d))
        missing = [t for t in topics if t not in self._made]
        if missing:
            await self.bus.ensure_topics(missing)
            self._made.update(missing)


def on_catalogue(deps: Deps) -> Handler:
    """catalogue.v1: a version published elsewhere (the admin CLI) joins the tracker's history."""

    async def handle(event: Envelope, message: Message) -> None:
        published = CataloguePublished.model_validate(event.data)
        try:  # the router refuses a broken version; the history must not hold one either
            published_catalogue(published)
        except CatalogueError as exc:
            raise PoisonMessage(f"invalid catalogue {published.version}: {exc}") from exc
        async with deps.db.transaction() as session:
            current = await in_force(session, deps.settings)
            if published.catalogue_id != current.catalogue_id:
                return  # another district's catalogue: its own tracker keeps it
            await record_seen(session, catalogue_id=published.catalogue_id, version=published.version,
                              document=published.document, author=published.published_by, reason=published.reason,
                              from_case=published.from_case, published_at=published.published_at)

    return handle


def consumers(runtime: Runtime, deps: Deps) -> list[ConsumerRunner]:
    """The tracker's consumers: routed.v1 (a poll at a time), every department's replies, catalogue.v1."""
    settings = runtime.settings
    reply_topics = ReplyTopics(runtime.bus, settings)

    def consumer(topic: str, handler: Handler, *types: str, batch_handler: BatchHandler | None = None,
                 pattern: str | None = None) -> ConsumerRunner:
        return ConsumerRunner(group=settings.group(f"tracker-{topic.split('.')[0]}"), bus=runtime.bus,
                              producer=runtime.producer, topics=[] if pattern else [settings.topic(topic)],
                              pattern=pattern, handler=handler, decoder=decoder_for(*types),
                              batch_handler=batch_handler, retries=settings.consumer_retries,
                              stall_s=settings.consumer_stall_s)

    return [consumer("routed.v1", on_routed(deps, reply_topics), EventType.case_routed,
                     batch_handler=on_routed_batch(deps, reply_topics)),
            # Every replies.<department>.v1, including departments that appear with a later catalogue version or
            # a new unit (police-{unit}): a pattern needs no list that could go stale.
            consumer("replies", on_reply(deps), *REPLIES, pattern=settings.reply_topics_pattern),
            consumer("catalogue.v1", on_catalogue(deps), EventType.catalogue_published)]
