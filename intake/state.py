"""What intake's routes share in a process, typed: built by intake.bootstrap, read with `intake_state`."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from intake.handlers import Acceptor
from services.outbox import OutboxRelay
from services.runtime import part_state


@dataclass(frozen=True)
class IntakeState:
    relay: OutboxRelay
    acceptor: Acceptor


def intake_state(request: Request) -> IntakeState:
    """Intake's state in the app serving the request."""
    return part_state(request, "intake", IntakeState)
