"""CaseState to and from the JSON document stored with each case row."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import orjson

from schemas.events import FeedbackOutcome, ReturnReason
from tracker.domain.case import Attempt, CaseState, Pause, ReturnRecord, Ruling, Status
from tracker.domain.commands import EscalationKind, Principle


def _plain(value: Any) -> Any:
    """JSON-ready data of anything in a CaseState (orjson's fallback: it does not know frozensets)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def dump(state: CaseState) -> dict[str, Any]:
    """The state as JSON-ready data. orjson walks the dataclasses, enums and datetimes in C (about a
    quarter of _plain's time, and this runs for every state change); the result is _plain's."""
    data: dict[str, Any] = orjson.loads(orjson.dumps(state, default=_plain))
    return data


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def load(data: dict[str, Any]) -> CaseState:
    """The state back from its JSON document."""
    ruling = data.get("ruling")
    return CaseState(
        case_id=data["case_id"],
        received_at=datetime.fromisoformat(data["received_at"]),
        status=Status(data["status"]),
        department=data.get("department"),
        ack_hours=data.get("ack_hours", 24),
        deadline_days=data.get("deadline_days", 20),
        attempts=tuple(
            Attempt(a["number"], a["department"], datetime.fromisoformat(a["dispatched_at"]), _time(a["acked_at"]),
                    a["ack_implied"], _time(a["returned_at"]))
            for a in data.get("attempts", [])
        ),
        returns=tuple(
            ReturnRecord(r["attempt"], r["department"], ReturnReason(r["reason"]), r["text"],
                         datetime.fromisoformat(r["at"]))
            for r in data.get("returns", [])
        ),
        pauses=tuple(Pause(datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"]))
                     for p in data.get("pauses", [])),
        dispute_started_at=_time(data.get("dispute_started_at")),
        ruling=Ruling(ruling["lead"], tuple(ruling["cooperating"]), Principle(ruling["principle"]), ruling["basis"],
                      ruling["adjudicator"], datetime.fromisoformat(ruling["at"])) if ruling else None,
        outcome=FeedbackOutcome(data["outcome"]) if data.get("outcome") else None,
        feedback_text=data.get("feedback_text", ""),
        feedback_at=_time(data.get("feedback_at")),
        closed_at=_time(data.get("closed_at")),
        duplicate_of=data.get("duplicate_of"),
        escalations=frozenset((EscalationKind(k), int(n)) for k, n in data.get("escalations", [])),
    )
