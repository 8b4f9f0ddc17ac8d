"""Scratch databases and topics of a benchmark, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from tests.support.databases import drop_database


@asynccontextmanager
async def scratch_database(prefix: str, server_url: str | None = None) -> AsyncIterator[tuple[str, str]]:
    """(SQLAlchemy URL, asyncpg DSN) of a new empty database on the server of `server_url` (by default
    CASEROUTE_DATABASE_URL)."""
    base = make_url(server_url or os.environ["CASEROUTE_DATABASE_URL"])
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


async def drop_topics(bootstrap: str | None, prefix: str) -> None:
    """Delete a measurement's topics (those under its prefix): a broker that keeps thousands of them from earlier
    runs gets slower (metadata, fetch sessions), and so would every later figure."""
    if not bootstrap:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names, timeout_ms=30_000)
    finally:
        await admin.close()
