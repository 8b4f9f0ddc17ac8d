"""Reading case-events.v1 in tests: the transitions its case.changed events carry, one dict each, in order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from schemas.envelope import Envelope
from schemas.events import EventType


def transitions(events: Iterable[Envelope], case_id: str | None = None) -> list[dict[str, Any]]:
    """The transitions of these case events (of one case, given its id), in the order the events came."""
    return [transition for event in events if event.type == EventType.case_changed
            and (case_id is None or event.subject == case_id) for transition in event.data["transitions"]]


def changed(values: Iterable[bytes]) -> list[Envelope]:
    """The case.changed events among these message values."""
    return [e for e in map(Envelope.from_bytes, values) if e.type == EventType.case_changed]
