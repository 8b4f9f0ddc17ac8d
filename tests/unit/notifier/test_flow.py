"""The notifier in one process on SQLite and the in-process bus: order, horizon, redelivery, admin API."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from notifier.domain.transitions import transition_id
from notifier.store.models import NotifierAudit
from schemas.decision import Decision, DecisionStatus
from schemas.envelope import Envelope
from schemas.events import CaseChanged, CaseRouted, CaseSnapshot, CaseTransition, EventType
from schemas.report import Hazard, Report, Source
from services.bus.base import OutgoingMessage
from services.envelopes import envelope, headers_for
from tests.unit.notifier.harness import AUTH, FakeChannel, harness

pytestmark = pytest.mark.timeout(60)


async def _subscribe(client, **body) -> dict:  # type: ignore[no-untyped-def]
    answer = await client.post("/v1/subscriptions", json={"url": "http://receiver.test/hook", **body}, headers=AUTH)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_every_event_once_and_in_order_per_case_through_failures(tmp_path: Path) -> None:
    channel = FakeChannel(failure_rate=0.4)
    async with harness(tmp_path, channel) as h:
        sub = await _subscribe(h.client, kind="department", owner="fire", event_types=["*"])
        sent: dict[str, list[str]] = {}
        for n in range(8):
            for case in ("C1", "C2", "C3", "C4", "C5"):
                # One topic: order across topics is not Kafka's to keep, order within one is ours.
                event_id = await h.transition(case, "fire", ["acknowledged", "feedback", "closed"][n % 3])
                sent.setdefault(case, []).append(event_id)
        await h.until(lambda: len(channel.accepted) >= 40)
        counts = Counter(item.event_id for item in channel.accepted)
        assert set(counts) == {e for ids in sent.values() for e in ids} and set(counts.values()) == {1}
        by_case: dict[str, list[str]] = {}
        for item in channel.accepted:
            case = next(c for c, ids in sent.items() if item.event_id in ids)
            by_case.setdefault(case, []).append(item.event_id)
        assert by_case == sent
        assert channel.attempts > 40  # failures happened and were retried
        # Outcomes are recorded in batches just after the receiver answered: the log catches up.
        async with asyncio.timeout(10):
            while len((await h.client.get("/v1/deliveries", params={"subscriber": sub["id"], "status": "delivered",
                                                                    "limit": 500}, headers=AUTH)).json()["items"]) < 40:
                await asyncio.sleep(0.05)
        log = (await h.client.get("/v1/deliveries", params={"subscriber": sub["id"], "status": "delivered",
                                                               "limit": 500}, headers=AUTH)).json()
        assert len(log["items"]) == 40


async def test_past_the_horizon_a_delivery_is_dead_with_its_error_and_can_be_redelivered(tmp_path: Path) -> None:
    channel = FakeChannel(down=True)
    async with harness(tmp_path, channel, horizon_s=0.3) as h:
        sub = await _subscribe(h.client, kind="department", owner="fire", event_types=["dispatch.*"])
        event_id = await h.dispatch("C9", "fire")
        await h.until(lambda: channel.attempts >= 2)
        dead: list[dict] = []  # type: ignore[type-arg]

        async def poll_dead() -> None:
            dead[:] = (await h.client.get("/v1/deliveries", params={"status": "dead"}, headers=AUTH)).json()["items"]

        async with asyncio.timeout(10):
            while not dead:
                await poll_dead()
        assert dead[0]["event_id"] == event_id and dead[0]["subscription_id"] == sub["id"]
        assert dead[0]["last_error"] == "HTTP 503: try later" and dead[0]["last_status"] == 503
        channel.down = False
        again = await h.client.post(f"/v1/deliveries/{dead[0]['id']}/redeliver", headers=AUTH)
        assert again.status_code == 202 and again.json()["status"] == "pending"
        await h.until(lambda: len(channel.accepted) == 1)
        assert channel.accepted[0].event_id == event_id
        conflict = await h.client.post(f"/v1/deliveries/{dead[0]['id']}/redeliver", headers=AUTH)
        assert conflict.status_code == 409
        assert conflict.headers["content-type"] == "application/problem+json"
        async with h.runtime.db.sessions() as session:
            audit = (await session.execute(select(NotifierAudit.action, NotifierAudit.actor,
                                                  NotifierAudit.target))).all()
        assert ("delivery.redeliver", "admin:notifier-tests", str(dead[0]["id"])) in [tuple(a) for a in audit]


async def test_reporter_callback_and_supervision_notice(tmp_path: Path) -> None:
    channel = FakeChannel()
    async with harness(tmp_path, channel) as h:
        await _subscribe(h.client, kind="supervisor", owner="safety-office", event_types=["case.escalated"])
        grid = await _subscribe(h.client, kind="reporter", owner="grid", event_types=["case.closed"],
                                url="http://grid.test/all")
        report = Report(external_id="G-1", source=Source.grid, reported_at="2026-01-05T08:00:00+08:00",
                        description="x", callback_url="http://grid.test/cb/G-1")  # type: ignore[arg-type]
        decision = Decision(external_id="G-1", status=DecisionStatus.routed, rule="R1", primary="market",
                            deadline_days=5, ack_hours=2, hazard=Hazard.none, confidence=1, catalogue_version="v")
        await h.publish("routed.v1", "C7", CaseRouted(case_id="C7", decision=decision, report=report),
                        EventType.case_routed)
        await h.until_taken_in("C7")  # routed.v1 and case-events.v1 are two topics: no order between them
        for status in ("acknowledged", "feedback"):
            await h.transition("C7", "market", status)
        # No subscription here hears dispatches, so the notifier does not read the department topics: the missed
        # due time of the escalation comes from the case's state on its case.changed event.
        due = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
        await h.transition("C7", "market", "escalated", feedback_due_at=due, kind="feedback_overdue", attempt=1,
                           to="safety-office")
        await h.transition("C7", "market", "closed")
        await h.until(lambda: len(channel.accepted) == 5)
        targets = [(i.url, i.event_type) for i in channel.accepted]
        assert [t for t in targets if t[0] == "http://grid.test/cb/G-1"] == [
            ("http://grid.test/cb/G-1", "case.acknowledged"), ("http://grid.test/cb/G-1", "case.feedback"),
            ("http://grid.test/cb/G-1", "case.closed")]
        assert ("http://grid.test/all", "case.closed") in targets
        notice = next(i for i in channel.accepted if i.event_type == "case.escalated")
        assert b'"department":"market"' in notice.body and b'"overdue_seconds"' in notice.body
        assert orjson.loads(notice.body)["data"]["due_at"] == due.isoformat()
        assert all(i.secret == grid["secret"] for i in channel.accepted if "grid.test" in i.url)


async def test_admin_api_needs_the_token_and_never_shows_a_secret_again(tmp_path: Path) -> None:
    async with harness(tmp_path, FakeChannel()) as h:
        missing = await h.client.get("/v1/subscriptions")
        assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await h.client.get("/v1/deliveries", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert (await h.client.get("/v1/stream", headers={"authorization": "Bearer nope"})).status_code == 401
        created = await _subscribe(h.client, kind="department", owner="fire", event_types=["case.*"],
                                   secret="my-own-secret-123456")
        assert created["secret"] == "my-own-secret-123456"
        generated = await _subscribe(h.client, kind="department", owner="water", event_types=["*"])
        assert generated["secret"].startswith("whsec_")
        listed = (await h.client.get("/v1/subscriptions", headers=AUTH)).json()
        one = (await h.client.get(f"/v1/subscriptions/{created['id']}", headers=AUTH)).json()
        patched = await h.client.patch(f"/v1/subscriptions/{created['id']}", headers=AUTH,
                                       json={"secret": "rotated-secret-123456", "event_types": ["case.closed"]})
        assert patched.status_code == 200 and patched.json()["event_types"] == ["case.closed"]
        for shown in [*listed, one, patched.json()]:
            assert "secret" not in shown
        bad = await h.client.post("/v1/subscriptions", headers=AUTH, json={
            "kind": "department", "owner": "fire", "url": "http://x.test", "event_types": ["case.closed; drop"]})
        assert bad.status_code == 422
        assert (await h.client.delete(f"/v1/subscriptions/{created['id']}", headers=AUTH)).status_code == 204
        assert (await h.client.get("/v1/subscriptions", params={"active": True}, headers=AUTH)).json()[0]["id"] == \
            generated["id"]


async def test_a_rotated_secret_signs_beside_the_new_one_for_the_overlap_unless_retired_at_once(
        tmp_path: Path) -> None:
    channel = FakeChannel()
    async with harness(tmp_path, channel, rotation_overlap_s=3600) as h:
        sub = await _subscribe(h.client, kind="department", owner="fire", event_types=["*"],
                               secret="first-secret-0123456789")
        assert sub["previous_secret_expires_at"] is None
        url = f"/v1/subscriptions/{sub['id']}"
        alone = await h.client.patch(url, headers=AUTH, json={"secret_overlap_s": 60})
        assert alone.status_code == 422 and alone.headers["content-type"] == "application/problem+json"

        rotated = await h.client.patch(url, headers=AUTH, json={"secret": "second-secret-0123456789"})
        assert rotated.status_code == 200, rotated.text
        until = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"])
        assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(hours=1)  # the setting's overlap
        await h.transition("C1", "fire", "acknowledged")
        await h.until(lambda: len(channel.accepted) == 1)
        assert channel.accepted[0].secrets == ("second-secret-0123456789", "first-secret-0123456789")

        # Setting the same secret again is no rotation: the overlap goes on as it was.
        same = await h.client.patch(url, headers=AUTH, json={"secret": "second-secret-0123456789"})
        assert same.json()["previous_secret_expires_at"] == rotated.json()["previous_secret_expires_at"]

        # A leaked secret is retired at once: overlap 0 drops the previous one from the next attempt on.
        cut = await h.client.patch(url, headers=AUTH, json={"secret": "third-secret-0123456789",
                                                            "secret_overlap_s": 0})
        assert cut.status_code == 200 and cut.json()["previous_secret_expires_at"] is None
        await h.transition("C1", "fire", "feedback")
        await h.until(lambda: len(channel.accepted) == 2)
        assert channel.accepted[1].secrets == ("third-secret-0123456789",)
        async with h.runtime.db.sessions() as session:
            audit = (await session.execute(select(NotifierAudit.detail).where(
                NotifierAudit.action == "subscription.update"))).scalars().all()
        assert [a.get("previous_secret_expires_at") is not None for a in audit if "secret" in a["changed"]] == [
            True, False]


async def test_one_case_changed_event_is_delivered_as_its_transitions_each_once_and_in_order(tmp_path: Path) -> None:
    """The tracker sends a transaction's transitions in one case.changed event; subscribers still get one
    delivery per transition type they chose, with the version 1 body they got before, deduplicated on ids derived
    from the event's (a redelivered event delivers nothing again)."""
    channel = FakeChannel()
    async with harness(tmp_path, channel) as h:
        await _subscribe(h.client, kind="department", owner="fire", event_types=["case.routed", "case.dispatched"])
        everything = await _subscribe(h.client, kind="department", owner="fire", event_types=["case.*"])
        ids = await h.changes("C1", "fire", "received", "routed", "dispatched")
        await h.until(lambda: len(channel.accepted) == 5)
        chosen = [(i.event_type, i.event_id) for i in channel.accepted if i.url == "http://receiver.test/hook"]
        assert [t for t, _ in chosen if t in ("case.routed", "case.dispatched")] == [
            "case.routed", "case.dispatched", "case.routed", "case.dispatched"]
        log = (await h.client.get("/v1/deliveries", params={"subscriber": everything["id"], "limit": 10},
                                  headers=AUTH)).json()["items"]
        assert [d["event_id"] for d in reversed(log)] == ids  # newest first: in the order of the transitions
        bodies = [Envelope.from_bytes(i.body) for i in channel.accepted]
        assert {b.type for b in bodies} == {EventType.case_transition}
        assert {b.id: b.data["to_status"] for b in bodies} == dict(zip(ids, ["received", "routed", "dispatched"],
                                                                       strict=True))
        assert all(b.dataschema == "urn:caseroute:schema:caseroute.case.transition:v1" for b in bodies)

        # What the notifier took in, as its event API (and stream) show it: the three transitions' events.
        taken = (await h.client.get("/v1/notifier/events", params={"case_id": "C1"}, headers=AUTH)).json()
        assert [(e["event_id"], e["type"], e["envelope"]["data"]["to_status"]) for e in taken] == list(zip(
            ids, ["caseroute.case.transition"] * 3, ["received", "routed", "dispatched"], strict=True))


async def test_a_redelivered_case_changed_event_and_a_version_1_event_are_each_taken_in_once(tmp_path: Path) -> None:
    channel = FakeChannel()
    async with harness(tmp_path, channel) as h:
        await _subscribe(h.client, kind="department", owner="fire", event_types=["case.*"])
        payload = CaseChanged(case_id="C2", transitions=[
            CaseTransition(case_id="C2", kind="acknowledged", from_status="dispatched", to_status="acknowledged",
                           actor="fire", at=datetime.now(UTC), department="fire")],
            state=CaseSnapshot(status="acknowledged", department="fire", attempt=1))
        event = envelope(source="test", event_type=EventType.case_changed, subject="C2", payload=payload)
        message = OutgoingMessage(h.runtime.settings.topic("case-events.v1"), "C2", event.to_bytes(),
                                  headers_for(event.id, b""))
        await h.runtime.producer.send_batch([message, message])
        legacy = await h.transition_v1("C2", "fire", "feedback")  # what a tracker before case.changed sent
        await h.until(lambda: len(channel.accepted) >= 2)
        await asyncio.sleep(0.3)
        assert [(i.event_id, i.event_type) for i in channel.accepted] == [
            (transition_id(event.id, 0), "case.acknowledged"), (legacy, "case.feedback")]
