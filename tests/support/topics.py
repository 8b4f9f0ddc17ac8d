"""Scratch topics of tests: each test's prefix, deleted afterwards (bench.scratch does the same for benchmarks)."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient

log = logging.getLogger(__name__)


async def drop_test_topics(bootstrap: str, prefix: str | tuple[str, ...], timeout_s: float = 30.0) -> None:
    """Delete the topics under `prefix` (or any of several). A broker that keeps every test's topics (thousands
    after a few suites) gets slower for everything on it, benchmarks included. Quiet when the broker is away: a
    test that stopped it has its own assertions, and its topics go with the broker's data."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    try:
        async with asyncio.timeout(timeout_s):
            await admin.start()
            names = [t for t in await admin.list_topics() if t.startswith(prefix)]
            if names:
                await admin.delete_topics(names, timeout_ms=int(timeout_s * 1000))
    except Exception as exc:  # the broker away, or slow: leaving topics behind fails no test
        log.warning("could not delete the test topics under %s: %r", prefix, exc)
    finally:
        try:
            await asyncio.wait_for(admin.close(), 5)
        except Exception as exc:
            log.debug("admin client close: %r", exc)
