"""A poll's deliveries planned without a database (notifier.domain.planning): later events of the poll see what
earlier ones taught of the case, a redelivery plans nothing, and a ruling is no delivery of its own."""

from __future__ import annotations

from datetime import UTC, datetime

from notifier.domain.planning import plan_deliveries
from notifier.domain.recipients import CaseFacts, SubscriberKind, SubscriptionView
from schemas.envelope import Envelope
from schemas.events import CaseDispatched, CaseRuled, CaseTransition, EventType

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
AMR = SubscriptionView("s1", SubscriberKind.department, "amr", ("*",))


def _event(event_type: str, data: dict[str, object], event_id: str) -> Envelope:
    return Envelope(id=event_id, source="test", type=event_type, subject="C1", data=data, time=NOW)


def test_a_poll_plans_each_new_event_once_with_what_earlier_events_taught() -> None:
    routed = _event(EventType.case_routed, {"report": {"source": "grid", "callback_url": "https://grid.example/cb"}},
                    "e0")
    dispatched = _event(EventType.case_dispatched, CaseDispatched(
        case_id="C1", department="amr", rule="R8", deadline_days=20, ack_hours=24, description="…",
        reported_at=NOW).model_dump(mode="json"), "e1")
    acked = _event(EventType.case_transition, CaseTransition(
        case_id="C1", kind="acknowledged", from_status="dispatched", to_status="acknowledged", actor="department:amr",
        at=NOW, department="amr").model_dump(mode="json"), "e2")
    ruled = _event(EventType.case_ruled, CaseRuled(
        case_id="C1", attempt=1, rule="RULING", lead="amr", principle="competent", deadline_days=20, ack_hours=24,
        ruled_by="adjudicator:wang", at=NOW).model_dump(mode="json"), "e3")
    batch = [(routed, "routed"), (dispatched, "dispatch"), (acked, "case-events"), (acked, "case-events"),
             (ruled, "case-events")]
    plan = plan_deliveries(batch, {"e1": 1, "e2": 2, "e3": 3}, {}, [AMR])
    assert plan.remembered["C1"] == {"source": "grid", "callback_url": "https://grid.example/cb", "department": "amr",
                                     "dispatched_at": NOW, "ack_hours": 24.0, "deadline_days": 20}
    assert [(p.seq, p.event_type, [r.key for r in p.recipients]) for p in plan.deliveries] == [
        (1, "dispatch.primary", ["sub:s1"]),
        (2, "case.acknowledged", ["sub:s1", "callback"]),  # the callback the poll's routed.v1 named
    ]


def test_a_redelivered_event_plans_nothing() -> None:
    acked = _event(EventType.case_transition, CaseTransition(
        case_id="C1", kind="acknowledged", from_status="dispatched", to_status="acknowledged", actor="department:amr",
        at=NOW, department="amr").model_dump(mode="json"), "e2")
    plan = plan_deliveries([(acked, "case-events")], {}, {"C1": CaseFacts("C1", source="grid")}, [AMR])
    assert plan.deliveries == [] and plan.remembered == {}
