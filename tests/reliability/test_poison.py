"""Poison on every consumed topic goes to `<topic>.dlq` with the reason, and the consumers move on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from intake.bootstrap import build as intake
from notifier.bootstrap import build as notifier
from router.bootstrap import build as router
from schemas.events import DepartmentReply, EventType
from services.envelopes import envelope
from tests.conftest import dev_reports, kafka_settings
from tests.integration.harness import TopicReader, running
from tests.reliability.load import tracker_cases, wait_cases
from tests.support.credentials import OPERATOR, auth_headers
from tests.support.service_apps import tracker

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(180)]
# Topic → how many consumer groups read it (each parks its own copy of a poison message, named in dlq_group).
GROUPS = {"reports.v1": 1, "routed.v1": 2, "replies.amr.v1": 1, "case-events.v1": 2, "hotline.calls.v1": 1,
          "dispatch.amr.v1": 1, "catalogue.v1": 2}  # catalogue.v1: every router replica, and the tracker (history)
TOPICS = tuple(GROUPS)
BIG = 3 * 1024 * 1024  # topics and our producer take up to 3 MiB, so an over-1-MiB message reaches the consumers


def _poison(topic: str) -> dict[str, bytes]:
    """Reason prefix → message: not JSON, a payload version nobody was written for, and over 1 MiB."""
    short = topic.split(".")[0]
    v2 = {"specversion": "1.0", "id": f"v2-{short}", "source": "test", "type": f"caseroute.{short}",
          "subject": "C-POISON", "dataschema": f"urn:caseroute:schema:caseroute.{short}:v2", "data": {}}
    return {"not JSON": b"\xff{not json", "unsupported dataschema": orjson.dumps(v2),
            "oversized": b'{"pad":"' + b"x" * (1024 * 1024 + 10) + b'"}'}


async def _create_topics(bootstrap: str, prefix: str) -> None:
    """Topics made before the services start, with room for the oversized message (the services find them)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        big = {"max.message.bytes": str(BIG)}
        await admin.create_topics([
            NewTopic(prefix + t, 1 if t == "catalogue.v1" else 2, 1,
                     topic_configs={**big, "cleanup.policy": "compact"} if t == "catalogue.v1" else big)
            for t in TOPICS])
    finally:
        await admin.close()


async def test_poison_on_every_topic_is_dead_lettered_and_good_messages_still_flow(
        tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    await _create_topics(kafka_bootstrap, topic_prefix)
    settings = kafka_settings(kafka_bootstrap, topic_prefix, fresh_postgres, consumer_retries=1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, max_request_size=BIG, acks="all")
    await producer.start()
    sent = 0
    try:
        for topic in TOPICS:
            for value in _poison(topic).values():
                await producer.send_and_wait(topic_prefix + topic, value, key=b"C-POISON")
                sent += 1
        async with running(settings, [intake, router, tracker, notifier]) as app:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=OPERATOR,
                                       timeout=30)
            # The notifier reads a department's topic only while a subscription hears its dispatches (issue 17):
            # this one makes it read dispatch.amr.v1, from a minute before it was made, poison included.
            subscribed = await client.post("/v1/subscriptions", headers=auth_headers("admin", "tests"), json={
                "kind": "department", "owner": "amr", "url": "http://127.0.0.1:9/hook", "event_types": ["dispatch.*"]})
            assert subscribed.status_code == 201, subscribed.text
            # Good messages after the poison: a report by HTTP and a hotline call on the topic.
            accepted = await client.post("/v1/reports", json={**dev_reports()[0], "external_id": "POISON-GOOD"})
            assert accepted.status_code == 202
            call = {"call_id": "POISON-CALL", "time": datetime.now(UTC).isoformat(),
                    "transcript": "解放南路一家铝合金门窗店未办理营业执照。", "address": "解放南路"}
            await producer.send_and_wait(topic_prefix + "hotline.calls.v1", orjson.dumps(call), key=b"POISON-CALL")
            case_id = accepted.json()["case_id"]
            async with asyncio.timeout(60):
                while len(await tracker_cases(fresh_postgres)) < 2:
                    await asyncio.sleep(0.5)
            cases = await wait_cases(fresh_postgres, {case_id}, timeout=60)
            case = (await client.get(f"/v1/cases/{case_id}")).json()
            department = case["department"]
            assert department == "amr", "the poisoned reply topic must be the holder's"
            # On the holder's reply topic, a reply naming another department is refused (DLQ); the holder's
            # own ack then lands.
            for who in ("not-the-holder", department):
                reply = DepartmentReply(case_id=case_id, department=who, kind="ack")
                event = envelope(source=f"dept/{who}", event_type=EventType.reply_ack, subject=case_id,
                                 payload=reply)
                await producer.send_and_wait(topic_prefix + "replies.amr.v1", event.to_bytes(),
                                             key=case_id.encode())
            async with asyncio.timeout(60):
                while (await client.get(f"/v1/cases/{case_id}")).json()["status"] != "acknowledged":
                    await asyncio.sleep(0.5)
            dlq_pattern = topic_prefix.replace(".", "[.]") + r".*[.]dlq"
            async with TopicReader(kafka_bootstrap, pattern=dlq_pattern) as reader:
                expected = sum(GROUPS[t] * len(_poison(t)) for t in TOPICS) + 1
                parked = await reader.until(lambda ms: len(ms) >= expected, timeout=60)
            await client.aclose()
    finally:
        await producer.stop()

    reasons = {(m.header("dlq_topic"), why) for m in parked for why in (*_poison("x"), "refused")
               if (m.header("dlq_reason") or "").startswith(why)}
    print(f"\npoison: {sent} poison + 1 refused reply on {len(TOPICS)} topics, {len(parked)} dead-lettered, "
          f"cases {sorted(cases.values())}")
    for topic in TOPICS:
        for reason in _poison(topic):
            assert (topic_prefix + topic, reason) in reasons, f"{topic}: {reason} not dead-lettered ({reasons})"
    assert (topic_prefix + "replies.amr.v1", "refused") in reasons
    assert all(m.topic == f"{m.header('dlq_topic')}.dlq" for m in parked)
    assert all(len(m.value) <= 1024 * 1024 for m in parked), "a dead letter must fit the bus"
    per_group = {(m.header("dlq_group"), m.header("dlq_topic"), m.header("dlq_partition"), m.header("dlq_offset"))
                 for m in parked}
    assert len(per_group) == len(parked) == expected, "a poison message was dead-lettered twice by one group"
