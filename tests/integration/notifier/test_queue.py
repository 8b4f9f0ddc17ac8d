"""The delivery queue's statements on SQLite and PostgreSQL alike: lane heads leased once, outcomes recorded by
the lease holder only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from notifier.store import queue
from notifier.store.models import Delivery, ReceivedEvent, Subscription
from services.db import Database
from services.migrate import upgrade

MIGRATIONS = Path(__file__).resolve().parents[3] / "notifier" / "migrations"
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
async def db(any_database: str) -> AsyncIterator[Database]:
    database = Database(any_database)
    await upgrade(database, "notifier", MIGRATIONS)
    async with database.transaction() as session:
        session.add(Subscription(id="s1", kind="department", owner="amr", channel="webhook", url="https://a.example/h",
                                 secret="k1", previous_secret=None, previous_secret_expires_at=None,
                                 event_types=["*"], description=None, active=True, created_at=NOW, updated_at=NOW))
        for seq, case in enumerate(("C1", "C1", "C2"), start=1):
            session.add(ReceivedEvent(seq=seq, event_id=f"e{seq}", type="caseroute.case.routed", case_id=case,
                                      department="amr", topic="t", envelope={"id": f"e{seq}", "n": seq},
                                      received_at=NOW))
        await session.flush()
        for seq, case in enumerate(("C1", "C1", "C2"), start=1):
            session.add(Delivery(event_seq=seq, event_id=f"e{seq}", event_type="caseroute.case.routed", case_id=case,
                                 recipient="amr", subscription_id="s1", url=None, lane=f"amr:{case}", payload=None,
                                 status="pending", attempts=0, next_attempt_at=NOW, locked_until=None,
                                 lease_owner=None, horizon_from=NOW, created_at=NOW, updated_at=NOW))
    yield database
    await database.dispose()


async def test_a_claim_leases_each_lanes_head_once_with_what_sending_needs(db: Database) -> None:
    first = await queue.claim(db, owner="w1", limit=10, now=NOW, lease_s=30)
    assert [(c.event_id, c.url, c.secret, c.channel) for c in first] == [
        ("e1", "https://a.example/h", "k1", "webhook"), ("e3", "https://a.example/h", "k1", "webhook")]
    assert orjson.loads(first[0].body) == {"id": "e1", "n": 1} and first[0].subscription_active
    assert await queue.claim(db, owner="w2", limit=10, now=NOW, lease_s=30) == [], "leased heads, a waiting second"
    later = NOW + timedelta(seconds=31)  # the lease ran out: another worker takes the head over
    assert [c.event_id for c in await queue.claim(db, owner="w2", limit=1, now=later, lease_s=30)] == ["e1"]


async def test_outcomes_are_recorded_by_the_lease_holder_only(db: Database) -> None:
    claimed = await queue.claim(db, owner="w1", limit=10, now=NOW, lease_s=30)
    at = NOW + timedelta(seconds=1)
    results = [queue.Result(c.id, "delivered", 1, at, at, 200, None) for c in claimed]
    await queue.record(db, owner="w2", results=results)  # not w2's leases: nothing changes
    assert await queue.pending_count(db) == 3
    await queue.record(db, owner="w1", results=results)
    assert await queue.pending_count(db) == 1
    after = await queue.claim(db, owner="w1", limit=10, now=at, lease_s=30)
    assert [c.event_id for c in after] == ["e2"], "the lane's next delivery, once the head was delivered"
    await queue.record(db, owner="w1", results=[queue.Result(after[0].id, "pending", 1, at, at, 503, "busy")])
    assert [c.attempts for c in await queue.claim(db, owner="w3", limit=10, now=at, lease_s=30)] == [1]
