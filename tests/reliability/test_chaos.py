"""Issue 19's chaos run in CI: under load, kill -9 of each service, a broker stop/start, a PostgreSQL restart.

Then every department topic (and reports, routed, case-events) is read whole with a plain consumer, as a
department's own system reads it: no report answered 202 is lost, and no event id is on a department topic twice.
The broker and the database are the test's own, so it may stop them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest

from tests.e2e.stack import ServiceProcess, running
from tests.reliability.infra import kafka_broker, postgres_server
from tests.reliability.load import (
    copies_per_topic,
    pipeline_counts,
    post_reports,
    read_dispatches,
    unique_reports,
    wait_cases,
)

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.timeout(480)]
SERVICES = ("router", "tracker", "intake", "notifier")  # the order of the kills, as in the issue
RATE = 40.0  # reports per second: the run used 50/s on a quieter machine
BETWEEN_S = 4.0  # load between two faults, so each fault finds work in flight


async def test_chaos_loses_nothing_and_writes_each_event_once(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, topic_prefix: str) -> None:
    with kafka_broker(tmp_path_factory.mktemp("kafka")) as (bootstrap, kafka), \
            postgres_server(tmp_path_factory.mktemp("pg")) as (database_url, pg):
        env = {"CASEROUTE_KAFKA_BOOTSTRAP": bootstrap, "CASEROUTE_DATABASE_URL": database_url,
               "CASEROUTE_TOPIC_PREFIX": topic_prefix, "CASEROUTE_KAFKA__PARTITIONS": "2",
               "CASEROUTE_LOG_LEVEL": "WARNING", "CASEROUTE_CONSUMER_STALL_S": "15"}
        stack = {name: ServiceProcess(name, env, tmp_path / f"{name}.log") for name in SERVICES}
        with running(list(stack.values())):
            await asyncio.gather(*(s.wait_ready(90) for s in stack.values()))
            faults_done = asyncio.Event()
            took: dict[str, float] = {}

            async def kill(name: str) -> None:
                stack[name].kill()
                stack[name].start()
                await stack[name].wait_ready(90)

            async def broker_restart() -> None:
                await asyncio.to_thread(kafka, "stop")
                await asyncio.to_thread(kafka, "start")

            async def postgres_restart() -> None:
                await asyncio.to_thread(pg, "stop")
                await asyncio.sleep(3)  # an outage, not a blip: pools must notice and reconnect
                await asyncio.to_thread(pg, "start")

            plan: list[tuple[str, Callable[[], Awaitable[None]]]] = [
                *((f"kill -9 {name}", partial(kill, name)) for name in SERVICES),
                ("broker stop/start", broker_restart), ("postgres restart", postgres_restart)]

            async def faults() -> None:
                try:
                    for label, fault in plan:
                        await asyncio.sleep(BETWEEN_S)
                        started = time.monotonic()
                        await fault()
                        took[label] = round(time.monotonic() - started, 1)
                    await asyncio.sleep(BETWEEN_S)
                finally:
                    faults_done.set()

            t0 = time.monotonic()
            chaos = asyncio.create_task(faults())
            load = await post_reports(lambda: stack["intake"].url, unique_reports(20_000, "CHAOS"), in_flight=10,
                                      until=faults_done, per_second=RATE)
            await chaos
            accepted = set(load.accepted.values())
            try:
                cases = await wait_cases(database_url, accepted, timeout=240)
            except TimeoutError:
                print(f"\nchaos: stuck; rows per stage {await pipeline_counts(database_url)}")
                raise
            settled = time.monotonic() - t0
            dispatched = {c for c in accepted if cases[c] != "duplicate"}
            dispatches = await read_dispatches(bootstrap, topic_prefix, dispatched)
            others = await copies_per_topic(bootstrap, [f"{topic_prefix}{t}"
                                                        for t in ("reports.v1", "routed.v1", "case-events.v1")])
            for service in stack.values():
                await service.wait_ready(90)  # every service came back from every fault

    # What the relays met, from the services' logs (a killed process's metrics die with it).
    logs = "".join((tmp_path / f"{name}.log").read_text(errors="replace") for name in SERVICES)
    relays = {"passes with a late acknowledgement": logs.count("did not acknowledge"),
              "passes that found their events on the bus already": logs.count("were on the bus already")}
    print(f"\nchaos: faults (seconds) {took}; relay {relays}; "
          f"posted {len(load.accepted) + sum(load.refused.values())} in {load.seconds:.1f}s, "
          f"accepted {len(load.accepted)}, refused {load.refused}, cases {len(cases)}, "
          f"lost {len(accepted - set(cases))}, all settled {settled:.1f}s after the start; "
          f"dispatch messages {dispatches.messages}, second copies on department topics "
          f"{dispatches.copies()} {dispatches.repeated}, doubled dispatches {len(dispatches.doubled())}; "
          f"(messages, second copies) on the other topics "
          f"{ {t.removeprefix(topic_prefix): v for t, v in others.items()} }")
    assert list(took) == [label for label, _ in plan], "a fault did not run"
    assert set(load.refused) <= {0, 503}, load.refused  # only a killed intake or the database outage refuses
    assert len(accepted) == len(load.accepted), "two reports got the same case id"
    assert accepted <= set(cases), f"lost {len(accepted - set(cases))} accepted reports"
    assert dispatched <= dispatches.cases()
    assert dispatches.doubled() == {}, "a case was dispatched twice under different event ids"
    assert dispatches.copies() == 0, f"a department topic holds an event twice: {dispatches.repeated}"
