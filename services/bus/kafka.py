"""Kafka adapter on aiokafka: idempotent producer (acks=all), manual commits, every wait bounded."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import IllegalStateError, KafkaError, TopicAlreadyExistsError

from services.bus.base import BusUnavailable, Floor, Message, OutgoingMessage
from services.envelopes import event_id_in
from services.settings import KafkaSettings

log = logging.getLogger(__name__)
DELIVERED_KEPT = 100_000  # acknowledged event ids remembered (a few MB): far more than a relay pass holds


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Connection options shared by producer, consumer and admin (PLAINTEXT, SSL, SASL_SSL)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": settings.request_timeout_ms,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None)
        context.check_hostname = settings.ssl_check_hostname
        if settings.ssl_certfile:  # mutual TLS: the broker knows us by our certificate
            context.load_cert_chain(str(settings.ssl_certfile),
                                    str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
                                    settings.ssl_key_password.get_secret_value() if settings.ssl_key_password
                                    else None)
        options["ssl_context"] = context
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = (
            settings.sasl_password.get_secret_value() if settings.sasl_password else None
        )
    return options


class KafkaBus:
    """Factory of producers and consumers on one Kafka cluster."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._known_topics: set[str] = set()

    def producer(self) -> KafkaProducer:
        return KafkaProducer(self.settings)

    def consumer(self, topics: Sequence[str], group: str, *, pattern: str | None = None,
                 not_before: Floor | None = None) -> KafkaConsumer:
        return KafkaConsumer(self.settings, list(topics), group, pattern, not_before)

    async def ensure_topics(self, topics: Sequence[str], *, compacted: bool = False) -> None:
        missing = [t for t in topics if t not in self._known_topics]
        if not missing:
            return
        admin = AIOKafkaAdminClient(**client_options(self.settings))
        try:
            await asyncio.wait_for(admin.start(), self.settings.send_timeout_s)
            existing = set(await asyncio.wait_for(admin.list_topics(), self.settings.send_timeout_s))
            new = [
                NewTopic(t, 1 if compacted else self.settings.partitions, self.settings.replication_factor,
                         topic_configs={"cleanup.policy": "compact"} if compacted else None)
                for t in missing
                if t not in existing
            ]
            if new:
                try:
                    await asyncio.wait_for(admin.create_topics(new), self.settings.send_timeout_s)
                except TopicAlreadyExistsError:
                    pass
            self._known_topics.update(missing)
        except (TimeoutError, KafkaError) as exc:
            raise BusUnavailable(f"could not create topics {missing}: {exc!r}") from exc
        finally:
            await _bounded(admin.close(), self.settings.send_timeout_s)

    async def published(self, messages: Sequence[OutgoingMessage]) -> set[str]:
        """Read each topic back from the oldest message's timestamp and collect the event-id headers we look for.

        The outbox stamps a message with the time its event was staged, and a copy written by any earlier attempt
        carries that stamp: every such copy lies at or after the offset Kafka gives for that time, so reading from
        there to the end finds it. With no backlog that is a handful of messages.
        """
        wanted = {m.event_id for m in messages if m.event_id}
        if not wanted:
            return set()
        since: dict[str, int] = {}
        for m in messages:
            stamp = m.timestamp_ms if m.timestamp_ms is not None else 0  # no stamp: the whole topic
            since[m.topic] = min(since.get(m.topic, stamp), stamp)
        consumer = AIOKafkaConsumer(**client_options(self.settings), group_id=None, enable_auto_commit=False,
                                    fetch_max_wait_ms=50)
        found: set[str] = set()
        try:
            async with asyncio.timeout(self.settings.send_timeout_s * 3):
                parts = [TopicPartition(t, p) for t, ps in (await self._partitions(sorted(since))).items()
                         for p in ps]
                await consumer.start()
                if not parts:
                    return found
                consumer.assign(parts)  # asks for these topics' metadata now, not after a first refused lookup
                starts = await consumer.offsets_for_times({tp: since[tp.topic] for tp in parts})
                ends = await consumer.end_offsets(parts)
                todo = {tp: at.offset for tp, at in starts.items() if at is not None and at.offset < ends[tp]}
                if not todo:
                    return found
                for tp in parts:
                    if tp in todo:
                        consumer.seek(tp, todo[tp])
                    else:
                        consumer.pause(tp)
                while todo:
                    batches = await consumer.getmany(*todo, timeout_ms=500, max_records=5000)
                    for tp, records in batches.items():
                        for r in records:
                            event_id = event_id_in(r.headers)
                            if event_id in wanted:
                                found.add(event_id)
                            if r.offset + 1 >= ends[tp]:
                                todo.pop(tp, None)
                    if not batches:  # the last offsets may be gone (compaction): ask where we are
                        for tp in list(todo):
                            if await consumer.position(tp) >= ends[tp]:
                                del todo[tp]
                return found
        except (TimeoutError, KafkaError, OSError) as exc:
            raise BusUnavailable(f"could not read back {len(wanted)} events from {sorted(since)}: {exc!r}") from exc
        finally:
            await _bounded(consumer.stop(), 5)

    async def _partitions(self, topics: list[str]) -> dict[str, list[int]]:
        """topic → its partition numbers; a topic that does not exist has none."""
        admin = AIOKafkaAdminClient(**client_options(self.settings))
        try:
            await admin.start()
            described = await admin.describe_topics(topics)
        finally:
            await _bounded(admin.close(), 5)
        return {t["topic"]: sorted(p["partition"] for p in t["partitions"])
                for t in described if t["error_code"] == 0 and t["topic"] in topics}

    async def ping(self) -> bool:
        admin = AIOKafkaAdminClient(**client_options(self.settings))
        try:
            await asyncio.wait_for(admin.start(), 5)
            await asyncio.wait_for(admin.list_topics(), 5)
            return True
        except (TimeoutError, KafkaError, OSError):
            return False
        finally:
            await _bounded(admin.close(), 5)


async def _bounded(awaitable: Any, timeout_s: float) -> None:
    """aiokafka's stop()/close() can hang while the broker is away (#1101): never wait forever."""
    try:
        await asyncio.wait_for(awaitable, timeout_s)
    except (TimeoutError, KafkaError, OSError) as exc:
        log.warning("kafka client close did not finish cleanly: %r", exc)
    except asyncio.CancelledError:
        # aiokafka's consumer stop() raises a CancelledError of its own while the broker is away; let through
        # only a cancellation of us, or it ends the consumer runner's task silently (no restart, no log).
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.warning("kafka client close was cancelled from inside aiokafka; the client is dropped")


class KafkaProducer:
    """One idempotent producer for the life of the service, never a second copy of an event id from it.

    Kafka keeps one copy of a batch its idempotent producer sends again (same producer id, same sequence numbers;
    the broker drops what it already stored), and aiokafka retries an idempotent batch until the broker answers
    instead of expiring it (except when its partition has had no leader for longer than request_timeout_ms).
    Both hold only for *this* producer and *its* retries. So a send that was not acknowledged in time is left to
    the producer (the caller hears BusUnavailable and calls again with the same messages; they are not sent
    twice, the call waits for the delivery under way), and the producer is replaced only when a delivery failed
    outright: then whatever it may have written is found with `KafkaBus.published` before anything is sent again.
    """

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._generation = 0  # which producer a delivery belongs to: a replaced one's news is old news
        self._in_flight: dict[str, asyncio.Future[Any]] = {}  # event id → its delivery under way
        # Event ids Kafka acknowledged to us: a caller that did not hear it in time (its commit failed, or the
        # acknowledgement came between its read-back and its send) is not given a second copy.
        self._delivered: OrderedDict[str, None] = OrderedDict()
        self._broken: str | None = None  # a delivery failed: nothing more is sent before the caller reads back

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            **client_options(self.settings),
            enable_idempotence=True,
            acks="all",
            linger_ms=self.settings.linger_ms,
            max_batch_size=256 * 1024,
        )
        try:
            await asyncio.wait_for(producer.start(), self.settings.send_timeout_s)
        except BaseException as exc:
            await _bounded(producer.stop(), 5)
            raise BusUnavailable(f"kafka producer did not start: {exc!r}") from exc
        self._producer = producer

    async def stop(self) -> None:
        await self._close(replacing=False)

    async def _close(self, *, replacing: bool) -> None:
        producer, self._producer = self._producer, None
        self._generation += 1
        self._in_flight.clear()
        self._broken = None
        if producer is None:
            return
        await _bounded(producer.stop(), self.settings.send_timeout_s)
        # stop() waits for the producer to flush; if the broker is away it was cut short and the sender would go
        # on retrying in the background, next to the producer that replaces it: end it now.
        sender = getattr(getattr(producer, "_sender", None), "sender_task", None)
        if isinstance(sender, asyncio.Task) and not sender.done():
            sender.cancel()
            if replacing:
                # Cancelled, it still waits for the requests it has on the wire: let them land (or time out)
                # before the caller reads the topics back to decide what to send again.
                await asyncio.wait([sender], timeout=self.settings.request_timeout_ms / 1000)

    async def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        if self._broken is not None:
            # A delivery nobody was waiting for failed: its batch may be on Kafka or not, and the producer's
            # sequence numbers are no longer trusted. Start afresh; the caller reads back before sending again.
            reason = self._broken
            await self._close(replacing=True)
            raise BusUnavailable(f"an earlier kafka delivery failed ({reason}); the producer was replaced")
        if self._producer is None:
            await self.start()
        assert self._producer is not None
        deliveries: list[asyncio.Future[Any]] = []
        try:
            for m in messages:
                if m.event_id and m.event_id in self._delivered:
                    continue  # Kafka acknowledged it already
                under_way = self._in_flight.get(m.event_id) if m.event_id else None
                if under_way is not None:  # its retries carry it; a new send would be a second copy
                    deliveries.append(under_way)
                    continue
                delivery = await self._producer.send(m.topic, m.value, key=m.key.encode(), headers=list(m.headers),
                                                     timestamp_ms=m.timestamp_ms)
                if m.event_id:
                    self._track(m.event_id, delivery)
                deliveries.append(delivery)
        except (KafkaError, OSError) as exc:
            # The messages handed over so far are in flight and tracked; the rest were not sent.
            raise BusUnavailable(f"kafka did not take {len(messages)} messages: {exc!r}") from exc
        if not deliveries:
            return
        done, pending = await asyncio.wait(deliveries, timeout=self.settings.send_timeout_s)
        failed = [f for f in done if f.cancelled() or f.exception() is not None]
        if failed:
            # An idempotent batch fails only for good (refused, expired without a leader, or the sender gave up:
            # its sequence numbers are no longer trusted): start afresh. The caller reads the topics back before
            # it sends any of them again.
            await self._close(replacing=True)
            first = "cancelled" if failed[0].cancelled() else repr(failed[0].exception())
            raise BusUnavailable(f"kafka failed {len(failed)} of {len(messages)} messages: {first}")
        if pending:
            # Not a failure: the broker may have stored them and the answer is late (a broker restart). The same
            # producer keeps retrying them; sending them again would write a second copy.
            raise BusUnavailable(f"kafka did not acknowledge {len(pending)} of {len(messages)} messages within "
                                 f"{self.settings.send_timeout_s:g}s; the producer keeps delivering them")

    def _track(self, event_id: str, delivery: asyncio.Future[Any]) -> None:
        self._in_flight[event_id] = delivery
        generation = self._generation

        def settled(_: asyncio.Future[Any]) -> None:
            if self._in_flight.get(event_id) is delivery:
                del self._in_flight[event_id]
            error = None if not delivery.cancelled() and delivery.exception() is None else (
                "cancelled" if delivery.cancelled() else repr(delivery.exception()))
            if error is None:
                self._delivered[event_id] = None
                while len(self._delivered) > DELIVERED_KEPT:
                    self._delivered.popitem(last=False)
            elif generation == self._generation and self._broken is None:
                self._broken = error

        delivery.add_done_callback(settled)


class _CommitBeforeRevoke(ConsumerRebalanceListener):
    def __init__(self, consumer: KafkaConsumer, client: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._client = client

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._consumer.flush_pending()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._consumer.skip_before_floor(self._client, assigned)


class KafkaConsumer:
    """A group member; offsets are committed only when the caller says its state is durable."""

    def __init__(self, settings: KafkaSettings, topics: list[str], group: str, pattern: str | None,
                 not_before: Floor | None = None) -> None:
        self.settings = settings
        self.topics = topics
        self.group = group
        self.pattern = pattern
        self.not_before = not_before
        self._consumer: AIOKafkaConsumer | None = None
        self._listener: _CommitBeforeRevoke | None = None
        self._pending: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.max_poll_records,
            fetch_max_wait_ms=self.settings.fetch_max_wait_ms,
            metadata_max_age_ms=5_000 if self.pattern else 300_000,
        )
        listener = self._listener = _CommitBeforeRevoke(self, consumer)
        if self.pattern:
            consumer.subscribe(pattern=self.pattern, listener=listener)
        else:
            consumer.subscribe(self.topics, listener=listener)
        try:
            await asyncio.wait_for(consumer.start(), self.settings.send_timeout_s * 3)
        except BaseException as exc:
            await _bounded(consumer.stop(), 5)
            raise BusUnavailable(f"kafka consumer {self.group} did not start: {exc!r}") from exc
        self._consumer = consumer

    async def subscribe(self, topics: Sequence[str], *, pattern: str | None = None,
                        not_before: Floor | None = None) -> None:
        """Change the topics of the running member in place (aiokafka rejoins the group; our listener commits
        before the revoke). Topics and a pattern are exclusive in aiokafka: switching between them needs a new
        member, so the runner restarts the consumer for that instead."""
        assert self._consumer is not None, "start() first"
        if bool(pattern) != bool(self.pattern):
            raise ValueError("a pattern and a topic list cannot replace each other in a running consumer")
        self.topics, self.pattern, self.not_before = list(topics), pattern, not_before
        if pattern:
            self._consumer.subscribe(pattern=pattern, listener=self._listener)
        else:
            self._consumer.subscribe(self.topics, listener=self._listener)

    async def skip_before_floor(self, client: AIOKafkaConsumer, assigned: Sequence[TopicPartition]) -> None:
        """Start a partition at its floor's offset when the group's committed offset is older (or missing): a
        topic that was not read for a while, or never, is not read from its whole history."""
        if self.not_before is None:
            return
        floors = {tp: floor for tp in assigned if (floor := self.not_before(tp.topic)) is not None}
        if not floors:
            return
        found = await client.offsets_for_times(floors)
        missing = [tp for tp in floors if found.get(tp) is None]
        ends = await client.end_offsets(missing) if missing else {}
        for tp in floors:
            at = found.get(tp)
            start = at.offset if at is not None else ends[tp]
            committed = await client.committed(tp)
            if committed is None or committed < start:
                log.info("%s starts %s[%d] at %d (its floor), not %s", self.group, tp.topic, tp.partition, start,
                         committed)
                client.seek(tp, start)

    async def stop(self) -> None:
        if self._consumer is not None:
            try:
                await self.flush_pending()
            except (TimeoutError, KafkaError, OSError) as exc:  # uncommitted offsets are redelivered: safe
                log.warning("could not commit before stopping %s: %r", self.group, exc)
            await _bounded(self._consumer.stop(), self.settings.send_timeout_s)
            self._consumer = None

    async def poll(self, timeout_s: float, max_records: int) -> list[Message]:
        assert self._consumer is not None, "start() first"
        batches = await self._consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        return [
            Message(
                r.topic,
                r.partition,
                r.offset,
                r.key.decode("utf-8", "replace") if r.key is not None else None,
                r.value or b"",
                tuple((k, v or b"") for k, v in r.headers),
            )
            for records in batches.values()
            for r in records
        ]

    async def commit(self, messages: Sequence[Message]) -> None:
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            self._pending[tp] = max(self._pending.get(tp, 0), m.offset + 1)
        await self.flush_pending()

    async def lag(self) -> dict[str, int]:
        assert self._consumer is not None, "start() first"
        assigned = list(self._consumer.assignment())
        if not assigned:
            return {}
        ends = await asyncio.wait_for(self._consumer.end_offsets(assigned), self.settings.send_timeout_s)
        behind: dict[str, int] = {}
        for tp in assigned:
            try:
                position = await asyncio.wait_for(self._consumer.position(tp), self.settings.send_timeout_s)
            except IllegalStateError:
                continue  # revoked meanwhile: a rebalance (our subscription changed) is under way
            behind[tp.topic] = behind.get(tp.topic, 0) + max(0, ends[tp] - position)
        return behind

    async def flush_pending(self) -> None:
        if not self._pending or self._consumer is None:
            return
        offsets, self._pending = self._pending, {}
        assigned = self._consumer.assignment()
        offsets = {tp: o for tp, o in offsets.items() if tp in assigned}
        if offsets:
            await asyncio.wait_for(self._consumer.commit(offsets), self.settings.send_timeout_s)
