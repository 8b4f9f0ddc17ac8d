"""Running the notifier in this process on the real servers, and feeding it as the router and tracker do."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import uvicorn

from notifier.bootstrap import build
from notifier.domain.transitions import transition_id
from schemas.events import CaseChanged, CaseDispatched, CaseSnapshot, CaseTransition, EventType
from services.bus.base import OutgoingMessage
from services.bus.kafka import KafkaBus
from services.envelopes import envelope, headers_for
from services.runner import build_app
from services.runtime import Runtime
from services.settings import KafkaSettings, NotifierSettings, Settings
from tests.e2e.stack import free_port
from tests.support.credentials import auth_headers

AUTH = auth_headers("admin", "notifier-tests")
FAST = {"backoff_base_s": 0.05, "backoff_cap_s": 0.5, "poll_s": 0.1, "lease_s": 30.0, "http_timeout_s": 3.0}


def notifier_settings(bootstrap: str, prefix: str, database_url: str, **knobs: float) -> Settings:
    return Settings(topic_prefix=prefix, database_url=database_url,  # type: ignore[arg-type]
                    kafka=KafkaSettings(bootstrap=bootstrap, partitions=2),
                    notifier=NotifierSettings(**{**FAST, **knobs}))


@dataclass
class Feeder:
    """Publishes envelopes on the notifier's topics the way the router and the tracker would."""

    bus: KafkaBus
    settings: Settings

    @classmethod
    async def start(cls, settings: Settings, departments: list[str]) -> Feeder:
        bus = KafkaBus(settings.kafka)
        topics = [settings.topic(t) for t in ("case-events.v1", "routed.v1")]
        await bus.ensure_topics([*topics, *(settings.dispatch_topic(d) for d in departments)])
        feeder = cls(bus, settings)
        feeder._producer = bus.producer()
        await feeder._producer.start()
        return feeder

    async def stop(self) -> None:
        await self._producer.stop()

    async def _send(self, topic: str, case_id: str, payload: object, event_type: str) -> str:
        event = envelope(source="test", event_type=event_type, subject=case_id, payload=payload)  # type: ignore[arg-type]
        await self._producer.send_batch([OutgoingMessage(topic, case_id, event.to_bytes(),
                                                         headers_for(event.id, b""))])
        return event.id

    async def dispatch(self, case_id: str, department: str) -> str:
        payload = CaseDispatched(case_id=case_id, department=department, rule="R1", deadline_days=5, ack_hours=2,
                                 description="d", reported_at=datetime.now(UTC))
        return await self._send(self.settings.dispatch_topic(department), case_id, payload,
                                EventType.case_dispatched)

    async def transition(self, case_id: str, department: str, to_status: str) -> str:
        """One transition in a case.changed event, as the tracker sends it; the id of the event the notifier
        tells it as (what subscribers deduplicate on)."""
        transition = CaseTransition(case_id=case_id, kind=to_status, from_status=None, to_status=to_status,
                                    actor="tracker", at=datetime.now(UTC), department=department)
        payload = CaseChanged(case_id=case_id, transitions=[transition],
                              state=CaseSnapshot(status=to_status, department=department, attempt=1))
        event_id = await self._send(self.settings.topic("case-events.v1"), case_id, payload, EventType.case_changed)
        return transition_id(event_id, 0)


class InProcessNotifier:
    """The notifier's app with its lifespan (migrations, consumer, worker) served by uvicorn in this loop."""

    def __init__(self, settings: Settings) -> None:
        self.runtime = Runtime.create(settings)
        self.parts = build(self.runtime)
        self.port = free_port()
        config = uvicorn.Config(build_app(self.runtime, [self.parts], "notifier"), host="127.0.0.1",
                                port=self.port, log_level="warning", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> InProcessNotifier:
        self.task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(60):
            while not self.server.started:
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(0.05)
        await eventually(lambda: all(c.health.started for c in self.parts.consumers), 60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, 30)


async def eventually(check: Callable[[], Awaitable[bool] | bool], within_s: float, every_s: float = 0.05) -> None:
    """Poll until `check` holds (it may be async); fail with TimeoutError after `within_s`."""
    async with asyncio.timeout(within_s):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(every_s)
