"""The router names each report's subject and puts the tier the tracker announced on every dispatch (issue 15
§1, §3): on the in-process bus and SQLite, a tier_changed case event, then a report on that subject."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from router import bootstrap as router_service
from router.domain.subjects import business_name, subject_of_report
from schemas.envelope import Envelope
from schemas.events import (
    CaseChanged,
    CaseDispatched,
    CaseRouted,
    CaseSnapshot,
    CaseTransition,
    EventType,
    ReportAccepted,
)
from schemas.report import Report
from services.bus.base import OutgoingMessage
from services.bus.memory import MemoryBus
from services.envelopes import envelope, headers_for
from services.settings import KafkaSettings, Settings
from tests.integration.harness import running

pytestmark = pytest.mark.timeout(60)
SHOP = {"external_id": "G-1", "source": "grid", "reported_at": "2026-11-05T14:06:00+08:00",
        "location": {"unit": "nanmen", "address": "解放南路"}, "title": "无照铝合金门窗店",
        "description": "解放南路一家铝合金门窗店未办理营业执照。"}


@pytest.mark.parametrize(("text", "name"), [
    ("解放南路一家铝合金门窗店未办理营业执照。", "铝合金门窗店"), ("小区门口的张记面馆油烟扰民", "张记面馆"),
    ("“好再来”饭店占道经营", "好再来"), ("路灯不亮", None), ("有人在河边钓鱼", None),
])
def test_business_names_from_the_text(text: str, name: str | None) -> None:
    assert business_name(text) == name


def test_subject_keys_strongest_first() -> None:
    with_code = Report.model_validate({**SHOP, "facts": {"credit_code": "91350100M000100Y43"}})
    ref = subject_of_report(with_code, "nanmen")
    assert ref is not None and ref.keys == ["uscc:91350100M000100Y43", "name:nanmen:解放南路:铝合金门窗店"]
    place = subject_of_report(Report.model_validate({**SHOP, "title": "路灯不亮", "description": "路灯不亮"}),
                              "nanmen")
    assert place is not None and place.keys == ["place:nanmen:解放南路"]  # the place only when no business
    nowhere = Report.model_validate({**SHOP, "location": {}, "title": "路灯不亮", "description": "路灯不亮"})
    assert subject_of_report(nowhere, None) is None
    long_way = subject_of_report(Report.model_validate({**SHOP, "location": {"address": "解放南路" * 125}}), "nanmen")
    assert long_way is not None and max(len(k) for k in long_way.keys) <= 300  # the tables keep keys of 400


def _message(topic: str, event: Envelope) -> OutgoingMessage:
    return OutgoingMessage(topic, event.subject, event.to_bytes(), headers_for(event.id, b""))


async def test_a_tier_d_subject_is_dispatched_with_its_tier_and_the_hazard_ack_window(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", kafka=KafkaSettings(bootstrap=None))
    key = "name:nanmen:解放南路:铝合金门窗店"
    async with running(settings, [router_service.build]) as app:
        bus: MemoryBus = app.state.runtime.bus
        # The feedback that lowered the tier and the tier's announcement: one transaction, one case.changed event,
        # whose every transition the router follows (the feedback of a case it never routed changes nothing).
        at = datetime.now(UTC)
        feedback = CaseTransition(case_id="C-0", kind="feedback", from_status="acknowledged", to_status="feedback",
                                  actor="department:amr", at=at, department="amr")
        tier = CaseTransition(case_id="C-0", kind="tier_changed", from_status="feedback", to_status="feedback",
                              actor="tracker", at=at, detail={"subject_tier": {"subject": "S1", "keys": [key],
                                                                               "tier": "D"}})
        changed = CaseChanged(case_id="C-0", transitions=[feedback, tier],
                              state=CaseSnapshot(status="feedback", department="amr", attempt=1))
        await bus.producer().send_batch([_message("caseroute.case-events.v1", envelope(
            source="test", event_type=EventType.case_changed, subject="C-0", payload=changed))])
        async with asyncio.timeout(20):  # the router keeps the tier before the report comes
            while True:
                async with app.state.runtime.db.sessions() as session:
                    from router.store.models import SubjectTier

                    if await session.get(SubjectTier, key) is not None:
                        break
                await asyncio.sleep(0.05)
        for case_id, report in (("C-1", SHOP), ("C-2", {**SHOP, "external_id": "G-2",
                                                        "location": {"unit": "nanmen", "address": "中山西路"}})):
            accepted = ReportAccepted(case_id=case_id, report=Report.model_validate(report),
                                      accepted_at=datetime.now(UTC))
            await bus.producer().send_batch([_message("caseroute.reports.v1", envelope(
                source="test", event_type=EventType.report_accepted, subject=case_id, payload=accepted))])
        async with asyncio.timeout(20):
            while len(bus.messages("caseroute.routed.v1")) < 2:
                await asyncio.sleep(0.05)
        routed = {m.key: CaseRouted.model_validate(Envelope.from_bytes(m.value).data)
                  for m in bus.messages("caseroute.routed.v1")}
        dispatched = {(m.key, d.department): d for topic in bus.topic_names() if ".dispatch." in topic
                      for m in bus.messages(topic) for d in [CaseDispatched.model_validate(
                          Envelope.from_bytes(m.value).data)] if d.role == "primary"}
    rated, other = routed["C-1"].decision, routed["C-2"].decision
    assert rated.subject is not None and rated.subject.tier == "D" and rated.ack_hours == 2
    assert any(e.kind == "tier" for e in rated.evidence)
    assert other.subject is not None and other.subject.tier is None and other.ack_hours == 24  # another shop
    first = dispatched[("C-1", rated.primary)]
    assert (first.tier, first.subject, first.ack_hours) == ("D", "S1", 2)
    assert rated.subject.id == "S1"
    assert dispatched[("C-2", other.primary)].tier is None
