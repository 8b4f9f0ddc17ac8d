"""The one way a loop waits: until a timeout, a wake-up, or the process stopping, whichever comes first."""

from __future__ import annotations

import asyncio


async def wait_or_stop(stopping: asyncio.Event, seconds: float, wakeup: asyncio.Event | None = None) -> None:
    """Sleep up to `seconds`, returning early when `stopping` (or `wakeup`, if given) is set."""
    waiters = [asyncio.ensure_future(stopping.wait())]
    if wakeup is not None:
        waiters.append(asyncio.ensure_future(wakeup.wait()))
    _done, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
