"""The Kafka adapter on a real broker: produce, consume, commit, redelivery after a crash."""

from __future__ import annotations

import asyncio

import pytest

from services.bus.base import Message, OutgoingMessage
from services.bus.kafka import KafkaBus
from services.settings import KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


async def _poll_until(consumer, count: int, timeout: float = 30.0) -> list[Message]:  # type: ignore[no-untyped-def]
    got: list[Message] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            got += await consumer.poll(0.5, 500)
    return got


@pytest.fixture
def bus(kafka_bootstrap: str) -> KafkaBus:
    return KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap, partitions=3))


async def test_produce_consume_commit_in_key_order(bus: KafkaBus, topic_prefix: str) -> None:
    topic = f"{topic_prefix}orders.v1"
    await bus.ensure_topics([topic])
    producer = bus.producer()
    await producer.send_batch([OutgoingMessage(topic, f"case-{i % 4}", f"{i}".encode(),
                                               (("ce_id", f"e{i}".encode()),)) for i in range(40)])
    consumer = bus.consumer([topic], f"{topic_prefix}g")
    await consumer.start()
    try:
        got = await _poll_until(consumer, 40)
        for key in {m.key for m in got}:
            values = [int(m.value) for m in got if m.key == key]
            assert values == sorted(values)
        assert got[0].header("ce_id") is not None
        await consumer.commit(got)
        assert await consumer.lag() == {topic: 0}
    finally:
        await consumer.stop()
        await producer.stop()


async def test_a_member_that_dies_before_committing_leaves_its_messages_for_the_next(
        bus: KafkaBus, topic_prefix: str) -> None:
    topic = f"{topic_prefix}crash.v1"
    group = f"{topic_prefix}g"
    await bus.ensure_topics([topic])
    producer = bus.producer()
    await producer.send_batch([OutgoingMessage(topic, "case-1", f"{i}".encode()) for i in range(10)])
    first = bus.consumer([topic], group)
    await first.start()
    got = await _poll_until(first, 10)
    await first.commit(got[:4])
    await first.stop()  # "dies": six messages handled but never committed
    second = bus.consumer([topic], group)
    await second.start()
    try:
        again = await _poll_until(second, 6)
        assert [int(m.value) for m in again] == [4, 5, 6, 7, 8, 9]
    finally:
        await second.stop()
        await producer.stop()


async def test_pattern_consumer_finds_department_topics_created_after_it_started(
        bus: KafkaBus, topic_prefix: str) -> None:
    consumer = bus.consumer([], f"{topic_prefix}g", pattern=rf"{topic_prefix.replace('.', '[.]')}dispatch\..*\.v1")
    producer = bus.producer()
    await bus.ensure_topics([f"{topic_prefix}dispatch.amr.v1"])
    await consumer.start()
    try:
        await bus.ensure_topics([f"{topic_prefix}dispatch.ecology.v1"])
        await producer.send_batch([OutgoingMessage(f"{topic_prefix}dispatch.amr.v1", "c1", b"a"),
                                   OutgoingMessage(f"{topic_prefix}dispatch.ecology.v1", "c2", b"b")])
        got = await _poll_until(consumer, 2, timeout=60)
        assert {m.topic.rsplit(".", 2)[-2] for m in got} == {"amr", "ecology"}
    finally:
        await consumer.stop()
        await producer.stop()


async def test_ping_answers_for_a_live_broker_and_not_for_a_dead_port(bus: KafkaBus) -> None:
    assert await bus.ping()
    assert not await KafkaBus(KafkaSettings(bootstrap="127.0.0.1:1", request_timeout_ms=2000)).ping()
