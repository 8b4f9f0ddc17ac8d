"""Embedded smoke test: `caseroute run --embedded` alone answers a report and shows the case."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.conftest import dev_reports
from tests.e2e.stack import ServiceProcess, running
from tests.support.credentials import OPERATOR

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_embedded_mode_accepts_a_report_and_shows_the_dispatched_case(tmp_path: Path) -> None:
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": "", "CASEROUTE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"}
    app = ServiceProcess("embedded", env, tmp_path / "embedded.log", args=["run", "--embedded"])
    with running([app]):
        await app.wait_ready()
        async with httpx.AsyncClient(base_url=app.url, headers=OPERATOR, timeout=10) as client:
            answer = await client.post("/v1/reports", json=dev_reports()[0])
            assert answer.status_code == 202
            body = answer.json()
            assert body["status_url"].endswith(f"/v1/cases/{body['case_id']}")
            async with asyncio.timeout(30):
                while (case := await client.get(f"/v1/cases/{body['case_id']}")).status_code != 200 or \
                        case.json()["status"] == "received":
                    await asyncio.sleep(0.2)
            assert case.json()["status"] in ("dispatched", "gap")
            bad = await client.post("/v1/reports", json={"external_id": "x", "source": "grid",
                                                         "reported_at": "2026-01-01T08:00:00+08:00"})
            assert bad.status_code == 422
            assert bad.headers["content-type"] == "application/problem+json"
            assert "title or a description" in bad.json()["detail"]
            metrics = await client.get("/metrics")
            assert "outbox_published_total" in metrics.text
