"""Process runner: migrate, start loops and consumers, serve HTTP, stop gracefully on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import AsyncIterator, Callable, Sequence

import uvicorn
from fastapi import FastAPI

from services import migrate, tracing
from services.auth.bootstrap import AUTH_MIGRATIONS, bootstrap_admin_key
from services.http import create_app
from services.logctx import configure_logging
from services.runtime import Runtime, ServiceParts
from services.settings import Settings

log = logging.getLogger(__name__)

Builder = Callable[[Runtime], ServiceParts]


async def _migrate_when_reachable(runtime: Runtime, parts: Sequence[ServiceParts]) -> None:
    """Start-up waits for the database (it may start after us) but not forever."""
    for attempt in range(60):
        try:
            # Every service checks credentials against the shared key table, so each makes sure it exists.
            await migrate.upgrade(runtime.db, "auth", AUTH_MIGRATIONS)
            for part in parts:
                if part.migrations is not None:
                    await migrate.upgrade(runtime.db, part.name, part.migrations)
            return
        except OSError as exc:
            log.warning("database not reachable yet (%r), attempt %d", exc, attempt + 1)
        except Exception as exc:
            if "connect" not in repr(exc).lower():
                raise
            log.warning("database not reachable yet (%r), attempt %d", exc, attempt + 1)
        await asyncio.sleep(1)
    raise RuntimeError("database unreachable for 60 s at start-up")


async def _ensure_topics(runtime: Runtime, parts: Sequence[ServiceParts]) -> None:
    topics = sorted({t for p in parts for t in p.topics})
    compacted = sorted({t for p in parts for t in p.compacted_topics})
    while not runtime.stopping.is_set():
        try:
            await runtime.bus.ensure_topics(compacted, compacted=True)
            await runtime.bus.ensure_topics(topics)
            return
        except Exception as exc:  # Kafka may come later; producers and consumers cope meanwhile
            log.warning("could not create topics yet: %r", exc)
            await asyncio.sleep(2)


async def _consume(runtime: Runtime, parts: Sequence[ServiceParts]) -> None:
    """Consumers start once their topics exist, so compacted topics are never auto-created plain."""
    await _ensure_topics(runtime, parts)
    await asyncio.gather(*(c.run(runtime.stopping) for p in parts for c in p.consumers))


def build_app(runtime: Runtime, parts: Sequence[ServiceParts], name: str) -> FastAPI:
    """One FastAPI app for the parts of this process, with start-up and shutdown in its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await _migrate_when_reachable(runtime, parts)
        await bootstrap_admin_key(runtime.db, runtime.settings.auth)
        tasks: list[asyncio.Future[None]] = [asyncio.ensure_future(task(runtime.stopping))
                                             for p in parts for task in p.tasks]
        tasks.append(asyncio.create_task(_consume(runtime, parts)))
        # Start-up objects (modules, catalogue, models) live for the process: move them out of the
        # collector's way so its pauses stay short on the request path. Every event allocates hundreds of
        # short-lived objects (models, rows, statements): at the default threshold (700) the young generation
        # is collected thousands of times a second; at 50,000, seventy times less often, and no cycle lives
        # longer than a few polls (the CPU per case this saves is measured by bench/e2e_bench.py).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        log.info("%s started", name)
        try:
            yield
        finally:
            runtime.stopping.set()
            _done, pending = await asyncio.wait(tasks, timeout=15)
            for task in pending:
                task.cancel()
            await runtime.producer.stop()
            await runtime.db.dispose()
            log.info("%s stopped", name)

    app = create_app(
        service=name,
        routers=[r for p in parts for r in p.routers],
        readiness=[runtime.database_ready, *(c for p in parts for c in p.readiness),
                   *(p.consumers_ready() for p in parts if p.consumers),
                   *([runtime.bus_ready] if not runtime.settings.embedded_bus else [])],
        max_body_bytes=runtime.settings.max_body_bytes,
        cors_origins=runtime.settings.cors_origins,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    for part in parts:
        setattr(app.state, part.name, part)
    return app


def serve(settings: Settings, builders: Sequence[Builder], name: str) -> None:
    """Run the given services in this process until SIGTERM or SIGINT."""
    configure_logging(name, settings.log_level, settings.log_json)
    tracing.configure(settings, name)

    async def main() -> None:
        runtime = Runtime.create(settings)
        parts = [build(runtime) for build in builders]
        app = build_app(runtime, parts, name)
        config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_config=None,
                                access_log=False, timeout_graceful_shutdown=10, loop="none",
                                http="httptools")
        sockets = [_shared_socket(settings.http_host, settings.http_port)] if settings.http_reuse_port else None
        await uvicorn.Server(config).serve(sockets=sockets)

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def _shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket other processes of the service may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
