"""The stall watchdog: a consumer whose poll returns nothing while it is behind is restarted, not ready meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from schemas.envelope import Envelope
from services.bus.base import Message, OutgoingMessage
from services.consumer import CONSUMER_RESTARTS, ConsumerRunner
from services.runtime import ServiceParts

pytestmark = pytest.mark.timeout(30)


class SilentConsumer:
    """What aiokafka does after #1154/#703: poll keeps answering [] although the partition has messages."""

    def __init__(self, behind: int, messages: list[Message] | None = None) -> None:
        self.behind = behind
        self.messages = messages or []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def poll(self, timeout_s: float, max_records: int) -> list[Message]:
        if self.messages:
            batch, self.messages = self.messages, []
            return batch
        await asyncio.sleep(min(timeout_s, 0.02))
        return []

    async def commit(self, messages: Sequence[Message]) -> None:
        self.behind = max(0, self.behind - len(messages))

    async def lag(self) -> dict[str, int]:
        return {"in.v1": self.behind} if self.behind else {}


class FakeBus:
    """Hands out the prepared consumers in order and records the member restarts."""

    def __init__(self, consumers: list[SilentConsumer]) -> None:
        self.prepared = consumers
        self.made: list[SilentConsumer] = []

    def producer(self) -> FakeProducer:
        return FakeProducer()

    def consumer(self, topics: Sequence[str], group: str, *, pattern: str | None = None,
                 not_before: object = None) -> SilentConsumer:
        consumer = self.prepared[min(len(self.made), len(self.prepared) - 1)]
        self.made.append(consumer)
        return consumer

    async def ensure_topics(self, topics: Sequence[str], *, compacted: bool = False) -> None:
        return None

    async def ping(self) -> bool:
        return True


class FakeProducer:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        return None


async def _noop(*_: object) -> None:
    return None


def _runner(bus: FakeBus, stall_s: float) -> tuple[ConsumerRunner, ServiceParts]:
    runner = ConsumerRunner(group="watchdog-test", bus=bus, producer=bus.producer(), topics=["in.v1"],
                            handler=_noop, stall_s=stall_s)
    return runner, ServiceParts(name="svc", consumers=[runner])


def _restarts() -> float:
    return CONSUMER_RESTARTS.labels("watchdog-test")._value.get()


async def test_silent_consumer_with_lag_is_restarted_and_unready_meanwhile() -> None:
    silent, healthy = SilentConsumer(behind=7), SilentConsumer(behind=0)
    bus = FakeBus([silent, healthy])
    runner, parts = _runner(bus, stall_s=0.4)
    ready = parts.consumers_ready()
    before = _restarts()
    stopping = asyncio.Event()
    task = asyncio.create_task(runner.run(stopping))
    try:
        async with asyncio.timeout(10):
            while not runner.health.stalled:  # the watchdog saw lag without progress
                await asyncio.sleep(0.01)
        assert (await ready())[0] is False, "readiness must be false while the consumer is stalled"
        async with asyncio.timeout(10):
            while len(bus.made) < 2 or not runner.health.started or runner.health.stalled:
                await asyncio.sleep(0.01)
        assert silent.stopped, "the stalled member must be stopped before a new one starts"
        assert _restarts() == before + 1
        assert (await ready())[0] is True, "a fresh member that is not behind is ready again"
    finally:
        stopping.set()
        await asyncio.wait_for(task, 10)


async def test_idle_consumer_without_lag_is_left_alone() -> None:
    bus = FakeBus([SilentConsumer(behind=0)])
    runner, _ = _runner(bus, stall_s=0.2)
    stopping = asyncio.Event()
    task = asyncio.create_task(runner.run(stopping))
    await asyncio.sleep(1.0)  # five watchdog periods with nothing to read: nothing may happen
    stopping.set()
    await asyncio.wait_for(task, 10)
    assert len(bus.made) == 1 and not runner.health.stalled


async def test_consumer_making_progress_is_not_restarted() -> None:
    messages = [Message("in.v1", 0, i, "c", b"{}") for i in range(3)]
    consumer = SilentConsumer(behind=3, messages=messages)
    bus = FakeBus([consumer])
    runner, _ = _runner(bus, stall_s=0.4)
    runner.decoder = lambda m: Envelope(source="t", type="t", subject="c", dataschema="urn:t:v1", data={})
    stopping = asyncio.Event()
    task = asyncio.create_task(runner.run(stopping))
    async with asyncio.timeout(10):
        while consumer.behind:
            await asyncio.sleep(0.01)
    await asyncio.sleep(1.0)  # the lag is gone: the watchdog must keep quiet
    stopping.set()
    await asyncio.wait_for(task, 10)
    assert len(bus.made) == 1 and not runner.health.stalled
