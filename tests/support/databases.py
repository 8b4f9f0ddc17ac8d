"""Scratch databases of tests and benchmarks: made empty on the real server, dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url


@asynccontextmanager
async def scratch_database(prefix: str, server_url: str | None = None) -> AsyncIterator[tuple[str, str]]:
    """(SQLAlchemy URL, asyncpg DSN) of a new empty database on the server of `server_url` (by default
    CASEROUTE_DATABASE_URL)."""
    base = make_url(server_url or os.environ["CASEROUTE_DATABASE_URL"])
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield (base.set(database=name).render_as_string(hide_password=False),
               base.set(drivername="postgresql", database=name).render_as_string(hide_password=False))
    finally:
        await drop_database(admin, name)


async def drop_database(admin_dsn: str, name: str, attempts: int = 20) -> None:
    """DROP DATABASE … WITH (FORCE), again while the server refuses it.

    FORCE ends our own sessions, but not an autovacuum worker that started on the database (it runs as the
    superuser: "must be a member of the role whose process is being terminated"); it finishes in moments."""
    for attempt in range(attempts):
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
            if attempt == attempts - 1:
                raise
        finally:
            await conn.close()
        await asyncio.sleep(0.5)
