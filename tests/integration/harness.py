"""Run services' parts in this process on real Kafka and PostgreSQL, the way `caseroute <service>` does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.bus.base import Message
from services.bus.kafka import KafkaBus
from services.runner import Builder, build_app
from services.runtime import Runtime
from services.settings import Settings


@asynccontextmanager
async def running(settings: Settings, builders: Sequence[Builder]) -> AsyncIterator[FastAPI]:
    """The app of these services with its lifespan running (migrations, relays, consumers)."""
    runtime = Runtime.create(settings)
    app = build_app(runtime, [build(runtime) for build in builders], "test")
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """An app (its lifespan already running) served over HTTP on a free local port, for a client in another
    thread or process; yields its base URL."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


class TopicReader:
    """Reads topics from the beginning in a group of its own, as a department system or operator would."""

    def __init__(self, bootstrap: str, topics: list[str] | None = None, pattern: str | None = None) -> None:
        from services.settings import KafkaSettings

        self.bus = KafkaBus(KafkaSettings(bootstrap=bootstrap))
        self.consumer = self.bus.consumer(topics or [], f"reader-{id(self)}", pattern=pattern)
        self.messages: list[Message] = []

    async def __aenter__(self) -> TopicReader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def until(self, predicate, timeout: float = 30.0) -> list[Message]:  # type: ignore[no-untyped-def]
        """Read until predicate(messages) holds; return everything read so far."""
        async with asyncio.timeout(timeout):
            while not predicate(self.messages):
                self.messages += await self.consumer.poll(0.3, 500)
        return self.messages
