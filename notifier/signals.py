"""In-process broadcast: take-in tells SSE streams that new events exist (they also poll, for replicas)."""

from __future__ import annotations

import asyncio
import contextlib


class Broadcast:
    """Every waiter wakes on `notify()`; nothing is queued, so a missed notify costs one poll interval."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_s)
