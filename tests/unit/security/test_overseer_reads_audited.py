"""Every tracker path that shows an overseer a reporter's name or phone leaves an audit row: the adjudication
queue and its single case as well as the case read (the probe found the queue unaudited)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from intake.bootstrap import build as intake
from notifier.bootstrap import build as notifier
from router.bootstrap import build as router
from services.settings import KafkaSettings, Settings
from tests.integration.harness import running
from tests.support.credentials import auth_headers
from tests.support.service_apps import tracker
from tracker.store.models import TrackerAudit

pytestmark = pytest.mark.timeout(90)

GAP = {"source": "grid", "reported_at": "2026-01-05T14:06:00+08:00", "location": {"unit": "baiyun"},
       "description": "华兴社区多家商户反映，共享充电宝运营商单方面撤走店内机柜，要求恢复或赔偿。"}
ADJUDICATOR, OPERATOR = auth_headers("adjudicator", "wang"), auth_headers("operator", "li")


async def test_reads_of_the_adjudication_queue_are_audited_per_case_with_personal_data(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}",
                        kafka=KafkaSettings(bootstrap=None))
    async with running(settings, [intake, router, tracker, notifier]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            personal = (await client.post("/v1/reports", headers=OPERATOR, json={
                **GAP, "external_id": "AUD-1", "reporter_name": "钱七", "reporter_phone": "13700001111"})).json()
            plain = (await client.post("/v1/reports", headers=OPERATOR, json={**GAP, "external_id": "AUD-2"})).json()
            async with asyncio.timeout(30):
                while len((await client.get("/v1/adjudications", headers=ADJUDICATOR)).json()) < 2:
                    await asyncio.sleep(0.05)
            async with app.state.runtime.db.sessions() as session:  # the waiting above read the queue too
                await session.execute(TrackerAudit.__table__.delete())
                await session.commit()
            queue = await client.get("/v1/adjudications", headers=OPERATOR)
            assert {i["case_id"] for i in queue.json()} == {personal["case_id"], plain["case_id"]}
            assert (await client.get(f"/v1/adjudications/{personal['case_id']}", headers=ADJUDICATOR)).json()[
                "report"]["reporter_phone"] == "13700001111", "overseers read it whole"
            assert (await client.get(f"/v1/adjudications/{plain['case_id']}", headers=ADJUDICATOR)
                    ).status_code == 200
        async with app.state.runtime.db.sessions() as session:
            rows = (await session.execute(select(TrackerAudit).order_by(TrackerAudit.id))).scalars().all()
    assert [(r.action, r.target, r.actor, r.detail["via"]) for r in rows] == [
        ("case.read_personal", personal["case_id"], "operator:li", "GET /v1/adjudications"),
        ("case.read_personal", personal["case_id"], "adjudicator:wang", "GET /v1/adjudications/{case_id}"),
    ]
    assert rows[0].detail["fields"] == ["reporter_name", "reporter_phone"]
