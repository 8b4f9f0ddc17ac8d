"""The router service on the in-process bus and SQLite: preview, and no decision silently dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from router import bootstrap as router_service
from schemas.envelope import Envelope
from schemas.events import CaseRouted, EventType, ReportAccepted
from schemas.report import Report
from services.bus.memory import MemoryBus
from services.envelopes import envelope
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tests.support.credentials import OPERATOR

pytestmark = pytest.mark.timeout(60)


def _settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", kafka=KafkaSettings(bootstrap=None),
                    consumer_retries=1)


async def test_preview_explains_without_creating_a_case(tmp_path: Path) -> None:
    async with running(_settings(tmp_path), [router_service.build]) as app:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router",
                                     headers=OPERATOR) as client:
            answer = await client.post("/v1/route:preview", json=dev_reports()[5])
            bad = await client.post("/v1/route:preview", json={"external_id": "x"})
        bus: MemoryBus = app.state.runtime.bus
    assert answer.status_code == 200
    decision = answer.json()
    assert (decision["rule"], decision["primary"], decision["hazard"]) == ("R1", "police-baiyun", "fire")
    assert decision["evidence"] and decision["catalogue_version"]
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bus.messages("caseroute.routed.v1") == []


async def test_an_exception_in_classification_makes_a_gap_case_with_the_reason(tmp_path: Path) -> None:
    """Intake accepted the report: the router's failure on it is an adjudicator's gap case, not a dead letter."""
    async with running(_settings(tmp_path), [router_service.build]) as app:
        bus: MemoryBus = app.state.runtime.bus
        engine = app.state.router.state.engine
        real = engine.decide

        def explode(report: Report):  # type: ignore[no-untyped-def]
            if report.external_id == "BOOM":
                raise RuntimeError("lexicon index corrupted")
            return real(report)

        engine.decide = explode
        for case_id, external_id in (("C-1", "BOOM"), ("C-2", "FINE")):
            report = Report.model_validate({**dev_reports()[0], "external_id": external_id})
            event = envelope(source="test", event_type=EventType.report_accepted, subject=case_id,
                             payload=ReportAccepted(case_id=case_id, report=report, accepted_at=datetime.now(UTC)))
            await bus.producer().send_batch([_message(event)])
        async with asyncio.timeout(20):
            while len(bus.messages("caseroute.routed.v1")) < 2:
                await asyncio.sleep(0.05)
    routed = {m.key: CaseRouted.model_validate(Envelope.from_bytes(m.value).data)
              for m in bus.messages("caseroute.routed.v1")}
    assert bus.messages("caseroute.reports.v1.dlq") == []
    gap, fine = routed["C-1"].decision, routed["C-2"].decision
    assert (gap.status, gap.rule, gap.primary) == ("gap", "R10", "establishment-office")
    assert "lexicon index corrupted" in " ".join(gap.evidence[0].words)
    assert routed["C-1"].report.external_id == "BOOM" and fine.status == "routed"


def _message(event: Envelope):  # type: ignore[no-untyped-def]
    from services.bus.base import OutgoingMessage
    from services.envelopes import headers_for

    return OutgoingMessage("caseroute.reports.v1", event.subject, event.to_bytes(), headers_for(event.id, b""))
