"""Kafka faults under load, on brokers of the test's own: restart, outage, a dead cluster member, a cluster restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import ServiceProcess, running
from tests.reliability.infra import Script, kafka_broker, kafka_cluster
from tests.reliability.load import pipeline_counts, post_reports, read_dispatches, unique_reports, wait_cases

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
SERVICES = ("intake", "router", "tracker", "notifier")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Script]]:
    with kafka_broker(tmp_path_factory.mktemp("kafka")) as found:
        yield found


def _stack(tmp_path: Path, bootstrap: str, database_url: str, prefix: str, **extra: str) -> list[ServiceProcess]:
    # A short stall bound: a consumer that stopped silently after the broker came back is restarted within 15 s.
    env = {"CASEROUTE_KAFKA_BOOTSTRAP": bootstrap, "CASEROUTE_DATABASE_URL": database_url,
           "CASEROUTE_TOPIC_PREFIX": prefix, "CASEROUTE_KAFKA__PARTITIONS": "2", "CASEROUTE_LOG_LEVEL": "WARNING",
           "CASEROUTE_CONSUMER_STALL_S": "15", **extra}
    return [ServiceProcess(name, env, tmp_path / f"{name}.log") for name in SERVICES]


async def _metric(url: str, name: str) -> float:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{url}/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


async def _fault_during_load(intake: ServiceProcess, reports: list[dict[str, object]], at: float,
                             fault: object) -> tuple[dict[str, str], float]:
    """Post the reports; run the (blocking) fault in a thread when `at` of them are done."""
    started: list[asyncio.Future[None]] = []

    def progress(done: int) -> None:
        if done == int(len(reports) * at):
            started.append(asyncio.ensure_future(asyncio.to_thread(fault)))  # type: ignore[arg-type]

    load = await post_reports(lambda: intake.url, reports, in_flight=20, progress=progress)
    await asyncio.gather(*started)
    assert set(load.refused) <= {503}, load.refused
    return load.accepted, load.max_latency()


async def _check(bootstrap: str, database_url: str, prefix: str, accepted: set[str], label: str,
                 started: float) -> None:
    try:
        cases = await wait_cases(database_url, accepted, timeout=180)
    except TimeoutError:
        print(f"\n{label}: stuck; rows per stage {await pipeline_counts(database_url)}")
        raise
    dispatches = await read_dispatches(bootstrap, prefix, accepted)
    print(f"\n{label}: accepted {len(accepted)}, cases {len(cases)}, all settled in {time.monotonic() - started:.1f}s, "
          f"dispatch messages {dispatches.messages}, second copies of an event id {dispatches.repeated}, "
          f"doubled {len(dispatches.doubled())}")
    assert accepted <= set(cases)
    assert dispatches.doubled() == {}
    assert dispatches.copies() == 0, f"a department topic holds an event twice: {dispatches.repeated}"
    assert accepted <= dispatches.cases()


@pytest.mark.timeout(300)
async def test_single_broker_restart_and_outage(tmp_path: Path, broker: tuple[str, Script], fresh_postgres: str,
                                                topic_prefix: str) -> None:
    bootstrap, kafka = broker
    with running(_stack(tmp_path, bootstrap, fresh_postgres, topic_prefix)) as stack:
        await asyncio.gather(*(s.wait_ready() for s in stack))
        intake = stack[0]
        t0 = time.monotonic()

        def restart() -> None:
            kafka("stop")
            kafka("start")

        accepted, worst = await _fault_during_load(intake, unique_reports(600, "KRESTART"), 0.3, restart)
        print(f"\nbroker restart mid-load: worst POST {worst:.2f}s")
        assert worst < 10
        await _check(bootstrap, fresh_postgres, topic_prefix, set(accepted.values()), "broker restart", t0)

        # Kafka away entirely: intake keeps accepting into its outbox, no POST waits on Kafka.
        kafka("stop")
        failures_before = await _metric(intake.url, "outbox_publish_failures_total")
        t1 = time.monotonic()
        load = await post_reports(lambda: intake.url, unique_reports(300, "KDOWN"), in_flight=20)
        async with asyncio.timeout(60):  # the relay's bounded sends fail and it backs off; it never hangs
            while await _metric(intake.url, "outbox_publish_failures_total") <= failures_before:
                await asyncio.sleep(0.5)
        print(f"kafka down: {len(load.accepted)} accepted of 300 in {load.seconds:.1f}s, "
              f"worst POST {load.max_latency():.2f}s, refused {load.refused}")
        assert len(load.accepted) == 300 and load.max_latency() < 5
        kafka("start")
        await _check(bootstrap, fresh_postgres, topic_prefix, set(load.accepted.values()), "after the outage", t1)
        for service in stack:
            await service.wait_ready(60)  # every consumer resumed and reports ready


@pytest.mark.timeout(420)
async def test_cluster_member_killed_then_whole_cluster_restarted(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, fresh_postgres: str, topic_prefix: str) -> None:
    with kafka_cluster(tmp_path_factory.mktemp("cluster")) as (bootstrap, cluster), \
            running(_stack(tmp_path, bootstrap, fresh_postgres, topic_prefix,
                           CASEROUTE_KAFKA_REPLICATION_FACTOR="3")) as stack:
        await asyncio.gather(*(s.wait_ready(120) for s in stack))
        intake = stack[0]
        t0 = time.monotonic()
        accepted, worst = await _fault_during_load(intake, unique_reports(500, "KNODE"), 0.3,
                                                   lambda: cluster("kill-node", "2"))
        print(f"\nnode 2 killed mid-load: worst POST {worst:.2f}s")
        await _check(bootstrap, fresh_postgres, topic_prefix, set(accepted.values()), "one broker dead", t0)
        cluster("start-node", "2")

        t1 = time.monotonic()

        def cluster_restart() -> None:
            cluster("stop")
            cluster("start", timeout=300)

        accepted, worst = await _fault_during_load(intake, unique_reports(300, "KCLUSTER"), 0.3, cluster_restart)
        print(f"whole cluster restarted mid-load: worst POST {worst:.2f}s")
        await _check(bootstrap, fresh_postgres, topic_prefix, set(accepted.values()), "cluster restart", t1)
        for service in stack:
            await service.wait_ready(90)
