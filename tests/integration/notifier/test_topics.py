"""On real Kafka: the notifier reads a department's topic only while some subscription needs it (issue 17)."""

from __future__ import annotations

import httpx
import pytest

from services.consumer import ConsumerRunner
from tests.integration.notifier.receiver import Receiver
from tests.integration.notifier.support import AUTH, Feeder, InProcessNotifier, eventually, notifier_settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(180)]

SECRET = "whsec_integration-topics-0123456789"


async def _assigned(runner: ConsumerRunner) -> set[str]:
    """The topics of the partitions the notifier's consumer is assigned now."""
    return set(await runner.member.lag()) if runner.member is not None and runner.health.started else set()


async def test_department_topics_are_read_only_while_a_subscription_needs_them(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = notifier_settings(kafka_bootstrap, topic_prefix, fresh_postgres, topics_reconcile_s=1.0)
    fire, water = settings.dispatch_topic("fire"), settings.dispatch_topic("water")
    case_events = settings.topic("case-events.v1")
    feeder = await Feeder.start(settings, ["fire", "water"])
    receiver = Receiver(SECRET)
    await receiver.start()
    try:
        async with InProcessNotifier(settings) as notifier, \
                httpx.AsyncClient(base_url=notifier.url, timeout=10) as client:
            runner = notifier.parts.consumers[0]
            # A subscription that hears no dispatch type needs no department topic.
            quiet = await client.post("/v1/subscriptions", headers=AUTH, json={
                "kind": "department", "owner": "water", "url": receiver.url, "secret": SECRET,
                "event_types": ["case.*"]})
            assert quiet.status_code == 201, quiet.text
            await eventually(lambda: _has(runner, case_events), 60, 0.2)
            assigned = await _assigned(runner)
            assert fire not in assigned and water not in assigned, assigned

            created = await client.post("/v1/subscriptions", headers=AUTH, json={
                "kind": "department", "owner": "fire", "url": receiver.url, "secret": SECRET,
                "event_types": ["dispatch.*"]})
            assert created.status_code == 201, created.text
            await eventually(lambda: _has(runner, fire), 30, 0.2)
            assert water not in await _assigned(runner)
            dispatched = await feeder.dispatch("C20260107-00001", "fire")
            await feeder.dispatch("C20260107-00002", "water")
            await eventually(lambda: dispatched in receiver.distinct(), 60)
            events = await client.get("/v1/notifier/events", params={"case_id": "C20260107-00002"}, headers=AUTH)
            assert events.json() == []  # water's dispatch is not read: nobody wants it

            gone = await client.delete(f"/v1/subscriptions/{created.json()['id']}", headers=AUTH)
            assert gone.status_code == 204
            await eventually(lambda: _lacks(runner, fire), 30, 0.2)
    finally:
        await receiver.stop()
        await feeder.stop()


async def _has(runner: ConsumerRunner, topic: str) -> bool:
    return topic in await _assigned(runner)


async def _lacks(runner: ConsumerRunner, topic: str) -> bool:
    return runner.health.started and topic not in await _assigned(runner)


async def test_a_subscription_made_through_one_replica_brings_its_topic_to_the_other(
        kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    settings = notifier_settings(kafka_bootstrap, topic_prefix, fresh_postgres, topics_reconcile_s=1.0)
    fire = settings.dispatch_topic("fire")
    feeder = await Feeder.start(settings, ["fire"])
    receiver = Receiver(SECRET)
    await receiver.start()
    try:
        async with InProcessNotifier(settings) as one, InProcessNotifier(settings) as other, \
                httpx.AsyncClient(base_url=one.url, timeout=10) as client:
            runners = [one.parts.consumers[0], other.parts.consumers[0]]
            assert all(fire not in r.topics for r in runners)
            created = await client.post("/v1/subscriptions", headers=AUTH, json={
                "kind": "department", "owner": "fire", "url": receiver.url, "secret": SECRET,
                "event_types": ["dispatch.*"]})
            assert created.status_code == 201, created.text
            # The other replica learns of it at its next reconcile from the database.
            await eventually(lambda: all(fire in r.topics for r in runners), 15, 0.1)
            sent = {await feeder.dispatch(f"C20260107-{n:05d}", "fire") for n in range(6)}
            await eventually(lambda: sent <= receiver.distinct(), 60)
    finally:
        await receiver.stop()
        await feeder.stop()
