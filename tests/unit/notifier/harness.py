"""An in-process notifier for unit tests: SQLite, the in-process bus, a fake channel, no servers."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from notifier.bootstrap import build
from notifier.channels import Outcome, Outgoing
from notifier.domain.transitions import transition_id
from notifier.state import NotifierState
from schemas.events import CaseChanged, CaseDispatched, CaseSnapshot, CaseTransition, EventType
from services import migrate
from services.bus.base import OutgoingMessage
from services.bus.memory import MemoryBus
from services.envelopes import envelope, headers_for
from services.runner import build_app
from services.runtime import Runtime, ServiceParts
from services.settings import NotifierSettings, Settings
from tests.support.credentials import auth_headers

AUTH = auth_headers("admin", "notifier-tests")


@dataclass
class FakeChannel:
    """Fails with probability `failure_rate` (or always while `down`); counts what it accepted."""

    failure_rate: float = 0.0
    down: bool = False
    seed: int = 7
    accepted: list[Outgoing] = field(default_factory=list)
    attempts: int = 0
    name: str = "webhook"

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, item: Outgoing) -> Outcome:
        self.attempts += 1
        await asyncio.sleep(self._random.random() / 200)
        if self.down or self._random.random() < self.failure_rate:
            return Outcome(False, 503, "HTTP 503: try later")
        self.accepted.append(item)
        return Outcome(True, 200)


@dataclass
class Harness:
    runtime: Runtime
    parts: ServiceParts
    channel: FakeChannel
    client: httpx.AsyncClient

    async def publish(self, topic: str, case_id: str, payload: object, event_type: str) -> str:
        event = envelope(source="test", event_type=event_type, subject=case_id, payload=payload)  # type: ignore[arg-type]
        await self.runtime.producer.send_batch([OutgoingMessage(self.runtime.settings.topic(topic), case_id,
                                                                event.to_bytes(), headers_for(event.id, b""))])
        return event.id

    async def dispatch(self, case_id: str, department: str, role: str = "primary") -> str:
        payload = CaseDispatched(case_id=case_id, department=department, role=role, rule="R1", deadline_days=5,
                                 ack_hours=2, description="d", reported_at=datetime.now(UTC))
        return await self.publish(f"dispatch.{department}.v1", case_id, payload, EventType.case_dispatched)

    async def transition(self, case_id: str, department: str, to_status: str,
                         feedback_due_at: datetime | None = None, **detail: object) -> str:
        """One transition in a case.changed event; the id of the event the notifier tells it as."""
        (event_id,) = await self.changes(case_id, department, to_status, feedback_due_at=feedback_due_at, **detail)
        return event_id

    async def changes(self, case_id: str, department: str, *statuses: str, feedback_due_at: datetime | None = None,
                      **detail: object) -> list[str]:
        """One case.changed event of these transitions, as the tracker sends one transaction's (with the case's
        feedback due time in its state, if given); the ids of the events the notifier tells them as, in order."""
        at = datetime.now(UTC)
        transitions = [CaseTransition(case_id=case_id, kind=status, from_status=None, to_status=status, actor="t",
                                      at=at, department=department, detail=detail) for status in statuses]
        payload = CaseChanged(case_id=case_id, transitions=transitions,
                              state=CaseSnapshot(status=statuses[-1], department=department, attempt=1,
                                                 feedback_due_at=feedback_due_at))
        event_id = await self.publish("case-events.v1", case_id, payload, EventType.case_changed)
        return [transition_id(event_id, n) for n in range(len(statuses))]

    async def transition_v1(self, case_id: str, department: str, to_status: str, **detail: object) -> str:
        """A version 1 event (one transition), as a tracker of before case.changed published it."""
        payload = CaseTransition(case_id=case_id, from_status=None, to_status=to_status, actor="t",
                                 at=datetime.now(UTC), department=department, detail=detail)
        return await self.publish("case-events.v1", case_id, payload, EventType.case_transition)

    async def until_taken_in(self, case_id: str, events: int = 0, wait_s: float = 10.0) -> None:
        """Wait until the notifier remembers the case and has taken in `events` of its events."""
        from notifier.store.models import CaseMemory, ReceivedEvent

        async with asyncio.timeout(wait_s):
            while True:
                async with self.runtime.db.sessions() as session:
                    known = await session.get(CaseMemory, case_id)
                    count = len((await session.execute(
                        select(ReceivedEvent.seq).where(ReceivedEvent.case_id == case_id))).all())
                if known is not None and count >= events:
                    return
                await asyncio.sleep(0.02)

    async def until(self, condition: Callable[[], bool], wait_s: float = 30.0) -> None:
        async with asyncio.timeout(wait_s):
            while not condition():
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def harness(tmp_path: Path, channel: FakeChannel, **knobs: float) -> AsyncIterator[Harness]:
    """The notifier's consumer and worker running, its API reachable through `client`."""
    notifier = NotifierSettings(**{"backoff_base_s": 0.01, "backoff_cap_s": 0.05, "poll_s": 0.05,
                                   "lease_s": 30.0, "http_timeout_s": 2.0, **knobs})
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'n.db'}",
                        topic_prefix="u.", notifier=notifier)
    runtime = Runtime.create(settings, bus=MemoryBus(partitions=2))
    parts = build(runtime)
    assert isinstance(parts.state, NotifierState)
    parts.state.channels["webhook"] = channel  # the worker's own table: it sends through the fake
    assert parts.migrations is not None
    await migrate.upgrade(runtime.db, "notifier", parts.migrations)
    await runtime.bus.ensure_topics(parts.topics)
    app = build_app(runtime, [parts], "notifier")
    tasks = [asyncio.create_task(t(runtime.stopping)) for t in parts.tasks]
    tasks += [asyncio.create_task(c.run(runtime.stopping)) for c in parts.consumers]
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
            yield Harness(runtime, parts, channel, client)
    finally:
        runtime.stopping.set()
        await asyncio.wait(tasks, timeout=10)
        await runtime.db.dispose()
