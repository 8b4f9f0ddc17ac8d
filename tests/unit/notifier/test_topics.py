"""Which department topics the notifier reads (notifier.domain.topics), and the escalation's due time taken from
the case's state (notifier.domain.transitions): what lets it leave the other department topics unread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from notifier.domain.recipients import SubscriberKind
from notifier.domain.topics import FLOOR_GRACE, Wanting, hears_dispatches, reading
from notifier.domain.transitions import told
from notifier.store.models import Subscription
from schemas.envelope import Envelope
from schemas.events import CaseChanged, CaseSnapshot, CaseTransition, EventType
from tests.unit.notifier.harness import AUTH, FakeChannel, harness

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
D, S, R = SubscriberKind.department, SubscriberKind.supervisor, SubscriberKind.reporter


def test_no_subscription_or_stream_hearing_dispatches_reads_no_department_topic() -> None:
    quiet = reading([Wanting(D, "fire", ("case.*",), T0), Wanting(S, "safety-office", ("case.escalated",), T0),
                     Wanting(R, "grid", ("case.closed",), T0)])
    assert quiet.every_since is None and quiet.departments == {}
    assert quiet.floor("fire") is None


def test_a_department_subscription_reads_its_own_topic_from_when_it_asked() -> None:
    later = T0 + timedelta(hours=1)
    found = reading([Wanting(D, "fire", ("dispatch.primary",), later), Wanting(D, "fire", ("*",), T0),
                     Wanting(D, "water", ("dispatch.*",), later), Wanting(D, "roads", ("case.*",), T0)])
    assert found.every_since is None and found.departments == {"fire": T0, "water": later}
    assert found.floor("fire") == T0 - FLOOR_GRACE and found.floor("roads") is None


def test_supervisors_reporters_and_streams_of_every_department_read_every_topic() -> None:
    assert reading([Wanting(S, "safety-office", ("dispatch.*",), T0)]).every_since == T0
    assert reading([Wanting(R, "grid", ("*",), T0)]).every_since == T0
    assert reading([Wanting(None, None, (), T0)]).every_since == T0
    stream = reading([Wanting(None, "fire", (), T0)])
    assert stream.every_since is None and stream.departments == {"fire": T0}
    assert hears_dispatches(["dispatch.future-role"]) and not hears_dispatches(["case.*", "report.monthly"])


def test_an_escalation_carries_the_due_time_it_missed_from_the_cases_state() -> None:
    due = T0 - timedelta(hours=3)
    escalated = CaseTransition(case_id="C1", kind="escalated", from_status="acknowledged",
                               to_status="acknowledged", actor="sla", at=T0, department="fire",
                               detail={"kind": "feedback_overdue", "attempt": 1, "to": "safety-office"})
    changed = CaseChanged(case_id="C1", transitions=[escalated],
                          state=CaseSnapshot(status="acknowledged", department="fire", attempt=1,
                                             feedback_due_at=due, ack_due_at=T0 - timedelta(days=2)))
    event = Envelope(id="e1", source="tracker", type=EventType.case_changed, subject="C1",
                     data=changed.model_dump(mode="json"), time=T0)
    (one,) = told(event)
    assert datetime.fromisoformat(one.data["detail"]["due_at"]) == due
    assert one.data["detail"]["kind"] == "feedback_overdue"


async def test_a_subscription_hears_dispatches_since_it_was_made_or_changed_to_not_since_any_change(
        tmp_path: Path) -> None:
    async with harness(tmp_path, FakeChannel()) as h:
        async def since(subscription_id: str) -> datetime | None:
            async with h.runtime.db.sessions() as session:
                row = await session.get(Subscription, subscription_id)
                assert row is not None
                return row.dispatches_since

        made = await h.client.post("/v1/subscriptions", headers=AUTH, json={
            "url": "http://receiver.test/hook", "kind": "department", "owner": "fire", "event_types": ["dispatch.*"]})
        sub = made.json()["id"]
        first = await since(sub)
        assert first is not None
        patched = await h.client.patch(f"/v1/subscriptions/{sub}", headers=AUTH, json={"description": "ops"})
        assert patched.status_code == 200 and await since(sub) == first  # read without a break: no new floor
        await h.client.patch(f"/v1/subscriptions/{sub}", headers=AUTH, json={"event_types": ["case.*"]})
        assert await since(sub) is None
        await h.client.patch(f"/v1/subscriptions/{sub}", headers=AUTH, json={"event_types": ["*"]})
        again = await since(sub)
        assert again is not None and again > first
        await h.client.delete(f"/v1/subscriptions/{sub}", headers=AUTH)
        assert await since(sub) is None
