"""Open311 on real Kafka and PostgreSQL, split as deployed: intake takes the POST, the tracker answers the reads.

Intake and the router+tracker run as two apps (two processes' worth) on one broker and database: what a gateway
in front of them joins by method. The tracker's filters run as PostgreSQL SQL here (the service code is read
from the JSONB report), not SQLite's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from intake.bootstrap import build as intake
from router.bootstrap import build as router
from tests.conftest import kafka_settings
from tests.integration.harness import running
from tests.support.credentials import auth_headers, credential_for
from tests.support.service_apps import tracker

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(150)]

V2 = "/open311/v2"
FORM = {"service_code": "sanitation", "address_string": "解放南路12号", "lat": "29.8683", "long": "121.544",
        "description": "垃圾桶满了三天没人清运，臭气熏天。"}


async def test_intake_posts_and_the_tracker_reads_on_postgres(kafka_bootstrap: str, fresh_postgres: str,
                                                               topic_prefix: str) -> None:
    settings = kafka_settings(kafka_bootstrap, topic_prefix, fresh_postgres)
    async with running(settings, [intake]) as intake_app, running(settings, [router, tracker]) as tracker_app, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=intake_app), base_url="http://intake") as posts, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=tracker_app), base_url="http://tracker") as reads:
        assert (await reads.post(f"{V2}/requests.json", data=FORM)).status_code in (404, 405), \
            "the tracker takes no POST: the gateway sends it to intake"
        assert (await posts.get(f"{V2}/services.json")).status_code in (404, 405), "intake serves no reads"

        key = credential_for("public", "civic-app")
        first = (await posts.post(f"{V2}/requests.json", data={"api_key": key, **FORM})).json()[0]
        noise = {**FORM, "service_code": "pollution", "description": "工厂半夜机器轰鸣，噪声扰民。"}
        other = (await posts.post(f"{V2}/requests.json", data={"api_key": key, **noise})).json()[0]
        ids = {first["service_request_id"], other["service_request_id"]}

        async def listed(**params: str) -> list[dict[str, Any]]:
            answer = await reads.get(f"{V2}/requests.json", params=params)
            assert answer.status_code == 200, answer.text
            return list(answer.json())

        async with asyncio.timeout(60):
            while {r["service_request_id"] for r in await listed()} != ids:
                await asyncio.sleep(0.2)
        (sanitation,) = await listed(service_code="sanitation")
        assert sanitation["service_request_id"] == first["service_request_id"]
        assert sanitation["agency_responsible"] == "区综合行政执法局" and sanitation["status"] == "open"
        assert {r["service_code"] for r in await listed(service_code="sanitation,pollution")} == \
            {"sanitation", "pollution"}
        assert await listed(status="closed") == []
        assert await listed(end_date="2026-01-01T00:00:00+08:00") == []

        ack = await reads.post(f"/v1/cases/{first['service_request_id']}/ack",
                               headers=auth_headers("department", "urban-mgmt"))
        assert ack.status_code == 200, ack.text
        one = (await reads.get(f"{V2}/requests/{first['service_request_id']}.json")).json()[0]
        assert one["status_notes"] == "acknowledged" and one["expected_datetime"].endswith("Z")
