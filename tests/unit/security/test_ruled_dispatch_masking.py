"""A case dispatched by a ruling reaches its lead as any dispatch does: the reporter masked on the department's
topic and in the webhook copy (issue 16's defect: the tracker's copy of the dispatch builder forgot the mask)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from intake.bootstrap import build as intake
from notifier.bootstrap import build as notifier
from notifier.store.models import Delivery, ReceivedEvent
from router.bootstrap import build as router
from schemas.envelope import Envelope
from services.bus.memory import MemoryBus
from services.settings import KafkaSettings, Settings
from tests.integration.harness import running
from tests.support.credentials import auth_headers
from tests.support.service_apps import tracker

pytestmark = pytest.mark.timeout(90)

NAME, PHONE = "赵六一", "13987654321"
# No catalogue rule covers this (R10, a gap); the text names the reporter as hotline transcripts do.
GAP = {"external_id": "RULED-1", "source": "grid", "reported_at": "2026-01-05T14:06:00+08:00",
       "location": {"unit": "baiyun", "address": "华兴社区"}, "reporter_name": NAME, "reporter_phone": PHONE,
       "description": f"华兴社区多家商户反映，共享充电宝运营商单方面撤走店内机柜，要求恢复或赔偿。"
                      f"联系人{NAME}，电话{PHONE}。"}
LEAD = "amr"
ADMIN, ADJUDICATOR, OPERATOR = (auth_headers("admin", "root"), auth_headers("adjudicator", "wang"),
                                auth_headers("operator", "li"))


async def test_a_ruled_dispatch_masks_the_reporter_on_the_topic_and_in_its_webhook(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'ruled.db'}",
                        kafka=KafkaSettings(bootstrap=None))
    async with running(settings, [intake, router, tracker, notifier]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            hook = await client.post("/v1/subscriptions", headers=ADMIN, json={
                "kind": "department", "owner": LEAD, "url": "https://amr.example.org/hook", "event_types": ["*"]})
            assert hook.status_code == 201, hook.text
            case_id = (await client.post("/v1/reports", json=GAP, headers=OPERATOR)).json()["case_id"]
            async with asyncio.timeout(30):
                while (await client.get(f"/v1/adjudications/{case_id}", headers=ADJUDICATOR)).status_code != 200:
                    await asyncio.sleep(0.05)
            ruled = await client.post(f"/v1/adjudications/{case_id}/ruling", headers=ADJUDICATOR,
                                      json={"lead": LEAD, "principle": "competent"})
            assert ruled.status_code == 200, ruled.text
            topic = f"caseroute.dispatch.{LEAD}.v1"
            bus: MemoryBus = app.state.runtime.bus
            async with asyncio.timeout(30):
                while not (dispatched := [Envelope.from_bytes(m.value) for m in bus.messages(topic)]):
                    await asyncio.sleep(0.05)
                while True:  # the notifier's copy for the department's webhook
                    async with app.state.runtime.db.sessions() as session:
                        hooked = (await session.execute(
                            select(ReceivedEvent.envelope).join(Delivery, Delivery.event_seq == ReceivedEvent.seq)
                            .where(ReceivedEvent.case_id == case_id, ReceivedEvent.topic == topic))).scalars().all()
                    if hooked:
                        break
                    await asyncio.sleep(0.05)
    assert [d.data["rule"] for d in dispatched] == ["RULING"], "dispatched by the ruling, not by the router"
    for copy in [d.data for d in dispatched] + [h["data"] for h in hooked]:
        assert PHONE not in copy["description"] and NAME not in copy["description"], copy["description"]
        assert "139****4321" in copy["description"] and "赵**" in copy["description"]
