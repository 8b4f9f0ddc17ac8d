"""A department answers only for itself over Kafka: the tracker takes the department from the reply topic.

The tracker runs on real Kafka and PostgreSQL; cases arrive as routed.v1 events, replies as a department's
system would send them (any CloudEvents 1.0 envelope, `dataschema` optional).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.decision import Decision, DecisionStatus
from schemas.events import CaseRouted, DepartmentReply, EventType
from schemas.report import Hazard, Report
from services.bus.base import Message, OutgoingMessage
from services.bus.kafka import KafkaBus
from services.envelopes import envelope, headers_for
from tests.conftest import dev_reports, kafka_settings
from tests.integration.harness import TopicReader, running
from tests.support.credentials import OPERATOR
from tests.support.service_apps import tracker

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(150)]
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def routed(case_id: str, department: str, unit: str) -> OutgoingMessage:
    decision = Decision(external_id=case_id, status=DecisionStatus.routed, rule="R9", primary=department,
                        feedback_to=[f"street-{unit}"], deadline_days=20, ack_hours=24, hazard=Hazard.none, unit=unit,
                        confidence=0.9,
                        catalogue_version="test")
    payload = CaseRouted(case_id=case_id, decision=decision, report=Report.model_validate(dev_reports()[0]))
    event = envelope(source="router", event_type=EventType.case_routed, subject=case_id, payload=payload)
    value = event.to_bytes()
    return OutgoingMessage("", case_id, value, headers_for(event.id, value))


def sdk_style_ack(case_id: str, department: str) -> bytes:
    """A structured-mode CloudEvent as any SDK writes it: no `dataschema`, no `time`, the tracing extension's
    `traceparent` as a top-level attribute and an extension of the department's own."""
    return orjson.dumps({
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": f"urn:{department}:case-system",
        "type": "caseroute.reply.ack", "subject": case_id, "datacontenttype": "application/json",
        "traceparent": TRACEPARENT, "deptbatch": "42",
        "data": {"case_id": case_id, "department": department, "kind": "ack",
                 "at": datetime.now(UTC).isoformat()},
    })


async def test_a_department_answers_only_for_itself_on_its_own_reply_topic(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = kafka_settings(kafka_bootstrap, topic_prefix, fresh_postgres)
    suffix = uuid.uuid4().hex[:6]
    police_case, amr_case = f"C-PD-{suffix}", f"C-AMR-{suffix}"
    # The retired shared topic still exists on an upgraded cluster: what is sent there must not act either.
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(settings.topic("replies.v1"), 1, 1)])
    finally:
        await admin.close()
    bus = KafkaBus(settings.kafka)
    producer = bus.producer()
    try:
        async with running(settings, [tracker]) as app:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=OPERATOR)

            async def status(case_id: str) -> str | None:
                response = await client.get(f"/v1/cases/{case_id}")
                return response.json()["status"] if response.status_code == 200 else None

            async def until(case_id: str, wanted: str) -> None:
                async with asyncio.timeout(60):
                    while await status(case_id) != wanted:
                        await asyncio.sleep(0.2)

            await producer.send_batch([
                OutgoingMessage(settings.topic("routed.v1"), m.key, m.value, m.headers)
                for m in (routed(police_case, "police-duantang", "duantang"), routed(amr_case, "amr", "nanmen"))])
            await until(police_case, "dispatched")
            await until(amr_case, "dispatched")

            # amr's system answers for police-duantang's case on amr's own topic (the only one its ACL allows):
            # the payload and the CloudEvents source both claim police-duantang.
            forged_reply = DepartmentReply(case_id=police_case, department="police-duantang", kind="ack")
            forged = envelope(source="urn:police-duantang:case-system", event_type=EventType.reply_ack,
                              subject=police_case, payload=forged_reply)
            on_retired = envelope(source="urn:amr:case-system", event_type=EventType.reply_ack, subject=amr_case,
                                  payload=DepartmentReply(case_id=amr_case, department="amr", kind="ack"))
            not_a_cloudevent = {"specversion": "1.0", "source": "urn:amr:case-system", "type": "caseroute.reply.ack",
                                "subject": amr_case, "data": {"case_id": amr_case, "department": "amr", "kind": "ack"}}
            await producer.send_batch([
                OutgoingMessage(settings.reply_topic("amr"), police_case, forged.to_bytes()),
                OutgoingMessage(settings.topic("replies.v1"), amr_case, on_retired.to_bytes()),
                OutgoingMessage(settings.reply_topic("amr"), amr_case, orjson.dumps(not_a_cloudevent)),
            ])
            dlq = topic_prefix.replace(".", "[.]") + r"replies[.].*[.]dlq"
            async with TopicReader(kafka_bootstrap, pattern=dlq) as reader:
                parked = await reader.until(lambda ms: len(ms) >= 3, timeout=60)
            reasons = {m.header("dlq_topic"): m.header("dlq_reason") or "" for m in parked}
            forged_reason = next(m.header("dlq_reason") or "" for m in parked if m.key == police_case)
            assert "names department 'police-duantang'" in forged_reason and "amr's topic" in forged_reason
            assert "retired" in reasons[settings.topic("replies.v1")]
            missing_id = [m.header("dlq_reason") for m in parked
                          if m.key == amr_case and m.topic == settings.reply_topic("amr") + ".dlq"]
            assert missing_id == ["not a CloudEvent: missing required attribute id"]
            assert all(isinstance(m, Message) and m.topic == f"{m.header('dlq_topic')}.dlq" for m in parked)
            assert await status(police_case) == "dispatched", "a forged reply acknowledged another's case"
            assert await status(amr_case) == "dispatched"

            # Each department's own reply on its own topic acts, with or without `dataschema`.
            own = envelope(source="urn:amr:case-system", event_type=EventType.reply_ack, subject=amr_case,
                           payload=DepartmentReply(case_id=amr_case, department="amr", kind="ack"))
            await producer.send_batch([
                OutgoingMessage(settings.reply_topic("amr"), amr_case, own.to_bytes()),
                OutgoingMessage(settings.reply_topic("police-duantang"), police_case,
                                sdk_style_ack(police_case, "police-duantang")),
            ])
            await until(police_case, "acknowledged")
            await until(amr_case, "acknowledged")
            timeline = (await client.get(f"/v1/cases/{police_case}")).json()
            assert "department:police-duantang" in orjson.dumps(timeline).decode()
            await client.aclose()
    finally:
        await producer.stop()
