"""Seam 2 of issue 16: the router is the one producer of dispatches. A ruling reaches it as a case.ruled event on
case-events.v1 and goes out through the same builder as any decision: the reporter masked, once per event; the
tracker stages the ruling, never a dispatch of its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from router import bootstrap as router_service
from schemas.envelope import Envelope
from schemas.events import CaseDispatched, CaseRouted, CaseRuled, EventType, InspectionOpened, ReportAccepted
from schemas.report import Report
from services.bus.base import OutgoingMessage
from services.bus.memory import MemoryBus
from services.envelopes import envelope, headers_for
from services.settings import KafkaSettings, Settings
from tests.integration.harness import running
from tests.support.credentials import auth_headers
from tests.support.service_apps import tracker

pytestmark = pytest.mark.timeout(60)

NAME, PHONE = "赵六一", "13987654321"
GAP = {"external_id": "RULED-2", "source": "hotline", "reported_at": "2026-01-05T14:06:00+08:00",
       "location": {"unit": "baiyun", "address": "华兴社区"}, "reporter_name": NAME, "reporter_phone": PHONE,
       "description": f"华兴社区多家商户反映，共享充电宝运营商单方面撤走店内机柜。联系人{NAME}，电话{PHONE}。"}


def _settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", kafka=KafkaSettings(bootstrap=None),
                    consumer_retries=1)


async def _send(bus: MemoryBus, topic: str, event: Envelope) -> None:
    await bus.producer().send_batch([OutgoingMessage(topic, event.subject, event.to_bytes(),
                                                     headers_for(event.id, b""))])


def _ruling(case_id: str, **changes: object) -> Envelope:
    ruled = CaseRuled(case_id=case_id, attempt=1, rule="RULING", lead="amr", cooperating=["police-baiyun"],
                      principle="competent", unit="baiyun", deadline_days=20, ack_hours=24.0,
                      ruled_by="adjudicator:wang", at=datetime.now(UTC)).model_copy(update=changes)
    return envelope(source="test", event_type=EventType.case_ruled, subject=case_id, payload=ruled)


async def _until(condition, seconds: float = 20) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.05)


async def test_a_ruling_is_dispatched_by_the_router_masked_and_once(tmp_path: Path) -> None:
    async with running(_settings(tmp_path), [router_service.build]) as app:
        bus: MemoryBus = app.state.runtime.bus
        report = Report.model_validate(GAP)
        await _send(bus, "caseroute.reports.v1", envelope(
            source="test", event_type=EventType.report_accepted, subject="C-R",
            payload=ReportAccepted(case_id="C-R", report=report, accepted_at=datetime.now(UTC))))
        await _until(lambda: bus.messages("caseroute.routed.v1"))
        routed = CaseRouted.model_validate(Envelope.from_bytes(bus.messages("caseroute.routed.v1")[0].value).data)
        assert routed.decision.status == "gap"
        ruling = _ruling("C-R")
        for _ in range(2):  # a redelivery of the same event dispatches nothing more
            await _send(bus, "caseroute.case-events.v1", ruling)
        await _send(bus, "caseroute.case-events.v1", _ruling("C-unknown"))
        await _until(lambda: bus.messages("caseroute.case-events.v1.dlq"))
        await _until(lambda: bus.messages("caseroute.dispatch.police-baiyun.v1"))
    lead = [CaseDispatched.model_validate(Envelope.from_bytes(m.value).data)
            for m in bus.messages("caseroute.dispatch.amr.v1")]
    cooperating = [CaseDispatched.model_validate(Envelope.from_bytes(m.value).data)
                   for m in bus.messages("caseroute.dispatch.police-baiyun.v1")]
    assert [(d.role, d.rule, d.attempt, d.unit) for d in lead] == [("primary", "RULING", 1, "baiyun")]
    assert [(d.role, d.rule) for d in cooperating] == [("cooperating", "RULING")]
    for dispatched in lead + cooperating:
        assert PHONE not in dispatched.description and NAME not in dispatched.description
        assert "139****4321" in dispatched.description and "赵**" in dispatched.description
        assert dispatched.reply_url and dispatched.reply_url.endswith("/v1/cases/C-R")
    (dead,) = bus.messages("caseroute.case-events.v1.dlq")
    assert dead.key == "C-unknown"
    assert b"never routed here" in dict(dead.headers)["dlq_reason"]


async def test_the_tracker_stages_a_ruling_event_and_no_dispatch(tmp_path: Path) -> None:
    adjudicator = auth_headers("adjudicator", "wang")
    report = Report.model_validate(GAP)
    async with running(_settings(tmp_path), [router_service.build, tracker]) as app:
        bus: MemoryBus = app.state.runtime.bus
        await _send(bus, "caseroute.reports.v1", envelope(
            source="test", event_type=EventType.report_accepted, subject="C-T",
            payload=ReportAccepted(case_id="C-T", report=report, accepted_at=datetime.now(UTC))))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            async with asyncio.timeout(20):
                while (await client.get("/v1/adjudications/C-T", headers=adjudicator)).status_code != 200:
                    await asyncio.sleep(0.05)
            ruled = await client.post("/v1/adjudications/C-T/ruling", headers=adjudicator,
                                      json={"lead": "amr", "principle": "legal", "basis": "《无证无照经营查处办法》"})
            assert ruled.status_code == 200, ruled.text
        await _until(lambda: bus.messages("caseroute.dispatch.amr.v1"))
        case_events = [Envelope.from_bytes(m.value) for m in bus.messages("caseroute.case-events.v1")]
        dispatch_sources = {Envelope.from_bytes(m.value).source for topic in bus.topic_names()
                            if topic.startswith("caseroute.dispatch.") for m in bus.messages(topic)}
    (ruling,) = [CaseRuled.model_validate(e.data) for e in case_events if e.type == EventType.case_ruled]
    assert (ruling.lead, ruling.principle, ruling.basis, ruling.attempt, ruling.rule) == (
        "amr", "legal", "《无证无照经营查处办法》", 1, "RULING")
    # The ruling's transaction: one case.changed event of its transitions, then the ruling, on the case's key.
    assert [e.type for e in case_events[-2:]] == [EventType.case_changed, EventType.case_ruled]
    kinds = [t["kind"] for t in case_events[-2].data["transitions"]]
    assert kinds == ["adjudicated", "dispatched"], "the ruling follows its transitions on the case's key"
    assert case_events[-2].data["state"]["status"] == "dispatched"
    assert dispatch_sources == {"caseroute/router"}, "only the router dispatches"


async def test_a_joint_inspection_is_dispatched_by_the_router_with_its_subjects_tier_once(tmp_path: Path) -> None:
    notice = Report(external_id="repeat-reports:S1:2026-01", source="inspection", reported_at=datetime.now(UTC),
                    location={"unit": "nanmen"}, title="联合检查：张记面馆（重复投诉）",
                    description="触发条件 repeat-reports：30 日内 3 件。请牵头部门会同配合部门开展联合检查。")
    opened = InspectionOpened(case_id="J-1", attempt=1, rule="JOINT", trigger="repeat-reports", lead="amr",
                              cooperating=["ecology"], cc=["street-nanmen", "safety-office"], unit="nanmen",
                              deadline_days=10, ack_hours=24.0, tier="C", subject="S1", notice=notice)
    event = envelope(source="test", event_type=EventType.inspection_opened, subject="J-1", payload=opened)
    async with running(_settings(tmp_path), [router_service.build]) as app:
        bus: MemoryBus = app.state.runtime.bus
        for _ in range(2):  # a redelivery dispatches nothing more
            await _send(bus, "caseroute.case-events.v1", event)
        await _until(lambda: bus.messages("caseroute.dispatch.safety-office.v1"))
        await asyncio.sleep(0.3)
    got = {topic: [CaseDispatched.model_validate(Envelope.from_bytes(m.value).data) for m in bus.messages(topic)]
           for topic in ("caseroute.dispatch.amr.v1", "caseroute.dispatch.ecology.v1",
                         "caseroute.dispatch.street-nanmen.v1", "caseroute.dispatch.safety-office.v1")}
    assert [[(d.role, d.rule, d.tier, d.subject) for d in found] for found in got.values()] == [
        [("primary", "JOINT", "C", "S1")], [("cooperating", "JOINT", "C", "S1")], [("cc", "JOINT", "C", "S1")],
        [("cc", "JOINT", "C", "S1")]]
    assert got["caseroute.dispatch.amr.v1"][0].title == "联合检查：张记面馆（重复投诉）"
