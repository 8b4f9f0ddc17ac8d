"""Personal data: masking rules, log lines, and retention purging closed cases on a controllable clock."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import select

from intake.bootstrap import build as intake
from intake.store.models import AcceptedReport
from notifier.bootstrap import build as notifier
from router.bootstrap import build as router
from router.store.models import RoutedCase
from services.logctx import JsonFormatter
from services.pii import mask_name, mask_phone_numbers, mask_text, masked_report, purged_report
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tests.support.credentials import OPERATOR, auth_headers
from tests.support.service_apps import tracker
from tracker.store.models import Case

pytestmark = pytest.mark.timeout(90)


def test_masking_keeps_what_identifies_the_problem_not_the_person() -> None:
    assert mask_phone_numbers("回电13812345678或0574-87654321，门牌解放南路123号") == \
        "回电138****5678或0574-****4321，门牌解放南路123号"
    assert mask_name("张三丰") == "张**" and mask_name("Li") == "L*"
    assert mask_text("举报人张三丰说", ["张三丰"]) == "举报人张**说"
    report = {"reporter_name": "王五", "reporter_phone": "+86 139-0000-1111", "description": "王五报：13900001111",
              "title": None}
    masked = masked_report(report)
    assert masked["reporter_name"] == "王*" and masked["reporter_phone"] == "+86 139****1111"
    assert masked["description"] == "王*报：139****1111" and report["reporter_name"] == "王五", "a copy"
    purged = purged_report(report)
    assert purged["reporter_name"] is None and purged["reporter_phone"] is None
    assert "王五" not in purged["description"]


def test_log_lines_never_carry_a_phone_number() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "call from %s", ("13812345678",), None)
    line = orjson.loads(JsonFormatter("t").format(record))
    assert line["message"] == "call from 138****5678"


async def test_retention_purges_personal_fields_of_closed_cases_only(tmp_path: Path) -> None:
    report = {**dev_reports()[0], "external_id": "RET-1", "reporter_name": "张三丰", "reporter_phone": "13812345678"}
    still_open = {**dev_reports()[1], "external_id": "RET-2", "reporter_name": "李四", "reporter_phone": "13900001111"}
    # A retention of two seconds: a closed case loses its reporter's data two seconds after its closing.
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'ret.db'}",
                        kafka=KafkaSettings(bootstrap=None), pii_retention_days=2 / 86400, pii_purge_interval_s=0.2)
    async with running(settings, [intake, router, tracker, notifier]) as app:
        db = app.state.runtime.db
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers=OPERATOR) as client:
            closed_id = (await client.post("/v1/reports", json=report)).json()["case_id"]
            open_id = (await client.post("/v1/reports", json=still_open)).json()["case_id"]
            case = await _wait(client, closed_id, "dispatched")
            await _wait(client, open_id, "dispatched")
            department = auth_headers("department", case["department"])
            for step, body in (("ack", {}), ("feedback", {"outcome": "resolved"})):
                answer = await client.post(f"/v1/cases/{closed_id}/{step}", json=body, headers=department)
                assert answer.status_code == 200, answer.text
            assert (await client.post(f"/v1/cases/{closed_id}/close")).status_code == 200
            async with asyncio.timeout(20):
                while (await client.get(f"/v1/cases/{closed_id}")).json()["report"]["reporter_name"] is not None:
                    await asyncio.sleep(0.1)
            closed = (await client.get(f"/v1/cases/{closed_id}")).json()
            opened = (await client.get(f"/v1/cases/{open_id}")).json()
        async with asyncio.timeout(20):  # the router's copy goes once its case is closed and old enough
            while True:
                async with db.sessions() as session:
                    routed = await session.get(RoutedCase, closed_id)
                if routed is not None and routed.report["reporter_phone"] is None:
                    break
                await asyncio.sleep(0.1)
        async with db.sessions() as session:
            kept_by_router = await session.get(RoutedCase, open_id)
            tracker_rows = {r.case_id: r.report for r in (await session.execute(select(Case))).scalars()}
            # Intake's copy (kept to deduplicate resubmissions) counts from acceptance, open case or not.
            purged_intake = [r.report for r in (await session.execute(select(AcceptedReport))).scalars()]
    assert closed["report"]["reporter_name"] is None and closed["report"]["reporter_phone"] is None
    assert "13812345678" not in str(tracker_rows[closed_id])
    assert closed["report"]["title"] == report["title"], "the rest of the case stays"
    assert opened["report"]["reporter_name"] == "李四", "an open case keeps its reporter"
    assert kept_by_router is not None and kept_by_router.report["reporter_name"] == "李四"
    assert all(r["reporter_name"] is None and r["reporter_phone"] is None for r in purged_intake)


async def _wait(client: httpx.AsyncClient, case_id: str, status: str) -> dict:  # type: ignore[type-arg]
    async with asyncio.timeout(30):
        while (answer := await client.get(f"/v1/cases/{case_id}")).status_code != 200 \
                or answer.json()["status"] != status:
            await asyncio.sleep(0.05)
    return answer.json()  # type: ignore[no-any-return]
