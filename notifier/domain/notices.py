"""Supervision notices (督办): an escalation told with the department, the case and how overdue it is."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from notifier.domain.recipients import SAFETY_OFFICE, CaseFacts

NOTICE_TYPE = "caseroute.notice.supervision"
NOTICE_SCHEMA = "urn:caseroute:schema:caseroute.notice.supervision:v1"
_NAMESPACE = uuid.UUID("6f1c2a52-6c1e-4a53-9d0b-3a1f2e9c7b10")


def notice_id(escalation_id: str) -> str:
    """Derived from the escalation's id, so every redelivery of the notice keeps one id."""
    return str(uuid.uuid5(_NAMESPACE, escalation_id))


def due_at(detail: dict[str, Any], case: CaseFacts | None) -> datetime | None:
    """The missed due time: from the escalation if it says, else from the remembered dispatch."""
    if isinstance(detail.get("due_at"), str):
        try:
            return datetime.fromisoformat(detail["due_at"])
        except ValueError:
            pass
    if case is None or case.dispatched_at is None:
        return None
    if detail.get("kind") == "ack_overdue" and case.ack_hours is not None:
        return case.dispatched_at + timedelta(hours=case.ack_hours)
    if detail.get("kind") == "feedback_overdue" and case.deadline_days is not None:
        return case.dispatched_at + timedelta(days=case.deadline_days)
    return None


def human(seconds: float) -> str:
    """`2 d 3 h`, `5 h 20 min`, `12 min`: what a supervisor reads at a glance."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


def supervision_notice(envelope: dict[str, Any], case: CaseFacts | None) -> dict[str, Any]:
    """The envelope sent for an escalation: a notifier event carrying the escalation's facts."""
    data = envelope.get("data") or {}
    detail = dict(data.get("detail") or {})
    escalated_at = datetime.fromisoformat(str(data.get("at") or envelope["time"]))
    due = due_at(detail, case)
    overdue_s = detail.get("overdue_s")
    if not isinstance(overdue_s, int | float):
        overdue_s = max(0.0, (escalated_at - due).total_seconds()) if due else None
    notice = {
        "case_id": envelope["subject"],
        "department": data.get("department") or (case.department if case else None),
        "kind": detail.get("kind"),
        "attempt": detail.get("attempt"),
        "to": detail.get("to") or SAFETY_OFFICE,
        "escalated_at": escalated_at.isoformat(),
        "due_at": due.isoformat() if due else None,
        "overdue_seconds": overdue_s,
        "overdue": human(overdue_s) if overdue_s is not None else None,
        "escalation_event_id": envelope["id"],
    }
    # The escalation's trace continues as the distributed-tracing extension's string attributes (issue 18: an
    # object attribute is not a CloudEvent's); an escalation written before then nests it in `trace`.
    legacy: dict[str, Any] = trace if isinstance(trace := envelope.get("trace"), dict) else {}
    tracing = {name: value for name in ("traceparent", "tracestate")
               if isinstance(value := envelope.get(name) or legacy.get(name), str)}
    return {
        "specversion": "1.0", "id": notice_id(envelope["id"]), "source": "caseroute/notifier",
        "type": NOTICE_TYPE, "time": escalated_at.isoformat(), "subject": envelope["subject"],
        "dataschema": NOTICE_SCHEMA, "datacontenttype": "application/json", **tracing, "data": notice,
    }
