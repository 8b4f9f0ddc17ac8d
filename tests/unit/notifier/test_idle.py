"""An idle notifier polls its queue seldom, yet a retry it scheduled goes out on time and take-in wakes it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from notifier import worker as worker_module
from notifier.store import queue
from tests.unit.notifier.harness import AUTH, FakeChannel, harness

POLL_S = 0.05


async def test_the_idle_queue_poll_slows_down_but_retries_and_new_events_are_not_delayed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    claims: list[float] = []
    claim = queue.claim

    async def counted(*args: Any, **kwargs: Any) -> list[queue.Claimed]:
        claims.append(time.monotonic())
        return await claim(*args, **kwargs)

    monkeypatch.setattr(worker_module.queue, "claim", counted)
    channel = FakeChannel(down=True)
    async with harness(tmp_path, channel, poll_s=POLL_S, backoff_base_s=1.0, backoff_cap_s=1.0) as h:
        await asyncio.sleep(2.0)
        quiet = [t for t in claims if t > claims[0] + 0.5]
        # At the busy pace 1.5 s would be 30 polls; slowed to 8 × POLL_S it is a handful.
        assert len(quiet) <= 8, len(quiet)
        answer = await h.client.post("/v1/subscriptions", headers=AUTH, json={
            "url": "http://receiver.test/hook", "kind": "department", "owner": "fire", "event_types": ["case.*"]})
        assert answer.status_code == 201
        await h.transition("C1", "fire", "acknowledged")
        await h.until(lambda: channel.attempts == 1, 5)  # take-in woke the worker
        failed_at = time.monotonic()
        channel.down = False
        await h.until(lambda: len(channel.accepted) == 1, 5)
        # The retry came between ½ and 1 × the 1 s backoff after the failure, not a slow poll later.
        assert time.monotonic() - failed_at < 1.0 + 2 * POLL_S
