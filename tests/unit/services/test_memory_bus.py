"""The in-process bus keeps the semantics that matter: per-key order, groups, redelivery."""

from __future__ import annotations

from services.bus.base import OutgoingMessage
from services.bus.memory import MemoryBus


def _msgs(topic: str, key: str, n: int) -> list[OutgoingMessage]:
    return [OutgoingMessage(topic, key, f"{key}-{i}".encode()) for i in range(n)]


async def test_one_key_keeps_its_order() -> None:
    bus = MemoryBus(partitions=4)
    await bus.producer().send_batch(_msgs("t", "case-a", 5) + _msgs("t", "case-b", 5))
    consumer = bus.consumer(["t"], "g")
    await consumer.start()
    got = await consumer.poll(0.1, 100)
    for key in ("case-a", "case-b"):
        assert [m.value for m in got if m.key == key] == [f"{key}-{i}".encode() for i in range(5)]


async def test_uncommitted_messages_are_redelivered_to_the_next_member() -> None:
    bus = MemoryBus(partitions=1)
    await bus.producer().send_batch(_msgs("t", "k", 3))
    first = bus.consumer(["t"], "g")
    await first.start()
    batch = await first.poll(0.1, 100)
    await first.commit(batch[:1])
    await first.stop()  # dies before committing the rest
    second = bus.consumer(["t"], "g")
    await second.start()
    assert [m.value for m in await second.poll(0.1, 100)] == [b"k-1", b"k-2"]


async def test_groups_each_get_every_message_and_members_share_partitions() -> None:
    bus = MemoryBus(partitions=4)
    await bus.producer().send_batch([m for i in range(20) for m in _msgs("t", f"case-{i}", 1)])
    a, b = bus.consumer(["t"], "g1"), bus.consumer(["t"], "g1")
    other = bus.consumer(["t"], "g2")
    for c in (a, b, other):
        await c.start()
    got_a, got_b = await a.poll(0.1, 100), await b.poll(0.1, 100)
    assert len(got_a) + len(got_b) == 20 and got_a and got_b
    assert not {(m.partition) for m in got_a} & {(m.partition) for m in got_b}
    assert len(await other.poll(0.1, 100)) == 20


async def test_pattern_subscription_sees_topics_created_later() -> None:
    bus = MemoryBus(partitions=1)
    consumer = bus.consumer([], "g", pattern=r"p\.dispatch\..*\.v1")
    await consumer.start()
    await bus.producer().send_batch([OutgoingMessage("p.dispatch.amr.v1", "c", b"x"),
                                     OutgoingMessage("p.other.v1", "c", b"y")])
    assert [m.topic for m in await consumer.poll(0.1, 10)] == ["p.dispatch.amr.v1"]
    assert await consumer.lag() == {"p.dispatch.amr.v1": 0}
