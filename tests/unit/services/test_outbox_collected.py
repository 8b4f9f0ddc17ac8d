"""stage_collected: one event per key per transaction, in the place of its first step, built at commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from schemas.envelope import Envelope
from services.db import Base, Database
from services.outbox import stage, stage_collected
from tests.unit.services.test_outbox_and_consumer import DemoOutbox, _event


@dataclass
class Steps:
    case_id: str
    steps: list[int] = field(default_factory=list)
    built: int = 0

    def envelope(self) -> Envelope:
        self.built += 1
        return Envelope(source="test", type="demo.steps", subject=self.case_id, data={"steps": self.steps})


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[DemoOutbox.__table__])
    yield database
    await database.dispose()


async def _rows(db: Database) -> list[tuple[str, dict[str, object]]]:
    async with db.sessions() as session:
        rows = (await session.execute(select(DemoOutbox).order_by(DemoOutbox.id))).scalars().all()
    return [(r.key, {**Envelope.from_bytes(r.value).data, "id": r.event_id == Envelope.from_bytes(r.value).id})
            for r in rows]


async def test_steps_of_a_key_make_one_event_in_the_place_of_the_first_built_once(db: Database) -> None:
    made: list[Steps] = []

    def start(case_id: str) -> Steps:
        made.append(Steps(case_id))
        return made[-1]

    async with db.transaction() as session:
        stage_collected(session, DemoOutbox, "t", "C1", lambda: start("C1")).steps.append(1)
        stage_collected(session, DemoOutbox, "t", "C2", lambda: start("C2")).steps.append(1)
        stage_collected(session, DemoOutbox, "t", "C1", lambda: start("C1")).steps.append(2)
        stage(session, DemoOutbox, "t", _event("C1", 9))  # e.g. a ruling: after C1's steps so far
        stage_collected(session, DemoOutbox, "t", "C1", lambda: start("C1")).steps.append(3)
    assert await _rows(db) == [("C1", {"steps": [1, 2, 3], "id": True}), ("C2", {"steps": [1], "id": True}),
                               ("C1", {"n": 9, "id": True})]
    assert [m.built for m in made] == [1, 1]
    async with db.transaction() as session:  # the next transaction starts a new event
        stage_collected(session, DemoOutbox, "t", "C1", lambda: start("C1")).steps.append(4)
    assert (await _rows(db))[-1] == ("C1", {"steps": [4], "id": True})


async def test_a_rolled_back_transaction_stages_nothing_and_a_new_database_renders_too(db: Database,
                                                                                       tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            stage_collected(session, DemoOutbox, "t", "C1", lambda: Steps("C1")).steps.append(1)
            raise RuntimeError("refused")
    assert await _rows(db) == []
    # Each Database has a session class of its own; one made later (even after another's end) renders as well.
    other = Database(f"sqlite+aiosqlite:///{tmp_path / 'other.sqlite'}")
    async with other.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[DemoOutbox.__table__])
    async with other.transaction() as session:
        stage_collected(session, DemoOutbox, "t", "C1", lambda: Steps("C1")).steps.append(5)
    assert await _rows(other) == [("C1", {"steps": [5], "id": True})]
    await other.dispose()
