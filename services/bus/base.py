"""The one bus interface; Kafka and the in-process adapter both implement it."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to publish; `key` is the case id so one case's events stay in order.

    `event_id` lets the producer recognise a message it is still delivering, and `timestamp_ms` (when the event was
    staged) lets the bus find it again on its topic: both serve the "one copy per event id" promise.
    """

    topic: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    event_id: str | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A consumed message with where it came from, so the consumer can commit past it."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default=())

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None


# The earliest time (epoch ms) worth reading of a topic newly read, or None for "wherever the group left it".
Floor = Callable[[str], int | None]


class BusUnavailable(Exception):
    """The bus did not take a message within the bounded wait; the caller keeps it and retries."""


def partition_for(key: str, partitions: int) -> int:
    """Stable key → partition, used by the in-process bus (Kafka uses its own murmur2)."""
    return zlib.crc32(key.encode()) % partitions


class Producer(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish all messages, acknowledged by the bus, or raise BusUnavailable.

        A message whose event id this producer is still delivering is not sent again: the call waits for the
        delivery under way. After BusUnavailable some messages may be on the bus already (the bus took them, the
        answer did not come): ask the bus `published` before sending them with another producer.
        """
        ...


class Consumer(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def poll(self, timeout_s: float, max_records: int) -> list[Message]:
        """Next messages of the assigned partitions, in order per partition; [] on timeout."""
        ...

    async def commit(self, messages: Sequence[Message]) -> None:
        """Mark everything up to and including these messages as processed for the group."""
        ...

    async def lag(self) -> dict[str, int]:
        """Messages behind the end of each assigned topic, from fresh end offsets (the watchdog's view)."""
        ...

    async def subscribe(self, topics: Sequence[str], *, pattern: str | None = None,
                        not_before: Floor | None = None) -> None:
        """Read these topics from now on (the group rebalances); call between polls, with everything polled
        committed. A partition newly assigned is read from the group's committed offset, but not from before
        `not_before(topic)` (epoch ms) when that says a time: history from before the topic was wanted is skipped."""
        ...


class Bus(Protocol):
    def producer(self) -> Producer: ...

    def consumer(self, topics: Sequence[str], group: str, *, pattern: str | None = None,
                 not_before: Floor | None = None) -> Consumer:
        """A group member reading `topics` (or every topic matching the regex `pattern`); `not_before` as in
        Consumer.subscribe."""
        ...

    async def ensure_topics(self, topics: Sequence[str], *, compacted: bool = False) -> None:
        """Create missing topics; `compacted` keeps only the latest message per key (catalogue.v1)."""
        ...

    async def published(self, messages: Sequence[OutgoingMessage]) -> set[str]:
        """The event ids among `messages` that are already on their topics (written at or after their timestamp).

        Used before sending again what an earlier attempt may have written: a crashed process, a lost
        acknowledgement, a producer started afresh. Raises BusUnavailable when the bus cannot be read.
        """
        ...

    async def ping(self) -> bool: ...
