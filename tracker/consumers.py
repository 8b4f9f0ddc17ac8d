"""Topic → handler wiring of the tracker: routed.v1, replies.v1 and catalogue.v1."""

from __future__ import annotations

from router.domain.loader import CatalogueError, parse_catalogue
from schemas.envelope import Envelope
from schemas.events import CataloguePublished, DepartmentReply
from services.bus.base import Message
from services.consumer import BatchHandler, Handler, PoisonMessage
from tracker.domain.commands import IllegalTransition
from tracker.handlers import Deps, handle_reply, record_routing, record_routings
from tracker.store.catalogue import in_force, record_seen


def on_routed(deps: Deps) -> Handler:
    async def handle(event: Envelope, message: Message) -> None:
        await record_routing(event, deps)

    return handle


def on_routed_batch(deps: Deps) -> BatchHandler:
    """A whole poll of routed.v1 in one transaction: one commit and a few statements instead of several per case."""

    async def handle(batch: list[tuple[Envelope, Message]]) -> None:
        await record_routings([event for event, _ in batch], deps)

    return handle


def on_reply(deps: Deps) -> Handler:
    """A reply the state machine refuses is dead-lettered with the reason; an unknown case is retried
    (bounded) because a reply can overtake the routing that creates the case."""

    async def handle(event: Envelope, message: Message) -> None:
        reply = DepartmentReply.model_validate(event.data)
        if event.subject != reply.case_id:
            raise PoisonMessage(f"subject {event.subject!r} is not the reply's case {reply.case_id!r}")
        try:
            await handle_reply(reply, deps, actor=f"department:{reply.department}", event_id=event.id)
        except IllegalTransition as exc:
            raise PoisonMessage(f"refused: {exc.reason}") from exc

    return handle


def on_catalogue(deps: Deps) -> Handler:
    """catalogue.v1: a version published elsewhere (the admin CLI) joins the tracker's history."""

    async def handle(event: Envelope, message: Message) -> None:
        published = CataloguePublished.model_validate(event.data)
        try:  # the router refuses a broken version; the history must not hold one either
            parse_catalogue(published.document, f"catalogue.v1 {published.version}")
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
