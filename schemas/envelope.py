"""The one event envelope (CloudEvents 1.0 attribute names) every topic carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

SPEC_VERSION = "1.0"

# The Kafka headers of an event (the Kafka protocol binding's structured content mode; services.envelopes).
CONTENT_TYPE_HEADER = "content-type"
CLOUDEVENTS_JSON = "application/cloudevents+json"
EVENT_ID_HEADER = "event_id"
TRACEPARENT_HEADER = "traceparent"


class TraceContext(BaseModel):
    """W3C trace context, so one case can be followed across services (in memory; on the wire it is the
    envelope's `traceparent`/`tracestate` attributes)."""

    model_config = ConfigDict(extra="forbid")

    traceparent: str | None = None
    tracestate: str | None = None


def _as_cloudevent(schema: dict[str, Any]) -> None:
    """The JSON Schema of what a consumer takes: CloudEvents' required attributes, and extension attributes."""
    schema["required"] = ["specversion", "id", "source", "type", *[
        name for name in schema.get("required", []) if name not in ("specversion", "id", "source", "type")]]
    schema["additionalProperties"] = {"description": "a CloudEvents extension attribute (name: a-z, 0-9)",
                                      "type": ["string", "integer", "boolean"]}


def new_event_id() -> str:
    """Event ids are UUIDs; a redelivered event keeps its id, which is how consumers dedupe."""
    return str(uuid.uuid4())


class Envelope(BaseModel):
    """A CloudEvent: `subject` is the case id, `type` names the payload of `data` and its version."""

    # The trace context is the distributed-tracing extension: `traceparent` and `tracestate` are top-level string
    # attributes. Every attribute value is a string (a CloudEvents attribute may not be an object: SDKs that check
    # types, e.g. the Go SDK, refuse one), and an absent one is left out, not written as null (to_bytes).

    # `dataschema` is optional, as in CloudEvents: our producers set it, a department's system built with any
    # CloudEvents SDK need not. Consumers read through services.consumer.decode, which also takes extension
    # attributes; the published schema says so, while building an Envelope in code stays strict.
    model_config = ConfigDict(extra="forbid", json_schema_extra=lambda schema: _as_cloudevent(schema))

    specversion: str = SPEC_VERSION
    id: str = Field(default_factory=new_event_id)
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str
    dataschema: str | None = None
    datacontenttype: str = "application/json"
    # Before `data`: services.envelopes finds the envelope's own traceparent as the first one in the bytes.
    traceparent: str | None = Field(None, description="W3C trace context (the distributed-tracing extension)")
    tracestate: str | None = Field(None, description="W3C vendor trace state (the distributed-tracing extension)")
    data: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _lift_trace(cls, value: Any) -> Any:
        """Take the trace as `trace=` (a TraceContext or its dict) too: code passes the context it holds, and
        envelopes written before the tracing extension (issue 18) nest it as an object `trace`, which is still
        read for the transition (a top-level attribute wins). Nothing writes `trace` any more."""
        if not isinstance(value, dict) or "trace" not in value:
            return value
        value = dict(value)
        trace = value.pop("trace")
        if isinstance(trace, TraceContext):
            trace = trace.model_dump()
        if trace is None:
            return value
        if not isinstance(trace, dict):
            raise ValueError("trace: an object with traceparent and tracestate")
        for name in ("traceparent", "tracestate"):
            if value.get(name) is None and isinstance(trace.get(name), str):
                value[name] = trace[name]
        return value

    @property
    def trace(self) -> TraceContext:
        return TraceContext(traceparent=self.traceparent, tracestate=self.tracestate)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate(orjson.loads(raw))
