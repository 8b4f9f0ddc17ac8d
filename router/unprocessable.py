"""Accepted means processed: a report the router cannot decide becomes a gap case (R10) with the reason.

Intake answered 202 for it, so a dead-letter topic nobody reads is no answer: the case goes to the gap queue,
where an adjudicator reads the report (as much of it as could be read), the reason the router gave up, and
rules it like any gap. Only what is no report at all (not JSON, not a report event, no case id) is left to
the dead-letter topic.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import Counter
from pydantic import ValidationError

from router.domain.text import normalise_address
from router.engine import Engine
from router.handlers import ADJUDICATION, ROUTED_CASES, stage_decision
from router.store.models import RoutedCase, RouterInbox
from schemas.decision import Decision, DecisionStatus, Evidence, Rule
from schemas.events import EventType
from schemas.report import Hazard, Report, Source
from schemas.time import check_instant
from services.bus.base import Message
from services.consumer import MAX_MESSAGE_BYTES
from services.db import Database, insert_at_commit
from services.inbox import first_time
from services.settings import Settings

log = logging.getLogger(__name__)
UNPROCESSABLE = Counter("router_unprocessable_reports_total", "Reports the router could not decide, sent to the "
                        "gap queue with the reason")
RULE = Rule.R10
UNREADABLE_TEXT = "（报告正文无法读取 / the report's text could not be read）"
_MAX_REASON = 500


def salvage(raw: Any, *, case_id: str, received: datetime) -> tuple[Report, list[str]]:
    """The report as far as it can be read, and what had to be dropped or filled in (pure).

    A field that fails validation is dropped; what a report cannot be without is filled in: the case id as
    external id, the time intake accepted it as reported_at, a note as text, `public` as source."""
    fields: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    notes: list[str] = [] if isinstance(raw, dict) else ["the report is not an object"]
    for _ in range(3):
        try:
            return Report.model_validate(fields), notes
        except ValidationError as exc:
            for error in exc.errors():
                name = error["loc"][0] if error["loc"] else None
                if isinstance(name, str) and name in fields:
                    notes.append(f"{name}: {error['msg']} ({str(fields.pop(name))[:80]!r} dropped)")
            fields.setdefault("external_id", case_id)
            fields.setdefault("source", Source.public.value)
            fields.setdefault("reported_at", received.isoformat())
            if not str(fields.get("title") or "").strip() and not str(fields.get("description") or "").strip():
                fields["description"] = UNREADABLE_TEXT
    notes.append("nothing of the report could be read")
    return Report(external_id=case_id, source=Source.public, reported_at=received, description=UNREADABLE_TEXT), notes


def gap_decision(engine: Engine, report: Report, reason: str, notes: list[str]) -> Decision:
    """R10 to the catalogue's adjudicator, saying why the router gave up (the trace an adjudicator reads)."""
    catalogue = engine.catalogue
    adjudicator = catalogue.rules.gap_adjudicator
    return Decision(
        external_id=report.external_id, status=DecisionStatus.gap, rule=RULE,
        primary=ADJUDICATION if "{" in adjudicator else adjudicator,
        deadline_days=catalogue.settings.deadlines.gap, ack_hours=catalogue.settings.ack_hours.default,
        hazard=Hazard.none, confidence=0.0, catalogue_version=engine.version,
        evidence=[Evidence(kind="rule", what="R10 unprocessable: the router could not decide this report",
                           source="router", words=[reason[:_MAX_REASON], *notes[:10]])],
    )


async def take_unprocessable(message: Message, reason: str, *, db: Database, settings: Settings,
                             engine: Engine) -> bool:
    """Make a gap case of a report event the router gave up on; False when it is no report event at all."""
    raw = _json(message.value)
    data = raw.get("data") if raw is not None and raw.get("type") == EventType.report_accepted else None
    case_id = data.get("case_id") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(case_id, str) or not 0 < len(case_id) <= 32:
        return False
    assert raw is not None
    event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    received = _time(data.get("accepted_at")) or datetime.now(UTC)
    report, notes = salvage(data.get("report"), case_id=case_id, received=received)
    decision = gap_decision(engine, report, reason, notes)
    submitted_by = data.get("submitted_by")
    async with db.transaction() as session:
        if event_id is not None and not await first_time(session, RouterInbox, event_id):
            return True  # a redelivery: taken in already
        if await session.get(RoutedCase, case_id) is not None:
            return True  # decided already (under another event id)
        insert_at_commit(session, ROUTED_CASES, {
            "case_id": case_id, "report": report.model_dump(mode="json"), "decision": decision.model_dump(mode="json"),
            "attempt": 1, "excluded": [], "unit": None, "subject": None,
            "address": normalise_address(report.location.address), "lat": None, "lon": None,
            "open": False, "routed_at": received})
        stage_decision(session, settings, case_id, report, decision, attempt=1, accepted_at=received,
                       submitted_by=submitted_by if isinstance(submitted_by, str) and len(submitted_by) <= 160
                       else None)
    UNPROCESSABLE.inc()
    log.error("report %s could not be decided, sent to the gap queue: %s", case_id, reason)
    return True


def _json(value: bytes) -> dict[str, Any] | None:
    if len(value) > MAX_MESSAGE_BYTES:
        return None
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return raw if isinstance(raw, dict) else None


def _time(value: Any) -> datetime | None:
    try:
        return check_instant(datetime.fromisoformat(value)) if isinstance(value, str) else None
    except ValueError:
        return None
