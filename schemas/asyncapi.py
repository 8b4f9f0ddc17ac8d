"""The AsyncAPI 3.0 document of caseroute's topics, generated from the event models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas.envelope import CLOUDEVENTS_JSON, CONTENT_TYPE_HEADER, EVENT_ID_HEADER, TRACEPARENT_HEADER, Envelope
from schemas.events import (
    CaseChanged,
    CaseDispatched,
    CaseRouted,
    CaseRuled,
    CaseTransition,
    CataloguePublished,
    DepartmentReply,
    EscalationNotice,
    EventType,
    FeedbackNotice,
    InspectionOpened,
    ReportAccepted,
    StatementPublished,
    dataschema,
)
from schemas.report import HotlineCall

REF = "#/components/schemas/{model}"

# message id → (event types, payload model, summary)
MESSAGES: dict[str, tuple[list[str], type[BaseModel], str]] = {
    "reportAccepted": ([EventType.report_accepted], ReportAccepted,
                       "Intake accepted a report and gave it a case id."),
    "caseRouted": ([EventType.case_routed], CaseRouted, "The router's decision with the report."),
    "caseDispatched": ([EventType.case_dispatched], CaseDispatched,
                       "A case for a department (primary, cooperating or cc), with the credit tier (A–D) of the "
                       "business or place it is about; rule JOINT: a joint inspection a trigger opened."),
    "feedbackNotice": ([EventType.case_feedback], FeedbackNotice,
                       "The outcome of a case, for the street, safety-office and cc."),
    "escalationNotice": ([EventType.case_escalated], EscalationNotice,
                         "A supervision notice (督办) for safety-office."),
    "departmentReply": ([EventType.reply_ack, EventType.reply_feedback, EventType.reply_return], DepartmentReply,
                        "A department's ack, feedback or return."),
    "caseChanged": ([EventType.case_changed], CaseChanged,
                    "What one tracker transaction did to a case (payload version 2): its transitions in order and "
                    "its state after them; a new case received, routed and dispatched in one transaction is one "
                    "event of three transitions. Kind escalated: an SLA breach escalated (督办); kind tier_changed "
                    "/ subject_merged: the credit tier of the case's subject changed (detail.subject_tier: "
                    "subject, keys, tier), which the router keeps. Replaces version 1 (caseTransition)."),
    "caseTransition": ([EventType.case_transition, EventType.case_escalated], CaseTransition,
                       "Version 1, no longer published: one event per transition (an escalation typed "
                       "caseroute.case.escalated). Consumers still read it, for events published before version 2; "
                       "the notifier's webhooks and event stream still deliver each transition in this form."),
    "caseRuled": ([EventType.case_ruled], CaseRuled,
                  "An adjudicator's ruling, which the router dispatches to its lead and cooperating departments."),
    "inspectionOpened": ([EventType.inspection_opened], InspectionOpened,
                         "A joint inspection a supervision trigger opened, which the router dispatches to the "
                         "responsible departments, the street team and safety-office."),
    "cataloguePublished": ([EventType.catalogue_published], CataloguePublished,
                           "A catalogue version (compacted topic)."),
    "statementPublished": ([EventType.statement_monthly], StatementPublished,
                           "The monthly statement is ready, with links to its files."),
}

# channel id → (address without prefix, messages, producer, consumers, description)
CHANNELS: dict[str, tuple[str, list[str], str, str, str]] = {
    "reports": ("reports.v1", ["reportAccepted"], "intake", "router", "Accepted reports, key: case id."),
    "hotlineCalls": ("hotline.calls.v1", ["hotlineCall"], "hotline system", "intake",
                     "Calls of the 12345 hotline, bare JSON or in an envelope; key: call id."),
    "routed": ("routed.v1", ["caseRouted"], "router", "tracker, notifier", "Routing decisions, key: case id."),
    "dispatch": ("dispatch.{department}.v1", ["caseDispatched", "feedbackNotice", "escalationNotice"],
                 "router (dispatches: of decisions, rulings and joint inspections), tracker (feedback and "
                 "supervision notices)",
                 "that department, notifier",
                 "One topic per department (catalogue code); key: case id."),
    "replies": ("replies.{department}.v1", ["departmentReply"],
                "that department's system only (its Kafka user may write no other department's reply topic)",
                "tracker (the department is the topic's)",
                "One topic per department, key: case id. A reply whose payload names another department is "
                "dead-lettered with the reason; the shared replies.v1 is retired (what comes there is "
                "dead-lettered)."),
    "caseEvents": ("case-events.v1", ["caseChanged", "caseRuled", "inspectionOpened", "caseTransition"], "tracker",
                   "router, notifier, anyone",
                   "State changes of cases (one caseChanged event per case per tracker transaction, its transitions "
                   "in order), and the rulings and joint inspections the router dispatches, each after its case's "
                   "caseChanged event; key: case id."),
    "catalogue": ("catalogue.v1", ["cataloguePublished"], "tracker (rulings, rollbacks), admin CLI",
                  "router (every replica), tracker (catalogue history)",
                  "Compacted: the latest catalogue version per catalogue id (key)."),
    "statements": ("statements.v1", ["statementPublished"], "tracker (once a month, one replica)",
                   "notifier (safety-office's subscriptions)",
                   "The monthly statement (信息互通) for 区安委办, key: the month."),
    "deadLetters": ("{topic}.dlq", ["deadLetter"], "any consumer", "operators",
                    "Messages a consumer could not process, unchanged, with the reason in headers."),
}

# The Kafka protocol binding's structured content mode: the content-type header names the event format, and no
# header starts with `ce_` (a receiver finding one reads binary mode, where the value would be the data alone).
HEADERS = {
    "type": "object",
    "required": [CONTENT_TYPE_HEADER, EVENT_ID_HEADER],
    "properties": {
        CONTENT_TYPE_HEADER: {"type": "string", "const": CLOUDEVENTS_JSON,
                              "description": "The CloudEvents JSON event format: the message is a CloudEvent in "
                                             "the Kafka protocol binding's structured content mode, the value is "
                                             "the whole event."},
        EVENT_ID_HEADER: {"type": "string", "description": "The event id (the CloudEvent's `id`), repeated so a "
                                                           "consumer can deduplicate without parsing the value."},
        TRACEPARENT_HEADER: {"type": "string",
                             "description": "W3C trace context of the span that published the message (the "
                                            "event's own is its `traceparent` attribute)."},
    },
}
# What a department's system sends on its reply topic: either content mode of the binding, so no header is required.
INBOUND_HEADERS = {
    "type": "object",
    "properties": {
        CONTENT_TYPE_HEADER: {"type": "string", "description": f"`{CLOUDEVENTS_JSON}` in the binding's structured "
                                                              "mode (the value is the event). In binary mode (a "
                                                              "`ce_specversion` header and the other attributes in "
                                                              "`ce_` headers, the value is `data`) the data's JSON "
                                                              "media type; without either, the value is read as a "
                                                              "structured event."},
        TRACEPARENT_HEADER: {"type": "string", "description": "W3C trace context of the span that sent it: the span "
                                                             "handling it continues this one, else the event's "
                                                             "`traceparent` attribute."},
    },
}
DLQ_HEADERS = {
    "type": "object",
    "properties": {name: {"type": "string", "description": text} for name, text in (
        ("dlq_reason", "Why the message could not be processed"), ("dlq_topic", "Where it came from"),
        ("dlq_partition", "Its partition there"), ("dlq_offset", "Its offset there"),
        ("dlq_group", "The consumer group that gave up on it"))},
}


def _envelope_of(model: str, types: list[str]) -> dict[str, Any]:
    """The envelope schema narrowed to these event types with `data` of this payload model."""
    return {"allOf": [
        {"$ref": REF.format(model="Envelope")},
        {"type": "object", "properties": {
            "type": {"enum": [str(t) for t in types]},
            "dataschema": {"enum": [dataschema(str(t)) for t in types]},
            "data": {"$ref": REF.format(model=model)},
        }},
    ]}


def asyncapi(prefix: str = "caseroute.") -> dict[str, Any]:
    """The AsyncAPI 3.0 document for topics under this prefix."""
    models: list[type[BaseModel]] = [Envelope, HotlineCall, *(model for _, model, _ in MESSAGES.values())]
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas: dict[str, Any] = dict(sorted(defs.get("$defs", {}).items()))
    messages: dict[str, Any] = {}
    for message_id, (types, model, summary) in MESSAGES.items():
        messages[message_id] = {"name": message_id, "title": ", ".join(str(t) for t in types), "summary": summary,
                                "contentType": CLOUDEVENTS_JSON,
                                "headers": INBOUND_HEADERS if model is DepartmentReply else HEADERS,
                                "payload": _envelope_of(model.__name__, types)}
    messages["hotlineCall"] = {"name": "hotlineCall", "title": "hotline call", "contentType": "application/json",
                               "summary": "A hotline call, as the hotline system publishes it.",
                               "payload": {"oneOf": [{"$ref": REF.format(model="HotlineCall")},
                                                     _envelope_of("HotlineCall", ["caseroute.hotline.call"])]}}
    messages["deadLetter"] = {"name": "deadLetter", "title": "dead letter", "headers": DLQ_HEADERS,
                              "summary": "The original message, byte for byte.", "payload": {}}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel_id, (address, message_ids, producer, consumers, description) in CHANNELS.items():
        channel: dict[str, Any] = {
            "address": prefix + address, "description": f"{description} Producer: {producer}. Consumers: {consumers}.",
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in message_ids}}
        if "{department}" in address:
            channel["parameters"] = {"department": {"description": "Department code of the catalogue, e.g. amr"}}
        if "{topic}" in address:
            channel["address"] = "{topic}.dlq"
            channel["parameters"] = {"topic": {"description": "The full name of the topic the message came from"}}
        channels[channel_id] = channel
        refs = [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in message_ids]
        for action, who in (("send", producer), ("receive", consumers)):
            operations[f"{action}{channel_id[0].upper()}{channel_id[1:]}"] = {
                "action": action, "channel": {"$ref": f"#/channels/{channel_id}"}, "summary": who, "messages": refs}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "caseroute events", "version": "2",
                 "description": "Every topic of caseroute. Each message is one CloudEvents 1.0 event in the Kafka "
                                "protocol binding's structured content mode: the value is the JSON event format and "
                                f"the `{CONTENT_TYPE_HEADER}` header is `{CLOUDEVENTS_JSON}`; no header starts with "
                                "`ce_`, so any CloudEvents SDK reads the message as structured. The trace context is "
                                "the distributed-tracing extension (`traceparent`, `tracestate` string attributes); "
                                "every attribute value is a string. The key is the case id, so one case's events "
                                "stay in order. Delivery is at least once: deduplicate on the event id (the "
                                f"`{EVENT_ID_HEADER}` header repeats it). On input the binary mode is read too "
                                "(attributes in `ce_` headers, JSON data as the value), and any valid CloudEvent is "
                                "taken: `dataschema` is optional (the `type` names the payload and its version; a "
                                "`dataschema` given must be the type's), extension attributes are allowed; one "
                                "without `id`, `source`, `type` or `specversion` is dead-lettered. Generated by "
                                "`caseroute docs export`."},
        "defaultContentType": CLOUDEVENTS_JSON,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
