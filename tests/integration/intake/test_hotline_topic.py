"""Intake's second entrance on real Kafka and PostgreSQL: hotline calls become reports, once each."""

from __future__ import annotations

import orjson
import pytest

from intake import bootstrap as intake_service
from schemas.envelope import Envelope
from schemas.events import ReportAccepted
from services.bus.base import OutgoingMessage
from services.bus.kafka import KafkaBus
from services.settings import KafkaSettings
from tests.conftest import kafka_settings
from tests.integration.harness import TopicReader, running

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(120)]

CALL = {"call_id": "H-20260105-0001", "time": "2026-01-05T09:12:00+08:00",
        "transcript": "喂，我要反映一下，我们小区3号楼楼道里天天有人给电瓶车充电，电线从窗户拉下来，太危险了。",
        "caller_number": "13800138000", "address": "海曙区南门街道紫来社区3号楼"}


async def test_hotline_calls_become_reports_once_and_bad_calls_are_dead_lettered(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = kafka_settings(kafka_bootstrap, topic_prefix, fresh_postgres)
    bus = KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap))
    calls = settings.topic("hotline.calls.v1")
    async with running(settings, [intake_service.build]), \
            TopicReader(kafka_bootstrap, [settings.topic("reports.v1"), f"{calls}.dlq"]) as reader:
        producer = bus.producer()
        try:
            await producer.send_batch([
                OutgoingMessage(calls, CALL["call_id"], orjson.dumps(CALL)),
                OutgoingMessage(calls, CALL["call_id"], orjson.dumps(CALL)),  # the hotline system retried
                OutgoingMessage(calls, "bad-1", b"\xff\xfe not json"),
                OutgoingMessage(calls, "bad-2", orjson.dumps({"call_id": "x", "transcript": ""})),
            ])
        finally:
            await producer.stop()
        messages = await reader.until(lambda ms: len([m for m in ms if m.topic.endswith(".dlq")]) == 2
                                      and any(m.topic.endswith("reports.v1") for m in ms))
    reports = [ReportAccepted.model_validate(Envelope.from_bytes(m.value).data)
               for m in messages if m.topic.endswith("reports.v1")]
    assert len(reports) == 1, "the same call id twice is one case"
    report = reports[0].report
    assert (report.source.value, report.external_id) == ("hotline", CALL["call_id"])
    assert report.description == CALL["transcript"] and report.location.address == CALL["address"]
    reasons = sorted((m.header("dlq_reason") or "").split(":")[0] for m in messages if m.topic.endswith(".dlq"))
    assert reasons == ["not JSON", "not a hotline call"]
