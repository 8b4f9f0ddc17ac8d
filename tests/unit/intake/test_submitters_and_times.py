"""Issue 19 at intake, on the embedded services: each submitter its own dedupe space and its own sources, and
times that name no instant (naive, out of range) refused with a 422 where they come in, not failing later."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from intake.bootstrap import build as intake
from notifier.bootstrap import build as notifier
from router.bootstrap import build as router
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tests.support.credentials import OPERATOR, auth_headers
from tests.support.service_apps import tracker

pytestmark = pytest.mark.timeout(90)

GAS_LEAK = {**dev_reports()[0], "external_id": "G-99", "title": "燃气泄漏",
            "description": "解放南路一家餐馆燃气管道泄漏，气味很重。"}
APP_A, APP_B = auth_headers("grid-app", "app-a"), auth_headers("grid-app", "app-b")


def _settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}", kafka=KafkaSettings(bootstrap=None))


async def _readable(client: httpx.AsyncClient, case_id: str, headers: dict[str, str]) -> httpx.Response:
    """The case as this caller reads it, once the tracker has it (404 until then, or for good if not theirs)."""
    async with asyncio.timeout(30):
        while (answer := await client.get(f"/v1/cases/{case_id}", headers=headers)).status_code == 404:
            await asyncio.sleep(0.05)
    return answer


async def test_another_grid_app_cannot_take_over_or_drop_a_report_by_its_external_id(tmp_path: Path) -> None:
    async with running(_settings(tmp_path), [intake, router, tracker]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            squatted = await client.post("/v1/reports", headers=APP_B, json={**GAS_LEAK, "description": "无事"})
            real = await client.post("/v1/reports", headers=APP_A, json=GAS_LEAK)
            retried = await client.post("/v1/reports", headers=APP_A, json=GAS_LEAK)
            assert (squatted.status_code, real.status_code, retried.status_code) == (202, 202, 202), real.text
            case_id = real.json()["case_id"]
            assert real.json()["duplicate_submission"] is False, "A's gas leak was taken for B's report"
            assert case_id != squatted.json()["case_id"]
            assert (retried.json()["case_id"], retried.json()["duplicate_submission"]) == (case_id, True)
            mine = await _readable(client, case_id, APP_A)
            assert mine.status_code == 200 and mine.json()["report"]["title"] == "燃气泄漏"
            # And B reads only its own.
            assert (await client.get(f"/v1/cases/{case_id}", headers=APP_B)).status_code == 404

            # A grid app cannot claim another source: not the hotline's call ids, not an inspection.
            for source in ("hotline", "inspection", "public"):
                claimed = await client.post("/v1/reports", headers=APP_B,
                                            json={**GAS_LEAK, "external_id": "H-1", "source": source})
                assert claimed.status_code == 403, (source, claimed.text)
                assert claimed.headers["content-type"] == "application/problem+json"
                assert "grid" in claimed.json()["detail"]
            hotline = await client.post("/v1/reports", headers=auth_headers("hotline", "12345"),
                                        json={**GAS_LEAK, "external_id": "H-1", "source": "hotline"})
            inspection = await client.post("/v1/reports", headers=OPERATOR,
                                           json={**GAS_LEAK, "external_id": "I-1", "source": "inspection"})
            assert (hotline.status_code, inspection.status_code) == (202, 202)
            assert hotline.json()["duplicate_submission"] is False


BAD_TIMES = {
    "naive": "2026-01-05T14:06:00",
    "before year 1 in UTC": "0001-01-01T00:00:00+14:00",
    "past year 9999 in UTC": "9999-12-31T23:59:59-14:00",
    "far future": "3000-01-01T00:00:00+08:00",
    "before 1970": "1900-01-01T00:00:00+08:00",
}


async def test_times_naming_no_instant_are_refused_where_they_come_in(tmp_path: Path) -> None:
    admin = auth_headers("admin", "root")
    async with running(_settings(tmp_path), [intake, router, tracker, notifier]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            for what, value in BAD_TIMES.items():
                posted = await client.post("/v1/reports", headers=APP_A,
                                           json={**GAS_LEAK, "external_id": f"T-{what}", "reported_at": value})
                assert posted.status_code == 422, (what, posted.status_code, posted.text)
                assert posted.headers["content-type"] == "application/problem+json"
                assert "reported_at" in posted.text, posted.text
                listed = await client.get("/v1/cases", headers=OPERATOR, params={"since": value})
                assert listed.status_code == 422, (what, listed.status_code, listed.text)
                assert listed.headers["content-type"] == "application/problem+json"
            fine = await client.post("/v1/reports", headers=APP_A, json=GAS_LEAK)
            assert fine.status_code == 202
            listed = await client.get("/v1/cases", headers=OPERATOR, params={"since": "2026-01-01T00:00:00+08:00"})
            assert listed.status_code == 200
            # An SSE position past what the table can hold is refused, not a stream that dies on its query.
            for huge in (str(2**63), "9" * 40):
                answer = await client.get("/v1/stream", headers=admin, params={"since": huge})
                assert answer.status_code == 422, (huge, answer.status_code)
                answer = await client.get("/v1/stream", headers={**admin, "Last-Event-ID": huge})
                assert answer.status_code == 400, (huge, answer.status_code)
