"""What the router's routes share in a process, typed: built by router.bootstrap, read with `router_state`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from router.engine import Engine
from services.outbox import OutboxRelay
from services.runtime import part_state


@dataclass(frozen=True)
class RouterState:
    engine: Engine  # the catalogue version in force, swapped in place as catalogue.v1 publishes
    relay: OutboxRelay


def router_state(request: Request) -> RouterState:
    """The router's state in the app serving the request."""
    return part_state(request, "router", RouterState)
