"""The adjudication loop over HTTP on real Kafka and PostgreSQL, router and tracker running:
queue → ruling → rule saved as a catalogue version → later reports routed by it → bulk re-routing → history,
diff and rollback; the console's login and pages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from caseroute.catalogue_cli import catalogue_app
from catalogue.events import catalogue_event
from catalogue.loader import load_catalogue
from router import bootstrap as router_service
from router.catalogue_events import publish_catalogue
from schemas.events import CataloguePublished, EventType, ReportAccepted
from schemas.report import Report
from services.bus.base import OutgoingMessage
from services.bus.kafka import KafkaBus
from services.envelopes import envelope, headers_for
from services.settings import KafkaSettings
from tests.conftest import kafka_settings
from tests.integration.harness import TopicReader, running, serving
from tests.support.credentials import auth_headers, credential_for
from tests.support.service_apps import tracker
from tracker.handlers import escalate_due
from tracker.store.models import TrackerAudit

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(300)]
ADJUDICATOR = auth_headers("adjudicator", "wang")
OPERATOR = auth_headers("operator", "li")


def report(external_id: str, description: str, *, title: str | None = None, unit: str | None = "baiyun") -> Report:
    return Report(external_id=external_id, source="grid", reported_at=datetime.now(UTC),
                  location={"unit": unit, "address": "华兴社区"}, title=title, description=description)


POWER_BANK = "华兴社区多家商户反映，共享充电宝运营商单方面撤走店内机柜，商户认为违反合作协议，要求恢复或赔偿。"
POWER_BANK_2 = "我店里的共享充电宝机柜被运营商撤走了，说好的分成一直没给，这事找谁管？"
POWER_BANK_3 = "文具店老板反映共享充电宝公司撤走机柜后拖欠分成，请相关部门处理。"
HOSTILE = "<script>alert('x')</script> 共享充电宝'; DROP TABLE tracker_cases; -- 机柜"


async def send(bus: KafkaBus, topic: str, case_id: str, rep: Report) -> None:
    event = envelope(source="test", event_type=EventType.report_accepted, subject=case_id,
                     payload=ReportAccepted(case_id=case_id, report=rep, accepted_at=datetime.now(UTC)))
    producer = bus.producer()
    try:
        await producer.send_batch([OutgoingMessage(topic, case_id, event.to_bytes(), headers_for(event.id, b""))])
    finally:
        await producer.stop()


async def until(client: httpx.AsyncClient, case_id: str, check: Callable[[dict[str, Any]], bool],
                timeout: float = 40) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            answer = await client.get(f"/v1/cases/{case_id}", headers=OPERATOR)
            if answer.status_code == 200 and check(answer.json()):
                return dict(answer.json())
            await asyncio.sleep(0.2)


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tracker")


async def test_rule_save_reroute_history_and_rollback(kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    settings = kafka_settings(kafka_bootstrap, topic_prefix, fresh_postgres)
    bus = KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap))
    reports = settings.topic("reports.v1")
    async with running(settings, [router_service.build, tracker]) as app, client_of(app) as client, \
            TopicReader(kafka_bootstrap, [settings.dispatch_topic("amr"), settings.topic("catalogue.v1")]) as reader:
        await send(bus, reports, "C-G1", report("G-1", POWER_BANK, title="共享充电宝运营商与商户合作纠纷"))
        await send(bus, reports, "C-G2", report("G-2", POWER_BANK_2, unit="nanmen"))
        await send(bus, reports, "C-R1", report("R-1", "解放南路一家铝合金门窗店已经营半年，未办理营业执照。",
                                               unit="nanmen"))
        for cid in ("C-G1", "C-G2"):
            case = await until(client, cid, lambda c: c["status"] == "gap")
            assert case["rule"] == "R10"

        # A dispute: the R8 case returned by amr, then by the next candidate.
        first = await until(client, "C-R1", lambda c: c["status"] == "dispatched")
        returned = await client.post("/v1/cases/C-R1/return", json={"reason": "not_our_remit", "text": "不归我们"},
                                     headers=auth_headers("department", first["department"]))
        assert returned.status_code == 200, returned.text
        second = await until(client, "C-R1", lambda c: c["status"] == "dispatched" and c["attempt"] == 2)
        await client.post("/v1/cases/C-R1/return", json={"reason": "overlapping_remits", "text": "职能交叉"},
                          headers=auth_headers("department", second["department"]))
        await until(client, "C-R1", lambda c: c["status"] == "disputed")

        # The queue: who may read it, and what each item carries.
        assert (await client.get("/v1/adjudications")).status_code == 401
        assert (await client.get("/v1/adjudications", headers=auth_headers("department", "amr"))).status_code == 403
        queue = (await client.get("/v1/adjudications", headers=OPERATOR)).json()
        kinds = {item["case_id"]: item["kind"] for item in queue}
        assert kinds == {"C-G1": "gap", "C-G2": "gap", "C-R1": "dispute"}
        dispute = next(i for i in queue if i["case_id"] == "C-R1")
        assert [r["reason"] for r in dispute["returns"]] == ["not_our_remit", "overlapping_remits"]
        assert dispute["decision"]["evidence"] and dispute["report"]["description"]
        gaps = (await client.get("/v1/adjudications?kind=gap", headers=OPERATOR)).json()
        assert {i["case_id"] for i in gaps} == {"C-G1", "C-G2"}
        disputes = (await client.get("/v1/adjudications?kind=dispute", headers=OPERATOR)).json()
        assert [i["case_id"] for i in disputes] == ["C-R1"]

        clusters = (await client.get("/v1/adjudications/clusters", headers=OPERATOR)).json()
        assert clusters[0]["size"] == 2 and set(clusters[0]["case_ids"]) == {"C-G1", "C-G2"}
        assert "机柜" in clusters[0]["terms"] or "充电宝" in clusters[0]["terms"]

        # Refusals: role, legal without basis, unknown department, not in the queue.
        ruling = {"lead": "amr", "cooperating": ["street-baiyun"], "principle": "competent",
                  "note": "合作纠纷属合同行为监管", "save_as_rule": True, "terms": ["共享充电宝", "机柜", "分成"],
                  "min_terms": 2}
        assert (await client.post("/v1/adjudications/C-G1/ruling", json=ruling,
                                  headers=OPERATOR)).status_code == 403
        legal = await client.post("/v1/adjudications/C-G1/ruling", json={**ruling, "principle": "legal"},
                                  headers=ADJUDICATOR)
        assert legal.status_code == 422 and legal.headers["content-type"].startswith("application/problem+json")
        unknown = await client.post("/v1/adjudications/C-G1/ruling", json={**ruling, "lead": "nobody"},
                                    headers=ADJUDICATOR)
        assert unknown.status_code == 422, unknown.text
        assert (await client.post("/v1/adjudications/C-X/ruling", json=ruling,
                                  headers=ADJUDICATOR)).status_code == 404

        # The ruling: the case goes to the lead at once; the rule is a new catalogue version.
        ruled = await client.post("/v1/adjudications/C-G1/ruling", json=ruling, headers=ADJUDICATOR)
        assert ruled.status_code == 200, ruled.text
        body = ruled.json()
        assert body["ruled"] == ["C-G1"] and body["lead"] == "amr"
        assert body["catalogue_version"].endswith("+r1") and body["rule_id"] == "ruling-c-g1"
        assert body["offered_for_rerouting"] == ["C-G2"]
        case = await until(client, "C-G1", lambda c: c["status"] == "dispatched")
        assert case["department"] == "amr" and [t["kind"] for t in case["timeline"]][-2:] == ["adjudicated",
                                                                                              "dispatched"]
        again = await client.post("/v1/adjudications/C-G1/ruling", json=ruling, headers=ADJUDICATOR)
        assert again.status_code == 409

        # Every router replica takes the version: a later report of the kind is routed by the rule, not R10.
        await reader.until(lambda ms: any(m.topic.endswith("catalogue.v1") for m in ms))
        await asyncio.sleep(1.0)
        await send(bus, reports, "C-G3", report("G-3", POWER_BANK_3, unit="nanmen"))
        later = await until(client, "C-G3", lambda c: c["status"] == "dispatched")
        assert later["rule"] == "RULING" and later["department"] == "amr"
        trace = [e for e in later["decision"]["evidence"] if e["kind"] == "ruling"]
        assert trace and "ruling-c-g1" in trace[0]["what"] and "C-G1" in trace[0]["what"]
        await reader.until(lambda ms: {m.key for m in ms if m.topic == settings.dispatch_topic("amr")}
                           >= {"C-G1", "C-G3"})

        # Bulk re-routing of the offered gap cases; a routed case is skipped with the reason.
        rerouted = await client.post("/v1/adjudications/reroute", json={"case_ids": ["C-G2", "C-R1"]},
                                     headers=ADJUDICATOR)
        assert rerouted.status_code == 200, rerouted.text
        assert rerouted.json()["rerouted"] == {"C-G2": "amr"} and "C-R1" in rerouted.json()["skipped"]
        g2 = await until(client, "C-G2", lambda c: c["status"] == "dispatched")
        assert g2["rule"] == "RULING"

        # The dispute, ruled without saving a rule, by law.
        disputed = await client.post("/v1/adjudications/C-R1/ruling", headers=ADJUDICATOR, json={
            "lead": "amr", "principle": "legal", "basis": "《无证无照经营查处办法》第二条", "save_as_rule": False})
        assert disputed.status_code == 200 and disputed.json()["catalogue_version"] is None
        assert (await until(client, "C-R1", lambda c: c["status"] == "dispatched"))["department"] == "amr"

        # History and the structural diff; rollback is audited and takes effect in the router.
        history = (await client.get("/v1/catalogue/versions", headers=OPERATOR)).json()
        assert history[0]["version"].endswith("+r1") and len(history) == 2
        assert history[0]["in_force"] and history[0]["from_case"] == "C-G1" and history[0]["author"].endswith("wang")
        diff = (await client.get(f"/v1/catalogue/versions/{history[0]['version']}/diff", headers=OPERATOR)).json()
        assert any(c["path"] == "rulings.ruling-c-g1" and c["kind"] == "added" for c in diff["changes"])
        assert "+ rulings.ruling-c-g1: amr (competent)" in diff["text"]
        one = (await client.get(f"/v1/catalogue/versions/{history[0]['version']}", headers=OPERATOR)).json()
        assert one["document"]["rulings"][0]["from_case"] == "C-G1" and one["rulings"] == 1
        assert one["document"]["rulings"][0]["ruled_by"] == "adjudicator:wang"
        assert (await client.get("/v1/catalogue/versions/nope", headers=OPERATOR)).status_code == 404
        reverse = (await client.get(f"/v1/catalogue/versions/{history[1]['version']}/diff",
                                    params={"against": history[0]["version"]}, headers=OPERATOR)).json()
        assert any(c["path"] == "rulings.ruling-c-g1" and c["kind"] == "removed" for c in reverse["changes"])
        assert (await client.post(f"/v1/catalogue/versions/{history[1]['version']}/rollback",
                                  json={"reason": "x"}, headers=OPERATOR)).status_code == 403
        back = await client.post(f"/v1/catalogue/versions/{history[1]['version']}/rollback",
                                 json={"reason": "规则范围过宽"}, headers=ADJUDICATOR)
        assert back.status_code == 200 and back.json()["rulings"] == 0 and back.json()["version"].endswith("+r2")
        await reader.until(lambda ms: sum(m.topic.endswith("catalogue.v1") for m in ms) >= 2)
        await asyncio.sleep(1.0)
        await send(bus, reports, "C-G4", report("G-4", HOSTILE, unit="nanmen"))
        hostile = await until(client, "C-G4", lambda c: c["status"] == "gap")
        assert hostile["rule"] == "R10"

        # Similar earlier cases with their rulings, for the new gap.
        item = (await client.get("/v1/adjudications/C-G4", headers=OPERATOR)).json()
        assert item["similar"] and item["similar"][0]["ruling"]["lead"] == "amr"
        assert {s["case_id"] for s in item["similar"]} <= {"C-G1", "C-G2", "C-G3", "C-R1"}
        assert (await client.get("/v1/adjudications/C-G1", headers=OPERATOR)).status_code == 404  # ruled

        async with app.state.tracker.state.deps.db.sessions() as session:
            actions = (await session.execute(select(TrackerAudit.action).order_by(TrackerAudit.id))).scalars().all()
        assert actions == ["catalogue.publish", "ruling", "ruling", "reroute", "ruling", "catalogue.rollback"]

        # The console: login by the API credential (through the login form and its token), HttpOnly
        # SameSite=Strict session cookie, escaped text.
        def login_token(form: str) -> str:
            return re.search(r'name="login_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]

        form = (await client.get("/console/login")).text
        refused = await client.post("/console/login", data={"credential": credential_for("department", "amr"),
                                                            "login_token": login_token(form)})
        assert refused.status_code == 401
        assert (await client.get("/console")).status_code == 303
        login = await client.post("/console/login", data={"credential": credential_for("operator", "li"),
                                                          "login_token": login_token(refused.text)})
        assert login.status_code == 303
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        for path in ("/console", "/console/cases/C-G4", "/console/adjudications", "/console/adjudications/C-G4",
                     "/console/clusters", "/console/catalogue", f"/console/catalogue/{history[0]['version']}/diff",
                     "/console/figures"):
            page = await client.get(path)
            assert page.status_code == 200, (path, page.text[:300])
        # The SLA clock, run a month ahead, escalates the ruled cases: the board highlights them.
        deps = app.state.tracker.state.deps
        assert await escalate_due(deps, now=deps.now() + timedelta(days=40)) >= 3
        board = (await client.get("/console")).text
        overdue_row = r'<tr class="overdue" data-case="C-G1">\s*<td><a href="/console/cases/C-G1">'
        assert re.search(overdue_row, board), board[:2000]
        shown = (await client.get("/console/cases/C-G4")).text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in shown and "<script>alert" not in shown
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', shown).group(1)  # type: ignore[union-attr]
        assert (await client.post("/console/adjudications/C-G4/ruling",
                                  data={"lead": "amr", "principle": "main", "csrf_token": csrf})
                ).status_code == 403  # operators read, adjudicators rule
        client.cookies.clear()
        assert (await client.get("/console/adjudications")).status_code == 303

        # `caseroute catalogue diff A B` with version ids reads the tracker's history through its API (the
        # tracker served on a port; the CLI has no database URL), as an operator.
        monkeypatch.delenv("CASEROUTE_DATABASE_URL", raising=False)
        async with serving(app) as url:
            versions = [history[1]["version"], history[0]["version"]]
            result = await asyncio.to_thread(CliRunner().invoke, catalogue_app,
                                             ["diff", *versions, "--tracker", url,
                                              "--key", credential_for("operator", "li")])
            assert result.exit_code == 0, result.output
            assert "+ rulings.ruling-c-g1: amr" in result.output
            refused = await asyncio.to_thread(CliRunner().invoke, catalogue_app,
                                              ["diff", *versions, "--tracker", url,
                                               "--key", credential_for("department", "amr")])
            assert refused.exit_code == 3, refused.output  # the history is for overseers, not departments


async def test_versions_published_by_the_admin_cli_join_the_history_and_broken_ones_are_refused(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = kafka_settings(kafka_bootstrap, topic_prefix, fresh_postgres)
    bus = KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap))
    catalogue = load_catalogue()
    newer = catalogue.model_copy(update={"version": "haishu-2026.02.1"})
    async with running(settings, [tracker]) as app, client_of(app) as client, \
            TopicReader(kafka_bootstrap, [settings.topic("catalogue.v1.dlq")]) as dead:
        await publish_catalogue(bus, settings, catalogue_event(newer, published_by="admin:ops", reason="新增事项"))
        broken = CataloguePublished(catalogue_id=catalogue.district, version="broken-1", document={"version": "x"},
                                    published_by="admin:ops", published_at=datetime.now(UTC))
        await publish_catalogue(bus, settings, envelope(source="test", event_type=EventType.catalogue_published,
                                                        subject=catalogue.district, payload=broken))
        parked = await dead.until(lambda ms: len(ms) >= 1)
        assert parked[0].header("dlq_group") == settings.group("tracker-catalogue")
        assert "invalid catalogue broken-1" in (parked[0].header("dlq_reason") or "")
        async with asyncio.timeout(30):
            while True:
                versions = (await client.get("/v1/catalogue/versions", headers=OPERATOR)).json()
                if any(v["version"] == "haishu-2026.02.1" for v in versions):
                    break
                await asyncio.sleep(0.2)
        assert [v["version"] for v in versions] == ["haishu-2026.02.1", catalogue.version]
        assert versions[0]["author"] == "admin:ops" and versions[0]["parent"] == catalogue.version
        assert versions[0]["reason"] == "新增事项" and versions[0]["in_force"]
