"""A case.changed event told as its transitions: subscribers hear one event per transition, as they did when the
tracker published one per transition (case-events payload version 1), with the same type and data.

The tracker sends a case's transitions of one transaction in one case.changed event (version 2). The notifier
takes it in as one version 1 event per transition: `caseroute.case.transition` (`caseroute.case.escalated` for
an escalation) with the transition as its data and the case.changed event's source, subject, time and trace.
Each one's id is derived from the case.changed event's id and the transition's place in it, so a redelivered
event is taken in once and every webhook attempt carries the same `Caseroute-Event-Id`.

An escalation's detail does not say the due time it missed; the case's state after the transaction does
(`ack_due_at` for `ack_overdue`, `feedback_due_at` for `feedback_overdue`), so its event carries it as
`detail.due_at`: the supervision notice needs no dispatch topic to tell it.
"""

from __future__ import annotations

import uuid
from typing import Any

from schemas.envelope import Envelope
from schemas.events import EventType, dataschema

_NAMESPACE = uuid.UUID("3b0e7f2a-9c4d-4f1e-8a6b-5d2c1e0f9a47")


def transition_id(event_id: str, index: int) -> str:
    """The id of the transition at `index` (from 0) of the case.changed event `event_id`."""
    return str(uuid.uuid5(_NAMESPACE, f"{event_id}/{index}"))


def told(event: Envelope) -> list[Envelope]:
    """A case.changed event as its transitions' events, in order; any other event as itself."""
    if event.type != EventType.case_changed:
        return [event]
    transitions: list[dict[str, Any]] = [t for t in event.data.get("transitions") or [] if isinstance(t, dict)]
    state = event.data.get("state")
    return [_one(event, index, _with_due(transition, state if isinstance(state, dict) else {}))
            for index, transition in enumerate(transitions)]


_DUE_OF = {"ack_overdue": "ack_due_at", "feedback_overdue": "feedback_due_at"}


def _with_due(transition: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """An escalation with the due time it missed, from the case's state, when its detail does not say."""
    detail = transition.get("detail")
    if transition.get("kind") != "escalated" or not isinstance(detail, dict) or "due_at" in detail:
        return transition
    due = state.get(_DUE_OF.get(str(detail.get("kind")), ""))
    return {**transition, "detail": {**detail, "due_at": due}} if isinstance(due, str) else transition


def _one(event: Envelope, index: int, transition: dict[str, Any]) -> Envelope:
    kind = EventType.case_escalated if transition.get("kind") == "escalated" else EventType.case_transition
    # model_copy, not a new model: the attributes were validated when the case.changed event was decoded.
    return event.model_copy(update={"id": transition_id(event.id, index), "type": str(kind),
                                    "dataschema": dataschema(kind), "data": transition})
