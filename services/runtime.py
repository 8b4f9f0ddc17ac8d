"""What every service is built from: settings, database, bus, a producer, and its parts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from fastapi import APIRouter, Request

from services.auth.authenticator import Authenticator
from services.auth.ratelimit import TokenBuckets
from services.bus.base import Bus, Producer
from services.bus.memory import MemoryBus
from services.consumer import ConsumerRunner
from services.db import Database, postgres_tls
from services.http import ReadinessCheck
from services.settings import Settings

Task = Callable[[asyncio.Event], Coroutine[object, object, None]]
State = TypeVar("State")


@dataclass
class Runtime:
    """Shared by the services of one process (one in distributed mode, all four embedded)."""

    settings: Settings
    db: Database
    bus: Bus
    producer: Producer
    auth: Authenticator
    rate_limits: TokenBuckets
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _bus_ok: tuple[float, bool] = (0.0, False)

    @classmethod
    def create(cls, settings: Settings, bus: Bus | None = None) -> Runtime:
        if bus is None:
            if settings.embedded_bus:
                bus = MemoryBus(settings.kafka.partitions)
            else:
                from services.bus.kafka import KafkaBus

                bus = KafkaBus(settings.kafka)
        tls = postgres_tls(settings.database_sslmode, settings.database_sslrootcert, settings.database_sslcert,
                           settings.database_sslkey)
        db = Database(settings.database_url, pool_size=settings.database_pool_size, tls=tls)
        return cls(settings=settings, db=db, bus=bus, producer=bus.producer(),
                   auth=Authenticator(settings.auth, db), rate_limits=TokenBuckets(settings.auth))

    async def database_ready(self) -> tuple[bool, str]:
        return await self.db.ping(), "database"

    async def bus_ready(self) -> tuple[bool, str]:
        """Bus reachability, cached for a few seconds: a probe every second must not flood Kafka."""
        checked_at, ok = self._bus_ok
        if time.monotonic() - checked_at > 5:
            ok = await self.bus.ping()
            self._bus_ok = (time.monotonic(), ok)
        return ok, "bus"


@dataclass
class ServiceParts:
    """One service's contribution to a process: its tables, loops, routes and readiness checks."""

    name: str
    migrations: Path | None = None
    topics: list[str] = field(default_factory=list)
    compacted_topics: list[str] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    consumers: list[ConsumerRunner] = field(default_factory=list)
    routers: list[APIRouter] = field(default_factory=list)
    readiness: list[ReadinessCheck] = field(default_factory=list)
    state: object = None  # the service's own typed state (e.g. tracker.state.TrackerState) its routes read

    def consumers_ready(self) -> ReadinessCheck:
        async def check() -> tuple[bool, str]:
            ok = all(c.health.started and not c.health.stalled for c in self.consumers)
            return ok, f"{self.name} consumers"

        return check


def part_state(request: Request, service: str, kind: type[State]) -> State:
    """The typed state (ServiceParts.state) of `service` in the app serving the request."""
    state = getattr(request.app.state, service).state
    if not isinstance(state, kind):
        raise TypeError(f"{service}'s state is a {type(state).__name__}, not a {kind.__name__}")
    return state
