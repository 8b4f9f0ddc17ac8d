"""End to end: the notifier as its own process, killed with SIGKILL mid-delivery, resumes on restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.settings import KafkaSettings, Settings
from tests.e2e.stack import ServiceProcess, running
from tests.integration.notifier.receiver import Receiver
from tests.integration.notifier.support import AUTH, Feeder, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(240)]

SECRET = "whsec_e2e-secret-0123456789abcdef"
CONCURRENCY = 8


async def test_notifier_killed_mid_delivery_resumes_and_every_event_arrives_in_order(
        tmp_path: Path, kafka_bootstrap: str, fresh_postgres: str, topic_prefix: str) -> None:
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CASEROUTE_DATABASE_URL": fresh_postgres,
           "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_KAFKA__PARTITIONS": "2",
           "CASEROUTE_NOTIFIER_CONCURRENCY": str(CONCURRENCY),
           "CASEROUTE_NOTIFIER_LEASE_S": "4", "CASEROUTE_NOTIFIER_HTTP_TIMEOUT_S": "2",
           "CASEROUTE_NOTIFIER_BACKOFF_BASE_S": "0.05", "CASEROUTE_NOTIFIER_BACKOFF_CAP_S": "0.5",
           "CASEROUTE_NOTIFIER_POLL_S": "0.1"}
    settings = Settings(topic_prefix=topic_prefix, kafka=KafkaSettings(bootstrap=kafka_bootstrap, partitions=2))
    feeder = await Feeder.start(settings, ["fire"])
    receiver = Receiver(SECRET, delay_s=0.02)  # slow enough that deliveries are in flight when the kill comes
    await receiver.start()
    notifier = ServiceProcess("notifier", env, tmp_path / "notifier.log")
    try:
        with running([notifier]):
            await notifier.wait_ready()
            async with httpx.AsyncClient(base_url=notifier.url, timeout=10) as client:
                created = await client.post("/v1/subscriptions", headers=AUTH, json={
                    "kind": "department", "owner": "fire", "url": receiver.url, "secret": SECRET,
                    "event_types": ["case.*"]})
                assert created.status_code == 201
            sent: dict[str, list[str]] = {}
            for n in range(12):
                for case in (f"C20260105-{c:05d}" for c in range(20)):
                    sent.setdefault(case, []).append(await feeder.transition(case, "fire", f"s{n}"))
            expected = {e for ids in sent.values() for e in ids}

            await eventually(lambda: len(receiver.distinct()) >= 60, 60, 0.005)
            notifier.kill()  # SIGKILL: no graceful shutdown, leases left behind
            at_kill = len(receiver.distinct())
            assert at_kill < len(expected), "the kill came too late to be mid-delivery"
            notifier.start()
            await notifier.wait_ready()
            await eventually(lambda: receiver.distinct() == expected, 120, 0.1)

        assert receiver.first_seen_order() == sent
        assert receiver.bad_signatures == 0
        # WEBHOOKS.md: a crash repeats at most the deliveries in flight or unrecorded, ≤ the concurrency.
        repeats = len(receiver.accepted) - len(expected)
        print(f"killed after {at_kill} of {len(expected)} distinct; {repeats} repeated after the restart")
        assert repeats <= CONCURRENCY
    finally:
        await receiver.stop()
        await feeder.stop()
