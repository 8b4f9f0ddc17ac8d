"""The one event envelope (CloudEvents 1.0 attribute names) every topic carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"


class TraceContext(BaseModel):
    """W3C trace context, so one case can be followed across services."""

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
    trace: TraceContext = Field(default_factory=TraceContext)
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate(orjson.loads(raw))
