"""Topic → handler wiring of the tracker: routed.v1 and replies.v1."""

from __future__ import annotations

from schemas.envelope import Envelope
from schemas.events import DepartmentReply
from services.bus.base import Message
from services.consumer import BatchHandler, Handler, PoisonMessage
from tracker.domain.commands import IllegalTransition
from tracker.handlers import Deps, handle_reply, record_routing, record_routings


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
