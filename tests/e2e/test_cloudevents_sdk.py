"""Every topic of a running system, read as an integrator would: a plain aiokafka consumer and the official
CloudEvents Python SDK's Kafka binding (`cloudevents` on PyPI), which must take every message as a CloudEvent.

The four services run as processes on real Kafka and PostgreSQL (as `make stack` runs them). Reports go in, a
department acknowledges one case on its reply topic with an event the SDK itself wrote (structured mode), answers
its feedback through the API, and an admin rolls the catalogue back (a new version on catalogue.v1): then every
topic under the prefix is read from the beginning and each message converted with `from_kafka` (the binding's mode
detection) and `from_structured`; their attributes must be the envelope's.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka, from_structured, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from tests.conftest import dev_reports
from tests.e2e.stack import ServiceProcess, running, wait_status
from tests.support.credentials import OPERATOR, auth_headers

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(240)]
ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "dataschema", "traceparent", "tracestate")


async def _every_message(bootstrap: str, prefix: str) -> dict[str, list[Any]]:
    """topic → its records, from the first offset to the end, of every topic under the prefix."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        parts = [TopicPartition(d["topic"], p["partition"]) for d in await admin.describe_topics(topics)
                 for p in d["partitions"]]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        records: dict[str, list[Any]] = {t: [] for t in topics}
        todo = {tp for tp in parts if ends[tp] > 0}
        async with asyncio.timeout(30):
            while todo:
                for tp, batch in (await consumer.getmany(*todo, timeout_ms=500)).items():
                    records[tp.topic].extend(batch)
                    if batch[-1].offset + 1 >= ends[tp]:
                        todo.discard(tp)
        return records
    finally:
        await consumer.stop()


async def test_the_official_sdk_takes_every_message_on_every_topic(
        tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CASEROUTE_DATABASE_URL": fresh_postgres,
           "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_KAFKA__PARTITIONS": "2"}
    services = {n: ServiceProcess(n, env, tmp_path / f"{n}.log") for n in ("intake", "router", "tracker", "notifier")}
    with running(list(services.values())):
        await asyncio.gather(*(s.wait_ready() for s in services.values()))
        async with httpx.AsyncClient(base_url=services["intake"].url, headers=OPERATOR, timeout=10) as intake:
            case_ids = [(await intake.post("/v1/reports", json=r)).json()["case_id"] for r in dev_reports()[:4]]
        tracker = httpx.AsyncClient(base_url=services["tracker"].url, headers=OPERATOR, timeout=10)
        cases = {c: await wait_status(tracker, c, {"dispatched", "gap", "duplicate"}) for c in case_ids}
        case_id = next(c for c in case_ids if cases[c]["status"] == "dispatched")
        department = cases[case_id]["department"]

        # The department's system acknowledges on its reply topic with an event the official SDK wrote.
        ack = CloudEvent(attributes={"id": "dept-ack-1", "source": f"urn:{department}:cases",
                                     "type": "caseroute.reply.ack", "subject": case_id, "partitionkey": case_id},
                         data={"case_id": case_id, "department": department, "kind": "ack"})
        written = to_structured(ack, JSONFormat())
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(f"{topic_prefix}replies.{department}.v1", written.value,
                                         key=str(written.key).encode(), headers=list(written.headers.items()))
        finally:
            await producer.stop()
        await wait_status(tracker, case_id, {"acknowledged"})
        answer = await tracker.post(f"/v1/cases/{case_id}/feedback", json={"outcome": "resolved", "text": "已整改"},
                                    headers=auth_headers("department", department))
        assert answer.status_code == 200, answer.text
        await wait_status(tracker, case_id, {"feedback"})
        version = (await tracker.get("/v1/catalogue/versions")).json()[0]["version"]
        rolled = await tracker.post(f"/v1/catalogue/versions/{version}/rollback", json={"reason": "SDK test"},
                                    headers=auth_headers("admin", "tests"))
        assert rolled.status_code == 200, rolled.text
        await tracker.aclose()
        # The rollback commits its row and the outbox relays the event afterwards: read until it is on the topic.
        async with asyncio.timeout(30):
            while not (records := await _every_message(kafka_bootstrap, topic_prefix)).get(
                    f"{topic_prefix}catalogue.v1"):
                await asyncio.sleep(0.5)

    names = {topic.removeprefix(topic_prefix) for topic, found in records.items() if found}
    assert {"reports.v1", "routed.v1", "case-events.v1", "catalogue.v1", f"replies.{department}.v1",
            f"dispatch.{department}.v1"} <= names, names
    assert not [n for n in names if n.endswith(".dlq")], "a consumer refused a message"
    types: set[str] = set()
    for topic, found in records.items():
        for record in found:
            message = KafkaMessage(headers={k: v for k, v in record.headers}, key=record.key, value=record.value)
            raw = orjson.loads(record.value)
            for read in (from_kafka, from_structured):
                event = read(message, JSONFormat(), None)  # raises on anything that is not a valid CloudEvent
                attributes = event.get_attributes()
                assert {a: attributes.get(a) for a in ATTRIBUTES} == {a: raw.get(a) for a in ATTRIBUTES}, topic
                assert event.get_data() == raw["data"], topic
                assert "time" not in raw or event.get_time() == datetime.fromisoformat(raw["time"]), topic
            types.add(event.get_type())
            if record.topic != f"{topic_prefix}replies.{department}.v1":  # ours: what any consumer may rely on
                assert message.headers["content-type"] == b"application/cloudevents+json", topic
                assert message.headers["event_id"] == raw["id"].encode(), topic
                assert isinstance(raw.get("traceparent"), str) and "trace" not in raw, topic
    assert {"caseroute.report.accepted", "caseroute.case.routed", "caseroute.case.dispatched",
            "caseroute.case.changed", "caseroute.case.feedback", "caseroute.reply.ack",
            "caseroute.catalogue.published"} <= types, types
