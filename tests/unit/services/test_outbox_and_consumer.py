"""Outbox relay and consumer runner on SQLite and the in-process bus (the same code runs on Kafka)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from schemas.envelope import Envelope
from services.bus.base import BusUnavailable, Message, OutgoingMessage
from services.bus.memory import MemoryBus
from services.consumer import ConsumerRunner
from services.db import Base, Database
from services.outbox import OutboxMixin, OutboxRelay, stage
from tests.support.consumers import run_until


class DemoOutbox(OutboxMixin, Base):
    __tablename__ = "demo_outbox"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[DemoOutbox.__table__])
    yield database
    await database.dispose()


def _event(case_id: str, n: int) -> Envelope:
    return Envelope(source="test", type="demo", subject=case_id, dataschema="urn:demo:v1", data={"n": n})


class FlakyProducer:
    """Refuses the first `failures` batches, like a broker that is away."""

    def __init__(self, bus: MemoryBus, failures: int) -> None:
        self.inner = bus.producer()
        self.failures = failures

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise BusUnavailable("broker away")
        await self.inner.send_batch(messages)


async def test_relay_publishes_in_order_and_keeps_rows_while_the_bus_is_away(db: Database) -> None:
    bus = MemoryBus(partitions=1)
    async with db.transaction() as session:
        for n in range(5):
            stage(session, DemoOutbox, "demo.v1", _event("case-1", n))
    relay = OutboxRelay(service="t", db=db, table=DemoOutbox, bus=bus, producer=FlakyProducer(bus, 1), batch=3)
    with pytest.raises(BusUnavailable):
        await relay.relay_once()
    assert bus.messages("demo.v1") == []
    assert await relay.relay_once() == 3
    assert await relay.relay_once() == 2
    assert await relay.relay_once() == 0
    published = [Envelope.from_bytes(m.value).data["n"] for m in bus.messages("demo.v1")]
    assert published == [0, 1, 2, 3, 4]
    assert bus.messages("demo.v1")[0].header("event_id") == Envelope.from_bytes(bus.messages("demo.v1")[0].value).id


class AnswerLost:
    """The bus takes the first batch, and the answer never reaches the relay."""

    def __init__(self, bus: MemoryBus) -> None:
        self.inner = bus.producer()
        self.lose = 1

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        await self.inner.send_batch(messages)
        if self.lose:
            self.lose -= 1
            raise BusUnavailable("no acknowledgement")


async def test_rows_a_failed_pass_may_have_sent_are_read_back_even_when_a_late_row_takes_their_place(
        db: Database) -> None:
    """The pass that sent rows 2-6 rolled back; row 1 commits late (sequence gap). The next passes (1-5, then 6)
    send row 1 and nothing twice."""
    bus = MemoryBus(partitions=1)
    async with db.transaction() as session:
        for n in range(1, 7):
            stage(session, DemoOutbox, "demo.v1", _event("case-1", n))
    table = DemoOutbox.__table__
    async with db.transaction() as session:
        late = (await session.execute(select(table).where(table.c.id == 1))).one()._asdict()
        await session.execute(delete(table).where(table.c.id == 1))  # not yet committed, as far as the relay sees
    relay = OutboxRelay(service="t", db=db, table=DemoOutbox, bus=bus, producer=AnswerLost(bus), batch=5)
    with pytest.raises(BusUnavailable):
        await relay.relay_once()
    async with db.transaction() as session:
        await session.execute(insert(table).values(**late))
    assert await relay.relay_once() == 5
    assert await relay.relay_once() == 1
    published = sorted(Envelope.from_bytes(m.value).data["n"] for m in bus.messages("demo.v1"))
    assert published == [1, 2, 3, 4, 5, 6]




async def test_poison_messages_go_to_the_dead_letter_topic_with_the_reason_and_the_consumer_moves_on() -> None:
    bus = MemoryBus(partitions=1)
    handled: list[int] = []

    async def handler(event: Envelope, message: Message) -> None:
        handled.append(event.data["n"])

    good = _event("c", 7)
    await bus.producer().send_batch([
        OutgoingMessage("in.v1", "c", b"not json"),
        OutgoingMessage("in.v1", "c", b'{"specversion": "1.0"}'),
        OutgoingMessage("in.v1", "c", b"x" * (1024 * 1024 + 1)),
        OutgoingMessage("in.v1", "c", good.to_bytes()),
    ])
    runner = ConsumerRunner(group="g", bus=bus, producer=bus.producer(), topics=["in.v1"], handler=handler)
    await run_until(runner, lambda: handled == [7])
    reasons = [m.header("dlq_reason") or "" for m in bus.messages("in.v1.dlq")]
    assert [r.split(":")[0] for r in reasons] == ["not JSON", "not a CloudEvent", "oversized"]
    assert all(m.header("dlq_topic") == "in.v1" for m in bus.messages("in.v1.dlq"))


async def test_a_deterministic_failure_is_dead_lettered_at_once_and_nothing_after_it_is_lost() -> None:
    """A ValueError fails the same way on every try: no retry, no back-off sleep holding up the messages behind."""
    bus = MemoryBus(partitions=1)
    seen: list[int] = []
    tries: list[int] = []

    async def handler(event: Envelope, message: Message) -> None:
        if event.data["n"] == 1:
            tries.append(1)
            raise ValueError("cannot handle 1")
        seen.append(event.data["n"])

    await bus.producer().send_batch([OutgoingMessage("in.v1", "c", _event("c", n).to_bytes()) for n in range(3)])
    runner = ConsumerRunner(group="g", bus=bus, producer=bus.producer(), topics=["in.v1"], handler=handler,
                            retries=2)
    await run_until(runner, lambda: seen == [0, 2])
    (dead,) = bus.messages("in.v1.dlq")
    assert "cannot handle 1" in (dead.header("dlq_reason") or "")
    assert tries == [1], "a deterministic failure was retried (each retry slept 0.4 s, 0.8 s, … first)"


async def test_a_database_refusal_that_may_be_a_race_is_tried_again() -> None:
    bus = MemoryBus(partitions=1)
    tries: list[int] = []

    async def handler(event: Envelope, message: Message) -> None:
        tries.append(1)
        if len(tries) < 2:
            raise IntegrityError("insert", {}, Exception("unique key taken by a concurrent writer"))

    await bus.producer().send_batch([OutgoingMessage("in.v1", "c", _event("c", 0).to_bytes())])
    runner = ConsumerRunner(group="g", bus=bus, producer=bus.producer(), topics=["in.v1"], handler=handler,
                            retries=2)
    await run_until(runner, lambda: len(tries) == 2)
    assert bus.messages("in.v1.dlq") == []


async def test_transient_failures_are_retried_without_dead_lettering() -> None:
    bus = MemoryBus(partitions=1)
    attempts: list[int] = []

    async def handler(event: Envelope, message: Message) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("database restarting")

    await bus.producer().send_batch([OutgoingMessage("in.v1", "c", _event("c", 0).to_bytes())])
    runner = ConsumerRunner(group="g", bus=bus, producer=bus.producer(), topics=["in.v1"], handler=handler,
                            retries=0)
    await run_until(runner, lambda: len(attempts) == 3)
    assert bus.messages("in.v1.dlq") == []


async def test_a_batch_handler_takes_a_poll_at_once_and_a_bad_batch_falls_back_to_one_by_one() -> None:
    bus = MemoryBus(partitions=1)
    batches: list[list[int]] = []
    singles: list[int] = []

    async def batch_handler(items: list[tuple[Envelope, Message]]) -> None:
        numbers = [event.data["n"] for event, _ in items]
        if 3 in numbers:
            raise ValueError("3 is poison")
        batches.append(numbers)

    async def handler(event: Envelope, message: Message) -> None:
        if event.data["n"] == 3:
            raise ValueError("3 is poison")
        singles.append(event.data["n"])

    await bus.producer().send_batch([OutgoingMessage("in.v1", "c", _event("c", n).to_bytes()) for n in range(3)])
    runner = ConsumerRunner(group="g", bus=bus, producer=bus.producer(), topics=["in.v1"], handler=handler,
                            batch_handler=batch_handler, retries=0)
    stopping = asyncio.Event()
    task = asyncio.create_task(runner.run(stopping))
    async with asyncio.timeout(5):
        while batches != [[0, 1, 2]]:
            await asyncio.sleep(0.02)
    await bus.producer().send_batch([OutgoingMessage("in.v1", "c", _event("c", n).to_bytes()) for n in (3, 4)])
    async with asyncio.timeout(5):
        while singles != [4]:
            await asyncio.sleep(0.02)
    stopping.set()
    await task
    (dead,) = bus.messages("in.v1.dlq")
    assert Envelope.from_bytes(dead.value).data["n"] == 3
