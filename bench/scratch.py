"""Scratch topics of a benchmark, dropped afterwards (scratch databases: tests.support.databases)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient


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
