"""Building and reading envelopes: one place that knows the headers and the type → payload map.

On Kafka every event is a CloudEvent in the binding's structured content mode: the value is the JSON event
format and the `content-type` header says so (application/cloudevents+json). No header starts with `ce_`: those
are the binding's binary-mode attributes, and a receiver that finds one reads the message as binary mode (the
official Python SDK's `from_kafka` does), where our value is not the event's data. The event id is repeated in
`event_id` (so the relay's read-back finds its events without parsing values) and the W3C trace context of the
span that published it in `traceparent`, the header OpenTelemetry's Kafka instrumentation reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel

from schemas.envelope import (
    CLOUDEVENTS_JSON,
    CONTENT_TYPE_HEADER,
    EVENT_ID_HEADER,
    TRACEPARENT_HEADER,
    Envelope,
    TraceContext,
)
from schemas.events import dataschema
from services.logctx import current_trace

# What messages published before issue 18 carry the event id in: read (never written) while they may be on topics.
LEGACY_EVENT_ID_HEADER = "ce_id"
_TRACEPARENT = re.compile(rb'"traceparent":"(00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})"')
_DATA = b'"data":'


def envelope(*, source: str, event_type: str, subject: str, payload: BaseModel,
             trace: TraceContext | None = None, version: int | None = None) -> Envelope:
    """An envelope around a payload, carrying the current trace context."""
    context = trace or current_trace()
    return Envelope(
        source=source,
        type=event_type,
        subject=subject,
        dataschema=dataschema(event_type, version),
        traceparent=context.traceparent,
        tracestate=context.tracestate,
        data=payload.model_dump(mode="json"),
    )


def headers_for(event_id: str, value: bytes) -> tuple[tuple[str, bytes], ...]:
    """Kafka headers of a structured-mode CloudEvent: its content type, the event id (for dedupe without
    parsing) and the W3C traceparent of the envelope, when it has one."""
    headers = ((CONTENT_TYPE_HEADER, CLOUDEVENTS_JSON.encode()), (EVENT_ID_HEADER, event_id.encode()))
    # The envelope's own attribute comes before `data` (orjson keeps the model's field order, and `"data":` cannot
    # occur inside an earlier JSON string unescaped): a "traceparent" inside the payload is not taken for it.
    end = value.find(_DATA)
    found = _TRACEPARENT.search(value, 0, end if end >= 0 else len(value))
    if found is None:
        return headers
    return *headers, (TRACEPARENT_HEADER, found.group(1))


def event_id_in(headers: Iterable[tuple[str, bytes]]) -> str | None:
    """The event id a message's headers repeat, in the header of today or of before issue 18."""
    found = dict(headers)
    value = found.get(EVENT_ID_HEADER) or found.get(LEGACY_EVENT_ID_HEADER)
    return value.decode() if value else None
