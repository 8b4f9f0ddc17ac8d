"""One copy per event id on Kafka when the acknowledgement is late, lost, or the relay dies before it commits."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select, text

from schemas.envelope import Envelope
from services.bus.base import BusUnavailable, OutgoingMessage
from services.bus.kafka import KafkaBus, KafkaProducer
from services.db import Base, Database
from services.envelopes import headers_for
from services.outbox import OUTBOX_PUBLISHED, OutboxMixin, OutboxRelay, stage
from services.settings import KafkaSettings
from tests.reliability.infra import kafka_broker
from tests.reliability.load import copies_per_topic

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


class RelayTestOutbox(OutboxMixin, Base):
    __tablename__ = "exactly_once_outbox"


def _event(case_id: str, n: int) -> Envelope:
    return Envelope(source="test", type="demo", subject=case_id, dataschema="urn:demo:v1", data={"n": n})


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A broker of our own, because the test freezes it: (bootstrap, its state dir)."""
    var = tmp_path_factory.mktemp("kafka")
    with kafka_broker(var) as (bootstrap, _script):
        yield bootstrap, var


def _freeze(var: Path, sig: signal.Signals) -> None:
    os.kill(int((var / "kafka" / "kafka.pid").read_text().strip()), sig)


async def test_a_late_acknowledgement_is_waited_for_not_answered_with_a_second_copy(
        broker: tuple[str, Path], topic_prefix: str) -> None:
    """The broker stops answering mid-send (as it does while it shuts down); the caller gives up after its bound
    and sends the same messages again, as the relay does. The producer's own delivery carries them: one copy."""
    bootstrap, var = broker
    settings = KafkaSettings(bootstrap=bootstrap, partitions=2, send_timeout_s=2.0)
    bus = KafkaBus(settings)
    topic = f"{topic_prefix}dispatch.demo.v1"
    await bus.ensure_topics([topic])
    messages = [OutgoingMessage(topic, f"case-{i % 5}", orjson.dumps({"id": f"e{i}"}), headers_for(f"e{i}", b""),
                                event_id=f"e{i}") for i in range(30)]
    producer = KafkaProducer(settings)
    await producer.start()
    try:
        _freeze(var, signal.SIGSTOP)  # the request reaches the broker's socket; the answer does not come back
        try:
            with pytest.raises(BusUnavailable):
                await producer.send_batch(messages)
        finally:
            _freeze(var, signal.SIGCONT)  # the broker stores the batch it had received
        async with asyncio.timeout(60):
            while True:
                try:
                    await producer.send_batch(messages)
                    break
                except BusUnavailable:
                    await asyncio.sleep(0.5)
    finally:
        await producer.stop()
    assert (await copies_per_topic(bootstrap, [topic]))[topic] == (30, 0)


async def test_a_producer_does_not_write_again_what_kafka_acknowledged_to_it(
        kafka_bootstrap: str, topic_prefix: str) -> None:
    """The relay heard the acknowledgement but could not record it (its commit failed; or the acknowledgement came
    between its read-back and its send) and hands the same events over again: Kafka keeps one copy."""
    settings = KafkaSettings(bootstrap=kafka_bootstrap, partitions=2)
    topic = f"{topic_prefix}dispatch.demo.v1"
    await KafkaBus(settings).ensure_topics([topic])
    messages = [OutgoingMessage(topic, f"case-{i % 3}", orjson.dumps({"id": f"e{i}"}), headers_for(f"e{i}", b""),
                                event_id=f"e{i}") for i in range(10)]
    producer = KafkaProducer(settings)
    try:
        await producer.send_batch(messages)
        await producer.send_batch(messages[5:])
    finally:
        await producer.stop()
    assert (await copies_per_topic(kafka_bootstrap, [topic]))[topic] == (10, 0)


class AcknowledgementLost:
    """A real Kafka producer whose first batch is stored by Kafka and whose answer never reaches the caller."""

    def __init__(self, inner: KafkaProducer) -> None:
        self.inner = inner
        self.lose = 1

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        await self.inner.send_batch(messages)
        if self.lose:
            self.lose -= 1
            raise BusUnavailable("kafka did not acknowledge: TimeoutError (the broker had stored the batch)")


@pytest.fixture
async def db(fresh_postgres: str) -> AsyncIterator[Database]:
    database = Database(fresh_postgres)
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[RelayTestOutbox.__table__])
    yield database
    await database.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("next_pass", ["same relay", "restarted relay"])
async def test_a_batch_kafka_stored_is_not_sent_again_when_its_pass_did_not_commit(
        db: Database, kafka_bootstrap: str, topic_prefix: str, next_pass: str) -> None:
    """The pass sent the batch, Kafka stored it, and the pass rolled back (lost answer, failed commit, kill -9 of
    the process before its commit): the rows come back. The next pass, in this process or a new one, deletes them
    without a second copy on the topic."""
    bus = KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap, partitions=2))
    topic = f"{topic_prefix}dispatch.demo.v1"
    async with db.transaction() as session:
        for n in range(40):
            stage(session, RelayTestOutbox, topic, _event(f"case-{n % 7}", n))
    first = OutboxRelay(service="t", db=db, table=RelayTestOutbox, bus=bus,
                        producer=AcknowledgementLost(KafkaProducer(bus.settings)), batch=25)
    with pytest.raises(BusUnavailable):
        await first.relay_once()
    relay = first
    if next_pass == "restarted relay":
        await first.producer.stop()
        relay = OutboxRelay(service="t", db=db, table=RelayTestOutbox, bus=bus, producer=KafkaProducer(bus.settings),
                            batch=25)
    try:
        assert await relay.relay_once() == 25
        assert await relay.relay_once() == 15
        assert await relay.relay_once() == 0
    finally:
        await relay.producer.stop()
    assert (await copies_per_topic(kafka_bootstrap, [topic]))[topic] == (40, 0)


def _published(service: str) -> float:
    return OUTBOX_PUBLISHED.labels(service)._value.get()


@pytest.mark.postgres
async def test_one_replica_relays_and_another_takes_over_when_it_stops(
        db: Database, kafka_bootstrap: str, topic_prefix: str) -> None:
    """Two replicas of a service share an outbox: one relays (the other would have to read the topics back on
    every change of hands); when it ends, the other takes over within a second and nothing is written twice."""
    bus = KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap, partitions=2))
    topic = f"{topic_prefix}dispatch.demo.v1"
    names = [f"{topic_prefix}a", f"{topic_prefix}b"]
    relays = [OutboxRelay(service=name, db=db, table=RelayTestOutbox, bus=bus,
                          producer=KafkaProducer(bus.settings), batch=20, idle_s=0.01) for name in names]
    stopping = [asyncio.Event(), asyncio.Event()]
    first = asyncio.create_task(relays[0].run(stopping[0]))
    async with asyncio.timeout(30):  # the first replica takes the lock (however loaded the machine)
        while relays[0]._leader is None:
            await asyncio.sleep(0.05)
    second = asyncio.create_task(relays[1].run(stopping[1]))

    async def stage_some(start: int, count: int) -> None:
        for n in range(start, start + count):
            async with db.transaction() as session:
                stage(session, RelayTestOutbox, topic, _event(f"case-{n % 7}", n))
            await asyncio.sleep(0.01)

    async def drained() -> None:
        async with asyncio.timeout(30):
            while await db_count(db):
                await asyncio.sleep(0.2)

    try:
        await stage_some(0, 100)
        await drained()
        assert _published(names[0]) == 100 and _published(names[1]) == 0, "both replicas relayed"
        stopping[0].set()  # the leader ends (its lock goes with its connection)
        await first
        # Released at once, not left to a pooled connection's session for whoever checks it out next.
        async with db.sessions() as session:
            held = await session.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = "
                "hashtext('outbox-relay:' || :table)::oid"), {"table": RelayTestOutbox.__tablename__})
        assert held == 0, "the resigned leader's session still holds the relay lock"
        await stage_some(100, 100)
        await drained()
        assert _published(names[1]) == 100
    finally:
        for event in stopping:
            event.set()
        await asyncio.gather(first, second)
        for relay in relays:
            await relay.producer.stop()
    assert (await copies_per_topic(kafka_bootstrap, [topic]))[topic] == (200, 0)


async def db_count(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(RelayTestOutbox)) or 0)
