"""In-process bus for the embedded mode: per-key order, consumer groups, redelivery of uncommitted messages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.bus.base import Floor, Message, OutgoingMessage, partition_for
from services.envelopes import event_id_in

RETAINED_PER_PARTITION = 100_000  # like Kafka's retention: old messages go, committed offsets stay


@dataclass
class _Partition:
    base_offset: int = 0
    messages: list[Message] = field(default_factory=list)

    @property
    def end_offset(self) -> int:
        return self.base_offset + len(self.messages)

    def read(self, position: int, limit: int) -> list[Message]:
        start = max(position, self.base_offset) - self.base_offset
        return self.messages[start : start + limit]

    def trim(self) -> None:
        excess = len(self.messages) - RETAINED_PER_PARTITION
        if excess > 0:
            del self.messages[:excess]
            self.base_offset += excess


@dataclass
class _Group:
    members: list[MemoryConsumer] = field(default_factory=list)
    committed: dict[tuple[str, int], int] = field(default_factory=dict)


class MemoryBus:
    """Topics live in this process; consumers of one group share its partitions as in Kafka."""

    def __init__(self, partitions: int = 4) -> None:
        self._partitions = partitions
        self._topics: dict[str, list[_Partition]] = {}
        self._groups: dict[str, _Group] = {}
        self._changed = asyncio.Condition()

    def producer(self) -> MemoryProducer:
        return MemoryProducer(self)

    def consumer(self, topics: Sequence[str], group: str, *, pattern: str | None = None,
                 not_before: Floor | None = None) -> MemoryConsumer:
        # Messages here carry no timestamps: `not_before` has nothing to seek by, a topic resumes where left.
        return MemoryConsumer(self, list(topics), group, re.compile(pattern) if pattern else None)

    async def ensure_topics(self, topics: Sequence[str], *, compacted: bool = False) -> None:
        for topic in topics:
            self._topic(topic)

    async def published(self, messages: Sequence[OutgoingMessage]) -> set[str]:
        wanted = {m.event_id for m in messages if m.event_id}
        found: set[str] = set()
        for topic in {m.topic for m in messages}:
            for part in self._topics.get(topic, []):
                found.update(e for m in part.messages if (e := event_id_in(m.headers)) is not None and e in wanted)
        return found

    async def ping(self) -> bool:
        return True

    def topic_names(self) -> list[str]:
        return list(self._topics)

    def messages(self, topic: str) -> list[Message]:
        """Every retained message of a topic (for tests and the CLI's peek)."""
        return [m for p in self._topics.get(topic, []) for m in p.messages]

    def _topic(self, name: str) -> list[_Partition]:
        if name not in self._topics:
            self._topics[name] = [_Partition() for _ in range(self._partitions)]
        return self._topics[name]

    async def _append(self, messages: Sequence[OutgoingMessage]) -> None:
        for out in messages:
            parts = self._topic(out.topic)
            index = partition_for(out.key, len(parts))
            part = parts[index]
            part.messages.append(
                Message(out.topic, index, part.end_offset, out.key, out.value, tuple(out.headers))
            )
            part.trim()
        async with self._changed:
            self._changed.notify_all()

    def _join(self, member: MemoryConsumer) -> None:
        group = self._groups.setdefault(member.group, _Group())
        group.members.append(member)
        self._rebalance(group)

    def _leave(self, member: MemoryConsumer) -> None:
        group = self._groups.get(member.group)
        if group and member in group.members:
            group.members.remove(member)
            self._rebalance(group)

    def _rebalance(self, group: _Group) -> None:
        """Round-robin partitions over members; positions restart at the committed offsets."""
        for member in group.members:
            member._positions.clear()
        if not group.members:
            return
        slots = sorted({tp for m in group.members for tp in self._wanted(m)})
        for i, tp in enumerate(slots):
            owner = group.members[i % len(group.members)]
            owner._positions[tp] = group.committed.get(tp, 0)

    def _wanted(self, member: MemoryConsumer) -> list[tuple[str, int]]:
        names = [t for t in self._topics if t in member.topics or (member.pattern and member.pattern.fullmatch(t))]
        return [(t, p) for t in names for p in range(len(self._topics[t]))]


class MemoryProducer:
    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        await self._bus._append(messages)


class MemoryConsumer:
    def __init__(self, bus: MemoryBus, topics: list[str], group: str, pattern: re.Pattern[str] | None) -> None:
        self._bus = bus
        self.topics = topics
        self.group = group
        self.pattern = pattern
        self._positions: dict[tuple[str, int], int] = {}
        self._known_topics = 0

    async def start(self) -> None:
        await self._bus.ensure_topics(self.topics)
        self._bus._join(self)

    async def stop(self) -> None:
        self._bus._leave(self)

    async def poll(self, timeout_s: float, max_records: int) -> list[Message]:
        batch = self._take(max_records)
        if batch:
            return batch
        async with self._bus._changed:
            try:
                await asyncio.wait_for(self._bus._changed.wait(), timeout_s)
            except TimeoutError:
                return []
        return self._take(max_records)

    def _take(self, max_records: int) -> list[Message]:
        if self.pattern is not None and len(self._bus._topics) != self._known_topics:
            self._known_topics = len(self._bus._topics)
            self._bus._rebalance(self._bus._groups[self.group])
        batch: list[Message] = []
        for (topic, index), position in list(self._positions.items()):
            got = self._bus._topics[topic][index].read(position, max_records - len(batch))
            if got:
                self._positions[(topic, index)] = got[-1].offset + 1
                batch.extend(got)
            if len(batch) >= max_records:
                break
        return batch

    async def subscribe(self, topics: Sequence[str], *, pattern: str | None = None,
                        not_before: Floor | None = None) -> None:
        self.topics, self.pattern = list(topics), re.compile(pattern) if pattern else None
        await self._bus.ensure_topics(self.topics)
        self._bus._rebalance(self._bus._groups[self.group])

    async def lag(self) -> dict[str, int]:
        behind: dict[str, int] = {}
        for (topic, index), position in self._positions.items():
            end = self._bus._topics[topic][index].end_offset
            behind[topic] = behind.get(topic, 0) + max(0, end - position)
        return behind

    async def commit(self, messages: Sequence[Message]) -> None:
        committed = self._bus._groups[self.group].committed
        for m in messages:
            tp = (m.topic, m.partition)
            committed[tp] = max(committed.get(tp, 0), m.offset + 1)
