"""Open311 GeoReport v2 over intake, router and tracker in one process: what an Open311 client sees.

The reads in both formats, a form-encoded POST through the normal intake path (dedupe, validation, masking),
errors as the spec's error list (problem+json elsewhere), only public requests shown, reads rate-limited.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalogue.loader import load_catalogue
from intake.bootstrap import build as intake
from router.bootstrap import build as router
from services.auth import keys
from services.principal import Caller
from services.settings import AuthSettings, KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tests.support.credentials import OPERATOR, auth_headers, credential_for
from tests.support.service_apps import tracker

pytestmark = pytest.mark.timeout(90)

V2 = "/open311/v2"
PHONE, EMAIL = "13812345678", "zhang.sanfeng@example.com"
FORM = {"service_code": "sanitation", "lat": "29.8683", "long": "121.5440", "address_string": "解放南路12号",
        "description": f"垃圾桶满了三天没人清运，臭气熏天。我的电话{PHONE}", "first_name": "三丰", "last_name": "张",
        "phone": PHONE, "email": EMAIL, "media_url": "https://img.example.org/bin.jpg"}
ADMIN = Caller("admin", "tests")


def _settings(tmp_path: Path, **auth: Any) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'o311.db'}", kafka=KafkaSettings(bootstrap=None),
                    **({"auth": AuthSettings(**auth)} if auth else {}))


async def _routed(client: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while (answer := await client.get(f"{V2}/requests/{request_id}.json")).status_code != 200:
            assert answer.status_code == 404, answer.text
            await asyncio.sleep(0.05)
    (request,) = answer.json()
    return dict(request)


async def test_services_and_definitions_in_json_and_xml(tmp_path: Path) -> None:
    cat = load_catalogue(None)
    async with running(_settings(tmp_path), [intake, router, tracker]) as app, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        listed = await client.get(f"{V2}/services.json")
        assert listed.status_code == 200 and listed.headers["content-type"].startswith("application/json")
        services = {s["service_code"]: s for s in listed.json()}
        assert set(services) == set(cat.matters) | set(cat.industries)
        assert services["sanitation"] == {
            "service_code": "sanitation", "service_name": "环境卫生", "description": "环境卫生：区综合行政执法局",
            "metadata": False, "type": "realtime", "keywords": services["sanitation"]["keywords"], "group": "matter"}
        assert services["catering"]["service_name"] == "餐饮" and services["catering"]["group"] == "industry"

        as_xml = await client.get(f"{V2}/services.xml", params={"jurisdiction_id": "haishu"})
        assert as_xml.headers["content-type"].startswith("text/xml")
        assert as_xml.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
        root = ET.fromstring(as_xml.content)
        assert root.tag == "services" and len(root.findall("service")) == len(services)
        first = root.find("service")
        assert first is not None and first.findtext("metadata") == "false" and first.findtext("type") == "realtime"

        definition = await client.get(f"{V2}/services/sanitation.json")
        assert definition.json() == {"service_code": "sanitation", "attributes": []}
        definition_xml = ET.fromstring((await client.get(f"{V2}/services/catering.xml")).content)
        assert definition_xml.tag == "service_definition" and definition_xml.findtext("service_code") == "catering"

        unknown = await client.get(f"{V2}/services/pothole.json")
        assert unknown.status_code == 404
        assert unknown.json() == [{"code": 404, "description": "service_code 'pothole' not found"}]
        elsewhere = await client.get(f"{V2}/services.xml", params={"jurisdiction_id": "chicago"})
        assert elsewhere.status_code == 404
        error = ET.fromstring(elsewhere.content).find("error")
        assert error is not None and error.findtext("code") == "404" and "chicago" in str(error.findtext("description"))
        assert (await client.get(f"{V2}/services.csv")).json()[0]["code"] == 404


async def test_a_form_encoded_post_is_a_public_report_through_intake(tmp_path: Path) -> None:
    async with running(_settings(tmp_path), [intake, router, tracker]) as app, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        key = await keys.create_key(app.state.runtime.db, role="public", name="civic-app", by=ADMIN)
        posted = await client.post(f"{V2}/requests.json", data={"api_key": key.secret, **FORM,
                                                                  "jurisdiction_id": "haishu", "account_id": "u-7"})
        assert posted.status_code == 201, posted.text
        assert posted.headers["content-type"].startswith("application/json")
        (answer,) = posted.json()
        assert set(answer) == {"service_request_id", "service_notice", "account_id"}
        assert answer["account_id"] == "u-7" and answer["service_notice"]
        request_id = answer["service_request_id"]
        assert posted.headers["location"].endswith(f"{V2}/requests/{request_id}.json")

        # A client that lost the answer and posts the same form again gets the same request, not a second case.
        again = await client.post(f"{V2}/requests.xml", data={"api_key": key.secret, **FORM})
        assert again.status_code == 200
        assert ET.fromstring(again.content).findtext("request/service_request_id") == request_id

        request = await _routed(client, request_id)
        case = (await client.get(f"/v1/cases/{request_id}", headers=OPERATOR)).json()
        report = case["report"]
        assert case["source"] == "public"
        assert (report["source"], report["category"], report["reporter_name"], report["reporter_phone"],
                report["reporter_email"], report["attachments"]) == \
            ("public", "sanitation", "三丰 张", PHONE, EMAIL, ["https://img.example.org/bin.jpg"])
        assert report["location"] == {"unit": None, "address": "解放南路12号", "grid": None, "lat": 29.8683,
                                      "lon": 121.544}
        assert request["status"] == "open" and request["status_notes"] == case["status"] == "dispatched"
        assert request["service_code"] == "sanitation" and request["service_name"] == "环境卫生"
        assert case["department"] == "urban-mgmt" and request["agency_responsible"] == "区综合行政执法局"
        assert request["expected_datetime"] is not None
        assert request["expected_datetime"].replace("Z", "+00:00")[:19] == case["feedback_due_at"][:19]
        assert (request["address"], request["lat"], request["long"]) == ("解放南路12号", 29.8683, 121.544)
        # Public reads carry no personal data: the number in the text masked, no reporter fields, no links.
        assert PHONE not in str(request) and "138****5678" in request["description"]
        assert request["media_url"] is None and "reporter" not in str(request) and EMAIL not in str(request)

        # The department reads the e-mail masked, like the name and phone.
        seen = (await client.get(f"/v1/cases/{request_id}", headers=auth_headers("department", "urban-mgmt"))).json()
        assert seen["report"]["reporter_email"] == "z************@example.com"
        assert seen["report"]["reporter_phone"] == "138****5678"


async def test_errors_are_the_specs_error_list_with_the_right_status(tmp_path: Path) -> None:
    public = credential_for("public", "civic-app")
    cases: list[tuple[dict[str, str], str, int, str]] = [
        (FORM, "json", 403, "api_key was not provided"),
        ({**FORM, "api_key": "crk_nosuch_secret"}, "xml", 403, "invalid api_key"),
        ({**FORM, "api_key": credential_for("grid-app", "app-a")}, "json", 403, "not grid-app"),
        ({**FORM, "api_key": public, "service_code": ""}, "json", 400, "service_code was not provided"),
        ({**FORM, "api_key": public, "service_code": "pothole"}, "json", 404, "service_code 'pothole' not found"),
        ({**FORM, "api_key": public, "jurisdiction_id": "chicago"}, "xml", 404, "jurisdiction_id 'chicago'"),
        ({"api_key": public, "service_code": "sanitation", "description": "x"}, "json", 400, "a location is required"),
        ({**FORM, "api_key": public, "long": ""}, "json", 400, "lat and long come together"),
        ({**FORM, "api_key": public, "lat": "north"}, "json", 400, "lat must be a decimal number"),
        ({**FORM, "api_key": public, "lat": "91"}, "json", 400, "lat must lie between -90 and 90"),
        ({**FORM, "api_key": public, "description": " "}, "json", 400, "description was not provided"),
        ({**FORM, "api_key": public, "media_url": "not a url"}, "xml", 400, "attachments.0"),
        ({**FORM, "api_key": public, "media_url": "http://169.254.169.254/latest/meta-data"}, "json", 400,
         "media_url not allowed"),
        ({**FORM, "api_key": public, "media_url": "http://10.1.2.3/x.jpg"}, "json", 400, "media_url not allowed"),
    ]
    async with running(_settings(tmp_path), [intake, router, tracker]) as app, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        for form, fmt, status, words in cases:
            answer = await client.post(f"{V2}/requests.{fmt}", data=form)
            assert answer.status_code == status, (form, answer.text)
            if fmt == "json":
                assert answer.headers["content-type"].startswith("application/json")
                (error,) = answer.json()
                code, description = error["code"], error["description"]
            else:
                assert answer.headers["content-type"].startswith("text/xml")
                root = ET.fromstring(answer.content)
                assert root.tag == "errors"
                code, description = int(root.findtext("error/code") or 0), root.findtext("error/description")
            assert code == status and words in str(description), (form, answer.text)
        # A public key posts through this door only.
        elsewhere = await client.post("/v1/reports", json={**dev_reports()[0], "source": "public"},
                                      headers=auth_headers("public", "civic-app"))
        assert elsewhere.status_code == 403 and elsewhere.headers["content-type"] == "application/problem+json"
        # Outside the Open311 prefix errors stay problem+json.
        outside = await client.post("/v1/reports", json={"source": "public"}, headers=OPERATOR)
        assert outside.status_code == 422 and outside.headers["content-type"] == "application/problem+json"
        nothing = await client.get(f"{V2}/requests/C20990101-NOPE.xml")
        assert nothing.status_code == 404 and ET.fromstring(nothing.content).findtext("error/code") == "404"


async def test_reads_list_public_requests_only_with_the_specs_filters(tmp_path: Path) -> None:
    async with running(_settings(tmp_path), [intake, router, tracker]) as app, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        grid = await client.post("/v1/reports", json={**dev_reports()[0], "external_id": "G-1"},
                                 headers=auth_headers("grid-app", "app-a"))
        grid_id = grid.json()["case_id"]
        posted = await client.post(f"{V2}/requests.json", data={"api_key": credential_for("public", "c"), **FORM})
        public_id = posted.json()[0]["service_request_id"]
        await _routed(client, public_id)
        async with asyncio.timeout(30):  # the grid case is routed too, and still not shown
            while (await client.get(f"/v1/cases/{grid_id}", headers=OPERATOR)).status_code != 200:
                await asyncio.sleep(0.05)

        def ids(answer: httpx.Response) -> list[str]:
            assert answer.status_code == 200, answer.text
            return [r["service_request_id"] for r in answer.json()]

        assert ids(await client.get(f"{V2}/requests.json")) == [public_id]
        assert ids(await client.get(f"{V2}/requests.json",
                                    params={"service_request_id": f"{grid_id},{public_id}"})) == [public_id]
        assert (await client.get(f"{V2}/requests/{grid_id}.json")).status_code == 404
        assert ids(await client.get(f"{V2}/requests.json", params={"status": "open"})) == [public_id]
        assert ids(await client.get(f"{V2}/requests.json", params={"status": "closed"})) == []
        assert ids(await client.get(f"{V2}/requests.json", params={"service_code": "sanitation,catering"})) \
            == [public_id]
        assert ids(await client.get(f"{V2}/requests.json", params={"service_code": "catering"})) == []
        assert ids(await client.get(f"{V2}/requests.json", params={"start_date": "2020-01-01T00:00:00Z"})) == []
        xml_list = ET.fromstring((await client.get(f"{V2}/requests.xml")).content)
        assert [r.findtext("service_request_id") for r in xml_list.findall("request")] == [public_id]
        for params, words in (({"start_date": "2020-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
                               "at most 90 days"),
                              ({"start_date": "yesterday"}, "w3 datetime"),
                              ({"start_date": "2026-01-01T00:00:00"}, "time zone"),
                              ({"status": "pending"}, "open or closed")):
            refused = await client.get(f"{V2}/requests.json", params=params)
            assert refused.status_code == 400 and words in refused.json()[0]["description"], refused.text


async def test_anonymous_reads_are_rate_limited_per_client(tmp_path: Path) -> None:
    settings = _settings(tmp_path, rate_limits={"public": 1.0, "default": 0.0}, rate_burst_s=1.0)
    async with running(settings, [intake, router, tracker]) as app, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get(f"{V2}/services.json")).status_code == 200
        over = await client.get(f"{V2}/services.xml")
        assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
        assert ET.fromstring(over.content).findtext("error/code") == "429"
