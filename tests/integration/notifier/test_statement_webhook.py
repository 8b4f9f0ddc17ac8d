"""The monthly statement reaches safety-office's webhook through Kafka (issue 15 §5): the tracker's monthly job
and outbox on PostgreSQL, statements.v1 on Kafka, the notifier's delivery, signed, once; a department's catch-all
subscription does not get it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.integration.harness import running
from tests.integration.notifier.receiver import Receiver
from tests.integration.notifier.support import AUTH, InProcessNotifier, eventually, notifier_settings
from tests.support.service_apps import tracker

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(120)]
SECRET = "whsec_statement-secret-0123456789"


async def test_the_monthly_statement_goes_to_safety_offices_webhook_once(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = notifier_settings(kafka_bootstrap, topic_prefix, fresh_postgres).model_copy(update={
        "statement_check_s": 0.3, "sla_scan_s": 3600.0, "figures_refresh_s": 3600.0})
    office, department = Receiver(SECRET), Receiver(SECRET)
    await office.start()
    await department.start()
    try:
        async with InProcessNotifier(settings) as notifier, httpx.AsyncClient(base_url=notifier.url) as client:
            for kind, owner, url, types in (("supervisor", "safety-office", office.url, ["report.monthly"]),
                                            ("department", "amr", department.url, ["*"])):
                answer = await client.post("/v1/subscriptions", headers=AUTH, json={
                    "kind": kind, "owner": owner, "url": url, "secret": SECRET, "event_types": types})
                assert answer.status_code == 201, answer.text
            async with running(settings, [tracker]):  # its first look produces last month's statement
                await eventually(lambda: len(office.accepted) >= 1, 60)
                await asyncio.sleep(1.5)  # several more looks of the job: nothing more to send
    finally:
        await office.stop()
        await department.stop()
    (delivered,) = office.accepted
    event = delivered["envelope"]
    assert event["type"] == "caseroute.statement.monthly" and event["subject"].startswith("statement-")
    data = event["data"]
    assert data["to"] == "safety-office" and set(data["links"]) == {"json", "xlsx", "pdf"}
    assert data["links"]["xlsx"].endswith(f"/v1/reports/monthly.xlsx?month={data['month']}")
    assert office.bad_signatures == 0 and department.accepted == []
