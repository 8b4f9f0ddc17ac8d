"""Subjects in the embedded mode (`make run`: the four services on the in-process bus and one SQLite file, every
migration applied): a report's credit code checked at intake, the case linked to its subject through the real
router, the subjects API and an operator's merge."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from intake.bootstrap import build as intake
from notifier.bootstrap import build as notifier
from router.bootstrap import build as router
from services.settings import KafkaSettings, Settings
from tests.integration.harness import running
from tests.integration.tracker.test_console_security import BASE, REAL, hidden, log_in
from tests.support.credentials import OPERATOR, auth_headers, credential_for
from tests.support.service_apps import tracker

pytestmark = pytest.mark.timeout(90)
APP = auth_headers("grid-app", "app-a")
CODE = "91350100M000100Y43"
SHOP = {"external_id": "S-1", "source": "grid", "reported_at": "2026-11-05T14:06:00+08:00",
        "location": {"unit": "nanmen", "address": "解放南路"}, "title": "无照铝合金门窗店",
        "description": "解放南路一家铝合金门窗店未办理营业执照。"}


async def _subject_of(client: httpx.AsyncClient, case_id: str) -> str:
    async with asyncio.timeout(30):
        while True:
            answer = await client.get("/v1/subjects", headers=OPERATOR, params={"q": "解放南路"})
            for subject in answer.json():
                found = await client.get(f"/v1/subjects/{subject['id']}", headers=OPERATOR)
                if any(c["case_id"] == case_id for c in found.json()["cases"]):
                    return str(subject["id"])
            await asyncio.sleep(0.05)


async def test_credit_codes_subjects_and_a_merge_in_the_embedded_mode(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'caseroute.db'}",
                        kafka=KafkaSettings(bootstrap=None))
    async with running(settings, [intake, router, tracker, notifier]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            bad = await client.post("/v1/reports", headers=APP,
                                    json={**SHOP, "facts": {"credit_code": "91350100M000100Y44"}})
            assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
            assert "check digit" in bad.text and "credit_code" in bad.text
            coded = await client.post("/v1/reports", headers=APP, json={**SHOP, "facts": {"credit_code": CODE}})
            named = await client.post("/v1/reports", headers=APP, json={
                **SHOP, "external_id": "S-2", "title": "铝合金门窗店噪音",
                "description": "解放南路一家铝合金门窗店切割噪音扰民。"})
            other = await client.post("/v1/reports", headers=APP, json={
                **SHOP, "external_id": "S-3", "location": {"unit": "nanmen", "address": "解放南路12号"},
                "title": "张记面馆油烟", "description": "解放南路12号张记面馆油烟扰民。"})
            assert coded.status_code == named.status_code == other.status_code == 202
            by_code = await _subject_of(client, coded.json()["case_id"])
            by_name = await _subject_of(client, named.json()["case_id"])
            noodles = await _subject_of(client, other.json()["case_id"])
            # The coded report names the shop too: its name and its code are one subject's keys, whichever report
            # the tracker took first, so the report without the code is linked to the same subject.
            assert by_code == by_name and noodles != by_code
            subject = (await client.get(f"/v1/subjects/{by_code}", headers=OPERATOR)).json()
            assert subject["credit_code"] == CODE and subject["tier"] == "A"
            assert subject["keys"] == ["name:nanmen:解放南路:铝合金门窗店", f"uscc:{CODE}"]
            assert len(subject["cases"]) == 2  # one repeat: +1, still A
            assert [r["label"] for r in subject["reasons"]] == ["重复举报（不含查无实据） ×1 +1"]

            assert (await client.get("/v1/subjects/SNOPE", headers=OPERATOR)).status_code == 404
            department = auth_headers("department", "amr")
            assert (await client.get("/v1/subjects", headers=department)).status_code == 403
            adjudicator = auth_headers("adjudicator", "zhang")
            refused = await client.post(f"/v1/subjects/{noodles}/merge", headers=adjudicator,
                                        json={"into": by_code, "reason": "同一家"})
            assert refused.status_code == 403  # merging is an operator's (or an admin's) action
            itself = await client.post(f"/v1/subjects/{noodles}/merge", headers=OPERATOR,
                                       json={"into": noodles, "reason": "同一家"})
            assert itself.status_code == 422
            merged = await client.post(f"/v1/subjects/{noodles}/merge", headers=OPERATOR,
                                       json={"into": by_code, "reason": "同一家店，登记名与招牌名不同"})
            assert merged.status_code == 200, merged.text
            assert len(merged.json()["cases"]) == 3 and merged.json()["tier"] == "B"  # two repeats: +2
            again = await client.post(f"/v1/subjects/{noodles}/merge", headers=OPERATOR,
                                      json={"into": by_code, "reason": "再来一次"})
            assert again.status_code == 409
            gone = (await client.get(f"/v1/subjects/{noodles}", headers=OPERATOR)).json()
            assert gone["merged_into"] == by_code and gone["cases"] == []
            listed = (await client.get("/v1/subjects", headers=OPERATOR, params={"tier": "B"})).json()
            assert [s["id"] for s in listed] == [by_code]

            # The console: an operator merges a fourth report's subject from the subject page's form.
            late = await client.post("/v1/reports", headers=APP, json={
                **SHOP, "external_id": "S-4", "location": {"unit": "nanmen", "address": "解放南路1号"},
                "title": "铝合金门窗厂噪音", "description": "解放南路1号铝合金门窗厂噪音扰民。"})
            fourth = await _subject_of(client, late.json()["case_id"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as console:
            await log_in(console, credential_for("operator", "li"))
            shown = await console.get(f"/console/subjects/{by_code}")
            assert shown.status_code == 200 and 'id="merge"' in shown.text and "重复举报" in shown.text
            done = await console.post(f"/console/subjects/{by_code}/merge", headers=REAL, data={
                "other": fourth, "reason": "厂和店是同一家", "csrf_token": hidden(shown.text, "csrf_token")})
            assert done.status_code == 200 and f"已将主体 {fourth} 并入本主体" in done.text
            assert "信用等级：B" in done.text  # four reports: +3
