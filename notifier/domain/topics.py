"""Which department topics the notifier must read (pure): those some subscription or open stream can hear from.

Dispatches (`dispatch.*` types) are read from `dispatch.<department>.v1`. A department subscription hears its own
department's; a supervisor or reporter subscription hears them from every department (a reporter hears the
dispatches of its source's cases, wherever they go), and so does a stream without `department=`. Everything else
the notifier delivers comes from case-events, routed and statements, which it always reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from notifier.domain.recipients import SubscriberKind

# A topic newly read starts this long before it became wanted: clocks of the router, the database and this
# process differ a little, and a replica learns of another's change only at its next reconcile.
FLOOR_GRACE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Wanting:
    """A subscription or an open stream, as far as topics go: `department` None means every department."""

    kind: SubscriberKind | None  # None: an event stream
    owner: str | None
    event_types: tuple[str, ...]
    since: datetime  # when it began wanting dispatches (made or changed to hear them; a stream: opened)


@dataclass(frozen=True)
class Reading:
    """The dispatch topics to read: every department's (`every_since` set) and/or these departments', each with
    the earliest time it has been wanted since (the floor a newly read topic starts at)."""

    every_since: datetime | None = None
    departments: dict[str, datetime] = field(default_factory=dict)

    def floor(self, department: str | None) -> datetime | None:
        """From when a department's topic is wanted (None: it is not)."""
        times = [t for t in (self.every_since, self.departments.get(department) if department else None) if t]
        return min(times) - FLOOR_GRACE if times else None


def hears_dispatches(event_types: Iterable[str]) -> bool:
    """Whether these patterns include any `dispatch.<role>` type (including roles still to come)."""
    return any(p == "*" or p.startswith("dispatch.") for p in event_types)


def reading(wanting: Iterable[Wanting]) -> Reading:
    """The dispatch topics these subscriptions and streams need."""
    every: datetime | None = None
    departments: dict[str, datetime] = {}
    for w in wanting:
        if w.kind is not None and not hears_dispatches(w.event_types):
            continue
        if w.kind is SubscriberKind.department or (w.kind is None and w.owner):
            if w.owner:
                departments[w.owner] = min(departments.get(w.owner, w.since), w.since)
        else:
            every = w.since if every is None else min(every, w.since)
    return Reading(every, departments)
