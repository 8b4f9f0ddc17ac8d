"""Closing an aiokafka client while the broker is away must neither hang nor end the caller's task."""

from __future__ import annotations

import asyncio

import pytest

from services.bus.kafka import _bounded

pytestmark = pytest.mark.timeout(20)


async def _stop_raising_cancelled() -> None:
    """What aiokafka's consumer stop() did with the broker down: a CancelledError nobody asked for."""
    await asyncio.sleep(0)
    raise asyncio.CancelledError


async def _stop_hanging() -> None:
    await asyncio.sleep(3600)


async def test_a_cancelled_error_from_inside_the_client_is_contained() -> None:
    await _bounded(_stop_raising_cancelled(), 1)  # returns: the runner goes on to restart its consumer


async def test_a_hanging_close_is_bounded() -> None:
    async with asyncio.timeout(5):
        await _bounded(_stop_hanging(), 0.2)


async def test_cancelling_the_caller_still_cancels() -> None:
    task = asyncio.create_task(_bounded(_stop_hanging(), 60))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
