"""The delivery worker: lease due lane heads, send them concurrently, record outcomes in batches."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

from notifier.channels import Channel, Outcome, Outgoing
from notifier.domain.backoff import RetryPolicy, after_failure
from notifier.store import queue
from services.db import Database
from services.settings import NotifierSettings
from services.waiting import wait_or_stop

log = logging.getLogger(__name__)

DELIVERIES = Counter("notifier_deliveries_total", "Delivery attempts by outcome", ["status"])
DELIVERY_SECONDS = Histogram("notifier_delivery_seconds", "Time of one delivery attempt",
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
RECORD_LINGER_S = 0.005
PENDING = Gauge("notifier_deliveries_pending", "Deliveries not yet delivered or dead")


# While nothing is due the queue poll slows down to this many times poll_s: an idle notifier costs next to nothing.
# Take-in, a redelivery and a recorded outcome wake the worker at once, and this process's own retries are waited
# for to the instant; only another replica's rows (its backlog, its expired leases) wait up to the longer poll.
IDLE_POLL_GROWTH = 8


class DeliveryWorker:
    """Runs until stopping; `wakeup()` says new deliveries exist, so the worker need not wait for its poll."""

    def __init__(self, *, db: Database, settings: NotifierSettings, channels: Mapping[str, Channel],
                 jitter: Callable[[], float] = random.random) -> None:
        if settings.lease_s <= settings.http_timeout_s:
            raise ValueError("CASEROUTE_NOTIFIER_LEASE_S must exceed the HTTP timeout, or a live send loses its row")
        self.db = db
        self.settings = settings
        self.channels = channels
        self.jitter = jitter
        self.policy = RetryPolicy(base_s=settings.backoff_base_s, cap_s=settings.backoff_cap_s,
                                  horizon_s=settings.horizon_s)
        self.owner = str(uuid.uuid4())  # lease owner: this process
        self._event = asyncio.Event()
        self._results: asyncio.Queue[queue.Result] = asyncio.Queue()
        self._busy = 0  # claimed and not yet recorded: bounds what a crash can make us send twice
        self._next_retry: datetime | None = None  # the earliest retry this process scheduled and not yet claimed

    def wakeup(self) -> None:
        self._event.set()

    async def run(self, stopping: asyncio.Event) -> None:
        for channel in self.channels.values():
            await channel.start()
        recorder = asyncio.create_task(self._record_loop())
        gauge = asyncio.create_task(self._gauge_loop(stopping))
        sends: set[asyncio.Task[None]] = set()
        try:
            await self._claim_loop(stopping, sends)
        finally:
            # Finish what is in flight (each send is bounded by the HTTP timeout), record it, then stop.
            if sends:
                await asyncio.wait(sends, timeout=self.settings.http_timeout_s + 1)
            try:
                await asyncio.wait_for(self._results.join(), 5)
            except TimeoutError:  # the database is away: the leases expire and those rows are sent again
                log.warning("stopping with %d outcomes unrecorded", self._results.qsize())
            recorder.cancel()
            gauge.cancel()
            for channel in self.channels.values():
                await channel.stop()

    async def _claim_loop(self, stopping: asyncio.Event, sends: set[asyncio.Task[None]]) -> None:
        backoff = 0.2
        concurrency = self.settings.concurrency
        poll_s = idle = self.settings.poll_s
        while not stopping.is_set():
            if self._event.is_set():
                idle = poll_s  # woken: work is near, poll at the busy pace again
            self._event.clear()
            free = concurrency - self._busy
            claimed: list[queue.Claimed] = []
            # Claim in chunks, not one by one: a query per freed slot would cost more than the sends.
            if free >= max(1, concurrency // 4) or (free > 0 and self._busy == 0):
                try:
                    claimed = await queue.claim(self.db, owner=self.owner, limit=min(free, self.settings.claim_batch),
                                                now=datetime.now(UTC), lease_s=self.settings.lease_s)
                    backoff = 0.2
                except Exception as exc:  # the database may be away: the leases keep rows safe meanwhile
                    log.warning("claiming deliveries failed, retrying in %.1fs: %r", backoff, exc)
                    await wait_or_stop(stopping, backoff, None)
                    backoff = min(backoff * 2, 5.0)
                    continue
            for item in claimed:
                self._busy += 1
                task = asyncio.create_task(self._deliver(item))
                sends.add(task)
                task.add_done_callback(sends.discard)
            if claimed and len(claimed) == min(free, self.settings.claim_batch) and self._busy < concurrency:
                continue  # more may be due right now
            idle = poll_s if claimed or self._busy else min(idle * 2, poll_s * IDLE_POLL_GROWTH)
            await wait_or_stop(stopping, self._until_own_retry(idle), self._event)

    def _until_own_retry(self, idle_s: float) -> float:
        """The idle wait, cut short by the earliest retry this process scheduled (it is due then, not later)."""
        if self._next_retry is None:
            return idle_s
        wait = (self._next_retry - datetime.now(UTC)).total_seconds()
        if wait <= 0:
            self._next_retry = None  # due now: the next claim takes it
            return 0.0
        return min(idle_s, wait)

    async def _deliver(self, item: queue.Claimed) -> None:
        started = time.perf_counter()
        try:
            outcome = await self._send(item)
        except Exception as exc:  # a channel bug must not lose the delivery: it is retried like any failure
            log.exception("channel %s failed on delivery %d", item.channel, item.id)
            outcome = Outcome(False, None, f"channel error: {exc!r}"[:500])
        DELIVERY_SECONDS.observe(time.perf_counter() - started)
        self._results.put_nowait(self._result(item, outcome))

    async def _send(self, item: queue.Claimed) -> Outcome:
        channel = self.channels.get(item.channel)
        if not item.subscription_active or item.url is None:
            return Outcome(False, None, "subscription inactive or removed")
        if channel is None:
            return Outcome(False, None, f"no channel {item.channel!r} in this process")
        return await channel.send(Outgoing(item.id, item.event_id, item.event_type, item.url, item.secret,
                                           item.body, item.attempts + 1, item.previous_secret))

    def _result(self, item: queue.Claimed, outcome: Outcome) -> queue.Result:
        now = datetime.now(UTC)
        attempts = item.attempts + 1
        if outcome.ok:
            DELIVERIES.labels("delivered").inc()
            return queue.Result(item.id, "delivered", attempts, now, now, outcome.status, None)
        if not item.subscription_active or outcome.final:
            verdict_dead, next_at = True, now
        else:
            verdict = after_failure(self.policy, attempts=attempts, horizon_from=item.horizon_from, now=now,
                                    jitter=self.jitter(), retry_after_s=outcome.retry_after_s)
            verdict_dead, next_at = verdict.dead, verdict.next_attempt_at
        if not verdict_dead and (self._next_retry is None or next_at < self._next_retry):
            self._next_retry = next_at
        DELIVERIES.labels("dead" if verdict_dead else "failed").inc()
        return queue.Result(item.id, "dead" if verdict_dead else "pending", attempts, now, next_at,
                            outcome.status, outcome.error)

    async def _record_loop(self) -> None:
        """Batch outcomes into one transaction; keep them until the database takes them."""
        while True:
            batch = [await self._results.get()]
            if self._results.qsize() < self.settings.concurrency // 4:
                # Outcomes come a few at a time; a short wait makes one UPDATE cover many, not each a few.
                await asyncio.sleep(RECORD_LINGER_S)
            while not self._results.empty() and len(batch) < 1000:
                batch.append(self._results.get_nowait())
            backoff = 0.2
            while True:
                try:
                    await queue.record(self.db, owner=self.owner, results=batch)
                    break
                except Exception as exc:
                    log.warning("recording %d outcomes failed, retrying: %r", len(batch), exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
            self._busy -= len(batch)
            for _ in batch:
                self._results.task_done()
            self._event.set()  # the next deliveries of these lanes are free now

    async def _gauge_loop(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                PENDING.set(await queue.pending_count(self.db))
            except Exception as exc:
                log.debug("pending gauge not updated: %r", exc)
            await wait_or_stop(stopping, 5.0, None)
