"""Running a consumer in a test until what it should do has happened."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.consumer import ConsumerRunner


async def run_until(runner: ConsumerRunner, condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Run `runner` until `condition()` holds (TimeoutError after `timeout` s), then stop it as a service would."""
    stopping = asyncio.Event()
    task = asyncio.create_task(runner.run(stopping))
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    finally:
        stopping.set()
        await task
