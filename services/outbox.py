"""Transactional outbox: events are rows written with the state change, and a relay publishes them."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from prometheus_client import Counter, Gauge
from sqlalchemy import LargeBinary, String, delete, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from schemas.envelope import Envelope
from services.bus.base import Bus, OutgoingMessage, Producer
from services.db import BigId, Database, SessionLock, UtcDateTime, insert_at_commit, table_of
from services.envelopes import headers_for
from services.tracing import publishing
from services.waiting import wait_or_stop

log = logging.getLogger(__name__)

OUTBOX_PUBLISHED = Counter("outbox_published_total", "Events the outbox relay published", ["service"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Events waiting in the outbox after the last relay pass", ["service"])
OUTBOX_ALREADY_PUBLISHED = Counter("outbox_already_published_total",
                                   "Events an earlier, unfinished relay pass had written: deleted, not sent again",
                                   ["service"])
OUTBOX_FAILURES = Counter("outbox_publish_failures_total", "Relay passes the bus refused", ["service"])


STAGED = "outbox_staged"
POLL_S = 1.0  # fallback for rows committed by another process or left by a crash
# The lock connection's TCP keepalives (seconds): the database notices a dead node's connection, and lets go
# of its lock, within about idle + interval × count, not after the system's default of two hours.
KEEPALIVE = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}


class OutboxMixin:
    """Columns of a service's outbox table; the id orders events so per-case order is kept."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @declared_attr.directive
    def __tablename__(cls) -> str:
        raise NotImplementedError("give the service's outbox table a name")


def stage(session: AsyncSession, table: type[OutboxMixin], topic: str, envelope: Envelope) -> None:
    """Add an event to the outbox inside the caller's transaction (written when it commits)."""
    session.info[STAGED] = True
    insert_at_commit(session, table_of(table), {
        "topic": topic, "key": envelope.subject, "event_id": envelope.id, "value": envelope.to_bytes(),
        "created_at": datetime.now(UTC)})


class Collected(Protocol):
    """An event built up during a transaction (stage_collected): it says what it is only at commit."""

    def envelope(self) -> Envelope:
        """The event as it stands when the transaction commits."""
        ...


C = TypeVar("C", bound=Collected)
COLLECTED = "outbox_collected"
_RENDERING: weakref.WeakSet[type[Session]] = weakref.WeakSet()  # session classes that render collected events


def stage_collected(session: AsyncSession, table: type[OutboxMixin], topic: str, key: str,
                    start: Callable[[], C]) -> C:
    """The one event of (topic, key) in the caller's transaction: made by `start` the first time, which stages it
    in its place among the transaction's events; what is added to it later goes into that same event, built
    (`envelope()`) when the transaction commits.

    For an event that sums up a transaction (a case's transitions), not one per step: its place in the outbox is
    its first step's, so events staged after that step still follow it."""
    collected: dict[tuple[str, str], tuple[C, dict[str, object]]] = session.info.setdefault(COLLECTED, {})
    found = collected.get((topic, key))
    if found is not None:
        return found[0]
    _render_at_commit(type(session.sync_session))
    item = start()
    row: dict[str, object] = {"topic": topic, "key": key, "event_id": "", "value": b"",
                              "created_at": datetime.now(UTC)}
    session.info[STAGED] = True
    insert_at_commit(session, table_of(table), row)  # its place now; its content at commit (_render_collected)
    collected[(topic, key)] = (item, row)
    return item


def _render_at_commit(session_class: type[Session]) -> None:
    """Listen on this session class once: the collected events are rendered before the queued rows are
    inserted (services.db inserts them before commit; `insert=True` runs this listener first)."""
    # A set of its own, not event.contains: that goes by id(), which a new class can reuse after an old one's end.
    if session_class not in _RENDERING:
        _RENDERING.add(session_class)
        event.listen(session_class, "before_commit", _render_collected, insert=True)
        event.listen(session_class, "after_rollback", _drop_collected)


def _render_collected(session: Session) -> None:
    for item, row in session.info.pop(COLLECTED, {}).values():
        built = item.envelope()
        row["event_id"], row["value"] = built.id, built.to_bytes()


def _drop_collected(session: Session) -> None:
    session.info.pop(COLLECTED, None)


class OutboxRow(Protocol):
    id: int
    topic: str
    key: str
    event_id: str
    value: bytes
    created_at: datetime


def to_messages(rows: Sequence[OutboxRow]) -> list[OutgoingMessage]:
    """Rows as bus messages; the headers repeat the event id so consumers dedupe without parsing.

    The message is stamped with the time the event was staged, not sent: every copy any attempt wrote carries
    the same stamp, which is how the relay finds them again (`Bus.published`).
    """
    return [OutgoingMessage(r.topic, r.key, r.value, headers_for(r.event_id, r.value), event_id=r.event_id,
                            timestamp_ms=int(r.created_at.timestamp() * 1000)) for r in rows]


class OutboxRelay:
    """Publishes outbox rows in id order, batch by batch, and deletes them once the bus acknowledged.

    One copy per event id on the bus: a row comes back to the relay when its pass did not commit, and the bus may
    hold it already (the acknowledgement was lost, the commit failed after it, or the process died in between).
    The producer does not send again what it is still delivering (see KafkaProducer), and when the relay cannot
    know what an earlier pass did - the first pass of a process, the pass after a failed one, the pass after
    another replica held the lock - it asks the bus which of the rows it holds already and only deletes those.
    """

    def __init__(self, *, service: str, db: Database, table: type[OutboxMixin], bus: Bus, producer: Producer,
                 batch: int = 500, idle_s: float = 0.05) -> None:
        self.service = service
        self.bus = bus
        self.db = db
        self.table = table
        self.producer = producer
        self.batch = batch
        self.idle_s = idle_s
        self.wakeup = asyncio.Event()
        self.last_error: str | None = None
        # Rows an earlier pass may have sent without committing: `uncertain` when it is not known which (a start,
        # a takeover), then every row up to `_suspect_upto` is read back from the bus before it is sent.
        self.uncertain = True
        self._suspect_upto: int | None = None
        self._leader: SessionLock | None = None  # the session lock that makes this replica relay
        self._leader_checked = 0.0
        # What the last lock check saw: rows waiting (True), none (False), or not asked (None: SQLite, or no check).
        self._seen_rows: bool | None = None
        self._any_row = select(select(table_of(table).c.id).exists())
        self._loop: asyncio.AbstractEventLoop | None = None
        db.on_commit(self._committed)

    def _committed(self, session: Session) -> None:
        """Wake the relay as soon as a transaction that staged events commits (no polling delay)."""
        if session.info.pop(STAGED, False) and self._loop is not None:
            self._loop.call_soon(self.wakeup.set)

    async def relay_once(self) -> int:
        """One pass: publish up to `batch` rows; returns how many were published."""
        table = table_of(self.table)
        taken: int | None = None  # the highest id this pass took, once it took rows
        try:
            async with self.db.transaction() as session:
                # One relay per service at a time keeps per-case order across replicas.
                if not await self.db.lock_transaction(session, f"outbox:{self.table.__tablename__}", wait=False):
                    self.uncertain = True  # another replica relays now and may die mid-pass
                    return 0
                if self.uncertain:
                    # An unknown pass (of a process that died, or another replica) took the oldest rows, as every
                    # pass does, and left them if it did not commit: read back the oldest batch.
                    head = select(table.c.id).order_by(table.c.id).limit(self.batch).subquery()
                    newest = await session.scalar(select(func.max(head.c.id)))
                    self._suspect_upto = max(self._suspect_upto or 0, newest or 0)
                    self.uncertain = False
                # Taken and deleted in one statement, as plain rows (no ORM objects): if the bus refuses them, the
                # transaction rolls back and they are there for the next pass. By id, not by range: a row with a
                # lower id may commit after we read (sequence gaps).
                oldest = select(table.c.id).order_by(table.c.id).limit(self.batch).scalar_subquery()
                rows = sorted((await session.execute(
                    delete(table).where(table.c.id.in_(oldest))
                    .returning(table.c.id, table.c.topic, table.c.key, table.c.event_id, table.c.value,
                               table.c.created_at)
                )).all(), key=lambda row: row.id)
                if not rows:
                    OUTBOX_BACKLOG.labels(self.service).set(0)
                    self._suspect_upto = None
                    return 0
                taken = rows[-1].id
                # Department topics appear with new departments; create them rather than rely on auto-create.
                await self.bus.ensure_topics(sorted({r.topic for r in rows}))
                with publishing(self.service, to_messages(rows)) as messages:
                    messages = await self._not_yet_published(rows, messages)
                    await self.producer.send_batch(messages)
                # Counted only after a full batch: a backlog exists only then, and counting is not free.
                left = await session.scalar(select(func.count()).select_from(table)) if len(rows) == self.batch else 0
        except BaseException:
            if taken is not None:  # it may have sent them: the next pass reads them back before sending
                self._suspect_upto = max(self._suspect_upto or 0, taken)
            raise
        if self._suspect_upto is not None and (len(rows) < self.batch or taken >= self._suspect_upto):
            self._suspect_upto = None  # every suspect row was in this pass (the oldest ids), and is done
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        OUTBOX_BACKLOG.labels(self.service).set(left or 0)
        return len(rows)

    async def _not_yet_published(self, rows: Sequence[OutboxRow], messages: Sequence[OutgoingMessage]
                                 ) -> list[OutgoingMessage]:
        """The messages to send: without those an earlier, unfinished attempt already wrote."""
        upto = self._suspect_upto
        if upto is None:
            return list(messages)
        suspects = [m for r, m in zip(rows, messages, strict=True) if r.id <= upto]
        on_bus = await self.bus.published(suspects)
        if on_bus:
            OUTBOX_ALREADY_PUBLISHED.labels(self.service).inc(len(on_bus))
            log.warning("outbox: %d of %d events were on the bus already (an earlier attempt wrote them); they "
                        "are not sent again", len(on_bus), len(messages))
        return [m for m in messages if m.event_id not in on_bus]

    async def run(self, stopping: asyncio.Event) -> None:
        """Relay until stopping; back off while the bus or the database is away."""
        self._loop = asyncio.get_running_loop()
        backoff = 0.1
        woken = True  # a pass is due: at start, after a commit here, after a full batch or a failure
        try:
            while not stopping.is_set():
                try:
                    if not await self._leading():
                        await wait_or_stop(stopping, POLL_S)
                        continue
                    # The fallback poll (no commit here woke us) passes only when the lock check saw rows: an
                    # idle relay costs one read a second, not a pass's transaction of four statements.
                    due = woken or self._seen_rows is not False or self.uncertain or self._suspect_upto is not None
                    published = await self.relay_once() if due else 0
                    self.last_error = None
                    backoff = 0.1
                except Exception as exc:  # the relay outlives any one failure: bus, database or bad row
                    OUTBOX_FAILURES.labels(self.service).inc()
                    self.last_error = repr(exc)
                    self._leader_checked = 0.0  # the database may be what failed: is the lock still ours?
                    log.warning("outbox relay pass failed, retrying in %.1fs: %r", backoff, exc)
                    await wait_or_stop(stopping, backoff)
                    backoff = min(backoff * 2, 5.0)
                    woken = True
                    continue
                woken = published >= self.batch
                if not woken:
                    await wait_or_stop(stopping, POLL_S, self.wakeup)
                    woken = self.wakeup.is_set()
                    self.wakeup.clear()
                    if woken and self.idle_s:  # let a burst of commits gather into one batch
                        await wait_or_stop(stopping, self.idle_s)
        finally:
            await self._resign()

    async def _leading(self) -> bool:
        """Is this replica the one that relays? It stays so until its process or its connection ends.

        Each pass still takes the transaction lock (that alone keeps passes apart and per-case order); the
        session lock only keeps the passes with one replica, because after any change of hands the new one must
        read the topics back (`uncertain`): the replica before may have died mid-pass. No replica relays while
        another holds the lock, because that one's producer may still be delivering rows it put back; the lock
        goes with the holder's process, or with its connection (TCP keepalives tell a dead node within ~20 s),
        and a holder that loses its connection stops its producer.
        """
        self._seen_rows = None
        if self._leader is not None:
            if time.monotonic() - self._leader_checked < POLL_S:
                return True
            try:
                # The lock lives as long as its connection: a read there tells, and says whether rows wait.
                self._seen_rows = await self._leader.check(self._any_row)
                self._leader_checked = time.monotonic()
                return True
            except Exception as exc:  # a lost connection let go of the lock; another replica may hold it now
                log.warning("outbox relay lost its lock connection: %r", exc)
                await self._resign()
                # The new holder reads the topics back before it sends; nothing our producer still retries may
                # land after that.
                await self.producer.stop()
        lock = await self.db.session_lock(f"outbox-relay:{self.table.__tablename__}", settings=KEEPALIVE)
        if lock is None:
            return False
        self._leader, self._leader_checked = lock, time.monotonic()
        self.uncertain = True
        return True

    async def _resign(self) -> None:
        leader, self._leader = self._leader, None
        if leader is not None:
            await leader.release()
