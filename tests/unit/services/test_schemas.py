"""Schemas: reports validate as intake promises, envelopes round-trip, JSON Schema exports."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.envelope import Envelope
from schemas.events import CaseRouted, DepartmentReply, EventType, ReportAccepted
from schemas.registry import json_schemas
from schemas.report import HotlineCall, Report, Source
from services.envelopes import envelope
from tests.conftest import dev_reports


def test_every_dev_report_is_a_valid_report() -> None:
    reports = [Report.model_validate(r) for r in dev_reports()]
    assert len(reports) == 160
    assert {r.source for r in reports} <= set(Source)


def test_report_without_title_or_description_names_the_fields() -> None:
    with pytest.raises(ValidationError, match="title or a description"):
        Report.model_validate({"external_id": "x", "source": "grid", "reported_at": "2026-01-01T08:00:00+08:00"})


def test_unknown_fields_are_refused_not_dropped() -> None:
    with pytest.raises(ValidationError, match="titel"):
        Report.model_validate({"external_id": "x", "source": "grid", "reported_at": "2026-01-01T08:00:00+08:00",
                               "titel": "typo", "description": "d"})


def test_nul_characters_are_refused_where_the_stores_could_not_keep_them() -> None:
    # PostgreSQL refuses U+0000 in text and JSONB: accepting it would turn into a 503 after validation.
    with pytest.raises(ValidationError, match=r"location.address contains a NUL"):
        Report.model_validate({**dev_reports()[0], "location": {"address": "南门\u0000街道"}})
    with pytest.raises(ValidationError, match="NUL"):
        HotlineCall.model_validate({"call_id": "H-1", "time": "2026-01-01T08:00:00+08:00", "transcript": "a\u0000b"})
    with pytest.raises(ValidationError, match="text contains a NUL"):
        DepartmentReply.model_validate({"case_id": "C1", "department": "amr", "kind": "feedback",
                                        "outcome": "resolved", "text": "done\u0000"})
    assert Report.model_validate({**dev_reports()[0], "description": "NUL written out: \\u0000"})


def test_report_round_trips_through_json() -> None:
    report = Report.model_validate(dev_reports()[0])
    assert Report.model_validate_json(report.model_dump_json()) == report


def test_hotline_call_becomes_a_hotline_report() -> None:
    call = HotlineCall(call_id="H-1", time="2026-01-01T08:00:00+08:00", transcript="楼道里有人充电瓶车",
                       caller_number="13800001111", address="南门街道")
    report = call.to_report()
    assert (report.source, report.external_id, report.location.address) == (Source.hotline, "H-1", "南门街道")
    assert report.reporter_phone == "13800001111"


def test_envelope_round_trips_with_cloudevents_attributes() -> None:
    report = Report.model_validate(dev_reports()[0])
    event = envelope(source="caseroute/intake", event_type=EventType.report_accepted, subject="C1",
                     payload=ReportAccepted(case_id="C1", report=report, accepted_at=report.reported_at))
    back = Envelope.from_bytes(event.to_bytes())
    assert back == event
    assert back.specversion == "1.0" and back.subject == "C1"
    assert back.dataschema.endswith("caseroute.report.accepted:v1")
    assert back.trace.traceparent and back.trace.traceparent.startswith("00-")
    assert ReportAccepted.model_validate(back.data).report == report


def test_json_schema_export_covers_every_event() -> None:
    schemas = json_schemas()
    assert {"report", "decision", "envelope", "case-routed", "case-dispatched"} <= set(schemas)
    assert "external_id" in schemas["report"]["properties"]
    assert CaseRouted.model_json_schema()["required"]
