"""The router service on real Kafka and PostgreSQL: decisions, duplicates, re-routing, catalogue versions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalogue.events import catalogue_event
from catalogue.loader import load_catalogue
from router import bootstrap as router_service
from router.catalogue_events import publish_catalogue
from schemas.envelope import Envelope
from schemas.events import CaseChanged, CaseSnapshot, CaseTransition, EventType, ReportAccepted
from schemas.report import Report
from services.bus.base import OutgoingMessage
from services.bus.kafka import KafkaBus
from services.envelopes import envelope, headers_for
from services.settings import KafkaSettings
from tests.conftest import dev_reports, kafka_settings
from tests.integration.harness import TopicReader, running

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(180)]


def _report(index: int, **changes: object) -> Report:
    return Report.model_validate({**dev_reports()[index], **changes})


async def _send(bus: KafkaBus, topic: str, event: Envelope) -> None:
    producer = bus.producer()
    try:
        await producer.send_batch([OutgoingMessage(topic, event.subject, event.to_bytes(),
                                                   headers_for(event.id, b""))])
    finally:
        await producer.stop()


def _accepted(case_id: str, report: Report) -> Envelope:
    return envelope(source="test", event_type=EventType.report_accepted, subject=case_id,
                    payload=ReportAccepted(case_id=case_id, report=report, accepted_at=datetime.now(UTC)))


def _routed(messages, case_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [Envelope.from_bytes(m.value).data for m in messages
            if m.topic.endswith("routed.v1") and m.key == case_id]


async def test_router_decides_links_duplicates_and_reroutes_returns(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = kafka_settings(kafka_bootstrap, topic_prefix, fresh_postgres)
    bus = KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap))
    first = _report(0)  # 无照铝合金门窗店 → R8 amr
    again = _report(0, external_id="DEV-0001-again")
    async with running(settings, [router_service.build]), \
            TopicReader(kafka_bootstrap, pattern=topic_prefix.replace(".", "[.]") + r"(routed|dispatch\..*)\.v1") as r:
        await _send(bus, settings.topic("reports.v1"), _accepted("C-1", first))
        await r.until(lambda ms: _routed(ms, "C-1"))  # another partition could otherwise overtake it
        await _send(bus, settings.topic("reports.v1"), _accepted("C-2", again))
        await r.until(lambda ms: _routed(ms, "C-2"))
        (decision,) = [d["decision"] for d in _routed(r.messages, "C-1")]
        assert (decision["rule"], decision["primary"], decision["status"]) == ("R8", "amr", "routed")
        assert any(m.topic == settings.dispatch_topic("amr") and m.key == "C-1" for m in r.messages)
        (duplicate,) = [d["decision"] for d in _routed(r.messages, "C-2")]
        assert (duplicate["status"], duplicate["duplicate_of"]) == ("duplicate", "C-1")
        assert not any(m.key == "C-2" and "dispatch" in m.topic for m in r.messages)

        hazard = _report(5)  # 楼道堆物, fire → R1 police-baiyun, with alternatives
        await _send(bus, settings.topic("reports.v1"), _accepted("C-3", hazard))
        await r.until(lambda ms: _routed(ms, "C-3"))
        original = _routed(r.messages, "C-3")[0]["decision"]
        assert original["alternatives"], "a hazard decision ranks alternative departments"
        returned = CaseTransition(case_id="C-3", kind="returned", from_status="dispatched", to_status="returned",
                                  actor="department:" + original["primary"], at=datetime.now(UTC),
                                  department=original["primary"], detail={"next": "reroute", "excluded": []})
        changed = CaseChanged(case_id="C-3", transitions=[returned],
                              state=CaseSnapshot(status="returned", department=None, attempt=1))
        await _send(bus, settings.topic("case-events.v1"),
                    envelope(source="test", event_type=EventType.case_changed, subject="C-3", payload=changed))
        await r.until(lambda ms: len(_routed(ms, "C-3")) == 2)
        second = _routed(r.messages, "C-3")[1]
        assert second["attempt"] == 2
        assert second["decision"]["primary"] == original["alternatives"][0]["department"]
        assert original["primary"] in second["excluded"]


async def test_catalogue_versions_swap_without_restart_and_a_broken_one_is_refused(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = kafka_settings(kafka_bootstrap, topic_prefix, fresh_postgres)
    bus = KafkaBus(KafkaSettings(bootstrap=kafka_bootstrap))
    current = load_catalogue()
    newer = current.model_copy(update={"version": current.version + "-test2"})
    broken = current.model_copy(update={"version": current.version + "-broken"}).model_dump(mode="json")
    broken["matters"][next(iter(broken["matters"]))]["department"] = "no-such-department"
    async with running(settings, [router_service.build]) as app, \
            TopicReader(kafka_bootstrap, [settings.topic("routed.v1"), settings.topic("catalogue.v1.dlq")]) as r:
        engine = app.state.router.state.engine
        await publish_catalogue(bus, settings, catalogue_event(newer, published_by="test"))
        await r.until(lambda ms: engine.version == newer.version)
        event = catalogue_event(newer, published_by="test")
        event.data["document"] = broken
        event.data["version"] = broken["version"]
        await publish_catalogue(bus, settings, event)
        await r.until(lambda ms: any(m.topic.endswith("catalogue.v1.dlq") for m in ms))
        assert engine.version == newer.version, "the broken catalogue must not replace the working one"
        reason = next(m for m in r.messages if m.topic.endswith(".dlq")).header("dlq_reason") or ""
        assert "no-such-department" in reason
        await _send(bus, settings.topic("reports.v1"), _accepted("C-9", _report(2)))
        await r.until(lambda ms: _routed(ms, "C-9"))
        assert _routed(r.messages, "C-9")[0]["decision"]["catalogue_version"] == newer.version
