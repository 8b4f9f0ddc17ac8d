"""Building and reading envelopes: one place that knows the headers and the type → payload map."""

from __future__ import annotations

import re

from pydantic import BaseModel

from schemas.envelope import Envelope, TraceContext
from schemas.events import dataschema
from services.logctx import current_trace

EVENT_ID_HEADER = "ce_id"
TYPE_HEADER = "ce_type"
TRACEPARENT_HEADER = "traceparent"
# orjson writes the envelope compactly with `trace` before `data`, so the first match is the envelope's own.
_TRACEPARENT = re.compile(rb'"traceparent":"(00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})"')


def envelope(*, source: str, event_type: str, subject: str, payload: BaseModel,
             trace: TraceContext | None = None, version: int = 1) -> Envelope:
    """An envelope around a payload, carrying the current trace context."""
    return Envelope(
        source=source,
        type=event_type,
        subject=subject,
        dataschema=dataschema(event_type, version),
        trace=trace or current_trace(),
        data=payload.model_dump(mode="json"),
    )


def headers_for(event_id: str, value: bytes) -> tuple[tuple[str, bytes], ...]:
    """Kafka headers: the event id (for dedupe without parsing) and the W3C traceparent of the envelope."""
    found = _TRACEPARENT.search(value)
    if found is None:
        return ((EVENT_ID_HEADER, event_id.encode()),)
    return (EVENT_ID_HEADER, event_id.encode()), (TRACEPARENT_HEADER, found.group(1))
