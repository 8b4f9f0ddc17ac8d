"""Server-sent events on real Kafka and PostgreSQL: a dropped stream resumed with Last-Event-ID loses nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.notifier.support import AUTH, Feeder, InProcessNotifier, notifier_settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(120)]


async def sse_messages(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """Parse an SSE stream by the WHATWG rules we need: fields until a blank line; comments skipped."""
    message: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in message:
                yield message
            message = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            message[name] = value[1:] if value.startswith(" ") else value


async def _read(client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, object], count: int,
                into: list[dict[str, str]]) -> None:
    async with client.stream("GET", "/v1/stream", headers={**AUTH, **headers}, params=params) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for message in sse_messages(response):
            into.append(message)
            if len(into) >= count:
                return  # leaving the block drops the connection, as a console losing its network would


async def test_sse_resume_after_a_dropped_connection_loses_nothing(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = notifier_settings(kafka_bootstrap, topic_prefix, fresh_postgres, sse_heartbeat_s=1)
    feeder = await Feeder.start(settings, ["fire", "water"])
    try:
        async with InProcessNotifier(settings) as notifier, \
                httpx.AsyncClient(base_url=notifier.url, timeout=httpx.Timeout(10, read=15)) as client:
            fire: dict[str, list[str]] = {}
            for n in range(10):
                case = f"C1-{n % 3}"
                fire.setdefault(case, []).append(await feeder.transition(case, "fire", "acknowledged"))
                await feeder.transition(f"C2-{n % 3}", "water", "acknowledged")
            first: list[dict[str, str]] = []
            async with asyncio.timeout(30):
                await _read(client, {}, {"department": "fire", "since": 0}, 6, first)
            for n in range(10, 25):  # published while no one listens
                fire[f"C1-{n % 3}"].append(await feeder.transition(f"C1-{n % 3}", "fire", "feedback"))
                await feeder.transition(f"C2-{n % 3}", "water", "feedback")
            rest: list[dict[str, str]] = []
            async with asyncio.timeout(30):
                await _read(client, {"Last-Event-ID": first[-1]["id"]}, {"department": "fire"}, 19, rest)
            received: dict[str, list[str]] = {}
            for m in first + rest:
                envelope = json.loads(m["data"])
                received.setdefault(envelope["subject"], []).append(envelope["id"])
            # Nothing lost, nothing twice, each case in order (cases on other partitions may interleave).
            assert received == fire
            ids = [int(m["id"]) for m in first + rest]
            assert ids == sorted(ids) and len(set(ids)) == len(ids)
            assert all(json.loads(m["data"])["data"]["department"] == "fire" for m in first + rest)
            bad = await client.get("/v1/stream", headers={**AUTH, "Last-Event-ID": "oops"})
            assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    finally:
        await feeder.stop()
