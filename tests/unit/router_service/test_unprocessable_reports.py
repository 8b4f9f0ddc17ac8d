"""Issue 19: a report intake accepted becomes a case even when the router cannot decide it (a gap case with the
reason, for an adjudicator), and such reports hold up nobody: no back-off before giving up on them."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from router.bootstrap import build as router
from schemas.events import EventType, ReportAccepted
from schemas.report import Report
from services.bus.base import OutgoingMessage
from services.bus.memory import MemoryBus
from services.envelopes import envelope, headers_for
from services.settings import KafkaSettings, Settings
from tests.conftest import dev_reports
from tests.integration.harness import running
from tests.support.credentials import auth_headers
from tests.support.service_apps import tracker

pytestmark = pytest.mark.timeout(120)
ADJUDICATOR = auth_headers("adjudicator", "adj")
# Times an earlier intake accepted (before schemas/time.py refused them): the router failed on each.
POISON_TIMES = ["2026-01-05T14:06:00", "0001-01-01T00:00:00+14:00"] * 5


def _report_event(case_id: str, external_id: str, reported_at: str | None = None) -> bytes:
    """reports.v1 as intake wrote it; reported_at replaced in the JSON (the model would refuse it now)."""
    report = Report.model_validate({**dev_reports()[0], "external_id": external_id})
    event = envelope(source="caseroute/intake", event_type=EventType.report_accepted, subject=case_id,
                     payload=ReportAccepted(case_id=case_id, report=report, accepted_at=datetime.now(UTC),
                                            submitted_by="grid-app:app-a"))
    raw: dict[str, Any] = orjson.loads(event.to_bytes())
    if reported_at is not None:
        raw["data"]["report"]["reported_at"] = reported_at
    return orjson.dumps(raw)


async def test_poison_reports_become_gap_cases_with_the_reason_and_delay_nobody(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", kafka=KafkaSettings(bootstrap=None))
    async with running(settings, [router, tracker]) as app:
        bus: MemoryBus = app.state.runtime.bus
        topic = settings.topic("reports.v1")
        poison = {f"C-POISON-{i}": value for i, value in enumerate(POISON_TIMES)}
        # One key: one partition, so the valid report is behind all ten.
        messages = [OutgoingMessage(topic, "one-key", _report_event(case_id, case_id, value), headers_for(case_id, b""))
                    for case_id, value in poison.items()]
        messages.append(OutgoingMessage(topic, "one-key", _report_event("C-VALID", "VALID"),
                                        headers_for("C-VALID", b"")))
        started = time.monotonic()
        await bus.producer().send_batch(messages)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            async with asyncio.timeout(60):
                while (await client.get("/v1/cases/C-VALID", headers=ADJUDICATOR)).status_code != 200:
                    await asyncio.sleep(0.05)
            valid_after = time.monotonic() - started
            async with asyncio.timeout(30):
                while len(gaps := (await client.get("/v1/adjudications", params={"kind": "gap"},
                                                    headers=ADJUDICATOR)).json()) < len(poison):
                    await asyncio.sleep(0.1)
            one = (await client.get("/v1/adjudications/C-POISON-0", headers=ADJUDICATOR)).json()
            valid = (await client.get("/v1/cases/C-VALID", headers=ADJUDICATOR)).json()

    print(f"\nvalid report routed {valid_after:.2f} s after ten poison reports")
    # Before: each poison report was retried with back-off (0.4 + 0.8 + 1.6 s) before its dead letter, 28 s.
    assert valid_after < 8.0, f"the valid report waited {valid_after:.1f} s behind poison reports"
    assert valid["status"] in ("routed", "dispatched") and valid["department"] == "amr"
    assert {g["case_id"] for g in gaps} == set(poison), "every accepted report is a case, in the gap queue"
    (evidence,) = one["decision"]["evidence"]
    words = " ".join(evidence["words"])
    assert "unprocessable" in evidence["what"] and "reported_at" in words and "UTC offset" in words, words
    # What could be read is kept for the adjudicator: the text, the place; the bad time is replaced and said so.
    assert one["report"]["title"] == dev_reports()[0]["title"]
    assert one["report"]["location"]["address"] == dev_reports()[0]["location"]["address"]  # type: ignore[index]
    assert bus.messages(f"{topic}.dlq") == [], "a report with a case id is a gap case, not a dead letter"
