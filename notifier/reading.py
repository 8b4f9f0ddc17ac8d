"""Which topics the notifier's consumer reads: the fixed ones, and the department topics that some subscription
or open event stream needs (notifier.domain.topics), followed as they change.

Subscriptions live in the database, so every replica reads them again every `topics_reconcile_s`; the replica
whose API made the change, or where a stream opened or closed, reconciles at once. Streams are this process's
own: its consumer reads what they need, and Kafka gives those partitions to the members that ask for them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from datetime import UTC, datetime

from notifier.domain.topics import Reading, Wanting, reading
from notifier.store.repo import wanting
from services.consumer import ConsumerRunner, transient
from services.db import Database
from services.settings import Settings
from services.waiting import wait_or_stop

log = logging.getLogger(__name__)


class TopicFollower:
    """Keeps the consumer on the fixed topics plus the department topics the subscriptions and streams need."""

    def __init__(self, *, db: Database, settings: Settings, runner: ConsumerRunner, fixed: list[str]) -> None:
        self.db = db
        self.settings = settings
        self.runner = runner
        self.fixed = sorted(fixed)
        prefix = re.escape(settings.topic_prefix)
        bare = "|".join(re.escape(t.removeprefix(settings.topic_prefix)) for t in self.fixed)
        self.every_pattern = rf"{prefix}(dispatch\.[a-z0-9-]+\.v1|{bare})$"
        self._department = re.compile(rf"{prefix}dispatch\.([a-z0-9-]+)\.v1")
        self._streams: dict[int, Wanting] = {}
        self._ids = itertools.count()
        self._nudged = asyncio.Event()
        self.reading = Reading()

    def open_stream(self, department: str | None) -> int:
        """An event stream opened (for one department or all): its dispatches are read from now on."""
        token = next(self._ids)
        self._streams[token] = Wanting(None, department, (), datetime.now(UTC))
        self.nudge()
        return token

    def close_stream(self, token: int) -> None:
        self._streams.pop(token, None)
        self.nudge()

    def nudge(self) -> None:
        """Reconcile now (a subscription changed through this process, or a stream opened or closed)."""
        self._nudged.set()

    async def reconcile(self) -> Reading:
        """Read the active subscriptions and point the consumer at what they and the open streams need."""
        async with self.db.sessions() as session:
            subscriptions = await wanting(session)
        self.reading = reading([*subscriptions, *self._streams.values()])
        if self.reading.every_since is not None:
            self.runner.follow(self.fixed, self.every_pattern, self.not_before)
        else:
            departments = sorted(self.reading.departments)
            self.runner.follow([*self.fixed, *map(self.settings.dispatch_topic, departments)], None, self.not_before)
        return self.reading

    def not_before(self, topic: str) -> int | None:
        """A department topic newly read starts at the time it became wanted (epoch ms); others where left."""
        found = self._department.fullmatch(topic)
        floor = self.reading.floor(found.group(1)) if found else None
        return int(floor.timestamp() * 1000) if floor else None

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self._nudged.clear()
            try:
                await self.reconcile()
            except Exception as exc:  # the consumer goes on with the topics it has; the next round tries again
                if transient(exc):
                    log.warning("could not read the subscriptions to choose topics, retrying: %r", exc)
                else:
                    log.exception("choosing the topics to read failed; keeping the current ones")
            await wait_or_stop(stopping, self.settings.notifier.topics_reconcile_s, self._nudged)
