"""The event-type vocabulary subscribers choose from, and how an incoming event gets its type.

- `dispatch.primary`, `dispatch.cooperating`, `dispatch.cc`: a work order on dispatch.<department>.v1.
- `case.<status>`: a state change on case-events.v1 (a transition of a case.changed event, told as one event:
  notifier.domain.transitions), e.g. `case.acknowledged`, `case.feedback`,
  `case.closed`, `case.returned`, `case.dispatched`, `case.gap`, `case.adjudicated`.
- `case.escalated`: an SLA breach escalated (督办); its body is a supervision notice.
- `case.tier_changed`: the credit tier of the case's subject changed, or its subject was merged into another
  (case events of kind `tier_changed` / `subject_merged`: the case's status did not change, so not `case.<status>`).
- `report.monthly`: the monthly statement (信息互通) is ready, on statements.v1; for the supervisor it names.
A subscription lists exact types, families (`dispatch.*`, `case.*`) or `*` for everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ESCALATED = "case.escalated"
ESCALATION_TYPE = "caseroute.case.escalated"
REPORT_MONTHLY = "report.monthly"
TIER_CHANGED = "case.tier_changed"
TIER_KINDS = frozenset({"tier_changed", "subject_merged"})
STATEMENT_TYPE = "caseroute.statement.monthly"
# A ruling and a joint inspection are the router's input: subscribers get their transitions (case.adjudicated,
# case.dispatched) and the dispatches the router makes of them, not the events themselves.
RULED_TYPE = "caseroute.case.ruled"
INSPECTION_TYPE = "caseroute.inspection.opened"
# Types addressed to one supervisor (the event names it; safety-office when it does not).
ADDRESSED = frozenset({ESCALATED, REPORT_MONTHLY})
REPORTER_STATUSES = frozenset({"case.acknowledged", "case.feedback", "case.closed"})
KNOWN = frozenset({
    "dispatch.primary", "dispatch.cooperating", "dispatch.cc", ESCALATED, REPORT_MONTHLY, TIER_CHANGED,
    *(f"case.{s}" for s in ("received", "routed", "gap", "dispatched", "acknowledged", "feedback", "closed",
                            "returned", "disputed", "adjudicated", "duplicate")),
})


def valid_pattern(pattern: str) -> bool:
    """A subscription may name a known type, a family `<prefix>.*`, `*`, or a type still to come."""
    if pattern == "*" or pattern in KNOWN:
        return True
    family, _, rest = pattern.partition(".")
    return family in ("dispatch", "case", "report") and bool(rest) and all(c.isalnum() or c in "_-*" for c in rest)


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether a subscription's patterns include this event type."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def is_escalation(envelope_type: str, data: Mapping[str, Any]) -> bool:
    """An escalation arrives as its own type or as a transition of kind/status `escalated`."""
    return envelope_type == ESCALATION_TYPE or data.get("kind") == "escalated" or data.get("to_status") == "escalated"


def event_type_of(topic_kind: str, envelope_type: str, data: Mapping[str, Any]) -> str | None:
    """The vocabulary type of an event from `dispatch`, `case-events` or `statements`; None for what we do not
    deliver."""
    if topic_kind == "statements":
        return REPORT_MONTHLY if envelope_type == STATEMENT_TYPE else None
    if topic_kind == "dispatch":
        return f"dispatch.{data.get('role') or 'primary'}"
    if topic_kind == "case-events":
        if envelope_type in (RULED_TYPE, INSPECTION_TYPE):
            return None
        if is_escalation(envelope_type, data):
            return ESCALATED
        if data.get("kind") in TIER_KINDS:
            return TIER_CHANGED
        status = data.get("to_status")
        return f"case.{status}" if isinstance(status, str) and status else None
    return None
