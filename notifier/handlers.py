"""Notifier handlers: take in each event once, and in the same transaction the deliveries it causes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from notifier.domain.notices import supervision_notice
from notifier.domain.recipients import CaseFacts, Incoming, recipients
from notifier.domain.vocabulary import ESCALATED, event_type_of
from notifier.store import repo
from schemas.envelope import Envelope
from schemas.events import CaseDispatched, EventType
from services.bus.base import Message
from services.db import Database
from services.settings import Settings


def topic_kind(settings: Settings, topic: str) -> str:
    """`routed`, `dispatch`, `case-events`, `statements` or `other` for a full topic name."""
    if topic == settings.topic("routed.v1"):
        return "routed"
    if topic == settings.topic("statements.v1"):
        return "statements"
    if topic == settings.topic("case-events.v1"):
        return "case-events"
    if topic.startswith(settings.topic("dispatch.")):
        return "dispatch"
    return "other"


def _department(data: dict[str, Any]) -> str | None:
    department = data.get("department")
    return department if isinstance(department, str) else None


async def take_in(batch: Sequence[tuple[Envelope, Message]], *, db: Database, settings: Settings,
                  subscriptions: repo.SubscriptionCache, on_deliveries: Callable[[], None] | None = None) -> int:
    """Store a poll's events and the deliveries they cause in one transaction; returns deliveries created."""
    now = datetime.now(UTC)
    kinds = [topic_kind(settings, message.topic) for _, message in batch]
    async with db.transaction() as session:
        seqs = await repo.store_events(session, [
            {"event_id": event.id, "type": event.type, "case_id": event.subject, "department": _department(event.data),
             # The envelope as published (its JSON parses to what model_dump would rebuild, at a tenth of the cost).
             "topic": message.topic, "envelope": orjson.loads(message.value), "received_at": now}
            for (event, message), kind in zip(batch, kinds, strict=True) if kind != "routed"])
        cases = await repo.case_facts(session, (event.subject for event, _ in batch))
        active = await subscriptions.active(session)
        remembered: dict[str, dict[str, Any]] = {}
        rows: list[dict[str, Any]] = []

        def remember(case_id: str, **facts: Any) -> None:
            # Later events of the poll see these facts, as if each event had been taken in alone.
            remembered.setdefault(case_id, {}).update(facts)
            cases[case_id] = dataclasses.replace(cases.get(case_id) or CaseFacts(case_id), **facts)

        for (event, _), kind in zip(batch, kinds, strict=True):
            data = event.data
            if kind == "routed":
                # Only the reporter's callback and source are kept: the report itself has personal data. Read
                # from the router's event as it stands (validating the whole report again was most of the cost).
                report = data.get("report") or {}
                remember(event.subject, source=report.get("source"), callback_url=report.get("callback_url"))
                continue
            seq = seqs.pop(event.id, None)  # popped: the same event twice in one poll is taken in once
            if seq is None:
                continue  # a redelivery: its deliveries were made with the first take-in
            if kind == "dispatch" and event.type != EventType.case_dispatched:
                continue  # feedback and supervision notices share the department topics; case-events carry them
            if kind == "dispatch":
                dispatched = CaseDispatched.model_validate(data)
                if dispatched.role == "primary":
                    remember(event.subject, department=dispatched.department, dispatched_at=event.time,
                             ack_hours=dispatched.ack_hours, deadline_days=dispatched.deadline_days)
            event_type = event_type_of(kind, event.type, data)
            if event_type is None:
                continue
            department = _department(data)
            case = cases.get(event.subject)
            raw_detail = data.get("detail")
            detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
            # Escalations name their office in the detail, the monthly statement at the top of its data.
            addressed = data.get("to") if kind == "statements" else detail.get("to")
            incoming = Incoming(event_type, event.subject, department, escalated_to=addressed)
            owners = [o for o in (department, case.source if case else None) if o]
            found = recipients(incoming, repo.candidates(active, owners), case)
            payload = supervision_notice(event.model_dump(mode="json"), case) if event_type == ESCALATED else None
            rows += repo.delivery_rows(seq=seq, event=event, event_type=event_type, recipients=found,
                                       payload=payload, now=now)
        await repo.remember(session, remembered, now)
        await repo.add_deliveries(session, rows)
    if rows and on_deliveries is not None:
        on_deliveries()
    return len(rows)
