"""Delivery channels: plugins behind one small interface; the webhook is the first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One attempt of one delivery, ready to send."""

    delivery_id: int
    event_id: str
    event_type: str
    url: str
    secret: str | None
    body: bytes
    attempt: int
    # While a rotation's overlap lasts, the secret before `secret`: receivers not yet switched still verify.
    previous_secret: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secrets that sign this attempt, the current one first (none: sent unsigned)."""
        return tuple(s for s in (self.secret, self.previous_secret) if s)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the attempt came to; `retry_after_s` when the receiver asked for a pause; `final` when trying again
    cannot help (the URL points where caseroute does not send): the delivery is dead at once."""

    ok: bool
    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None
    final: bool = False


class Channel(Protocol):
    """A way to deliver: start once, send many times concurrently, stop once."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, item: Outgoing) -> Outcome: ...
