"""Open311 GeoReport v2 with a client nobody here wrote: `georeport` (PyPI) against `caseroute run --embedded`.

georeport lists the services and reads a request; it does not post, so the POST is made exactly as the GeoReport
v2 text defines it: form-encoded, with `api_key` (a real API key of role public, made by `caseroute keys create`)
among the fields. The request is then read with georeport, in JSON and in XML, as the case moves through the
tracker: dispatched → acknowledged → feedback → closed, driven by the departments' reply API.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from georeport import GeoReport

from catalogue.loader import load_catalogue
from tests.e2e.stack import CASEROUTE, REPO, ServiceProcess, running
from tests.support.credentials import OPERATOR, auth_headers

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

FORM = {"jurisdiction_id": "haishu", "service_code": "sanitation", "lat": "29.8683", "long": "121.5440",
        "address_string": "解放南路12号", "description": "解放南路12号门口的垃圾桶满了三天没人清运，臭气熏天。",
        "first_name": "三丰", "last_name": "张", "phone": "13812345678", "email": "zsf@example.com",
        "media_url": "https://img.example.org/bin.jpg"}


def _public_key(env: dict[str, str]) -> str:
    """A real API key of role public, as an operator of the deployment would make one for a civic app."""
    made = subprocess.run([*CASEROUTE, "keys", "create", "--role", "public", "--name", "civic-app"], cwd=REPO,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True)
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("crk_"), made.stdout
    return key


async def _read(client: GeoReport, request_id: str, until: str) -> dict[str, Any]:
    """georeport's read of the request, once its status notes say `until` (the tracker moves asynchronously)."""
    async with asyncio.timeout(30):
        while True:
            try:
                request: dict[str, Any] = await asyncio.to_thread(client.get_service_request, request_id)
            except Exception as exc:  # requests.HTTPError: 404 until the case is routed
                if "404" not in str(exc):
                    raise
            else:
                if request["status_notes"] == until:
                    return request
            await asyncio.sleep(0.2)


async def test_georeport_lists_services_and_follows_a_form_posted_request(tmp_path: Path) -> None:
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": "", "CASEROUTE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'o.db'}"}
    app = ServiceProcess("embedded", env, tmp_path / "embedded.log", args=["run", "--embedded"])
    with running([app]):
        await app.wait_ready()
        root = f"{app.url}/open311/v2"
        json_client, xml_client = (GeoReport(root, jurisdiction="haishu", output_format=fmt) for fmt in ("json", "xml"))

        cat = load_catalogue(None)
        services = await asyncio.to_thread(json_client.get_service_list)
        assert {s["service_code"] for s in services} == set(cat.matters) | set(cat.industries)
        by_code = {s["service_code"]: s for s in await asyncio.to_thread(xml_client.get_service_list)}
        assert by_code["sanitation"]["service_name"] == "环境卫生" and by_code["sanitation"]["metadata"] == "false"
        definition = await asyncio.to_thread(json_client.get_service_definition, "sanitation")
        assert definition == {"service_code": "sanitation", "attributes": []}

        key = await asyncio.to_thread(_public_key, env)
        async with httpx.AsyncClient(base_url=app.url, timeout=10) as http:
            # GeoReport v2 POST Service Request: application/x-www-form-urlencoded, api_key a field like the others.
            posted = await http.post("/open311/v2/requests.json", data={"api_key": key, **FORM})
            assert posted.status_code == 201, posted.text
            assert posted.request.headers["content-type"] == "application/x-www-form-urlencoded"
            ((request_id, notice, account),) = [(r["service_request_id"], r["service_notice"], r["account_id"])
                                                for r in posted.json()]
            assert notice and account is None

            dispatched = await _read(json_client, request_id, "dispatched")
            assert dispatched["status"] == "open"
            assert dispatched["agency_responsible"] == cat.departments["urban-mgmt"].name
            assert dispatched["service_code"] == "sanitation" and dispatched["expected_datetime"].endswith("Z")
            assert (dispatched["lat"], dispatched["long"], dispatched["address"]) == (29.8683, 121.544, "解放南路12号")
            case = (await http.get(f"/v1/cases/{request_id}", headers=OPERATOR)).json()
            assert case["source"] == "public" and case["report"]["reporter_email"] == "zsf@example.com"

            department = auth_headers("department", case["department"])
            acked = await http.post(f"/v1/cases/{request_id}/ack", headers=department, json={"text": "收到"})
            assert acked.status_code == 200, acked.text
            acknowledged = await _read(xml_client, request_id, "acknowledged")
            assert acknowledged["status"] == "open" and acknowledged["service_request_id"] == request_id
            assert acknowledged["agency_responsible"] == dispatched["agency_responsible"]

            answered = await http.post(f"/v1/cases/{request_id}/feedback", headers=department,
                                       json={"outcome": "resolved", "text": "已清运"})
            assert answered.status_code == 200, answered.text
            assert (await _read(json_client, request_id, "feedback"))["status"] == "open"

            closer = auth_headers("department", f"street-{case['unit']}") if case["unit"] else OPERATOR
            assert (await http.post(f"/v1/cases/{request_id}/close", headers=closer)).status_code == 200
            closed = await _read(json_client, request_id, "closed")
            assert closed["status"] == "closed" and closed["updated_datetime"] >= dispatched["updated_datetime"]
            listed = await asyncio.to_thread(json_client.get_service_requests, status="closed",
                                             service_code="sanitation")
            assert [r["service_request_id"] for r in listed] == [request_id]
            assert (await asyncio.to_thread(json_client.get_service_requests, status="open")) == []
