"""Intake's second entrance: the hotline system's calls on hotline.calls.v1."""

from __future__ import annotations

import orjson
from pydantic import ValidationError

from intake.domain.submitters import HOTLINE_TOPIC
from intake.handlers import accept_report
from schemas.envelope import Envelope
from schemas.report import HotlineCall
from services.bus.base import Message
from services.consumer import MAX_MESSAGE_BYTES, ConsumerRunner, Handler, PoisonMessage, decode
from services.runtime import Runtime

HOTLINE_CALL = "caseroute.hotline.call"
HOTLINE_SCHEMA = f"urn:caseroute:schema:{HOTLINE_CALL}:v1"


def decode_call(message: Message) -> Envelope:
    """The hotline system may send a bare call object or an envelope around one; both become envelopes."""
    if len(message.value) > MAX_MESSAGE_BYTES:
        return decode(message)  # refuses it as oversized before parsing a megabyte
    try:
        raw = orjson.loads(message.value)
    except orjson.JSONDecodeError as exc:
        raise PoisonMessage(f"not JSON: {exc}") from exc
    if isinstance(raw, dict) and "specversion" in raw:
        return decode(message, (HOTLINE_SCHEMA,))
    try:
        call = HotlineCall.model_validate(raw)
    except ValidationError as exc:
        raise PoisonMessage(f"not a hotline call: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}") from exc
    return Envelope(source="hotline", type=HOTLINE_CALL, subject=call.call_id,
                    dataschema=HOTLINE_SCHEMA, data=call.model_dump(mode="json"))


def make_hotline_handler(runtime: Runtime) -> Handler:
    """Each call becomes a report of source hotline, deduped by its call id among the topic's calls (the topic is
    its own submitter: a key posting the same id over HTTP neither pre-empts nor is taken for a call)."""

    async def handle(event: Envelope, message: Message) -> None:
        call = HotlineCall.model_validate(event.data)
        await accept_report(db=runtime.db, settings=runtime.settings, report=call.to_report(),
                            submitted_by=HOTLINE_TOPIC)

    return handle


def consumers(runtime: Runtime) -> list[ConsumerRunner]:
    """Intake's one consumer: the hotline's calls."""
    settings = runtime.settings
    return [ConsumerRunner(group=settings.group("intake"), bus=runtime.bus, producer=runtime.producer,
                           topics=[settings.topic("hotline.calls.v1")], handler=make_hotline_handler(runtime),
                           decoder=decode_call, retries=settings.consumer_retries, stall_s=settings.consumer_stall_s)]
