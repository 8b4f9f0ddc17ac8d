"""Dropping the scratch databases of tests and benchmarks."""

from __future__ import annotations

import asyncio

import asyncpg


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
