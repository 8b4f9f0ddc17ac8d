"""A scratch database on the benchmark's PostgreSQL server (CASEROUTE_DATABASE_URL), dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url

from tests.support.databases import drop_database


@asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[tuple[str, str]]:
    """(SQLAlchemy URL, asyncpg DSN) of a new empty database."""
    base = make_url(os.environ["CASEROUTE_DATABASE_URL"])
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield (base.set(database=name).render_as_string(hide_password=False),
               base.set(drivername="postgresql", database=name).render_as_string(hide_password=False))
    finally:
        await drop_database(admin, name)
