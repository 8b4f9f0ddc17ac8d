"""The outbox relay on real PostgreSQL while idle: its fallback poll reads whether rows wait instead of running a
pass, yet rows committed by another process are still relayed within the poll, and a commit here at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from schemas.envelope import Envelope
from services.bus.memory import MemoryBus
from services.db import Base, Database
from services.outbox import POLL_S, OutboxMixin, OutboxRelay, stage

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]


class IdleOutbox(OutboxMixin, Base):
    __tablename__ = "idle_test_outbox"


@pytest.fixture
async def db(fresh_postgres: str) -> AsyncIterator[Database]:
    database = Database(fresh_postgres)
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[IdleOutbox.__table__])
    yield database
    await database.dispose()


async def _published(bus: MemoryBus, count: int, within: float) -> float:
    started = time.monotonic()
    while len(bus.messages("idle.v1")) < count:
        assert time.monotonic() - started < within, f"{len(bus.messages('idle.v1'))} of {count} published"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_an_idle_relay_runs_no_pass_and_still_relays_what_others_commit(db: Database,
                                                                              fresh_postgres: str) -> None:
    bus = MemoryBus(partitions=1)
    relay = OutboxRelay(service="t", db=db, table=IdleOutbox, bus=bus, producer=bus.producer())
    passes = 0
    relay_once = relay.relay_once

    async def counted() -> int:
        nonlocal passes
        passes += 1
        return await relay_once()

    relay.relay_once = counted  # type: ignore[method-assign]
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    other = Database(fresh_postgres)  # another process's commits do not wake this relay
    try:
        await asyncio.sleep(POLL_S * 3.5)
        assert passes == 1  # the first pass (a new leader reads back); then only the lock's one read a second

        async with other.transaction() as session:
            stage(session, IdleOutbox, "idle.v1", Envelope(source="t", type="demo", subject="c-1", data={"n": 1}))
        assert await _published(bus, 1, within=POLL_S * 3) <= POLL_S * 2.5

        async with db.transaction() as session:  # a commit here wakes the relay: no poll to wait for
            stage(session, IdleOutbox, "idle.v1", Envelope(source="t", type="demo", subject="c-1", data={"n": 2}))
        assert await _published(bus, 2, within=POLL_S * 3) < POLL_S / 2
        assert [Envelope.from_bytes(m.value).data["n"] for m in bus.messages("idle.v1")] == [1, 2]
    finally:
        stopping.set()
        await task
        await other.dispose()
