"""The catalogue version in force, asked for by several first requests at once on the embedded SQLite store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import Database, table_of
from services.settings import KafkaSettings, Settings
from tracker.store import catalogue
from tracker.store.catalogue import in_force
from tracker.store.models import CatalogueVersion

READERS = 4


async def test_first_readers_at_once_record_the_catalogue_file_once(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}"
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(CatalogueVersion.metadata.create_all, tables=[table_of(CatalogueVersion)])
    settings = Settings(database_url=url, kafka=KafkaSettings(bootstrap=None))  # the embedded mode
    # Every request finds no version before any of them records one (as concurrent first requests can).
    together = asyncio.Barrier(READERS)
    read = catalogue.latest

    async def read_together(session: AsyncSession) -> CatalogueVersion | None:
        row = await read(session)
        if row is None:
            async with asyncio.timeout(5):
                await together.wait()
        return row

    monkeypatch.setattr(catalogue, "latest", read_together)

    async def first_request() -> str:
        async with db.transaction() as session:
            return (await in_force(session, settings)).version

    try:
        versions = await asyncio.gather(*(first_request() for _ in range(READERS)))  # none may fail (it was a 500)
        async with db.sessions() as session:
            rows = await session.scalar(select(func.count()).select_from(CatalogueVersion))
    finally:
        await db.dispose()
    assert len(set(versions)) == 1
    assert rows == 1
