"""Our Kafka messages are CloudEvents to the official SDK (Kafka protocol binding, structured content mode), every
attribute is of a CloudEvents type, and what we wrote before (nested `trace`, the `ce_id` header) is still read."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka, from_structured
from cloudevents.core.formats.json import JSONFormat

from notifier.domain.notices import supervision_notice
from schemas.events import DepartmentReply, EventType
from services.bus.base import Message
from services.consumer import decode
from services.envelopes import envelope, event_id_in, headers_for
from services.logctx import trace_var

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _ack() -> bytes:
    """A reply as the services write one, in a trace (as every event of a request or a handled message is)."""
    from schemas.envelope import TraceContext

    trace_var.set(TraceContext(traceparent=TRACEPARENT, tracestate="caseroute=1"))
    try:
        return envelope(source="caseroute/tracker", event_type=EventType.reply_ack, subject="C-1",
                        payload=DepartmentReply(case_id="C-1", department="amr", kind="ack")).to_bytes()
    finally:
        trace_var.set(None)


def test_the_official_sdk_reads_our_message_as_a_structured_cloudevent() -> None:
    value = _ack()
    raw = orjson.loads(value)
    message = KafkaMessage(headers=dict(headers_for(raw["id"], value)), key=b"C-1", value=value)
    assert message.headers["content-type"] == b"application/cloudevents+json"
    assert not [name for name in message.headers if name.startswith("ce_")], "a ce_ header means binary mode"
    for read in (from_kafka, from_structured):
        event = read(message, JSONFormat(), None)
        attributes = event.get_attributes()
        assert (event.get_id(), event.get_source(), event.get_type(), event.get_subject()) == (
            raw["id"], "caseroute/tracker", "caseroute.reply.ack", "C-1")
        assert event.get_time() == datetime.fromisoformat(raw["time"])
        assert (attributes["traceparent"], attributes["tracestate"]) == (TRACEPARENT, "caseroute=1")
        assert event.get_data() == raw["data"] and raw["data"]["department"] == "amr"


def test_every_attribute_is_a_string_none_is_an_object_or_null() -> None:
    """The Go SDK refuses an event with an object attribute (our `trace` was one) and the Python SDK one whose
    optional attribute is null: a CloudEvents attribute is a string, integer or boolean, or absent."""
    raw = orjson.loads(_ack())
    attributes = {name: value for name, value in raw.items() if name != "data"}
    assert "trace" not in attributes
    assert {name: type(value).__name__ for name, value in attributes.items()
            if not isinstance(value, str | int | bool)} == {}
    assert attributes["traceparent"] == TRACEPARENT and attributes["tracestate"] == "caseroute=1"
    untraced = orjson.loads(envelope(source="t", event_type=EventType.reply_ack, subject="C-1",
                                     payload=DepartmentReply(case_id="C-1", department="amr", kind="ack"),
                                     ).model_copy(update={"traceparent": None, "dataschema": None}).to_bytes())
    assert "traceparent" not in untraced and "dataschema" not in untraced


def test_messages_written_before_the_tracing_extension_are_still_read() -> None:
    """During the transition topics and outboxes hold envelopes with the trace nested in `trace` and a `ce_id`
    header: consumers still take their trace, and the relay's read-back still finds their ids."""
    old = {"specversion": "1.0", "id": "e-old", "source": "caseroute/tracker", "type": "caseroute.reply.ack",
           "subject": "C-1", "dataschema": None, "datacontenttype": "application/json",
           "trace": {"traceparent": TRACEPARENT, "tracestate": None},
           "data": {"case_id": "C-1", "department": "amr", "kind": "ack"}}
    event = decode(Message("caseroute.replies.amr.v1", 0, 0, "C-1", orjson.dumps(old), (("ce_id", b"e-old"),)))
    assert (event.traceparent, event.tracestate, event.trace.traceparent) == (TRACEPARENT, None, TRACEPARENT)
    assert "trace" not in orjson.loads(event.to_bytes())
    assert event_id_in((("ce_id", b"e-old"),)) == "e-old"
    assert event_id_in(headers_for("e-new", b"")) == "e-new"
    # A foreign producer's tracing attribute that is not a string is dropped, not a reason to refuse the event.
    foreign = {**old, "trace": None, "traceparent": 7}
    assert decode(Message("t", 0, 0, "C-1", orjson.dumps(foreign))).traceparent is None


def test_the_supervision_notice_carries_the_trace_as_string_attributes() -> None:
    escalation = {"id": "e-9", "subject": "C1", "time": "2026-01-05T13:30:00+00:00", "traceparent": TRACEPARENT,
                  "data": {"case_id": "C1", "department": "amr", "detail": {"kind": "ack_overdue"}}}
    notice = supervision_notice(escalation, None)
    assert notice["traceparent"] == TRACEPARENT and "trace" not in notice
    legacy = supervision_notice({**escalation, "traceparent": None, "trace": {"traceparent": TRACEPARENT}}, None)
    assert legacy["traceparent"] == TRACEPARENT and "trace" not in legacy


def test_a_reply_in_the_bindings_binary_mode_is_taken_as_the_sdk_wrote_it() -> None:
    """A department's system may write binary mode (the default of several SDKs' Kafka serializers): attributes
    in ce_ headers, the data alone as the value. The consumer reads it by the binding, not as a broken envelope."""
    from cloudevents.core.bindings.kafka import to_binary
    from cloudevents.core.v1.event import CloudEvent

    from schemas.events import REPLIES
    from services.consumer import PoisonMessage, decoder_for

    sent = CloudEvent(attributes={"id": "dept-1", "source": "urn:amr:cases", "type": "caseroute.reply.ack",
                                  "subject": "C-1", "datacontenttype": "application/json", "traceparent": TRACEPARENT},
                      data={"case_id": "C-1", "department": "amr", "kind": "ack"})
    written = to_binary(sent, JSONFormat())
    assert "ce_id" in written.headers and written.value.startswith(b"{")
    message = Message("caseroute.replies.amr.v1", 0, 0, "C-1", written.value, tuple(written.headers.items()))
    event = decoder_for(*REPLIES)(message)
    assert (event.id, event.source, event.type, event.subject, event.traceparent) == (
        "dept-1", "urn:amr:cases", "caseroute.reply.ack", "C-1", TRACEPARENT)
    assert event.data == {"case_id": "C-1", "department": "amr", "kind": "ack"}
    xml = (*((k, v) for k, v in written.headers.items() if k != "content-type"), ("content-type", b"text/xml"))
    with pytest.raises(PoisonMessage, match=r"^unsupported data: datacontenttype 'text/xml'"):
        decode(Message("t", 0, 0, "C-1", b"<ack/>", xml))
