"""The one consumer runner: decode, handle, dead-letter poison (or hand it to the service), commit after.

Retries are for failures that the next try may not meet: our infrastructure away (retried without limit, never
dead-lettered) or the database refusing a transaction a concurrent writer raced (a few tries). A message that
fails validation, decoding or the domain logic fails the same way every time: it is given up at once, so the
messages behind it are not held up by back-off sleeps (issue 19: ten such reports delayed a valid one 22 s).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client import Counter, Gauge
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from schemas.envelope import CONTENT_TYPE_HEADER, SPEC_VERSION, Envelope
from schemas.events import dataschema
from services.bus.base import Bus, BusUnavailable, Consumer, Floor, Message, OutgoingMessage, Producer
from services.logctx import case_id_var
from services.tracing import consuming
from services.waiting import wait_or_stop

log = logging.getLogger(__name__)

# Label values stay bounded: `group` is the consumer's role (a per-process group is labelled by its stable
# name, see ConsumerRunner), `topic` a topic it reads, `reason` one of DEAD_LETTER_REASONS.
MESSAGES_CONSUMED = Counter("messages_consumed_total", "Messages handled", ["group", "topic"])
DEAD_LETTERS = Counter("dead_letters_total", "Messages sent to a dead-letter topic", ["group", "topic", "reason"])
CONSUMER_LAG = Gauge("consumer_lag", "Messages behind the end of the topic", ["group", "topic"])
CONSUMER_RESTARTS = Counter("consumer_restarts_total", "Consumers restarted by the watchdog", ["group"])

# The `reason` label of dead_letters_total: the first words of every reason a consumer gives. The full reason
# (which may quote a type, a version or a subject from the message) stays in the dlq_reason header and the log;
# anything not listed here is counted as "other", so a sender cannot mint label values.
DEAD_LETTER_REASONS = (
    "oversized", "not JSON", "not an event envelope", "not a CloudEvent", "unsupported data",
    "unsupported dataschema", "unsupported type", "invalid payload", "invalid catalogue", "not a hotline call",
    "refused", "handler failed", "other",
)

UNPROCESSABLE_TAKEN = Counter("unprocessable_taken_total", "Messages given up on that the service took in another "
                              "way (e.g. a gap case) instead of a dead-letter topic", ["group", "topic"])

Handler = Callable[[Envelope, Message], Awaitable[None]]
BatchHandler = Callable[[list[tuple[Envelope, Message]]], Awaitable[None]]
# Called with a message the runner gives up on and why: True when the service took it in another way (the router
# makes a gap case of a report it cannot decide), False to dead-letter it.
Unprocessable = Callable[[Message, str], Awaitable[bool]]
MAX_MESSAGE_BYTES = 1024 * 1024
DLQ_KEEP_BYTES = 64 * 1024  # of an oversized message, what its dead letter keeps


class _NewMember(Exception):
    """The wanted subscription cannot be had by the running member (topics ↔ pattern): start another."""


class PoisonMessage(Exception):
    """This message can never be processed; it goes to the dead-letter topic with the reason."""


@dataclass
class ConsumerHealth:
    """What readiness reads: a consumer that stopped moving while behind is not ready."""

    started: bool = False
    last_progress: float = 0.0
    lag: int = 0
    stalled: bool = False


def decode(message: Message, accepted_types: Collection[str] | None = None, version: int | None = None
           ) -> Envelope:
    """Parse and check a message's CloudEvent, or raise PoisonMessage with the reason.

    Any valid CloudEvents 1.0 event with JSON data is taken, whatever SDK wrote it, in either content mode of the
    Kafka protocol binding (structured: the JSON event format; binary: `ce_` headers): `dataschema`
    and `time` are optional, extension attributes are allowed (the distributed-tracing extension's
    `traceparent`/`tracestate` continue the trace; the object `trace` our envelopes carried before issue 18
    is read too). The `type` names the payload and its version (an incompatible payload gets a new type); a
    `dataschema`, when present, must be that type's.
    """
    if len(message.value) > MAX_MESSAGE_BYTES:
        raise PoisonMessage(f"oversized: {len(message.value)} bytes > {MAX_MESSAGE_BYTES}")
    try:
        raw = _binary_mode(message) if _is_binary_mode(message) else orjson.loads(message.value)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    try:
        event = Envelope.model_validate(_cloudevent(raw))
    except ValidationError as exc:
        raise PoisonMessage(f"not an event envelope: {_short(exc)}") from exc
    if accepted_types is not None:
        if event.dataschema is not None and event.dataschema != dataschema(event.type, version):
            raise PoisonMessage(f"unsupported dataschema {event.dataschema!r} for type {event.type!r}")
        if event.type not in accepted_types:
            raise PoisonMessage(f"unsupported type {event.type!r}")
    return event


def _is_binary_mode(message: Message) -> bool:
    """The Kafka protocol binding's binary content mode: no CloudEvents media type in `content-type`, and the
    attributes in `ce_` headers. A message with neither is read as a structured event (our envelopes of before
    issue 18 had no content-type header, nor have many producers that write the JSON event format)."""
    content_type = (message.header(CONTENT_TYPE_HEADER) or "").lower()
    return not content_type.startswith("application/cloudevents") and message.header("ce_specversion") is not None


def _binary_mode(message: Message) -> dict[str, Any]:
    """A binary-mode event as the structured form: attributes from the `ce_` headers, `datacontenttype` from
    `content-type`, and the value as `data`, which must be JSON (our payloads are JSON objects)."""
    try:
        raw: dict[str, Any] = {key[3:].lower(): value.decode() for key, value in message.headers
                               if key.lower().startswith("ce_")}
    except UnicodeDecodeError as exc:
        raise PoisonMessage("not a CloudEvent: a ce_ header is not UTF-8") from exc
    content_type = message.header(CONTENT_TYPE_HEADER)
    if content_type is not None:
        media = content_type.split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise PoisonMessage(f"unsupported data: datacontenttype {content_type!r}, data must be a JSON object")
        raw["datacontenttype"] = content_type
    raw["data"] = orjson.loads(message.value)
    return raw


# CloudEvents 1.0: these four make a CloudEvent; attribute names are lower-case ASCII letters and digits.
REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type")
_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]+")
_ENVELOPE_FIELDS = frozenset(Envelope.model_fields)
_TRACING_EXTENSION = ("traceparent", "tracestate")


def _cloudevent(raw: object) -> dict[str, Any]:
    """The envelope's fields of a structured-mode CloudEvent, or PoisonMessage saying why it is none."""
    if not isinstance(raw, dict):
        raise PoisonMessage("not a CloudEvent: not a JSON object")
    missing = [name for name in REQUIRED_ATTRIBUTES if raw.get(name) in (None, "")]
    if missing:
        raise PoisonMessage(f"not a CloudEvent: missing required attribute {', '.join(missing)}")
    if raw["specversion"] != SPEC_VERSION:
        raise PoisonMessage(f"not a CloudEvent: unsupported specversion {raw['specversion']!r} (1.0 only)")
    if "data_base64" in raw:
        raise PoisonMessage("unsupported data: data_base64 given, data must be a JSON object")
    invalid = [name for name in raw if name not in _ENVELOPE_FIELDS and not _ATTRIBUTE_NAME.fullmatch(name)]
    if invalid:
        raise PoisonMessage(f"not a CloudEvent: invalid attribute name {', '.join(map(repr, invalid[:5]))}")
    # Other extension attributes are legal and mean nothing to us: they are dropped, not refused; so is a
    # tracing attribute that is not a string (the extension defines strings, a broken one is no reason to refuse).
    fields = {name: value for name, value in raw.items() if name in _ENVELOPE_FIELDS and value is not None
              and (name not in _TRACING_EXTENSION or isinstance(value, str))}
    if isinstance(raw.get("trace"), dict):
        fields["trace"] = raw["trace"]  # our envelopes of before the tracing extension (issue 18): still read
    return fields


def reason_code(reason: str) -> str:
    """The dead_letters_total `reason` of a dead letter's reason: its longest listed first words, else "other"."""
    found = [code for code in DEAD_LETTER_REASONS
             if reason == code or reason.startswith((f"{code}:", f"{code} "))]
    return max(found, key=len, default="other")


def decoder_for(*event_types: str, version: int | None = None) -> Callable[[Message], Envelope]:
    """A decoder that dead-letters any event type (or payload version) this consumer was not written for."""
    accepted = frozenset(event_types)
    return lambda message: decode(message, accepted, version)


def _short(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])


def transient(exc: BaseException) -> bool:
    """Failures of our infrastructure, not of the message: retry without limit, never dead-letter.
    (A pool timeout is one too: every connection busy, or the database slow to hand one out.)"""
    return isinstance(exc, OperationalError | BusUnavailable | OSError | TimeoutError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def retryable(exc: BaseException) -> bool:
    """A refusal by the database that the next try may not meet (a unique key a concurrent writer took, a
    deadlock, a serialization failure): tried again a few times. Anything else that is not transient is a
    failure of this message, the same on every try (ValidationError, ValueError, TypeError, OverflowError…)."""
    return isinstance(exc, DBAPIError) and not transient(exc)


class ConsumerRunner:
    """Runs one group member of a service until stopping; restarts it when the watchdog says stalled.

    `metrics_group` is the `group` label of this consumer's metrics, the group id by default. A consumer whose
    group id is new at every start (one group per process, so that each replica reads every message) gives
    its stable role name here: a label value per process start would be a new series at every restart.
    """

    def __init__(self, *, group: str, bus: Bus, producer: Producer, topics: Sequence[str], handler: Handler,
                 pattern: str | None = None, decoder: Callable[[Message], Envelope] = decode,
                 retries: int = 3, stall_s: float = 60.0, max_records: int = 200,
                 batch_handler: BatchHandler | None = None, unprocessable: Unprocessable | None = None,
                 metrics_group: str | None = None, not_before: Floor | None = None) -> None:
        self.group = group
        self.metrics_group = metrics_group or group
        self.bus = bus
        self.producer = producer
        self.topics = list(topics)
        self.pattern = pattern
        self.not_before = not_before
        # What follow() asked for, and what the running member reads: compared after each poll.
        self._following: tuple[tuple[str, ...], str | None] = (tuple(sorted(set(self.topics))), pattern)
        self._reading = self._following
        self.handler = handler
        self.decoder = decoder
        self.retries = retries
        self.stall_s = stall_s
        self.max_records = max_records
        self.batch_handler = batch_handler
        self.unprocessable = unprocessable
        self.health = ConsumerHealth()
        self.member: Consumer | None = None  # the running group member (its lag() names the topics assigned)
        self._exposed: set[str] = set()
        CONSUMER_RESTARTS.labels(self.metrics_group)
        self._expose_zero(self.topics)

    def _expose_zero(self, topics: Collection[str]) -> None:
        """Create the counters of `topics` at 0. A counter series first seen at 1 is a rise increase() cannot
        see; at 0 from the start, the first message or dead letter is one. Topics of a pattern subscription
        are known once assigned, so the watchdog adds them when it first measures their lag."""
        for topic in set(topics) - self._exposed:
            self._exposed.add(topic)
            MESSAGES_CONSUMED.labels(self.metrics_group, topic)
            for reason in DEAD_LETTER_REASONS:
                DEAD_LETTERS.labels(self.metrics_group, topic, reason)

    def follow(self, topics: Sequence[str], pattern: str | None = None, not_before: Floor | None = None) -> None:
        """Read these topics (or the pattern's) from the next poll on. The running member changes its subscription
        in place between polls, after committing what it handled; a switch between a list and a pattern starts a
        new member. A partition newly read starts at the group's offset, but not before `not_before(topic)`."""
        self.not_before = not_before
        self._following = (tuple(sorted(set(topics))), pattern)

    async def run(self, stopping: asyncio.Event) -> None:
        backoff = 0.5
        while not stopping.is_set():
            self._reading, floor = self._following, self.not_before
            topics, self.pattern = self._reading
            self.topics = list(topics)
            consumer = self.member = self.bus.consumer(self.topics, self.group, pattern=self.pattern,
                                                       not_before=floor)
            try:
                await consumer.start()
                self.health = ConsumerHealth(started=True, last_progress=time.monotonic())
                backoff = 0.5
                await self._consume(consumer, stopping)
            except _NewMember:
                continue  # the finally below stops this member (committing first); the next one reads the new set
            except Exception as exc:  # the member restarts whatever failed; the offsets are safe
                log.warning("consumer %s restarting after %r", self.group, exc)
                await wait_or_stop(stopping, backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                self.health.started = False
                await consumer.stop()

    async def _consume(self, consumer: Consumer, stopping: asyncio.Event) -> None:
        last_check = time.monotonic()
        while not stopping.is_set():
            batch = await consumer.poll(0.5, self.max_records)
            now = time.monotonic()
            if batch:
                if self.batch_handler is not None and len(batch) > 1:
                    await self._process_batch(batch, stopping)
                else:
                    for message in batch:
                        await self._process(message, stopping)
                await consumer.commit(batch)
                self.health.last_progress = time.monotonic()
            if self._following != self._reading:
                await self._resubscribe(consumer)
            if now - last_check > min(5.0, self.stall_s / 2):
                last_check = now
                await self._watch(consumer, now)

    async def _resubscribe(self, consumer: Consumer) -> None:
        """Everything polled is committed here: the rebalance that follows loses nothing and repeats nothing."""
        following, floor = self._following, self.not_before
        topics, pattern = following
        if bool(pattern) != bool(self.pattern):
            raise _NewMember
        log.info("consumer %s now reads %s", self.group, pattern or ", ".join(topics))
        await consumer.subscribe(topics, pattern=pattern, not_before=floor)
        self._reading, self.topics, self.pattern = following, list(topics), pattern

    async def _watch(self, consumer: Consumer, now: float) -> None:
        """aiokafka consumers can stop fetching silently (#1154, #703): lag without progress restarts us."""
        lag = await consumer.lag()
        self._expose_zero(lag.keys())
        for topic, behind in lag.items():
            CONSUMER_LAG.labels(self.metrics_group, topic).set(behind)
        self.health.lag = sum(lag.values())
        self.health.stalled = self.health.lag > 0 and now - self.health.last_progress > self.stall_s
        if self.health.stalled:
            CONSUMER_RESTARTS.labels(self.metrics_group).inc()
            raise BusUnavailable(f"consumer {self.group} stalled with lag {self.health.lag}")
        if self.health.lag == 0:
            self.health.last_progress = now

    async def _process_batch(self, batch: list[Message], stopping: asyncio.Event) -> None:
        """One handler call (one transaction) for the whole poll; on a failure, message by message."""
        assert self.batch_handler is not None
        good: list[tuple[Envelope, Message]] = []
        for message in batch:
            try:
                good.append((self.decoder(message), message))
            except PoisonMessage as exc:
                await self.give_up(message, str(exc), stopping)
        while good:
            try:
                await self.batch_handler(good)
                for event, message in good:
                    # One span per message, so each case's trace shows where it was taken in; a batch handler
                    # that stages events sets each case's trace context itself (its events continue it).
                    with consuming(self.group, message, event):
                        MESSAGES_CONSUMED.labels(self.metrics_group, message.topic).inc()
                return
            except Exception as exc:
                if transient(exc) and not stopping.is_set():
                    log.warning("transient failure handling a batch of %d, retrying: %r", len(good), exc)
                    await wait_or_stop(stopping, 1.0)
                    continue
                # Find the culprit the slow way: each message alone (a culprit is given up at once, see _process).
                log.warning("batch of %d failed (%r); handling its messages one by one", len(good), exc)
                for _, message in good:
                    await self._process(message, stopping)
                return

    async def _process(self, message: Message, stopping: asyncio.Event) -> None:
        attempt = 0
        while True:
            try:
                event = self.decoder(message)
                case_id_var.set(event.subject)
                with consuming(self.group, message, event):  # sets trace_var, as this line did before
                    await self.handler(event, message)
                MESSAGES_CONSUMED.labels(self.metrics_group, message.topic).inc()
                return
            except PoisonMessage as exc:
                return await self.give_up(message, str(exc), stopping)
            except ValidationError as exc:
                return await self.give_up(message, f"invalid payload: {_short(exc)}", stopping)
            except Exception as exc:
                if transient(exc):
                    if stopping.is_set():
                        raise
                    log.warning("transient failure handling %s@%s, retrying: %r", message.topic, message.offset, exc)
                    await wait_or_stop(stopping, 1.0)
                    continue
                attempt += 1
                if not retryable(exc) or attempt > self.retries:  # no back-off for what fails the same again
                    log.exception("giving up on %s@%s after %d attempts", message.topic, message.offset, attempt)
                    return await self.give_up(message, f"handler failed: {exc!r}"[:1000], stopping)
                await wait_or_stop(stopping, 0.2 * 2**attempt)
            finally:
                case_id_var.set(None)

    async def give_up(self, message: Message, reason: str, stopping: asyncio.Event) -> None:
        """The service's own way for a message it cannot process (unprocessable), else the dead-letter topic."""
        while self.unprocessable is not None:
            try:
                if await self.unprocessable(message, reason):
                    UNPROCESSABLE_TAKEN.labels(self.metrics_group, message.topic).inc()
                    return
                break
            except Exception as exc:
                if transient(exc) and not stopping.is_set():  # the database is away: the message waits for it
                    log.warning("transient failure taking in %s@%s, retrying: %r", message.topic, message.offset, exc)
                    await wait_or_stop(stopping, 1.0)
                    continue
                if transient(exc):
                    raise
                log.exception("could not take in %s@%s another way", message.topic, message.offset)
                reason = f"{reason}; then {exc!r}"[:1000]
                break
        await self.dead_letter(message, reason)

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Park the message on `<topic>.dlq` with why and where from, then move on."""
        DEAD_LETTERS.labels(self.metrics_group, message.topic, reason_code(reason)).inc()
        log.error("dead-lettering %s@%d/%d: %s", message.topic, message.partition, message.offset, reason)
        headers = (
            *message.headers,
            ("dlq_reason", reason.encode()),
            ("dlq_topic", message.topic.encode()),
            ("dlq_partition", str(message.partition).encode()),
            ("dlq_offset", str(message.offset).encode()),
            ("dlq_group", self.group.encode()),
        )
        value = message.value
        if len(value) > MAX_MESSAGE_BYTES:
            # It came in on a topic that allows it, but our producer cannot send it back out,
            # and a failed dead-letter restarts the consumer on the same message forever. Park its head.
            value = value[:DLQ_KEEP_BYTES]
            headers = (*headers, ("dlq_truncated_from", str(len(message.value)).encode()))
        dlq = f"{message.topic}.dlq"
        await self.bus.ensure_topics([dlq])
        await self.producer.send_batch([OutgoingMessage(dlq, message.key or "", value, headers)])
