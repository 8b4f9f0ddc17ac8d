"""Consumers take any valid CloudEvents 1.0 envelope and dead-letter the rest with a reason that says why."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from schemas.events import REPLIES, EventType, dataschema
from services.bus.base import Message
from services.consumer import PoisonMessage, decoder_for
from services.settings import Settings

decode = decoder_for(*REPLIES)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def ack(**changes: Any) -> dict[str, Any]:
    """A reply as a CloudEvents SDK writes it: the required attributes, a subject, JSON data, nothing more."""
    event: dict[str, Any] = {"specversion": "1.0", "id": "e-1", "source": "urn:amr:cases",
                             "type": "caseroute.reply.ack", "subject": "C-1",
                             "data": {"case_id": "C-1", "department": "amr", "kind": "ack"}}
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


def message(event: object) -> Message:
    return Message("caseroute.replies.amr.v1", 0, 0, "C-1", orjson.dumps(event))


def test_an_envelope_without_dataschema_or_time_is_accepted() -> None:
    event = decode(message(ack()))
    assert (event.id, event.type, event.dataschema, event.data["department"]) == (
        "e-1", "caseroute.reply.ack", None, "amr")


def test_extension_attributes_are_accepted_and_the_tracing_extension_becomes_the_trace() -> None:
    event = decode(message(ack(traceparent=TRACEPARENT, tracestate="x=1", deptbatch="42", partitionkey="C-1")))
    assert (event.trace.traceparent, event.trace.tracestate) == (TRACEPARENT, "x=1")


def test_a_dataschema_when_given_must_be_the_types() -> None:
    assert decode(message(ack(dataschema=dataschema(EventType.reply_ack)))).dataschema.endswith(":v1")
    with pytest.raises(PoisonMessage, match="unsupported dataschema"):
        decode(message(ack(dataschema=dataschema(EventType.reply_ack, 2))))
    with pytest.raises(PoisonMessage, match="unsupported dataschema"):  # the schema of another type
        decode(message(ack(dataschema=dataschema(EventType.reply_feedback))))


@pytest.mark.parametrize("attribute", ["id", "source", "type", "specversion"])
def test_a_message_without_a_required_attribute_is_not_a_cloudevent(attribute: str) -> None:
    with pytest.raises(PoisonMessage) as refused:
        decode(message(ack(**{attribute: None})))
    assert str(refused.value) == f"not a CloudEvent: missing required attribute {attribute}"


@pytest.mark.parametrize(("event", "reason"), [
    (ack(specversion="0.3"), "not a CloudEvent: unsupported specversion '0.3'"),
    (ack(id=""), "not a CloudEvent: missing required attribute id"),
    (ack(**{"Bad-Name": 1}), "not a CloudEvent: invalid attribute name 'Bad-Name'"),
    (ack(data=None, data_base64="e30="), "unsupported data: data_base64"),
    (ack(type="caseroute.case.routed"), "unsupported type 'caseroute.case.routed'"),
    (ack(subject=None), "not an event envelope: subject: Field required"),
    (["not", "an", "object"], "not a CloudEvent: not a JSON object"),
])
def test_what_is_not_a_usable_cloudevent_is_refused_with_the_reason(event: object, reason: str) -> None:
    with pytest.raises(PoisonMessage) as refused:
        decode(message(event))
    assert str(refused.value).startswith(reason)


def test_reply_topics_name_their_department_and_the_pattern_takes_new_ones_but_not_dead_letters() -> None:
    import re

    settings = Settings(topic_prefix="site.caseroute.")
    assert settings.reply_topic("police-duantang") == "site.caseroute.replies.police-duantang.v1"
    assert settings.reply_department("site.caseroute.replies.police-duantang.v1") == "police-duantang"
    assert settings.reply_department("site.caseroute.replies.v1") is None  # the retired shared topic
    assert settings.reply_department("other.replies.amr.v1") is None
    pattern = re.compile(settings.reply_topics_pattern)
    assert pattern.match("site.caseroute.replies.a-department-of-next-year.v1")
    assert pattern.match("site.caseroute.replies.v1")  # read, so that what still comes there is dead-lettered
    assert not pattern.match("site.caseroute.replies.amr.v1.dlq")
    assert not pattern.match("siteXcaseroute.replies.amr.v1")
