"""What the tracker's routes share in a process, typed: built by tracker.bootstrap, read with `tracker_state`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from services.outbox import OutboxRelay
from services.runtime import part_state
from tracker.handlers import Deps


@dataclass(frozen=True)
class TrackerState:
    relay: OutboxRelay
    deps: Deps


def tracker_state(request: Request) -> TrackerState:
    """The tracker's state in the app serving the request."""
    return part_state(request, "tracker", TrackerState)
